"""The editor's review of suggested links (events.cycles.suggestions): accept one as a link, or reject it for good."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from .. import tasks
from ..actions import link_incidents
from ..models import IncidentLink, LinkSuggestion, SuggestionRejection


def _with_sources(suggestions) -> list[LinkSuggestion]:
    return list(suggestions.select_related("incident", "prior").prefetch_related("incident__sources", "prior__sources"))


@transaction.atomic
def accept_suggestions(suggestions, *, user) -> list[IncidentLink]:
    """Make each suggestion a link through the one write path: asserted by the editor, as confirmed from a
    suggestion, citing both incidents' sources. The pairs leave the suggestions once linked."""
    who = user.get_full_name() or user.get_username()
    links = []
    accepted = _with_sources(suggestions)
    for suggestion in accepted:
        sources = {s.pk: s for s in [*suggestion.incident.sources.all(), *suggestion.prior.sources.all()]}
        links.append(
            link_incidents(
                incident=suggestion.incident,
                prior=suggestion.prior,
                relation=suggestion.relation,
                asserted_by=f"{who} (confirmed from a suggestion)"[:200],
                confidence=IncidentLink.Confidence.MEDIUM,
                sources=sources.values(),
                note=(
                    f"Suggested by the reversed dyad: {suggestion.lag_days} days later"
                    + (f", {suggestion.distance_km:,.0f} km away" if suggestion.distance_km is not None else "")
                    + f", score {suggestion.score:.2f} (rank {suggestion.rank})."
                ),
            )
        )
    LinkSuggestion.objects.filter(pk__in=[s.pk for s in accepted]).delete()
    return links


@transaction.atomic
def reject_suggestions(suggestions, *, user) -> int:
    """Remember that each pair is not a link (who and when), and drop it from the suggestions."""
    pairs = list(suggestions.values_list("incident_id", "prior_id"))
    SuggestionRejection.objects.bulk_create(
        [SuggestionRejection(incident_id=i, prior_id=p, rejected_by=user) for i, p in pairs],
        ignore_conflicts=True,
    )
    LinkSuggestion.objects.filter(pk__in=suggestions.values("pk")).delete()
    queue_refresh(i for i, _ in pairs)
    return len(pairs)


def queue_refresh(incident_ids: Iterable[int]) -> None:
    """Refresh these incidents' suggestions in the background once the transaction commits."""
    ids = sorted(set(incident_ids))
    if ids:
        tasks.queue_after_commit(tasks.refresh_suggestions, ids)
