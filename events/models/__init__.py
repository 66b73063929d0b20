"""The events app's models: incidents and what hangs off them, suggested links, and the background jobs'
bookkeeping."""

from .cycles import LinkSuggestion, LinkSuggestionQuerySet, SuggestionRejection
from .incidents import (
    ACLED_TYPES,
    KIND_CATEGORY,
    Casualty,
    Category,
    DatePrecision,
    GeoPrecision,
    Incident,
    IncidentCell,
    IncidentLink,
    IncidentLinkQuerySet,
    IncidentQuerySet,
    Involvement,
    Kind,
    sees_drafts,
)
from .jobs import (
    Delivery,
    DeliveryQuerySet,
    ImportJob,
    ImportRecord,
    ImportRowError,
    Subscription,
    SurgeAlert,
    SyncState,
)

__all__ = [
    "Kind",
    "Category",
    "KIND_CATEGORY",
    "ACLED_TYPES",
    "DatePrecision",
    "GeoPrecision",
    "sees_drafts",
    "IncidentQuerySet",
    "Incident",
    "Involvement",
    "Casualty",
    "IncidentLinkQuerySet",
    "IncidentLink",
    "IncidentCell",
    "LinkSuggestionQuerySet",
    "LinkSuggestion",
    "SuggestionRejection",
    "ImportJob",
    "ImportRowError",
    "ImportRecord",
    "Subscription",
    "SurgeAlert",
    "DeliveryQuerySet",
    "Delivery",
    "SyncState",
]
