"""Where attacks surged: ISO weeks in which a side's force incidents (as attacker), or a base's (as target), were at
least twice the mean of the previous four (ACLED's rule), with the ratio's exact interval; and the surges that
newly published incidents are in, for the alerts."""

from __future__ import annotations

# Query text is assembled from this module's constants and events.cycles.sides; values go in as parameters.
# ruff: noqa: S608
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from django.db.models import QuerySet
from scipy import stats

from ...models import Incident, Kind
from ..sides import spread
from .queries import compiled, fetch, first_date, published
from .stats import LEVEL, MIN_BEFORE_AFTER, OK, figure, rate_ratio

SURGE_FACTOR = 2  # ACLED's rule: a week with at least twice the mean of the previous four
SURGE_WEEKS = 4
SURGE_MIN_COUNT = 3  # a week with fewer attacks is never a surge (twice a mean of zero is zero)
SURGE_RULE = (
    f"A week with at least {SURGE_MIN_COUNT} incidents and {SURGE_FACTOR} times the mean of the previous "
    f"{SURGE_WEEKS} weeks (ACLED's surge rule)."
)


@dataclass(frozen=True)
class Surge:
    scope: str  # "side" or "base"
    key: str  # a side key, or a base id as text
    label: str
    week: dt.date
    count: int
    previous: int  # attacks in the previous SURGE_WEEKS weeks

    @property
    def previous_mean(self) -> float:
        return self.previous / SURGE_WEEKS

    def ratio(self) -> dict:
        """The week against the mean of the previous four, with the exact CI of the conditional binomial."""
        return rate_ratio(self.count, self.previous, days_after=7, days_before=7 * SURGE_WEEKS)

    def as_dict(self, ratio: dict | None = None) -> dict:
        return {
            "scope": self.scope,
            "key": self.key,
            "label": self.label,
            "week": self.week.isoformat(),
            "week_end": (self.week + dt.timedelta(days=6)).isoformat(),
            "count": self.count,
            "previous_weeks": SURGE_WEEKS,
            "previous_mean": round(self.previous_mean, 3),
            "ratio": self.ratio() if ratio is None else ratio,
        }


def surge_dicts(found: Sequence[Surge]) -> list[dict]:
    """Surges as the API shows them, their ratios' intervals computed for all at once (the same numbers as
    Surge.ratio, which costs a scipy call per week)."""
    if not found:
        return []
    k = np.asarray([s.count for s in found], dtype=float)
    n = k + np.asarray([s.previous for s in found], dtype=float)
    alpha = 1 - LEVEL
    with np.errstate(invalid="ignore", divide="ignore"):
        low = np.where(k == 0, 0.0, stats.beta.ppf(alpha / 2, k, n - k + 1))
        high = np.where(k == n, 1.0, stats.beta.ppf(1 - alpha / 2, k + 1, n - k))
    scale = SURGE_WEEKS  # the week against SURGE_WEEKS weeks before it

    def ratio(pi: float) -> float | None:
        return None if pi >= 1 else pi / (1 - pi) * scale

    out = []
    for surge, lo, hi in zip(found, low, high, strict=True):
        total = surge.count + surge.previous
        if total < MIN_BEFORE_AFTER:
            value = figure(total)
        else:
            point = None if surge.previous == 0 else surge.count / surge.previous_mean
            value = figure(total, point, ratio(float(lo)), ratio(float(hi)), status=OK)
        out.append(surge.as_dict(value))
    return out


