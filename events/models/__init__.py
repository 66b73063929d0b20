"""The events app's models: incidents and what hangs off them (incidents), suggested links (cycles), the imports'
and the sync's bookkeeping (imports), and the webhook notifications' (notifications)."""

from .cycles import LinkSuggestion, LinkSuggestionQuerySet, SuggestionRejection
from .imports import JOB_REASON, ImportJob, ImportRecord, ImportRowError, SyncState, validate_editor_reason
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
    listed_statuses,
    sees_drafts,
)
from .notifications import Delivery, DeliveryQuerySet, Subscription, SurgeAlert

__all__ = [
    "JOB_REASON",
    "validate_editor_reason",
    "Kind",
    "Category",
    "KIND_CATEGORY",
    "ACLED_TYPES",
    "DatePrecision",
    "GeoPrecision",
    "sees_drafts",
    "listed_statuses",
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
