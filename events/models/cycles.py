"""Suggested links: earlier incidents a later one may answer, found by events.cycles.suggestions, and the pairs editors
rejected, which are never suggested again."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from .incidents import Incident, IncidentLink


class LinkSuggestionQuerySet(models.QuerySet):
    def best_first(self):
        return self.order_by("-score", "incident_id", "rank")

    def within(self, *, window: int | None = None, within_km: float | None = None, min_score: float | None = None):
        suggestions = self
        if window is not None:
            suggestions = suggestions.filter(lag_days__lte=window)
        if within_km is not None:
            suggestions = suggestions.filter(distance_km__lte=within_km)
        if min_score is not None:
            suggestions = suggestions.filter(score__gte=min_score)
        return suggestions


class LinkSuggestion(models.Model):
    """`incident` may be a <relation> `prior`: the reversed dyad within the window (events.cycles.suggestions).

    Derived: rewritten by events.cycles.suggestions.refresh_suggestions after every write to the incidents or links,
    never edited. `rank` 1 is the best candidate for `incident`.
    """

    # No index of their own: the pair's unique constraint leads with the incident, and Meta names the prior's. Each
    # index is written for every suggestion, and a dense import's refresh writes hundreds of thousands.
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="suggested_priors", db_index=False)
    prior = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="suggested_answers", db_index=False)
    relation = models.CharField(max_length=30, choices=IncidentLink.Relation.choices)
    lag_days = models.PositiveIntegerField()
    distance_km = models.FloatField(null=True, blank=True)
    score = models.FloatField()
    rank = models.PositiveSmallIntegerField()
    computed_at = models.DateTimeField()

    objects = LinkSuggestionQuerySet.as_manager()

    class Meta:
        verbose_name = "suggested link"
        ordering = ["-score", "incident_id", "rank"]
        constraints = [models.UniqueConstraint(fields=["incident", "prior"], name="events_linksuggestion_pair")]
        indexes = [
            # The review queue, best first; and the incidents whose candidates a changed incident was.
            models.Index(fields=["-score"], name="events_linksuggestion_score"),
            models.Index(fields=["prior"], name="events_linksuggestion_prior"),
        ]

    def __str__(self) -> str:
        return f"{self.incident} — {self.get_relation_display()}? — {self.prior} (score {self.score:.2f})"


class SuggestionRejection(models.Model):
    """An editor said `incident` does not answer `prior`: the pair is left out of suggestions from then on."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="+")
    prior = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="+")
    rejected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    rejected_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-rejected_at"]
        constraints = [models.UniqueConstraint(fields=["incident", "prior"], name="events_suggestionrejection_pair")]

    def __str__(self) -> str:
        return f"{self.incident} does not answer {self.prior}"