# Counted per (scope, key, ISO week): a side's force incidents as attacker, a base's as its target. A week
# surges when it holds at least SURGE_MIN_COUNT and SURGE_FACTOR times the mean of the previous SURGE_WEEKS
# weeks, summed by a window over the dates: a week with no incident needs no row (it cannot surge, and counts
# as zero in the weeks after it). Weeks before the data's first week + SURGE_WEEKS have no past to judge by.
SURGES_SQL = f"""
WITH counted AS MATERIALIZED (
    -- The selection twice rather than a CTE read twice, which PostgreSQL would write out in full first. Each
    -- branch counted on its own and the counts materialized: grouped as one, the million rows were sorted for
    -- the window below (1.8 s at 1,000,000 incidents) where hashing them takes a fraction of that.
    SELECT 'side' AS scope, s.key, date_trunc('week', r.occurred_on::timestamp)::date AS week, count(*) AS n
    FROM ({{rows}}) AS r {spread("r", "attacking", "s")}
    GROUP BY 2, 3
    UNION ALL
    SELECT 'base', r.base_id::text, date_trunc('week', r.occurred_on::timestamp)::date, count(*)
    FROM ({{rows}}) AS r WHERE r.base_id IS NOT NULL
    GROUP BY 2, 3
),
bounds AS (SELECT %s::date AS first),
windowed AS (
    SELECT c.*, sum(n) OVER (
        PARTITION BY scope, key ORDER BY week
        RANGE BETWEEN interval '{{days}} days' PRECEDING AND interval '7 days' PRECEDING
    ) AS previous
    FROM counted AS c
)
SELECT w.scope, w.key, coalesce(s.name, a.name, bs.name, w.key), w.week, w.n, coalesce(w.previous, 0)
FROM windowed AS w CROSS JOIN bounds AS b
LEFT JOIN posture_side AS s ON w.scope = 'side' AND s.slug = w.key
LEFT JOIN posture_actor AS a ON w.scope = 'side' AND w.key LIKE 'actor:%%' AND a.slug = substr(w.key, 7)
LEFT JOIN posture_base AS bs ON w.scope = 'base' AND bs.id::text = w.key
WHERE w.week >= b.first + {{days}} AND w.n >= %s AND w.n * {{weeks}} >= %s * coalesce(w.previous, 0) {{only}}
ORDER BY w.week, w.scope, w.key
"""


def _week(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def surges(selected: QuerySet, *, scope: str | None = None, chose_kinds: bool = False) -> list[Surge]:
    """Surge weeks per side and per base among the selected force incidents (published), or among the
    selected of the kinds the selection chose (`chose_kinds`)."""
    counted = selected.filter(status=Incident.Status.PUBLISHED)
    if not chose_kinds:
        counted = counted.filter(kind__in=Kind.force())
    start = counted.order_by("occurred_on").values_list("occurred_on", flat=True).first()
    if start is None:
        return []
    only = ("AND w.scope = %s", [scope]) if scope else ("", [])
    return _surges(counted, _week(start), only)


def _surges(counted: QuerySet, first_week: dt.date, only: tuple[str, list]) -> list[Surge]:
    sql, params = compiled(counted, "occurred_on", "attacking_sides", "base_id")
    statement = SURGES_SQL.format(rows=sql, weeks=SURGE_WEEKS, days=7 * SURGE_WEEKS, only=only[0])
    rows = fetch(statement, [*params, *params, first_week, SURGE_MIN_COUNT, SURGE_FACTOR, *only[1]])
    return [Surge(scope=r[0], key=r[1], label=r[2], week=r[3], count=r[4], previous=int(r[5])) for r in rows]


def surges_answer(selected: QuerySet, *, scope: str | None = None, chose_kinds: bool = False) -> dict:
    """The body of /analytics/surges/: the rule, and the surge weeks with their ratios."""
    found = surges(selected, scope=scope, chose_kinds=chose_kinds)
    return {"rule": SURGE_RULE, "n": len(found), "surges": surge_dicts(found)}


def surges_touched_by(incident_ids: Sequence[int]) -> list[Surge]:
    """The surge weeks that these (newly published) incidents are in, for their sides and bases: what a
    surge alert announces. Counted over every published force incident, as surges() counts them unfiltered."""
    touched = list(
        published()
        .filter(pk__in=list(incident_ids), kind__in=Kind.force())
        .values_list("occurred_on", "attacking_sides", "base_id")
    )
    if not touched:
        return []
    start = first_date()
    weeks = sorted({_week(day) for day, _, _ in touched})
    sides = sorted({key for _, keys, _ in touched for key in keys})
    bases = sorted({str(base) for _, _, base in touched if base is not None})
    counted = published().filter(
        kind__in=Kind.force(),
        occurred_on__gte=weeks[0] - dt.timedelta(days=7 * SURGE_WEEKS),
        occurred_on__lt=weeks[-1] + dt.timedelta(days=7),
    )
    # Only the weeks touched, and only the sides and bases of the incidents that touched them.
    only = (
        "AND w.week = ANY (%s) AND ((w.scope = 'side' AND w.key = ANY (%s))"
        " OR (w.scope = 'base' AND w.key = ANY (%s)))",
        [weeks, sides, bases],
    )
    return _surges(counted, _week(start), only)
