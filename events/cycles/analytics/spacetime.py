"""The space-time table: do one side's acts and the other side's attacks come close together in space and time
more often than their places and dates alone would give? Knox's test with bands of distance and of days, as
Ratcliffe's Near Repeat Calculator runs it (docs/analytics.md names the method's papers).

PostgreSQL reads the two sets of events; the pairs within the largest distance are found once (a k-d tree on
the sphere: millions of pairs in dense data, which would cost more to send out of PostgreSQL than to find), and
the permutations only look their days up again (stats.knox_cells).
"""

from __future__ import annotations

import hashlib
from urllib.parse import urlencode

import numpy as np
from django.db.models import QuerySet

from ...models import Kind
from .queries import compiled, fetch, side_labels
from .stats import (
    INSUFFICIENT,
    MAX_SPACETIME_PAIRS,
    MIN_SPACETIME,
    OK,
    count_within,
    knox_cells,
    pairs_within,
    sphere_points,
)

KM_EDGES = (1, 5, 10, 25)
DAY_EDGES = (1, 3, 7, 14, 30)
PERMUTATIONS = 199
ALPHA = 0.05
# What the table is about unless the filters choose other kinds: one side's force, and its shows of force.
KINDS = [*Kind.force(), Kind.SHOW_OF_FORCE.value]

# The selection's events of both sets, in id order (the permutations then draw the same whatever the table's
# physical order): acts, by `first` on `answering`, and attacks, by `answering` on `first`. An incident that
# is both (each side among its attackers and its targets) is both.
EVENTS_SQL = """
SELECT r.occurred_on - DATE '1900-01-01', ST_X(r.location), ST_Y(r.location),
       %s = ANY (r.attacking_sides) AND %s = ANY (r.targeted_sides),
       %s = ANY (r.attacking_sides) AND %s = ANY (r.targeted_sides)
FROM ({selection}) AS r
WHERE (r.attacking_sides @> ARRAY[%s]::text[] AND r.targeted_sides @> ARRAY[%s]::text[])
   OR (r.attacking_sides @> ARRAY[%s]::text[] AND r.targeted_sides @> ARRAY[%s]::text[])
ORDER BY r.id
"""


class TooManyPairs(ValueError):
    """The largest distance band pairs more acts and attacks than one table may count (MAX_SPACETIME_PAIRS)."""

    def __init__(self, pairs: int, km: float):
        self.pairs, self.km = pairs, km
        super().__init__(
            f"Within {km:g} km, the largest distance band, {pairs:,} pairs of an act and an attack; at most "
            f"{MAX_SPACETIME_PAIRS:,} are counted. Give smaller `km` edges, or filters (dates, a bbox, a country) "
            "that choose fewer events."
        )


def space_time(
    selected: QuerySet,
    *,
    first: str,
    answering: str,
    km_edges=KM_EDGES,
    day_edges=DAY_EDGES,
    permutations: int = PERMUTATIONS,
    chose_kinds: bool = False,
) -> dict:
    """The space-time table of `first`'s acts on `answering` and `answering`'s attacks on `first` among the
    selected (published) incidents, of KINDS unless the selection chose its own (`chose_kinds`)."""
    events = selected if chose_kinds else selected.filter(kind__in=KINDS)
    sql, params = compiled(events, "id", "occurred_on", "location", "attacking_sides", "targeted_sides")
    rows = fetch(
        EVENTS_SQL.format(selection=sql),
        [first, answering, answering, first, *params, first, answering, answering, first],
    )
    placed = [row for row in rows if row[1] is not None]
    days = np.asarray([row[0] for row in placed], dtype=np.int64)
    points = sphere_points(np.asarray([row[1:3] for row in placed], dtype=float).reshape(-1, 2))
    acts = np.flatnonzero([row[3] for row in placed])
    attacks = np.flatnonzero([row[4] for row in placed])
    labels = side_labels([first, answering])
    body = {
        "first": {"key": first, "label": labels.get(first, first)},
        "answering": {"key": answering, "label": labels.get(answering, answering)},
        "n_first": len(acts),
        "n_answering": len(attacks),
        "unplaced": len(rows) - len(placed),
        "min_events": MIN_SPACETIME,
        "permutations": permutations,
        "km": [float(edge) for edge in km_edges],
        "days": [int(edge) for edge in day_edges],
    }
    if len(acts) < MIN_SPACETIME or len(attacks) < MIN_SPACETIME:
        return {**body, "status": INSUFFICIENT, "seed": None, "reading": INSUFFICIENT, "cells": []}
    # Counted before they are listed: a table too large for a web worker's memory is refused, not attempted.
    if (pairs := count_within(points[acts], points[attacks], km_edges[-1])) > MAX_SPACETIME_PAIRS:
        raise TooManyPairs(pairs, km_edges[-1])
    i, j, km = pairs_within(points[acts], points[attacks], km_edges[-1])
    # Seeded by the data and the question: the same data give the same answer, and the same ETag.
    digest = hashlib.blake2b(digest_size=8)
    for part in (days, points.round(6), acts, attacks, np.asarray(km_edges, float), np.asarray(day_edges)):
        digest.update(np.ascontiguousarray(part).tobytes())
    digest.update(f"{first}|{answering}|{permutations}".encode())
    seed = int.from_bytes(digest.digest(), "big") >> 11  # 53 bits: a number JavaScript reads exactly
    table = knox_cells(days, acts[i], attacks[j], km, km_edges, day_edges, permutations=permutations, seed=seed)
    return {**body, "status": OK, "seed": seed, "reading": reading(table["cells"], body), "cells": table["cells"]}


def canonical_query(
    *, first: str, answering: str, km_edges=KM_EDGES, day_edges=DAY_EDGES, permutations: int = PERMUTATIONS
) -> str:
    """An unfiltered question as one query string, however it was written (the order of the parameters, the
    default bands given or not): the key its answer is cached under, and warmed ahead (warm_default_answers)."""
    return urlencode(
        {
            "first": first,
            "answering": answering,
            "km": ",".join(f"{edge:g}" for edge in km_edges),
            "days": ",".join(f"{edge:g}" for edge in day_edges),
            "permutations": permutations,
        }
    )


def reading(cells: list[dict], body: dict) -> str:
    """One line on the strongest cell significant at ALPHA: the highest ratio, then the lowest p."""
    significant = [c for c in cells if c["p_value"] is not None and c["p_value"] < ALPHA and c["ratio"]]
    first, answering = body["first"]["label"], body["answering"]["label"]
    if not significant:
        return (
            f"No cell is more than chance (p < {ALPHA}): {answering}'s attacks come no closer in space and time to "
            f"{first}'s acts than with the dates shuffled."
        )
    best = max(significant, key=lambda c: (c["ratio"], -c["p_value"]))
    return (
        f"Within {best['km_from']:g}–{best['km_to']:g} km and {best['days_from']}–{best['days_to']} days of "
        f"{first}'s acts, {answering}'s attacks were {best['ratio']:.2f} times as many as with the dates "
        f"shuffled ({best['observed']} against {best['expected']:.1f}, p = {best['p_value']:.3f}; "
        f"{len(significant)} of {len(cells)} cells at p < {ALPHA}, about {len(cells) * ALPHA:.0f} by chance alone)."
    )
