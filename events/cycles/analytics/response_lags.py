"""How fast sides answer each other: per pair of sides, the lags from confirmed links and from suggestions, and
beside them the shuffled-date baseline."""

from __future__ import annotations

# Query text is assembled from this module's constants and events.cycles.sides; values go in as parameters.
# ruff: noqa: S608
import math
from collections.abc import Sequence

import numpy as np
from django.db import connection
from django.db.models import QuerySet

from ...models import Incident, Kind
from .. import sides
from .queries import compiled, fetch, published, side_labels
from .stats import (
    chance_baseline,
    lag_summary,
    near_prior_lags,
    nearest_prior_lags,
    pairs_within,
    sphere_points,
)


def _link_lags(
    table: str, selected: QuerySet, *, everything: bool, best_only: bool = False, within_km: float | None = None
) -> dict[tuple[str, str], list[int]]:
    """Lags of the links (or the best suggestions) whose answer is selected, per (first side, answering side);
    with `within_km`, only those whose two ends lie within that distance."""
    sql, params = compiled(selected, "id")
    near = "" if within_km is None else "WHERE ST_DistanceSphere(i.location, p.location) <= %s"
    # Every published answer (the unfiltered request) needs no membership test: the join below keeps them.
    conditions = ["true" if everything else f"l.incident_id IN ({sql})", "l.rank = 1" if best_only else "true"]
    rows = fetch(
        f"""
        WITH l AS MATERIALIZED (
            SELECT l.id, l.incident_id, l.prior_id FROM {table} AS l WHERE {" AND ".join(conditions)}
        )
        SELECT ps.key, ans.key, array_agg(i.occurred_on - p.occurred_on ORDER BY l.id)
        FROM l
        JOIN events_incident AS i ON i.id = l.incident_id AND i.status = 'published'
        JOIN events_incident AS p ON p.id = l.prior_id AND p.status = 'published'
        {sides.spread("p", "attacking", "ps")}
        {sides.spread("i", "attacking", "ans")}
        {near}
        GROUP BY 1, 2
        """,
        [*([] if everything else params), *([] if within_km is None else [within_km * 1000])],
        as_written=True,
    )
    return {(first, answering): list(lags) for first, answering, lags in rows}


def _suggestion_table_exists() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('events_linksuggestion') IS NOT NULL")
        return cursor.fetchone()[0]


# The dates (as day numbers) of the pairs' force incidents both ways, for all pairs in one scan: the first
# side's on the answering side (the priors) and the answering side's on the first side (the answers, among the
# selected). Each incident is spread over its dyads (its sides are distinct, so a dyad holds it once) and
# joined to the pairs' two directions; a pair of a side with itself takes its dyad as both. In id order, so
# that the permutations draw from the same sequence whatever the table's physical order. `placed` keeps only
# the incidents with a point, and adds their longitudes and latitudes in the same order.
PAIR_DATES_SQL = f"""
WITH directed AS (
    SELECT p.ord, p.first AS attacker, p.answering AS target, true AS prior
    FROM unnest(%s::text[], %s::text[]) WITH ORDINALITY AS p(first, answering, ord)
    UNION ALL
    SELECT p.ord, p.answering, p.first, false
    FROM unnest(%s::text[], %s::text[]) WITH ORDINALITY AS p(first, answering, ord)
),
dyads AS (
    SELECT i.id, i.occurred_on - DATE '1900-01-01' AS day, a.key AS attacker, t.key AS target, {{selected}} AS selected
           {{place}}
    FROM events_incident AS i {sides.dyads("i", attacker="a", target="t")}
    WHERE i.status = 'published' AND i.kind = ANY (%s) AND i.attacking_sides && %s::text[]
      AND i.targeted_sides && %s::text[] {{placed}}
)
SELECT x.ord, array_agg(d.day ORDER BY d.id) FILTER (WHERE x.prior),
       array_agg(d.day ORDER BY d.id) FILTER (WHERE NOT x.prior AND d.selected) {{coordinates}}
FROM directed AS x
JOIN dyads AS d ON d.attacker = x.attacker AND d.target = x.target
GROUP BY x.ord
"""


PLACES = {
    "place": ", ST_X(i.location) AS lon, ST_Y(i.location) AS lat",
    "placed": "AND i.location IS NOT NULL",
    "coordinates": "".join(
        f", array_agg(d.{axis} ORDER BY d.id) FILTER (WHERE {which})"
        for which in ("x.prior", "NOT x.prior AND d.selected")
        for axis in ("lon", "lat")
    ),
}


