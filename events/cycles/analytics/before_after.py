"""What an incident was followed by: the attacks on its side in the days before and after it, and their rate
ratio."""

from __future__ import annotations

import datetime as dt

from django.contrib.gis.measure import D
from django.db.models import Q, QuerySet

from ...models import Category, Incident
from .queries import compiled, fetch, first_date, last_date, side_labels
from .stats import rate_ratio

SPIKE_FACTOR = 2  # the window before is a spike at twice what the 4N days before it predict
SPIKE_MIN_COUNT = 3

COUNT_SQL = """
SELECT count(*) FILTER (WHERE occurred_on BETWEEN %s AND %s),
       count(*) FILTER (WHERE occurred_on BETWEEN %s AND %s),
       count(*) FILTER (WHERE occurred_on BETWEEN %s AND %s)
FROM ({attacks}) AS r
WHERE attacking_sides && %s::text[] AND targeted_sides && %s::text[]
"""


def before_after(
    incident: Incident, selected: QuerySet, *, days: int, chose_kinds: bool = False, within_km: float | None = None
) -> dict:
    """Attacks by the incident's targeted sides on its attacking sides in the `days` before and after it (the
    day itself in neither), their rate ratio, and a warning when the window before was a spike. The attacks
    counted are the selected ones of the attack kinds, or of the kinds the selection chose (`chose_kinds`).

    Windows are cut at the data's first and last dates, and the ratio is per day of window. The window
    before is a spike when it holds at least SPIKE_MIN_COUNT attacks and SPIKE_FACTOR times what the rate of
    the 4 × days before it predicts: a fall afterwards may then be regression to the mean, not the incident.

    With `within_km`, only the attacks within that great-circle distance of the incident count, in every window;
    `unplaced` counts the attacks of the windows before and after left out for having no point.
    """
    first, last = first_date(), last_date()
    day = incident.occurred_on
    before_start, before_end = max(first, day - dt.timedelta(days=days)), day - dt.timedelta(days=1)
    after_start, after_end = day + dt.timedelta(days=1), min(last, day + dt.timedelta(days=days))
    prior_end = before_start - dt.timedelta(days=1)
    prior_start = max(first, before_start - dt.timedelta(days=4 * days))
    days_before = max(0, (before_end - before_start).days + 1)
    days_after = max(0, (after_end - after_start).days + 1)
    days_prior = max(0, (prior_end - prior_start).days + 1)
    attacks = selected.filter(status=Incident.Status.PUBLISHED)
    if not chose_kinds:
        attacks = attacks.filter(kind__in=Category.ATTACK.kinds)

    def counts(attacks: QuerySet) -> tuple[int, int, int]:
        sql, params = compiled(attacks, "occurred_on", "attacking_sides", "targeted_sides")
        (row,) = fetch(
            COUNT_SQL.format(attacks=sql),
            [before_start, before_end, after_start, after_end, prior_start, prior_end, *params,
             list(incident.targeted_sides), list(incident.attacking_sides)],
        )  # fmt: skip
        return row

    radius = {}
    if within_km is not None:
        unplaced = counts(attacks.filter(location__isnull=True))
        radius = {"within_km": within_km, "unplaced": unplaced[0] + unplaced[1]}
        # ST_DistanceSphere, as the suggestions' distance_km; an incident without a point has nothing near it.
        near = Q(location__distance_lte=(incident.location, D(km=within_km))) if incident.location else Q(pk=None)
        attacks = attacks.filter(near)
    before, after, prior = counts(attacks)
    spike = None
    if days_prior >= days:
        expected = prior * days_before / days_prior
        spike = before >= SPIKE_MIN_COUNT and before >= SPIKE_FACTOR * expected
    warnings = []
    if spike:
        warnings.append(
            f"The {days} days before were a spike ({before} attacks where the {days_prior} days before them "
            f"predict {expected:.1f}): a fall afterwards may be regression to the mean, not the incident's effect."
        )
    if days_after < days:
        warnings.append(f"The data end {days - days_after} days short of the window after: it is cut to {days_after}.")
    if within_km is not None and incident.location is None:
        warnings.append("The incident has no point, so no attack can be within a distance of it.")
    if not incident.targeted_sides or not incident.attacking_sides:
        warnings.append("The incident names no attacker or no target, so no attack can be counted as an answer.")
    labels = side_labels([*incident.attacking_sides, *incident.targeted_sides])
    return {
        "incident": incident.pk,
        "occurred_on": day.isoformat(),
        "days": days,
        **radius,
        "attacking_sides": [{"key": key, "label": labels.get(key, key)} for key in incident.attacking_sides],
        "targeted_sides": [{"key": key, "label": labels.get(key, key)} for key in incident.targeted_sides],
        "before": {"start": before_start.isoformat(), "end": before_end.isoformat(), "days": days_before,
                   "attacks": before},
        "after": {"start": after_start.isoformat(), "end": after_end.isoformat(), "days": days_after,
                  "attacks": after},
        "earlier": {"start": prior_start.isoformat(), "end": prior_end.isoformat(), "days": days_prior,
                    "attacks": prior},
        "rate_ratio": rate_ratio(after, before, days_after=days_after, days_before=days_before),
        "spike_before": spike,
        "warnings": warnings,
    }  # fmt: skip