def pair_dates(
    pairs: Sequence[tuple[str, str]], selected: QuerySet, *, everything: bool, placed: bool = False
) -> list[tuple[np.ndarray, ...]]:
    """Per pair (first, answering), in order: the priors' and the answers' day numbers; `placed`: of those with a
    point only, and then their (longitude, latitude) too, as (n, 2) arrays."""
    if not pairs:
        return []
    firsts, answerings = [first for first, _ in pairs], [answering for _, answering in pairs]
    keys = sorted({*firsts, *answerings})
    sql, params = compiled(selected, "id")
    places = PLACES if placed else dict.fromkeys(PLACES, "")
    rows = fetch(
        PAIR_DATES_SQL.format(selected="true" if everything else f"i.id IN ({sql})", **places),
        [firsts, answerings, firsts, answerings, *([] if everything else params), Kind.force(), keys, keys],
    )
    found = {row[0]: row[1:] for row in rows}
    dates = []
    for ord_ in range(1, len(pairs) + 1):
        row = found.get(ord_, (None, None, None, None, None, None))
        days = tuple(np.asarray(values or [], dtype=np.int64) for values in row[:2])
        if placed:
            lon_p, lat_p, lon_a, lat_a = (np.asarray(values or [], dtype=float) for values in row[2:])
            days += (np.column_stack([lon_p, lat_p]), np.column_stack([lon_a, lat_a]))
        dates.append(days)
    return dates


MAX_PAIRS = 12
DEFAULT_WINDOW = 30  # days, when the request names none

# Who attacked whom how often, among force incidents: (attacking side, targeted side, selected incidents,
# all published incidents), in one scan for both counts.
DYADS_SQL = f"""
SELECT a.key, t.key, count(*) FILTER (WHERE r.selected), count(*)
FROM (
    SELECT i.attacking_sides, i.targeted_sides, {{selected}} AS selected
    FROM events_incident AS i WHERE i.status = 'published' AND i.kind = ANY (%s)
) AS r
{sides.dyads("r", attacker="a", target="t")}
WHERE a.key <> t.key
GROUP BY 1, 2
"""


def dyads(selected: QuerySet, *, everything: bool) -> tuple[dict[tuple[str, str], int], dict[tuple[str, str], int]]:
    """Force incidents per (attacking side, targeted side): among the selected, and among all published."""
    sql, params = compiled(selected, "id")
    rows = fetch(
        DYADS_SQL.format(selected="true" if everything else f"i.id IN ({sql})"),
        [*([] if everything else params), Kind.force()],
    )
    return {(a, t): n for a, t, n, _ in rows if n}, {(a, t): n for a, t, _, n in rows}


def response_lags(selected: QuerySet, *, window: int = DEFAULT_WINDOW, within_km: float | None = None) -> dict:
    """Per pair of sides (the side that acted first, the side that answered): lags from confirmed links and
    from suggestions (the best candidate per answer), separately, and the shuffled-date baseline beside them.

    The pairs are those of the links and suggestions, and every reversed dyad of the data (the answering side
    attacked the first side among the selected, and the first side attacked it), the most linked first, then
    the most active; at most MAX_PAIRS.

    With `within_km`, only links and suggestions whose two ends lie within that distance are counted, and the
    baseline pairs each answer with the priors within it; the incidents without a point are left out of
    every pair (`unplaced` counts the selected force incidents among them).
    """
    # The unfiltered request (the dashboard's first) skips every test of membership in the selection.
    everything = compiled(selected, "id") == compiled(published(), "id")
    selected = selected.filter(status=Incident.Status.PUBLISHED)
    bin_days = max(1, math.ceil((window + 1) / 15))
    links = _link_lags("events_incidentlink", selected, everything=everything, within_km=within_km)
    suggestions = (
        _link_lags("events_linksuggestion", selected, everything=everything, best_only=True, within_km=within_km)
        if _suggestion_table_exists()
        else {}
    )
    answered, attacked = dyads(selected, everything=everything)
    reversed_dyads = {(t, a): n for (a, t), n in answered.items() if attacked.get((t, a))}
    pairs = sorted(
        set(links) | set(suggestions) | set(reversed_dyads),
        key=lambda pair: (
            -(len(links.get(pair, [])) + len(suggestions.get(pair, []))),
            -reversed_dyads.get(pair, 0),
            pair,
        ),
    )
    labels = side_labels({key for pair in pairs[:MAX_PAIRS] for key in pair})
    answer = []
    dates = pair_dates(pairs[:MAX_PAIRS], selected, everything=everything, placed=within_km is not None)
    for (first, answering), (priors, answers, *places) in zip(pairs[:MAX_PAIRS], dates, strict=True):
        lags_of = nearest_prior_lags
        if places:
            # Places stay with their incidents; only the dates are shuffled, so the baseline asks the same local
            # question as the observed pairing.
            answer_of, prior_of, _ = pairs_within(sphere_points(places[1]), sphere_points(places[0]), within_km)
            lags_of = near_prior_lags(answer_of, prior_of, len(answers))
        answer.append(
            {
                "first": {"key": first, "label": labels.get(first, first)},
                "answering": {"key": answering, "label": labels.get(answering, answering)},
                "links": lag_summary(links.get((first, answering), []), window=window, bin_days=bin_days),
                "suggestions": lag_summary(suggestions.get((first, answering), []), window=window, bin_days=bin_days),
                "baseline": chance_baseline(priors, answers, window=window, bin_days=bin_days, lags_of=lags_of),
            }
        )
    radius = {}
    if within_km is not None:
        unplaced = selected.filter(kind__in=Kind.force(), location__isnull=True).count()
        radius = {"within_km": within_km, "unplaced": unplaced}
    return {
        "window": window,
        "bin_days": bin_days,
        **radius,
        "pairs_total": len(pairs),
        "truncated": len(pairs) > MAX_PAIRS,
        "pairs": answer,
    }
