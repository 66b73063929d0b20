"""How long deterrent actions held: for each strike and show of force, the days to the next attack by a side it
targeted on a side that carried it out, censored at the data's last date, and per kind the Kaplan-Meier curve."""

from __future__ import annotations

# Query text is assembled from this module's constants and events.cycles.sides; values go in as parameters.
# ruff: noqa: S608
import datetime as dt
import math

import numpy as np
from django.db.models import Q, QuerySet

from ...models import Category, Incident, Kind
from ..sides import dyads
from .queries import compiled, fetch, last_date
from .stats import EARTH_KM, kaplan_meier, sphere_points

# The next attack by a side the action was aimed at, on the acting side: for every action at once. Each action
# and each attack is spread over its dyads (attacker side, target side: for an action, the sides it targeted
# and the sides that carried it out); along each dyad's days, a window over the days after gives the first
# attack; the earliest over the action's dyads is its next attack, the lowest id breaking a tie. Sorting the
# dyads once is linear in the data, where looking ahead from every action would scan to the end for the
# dyads that never answer.
DETERRENCE_SQL = f"""
WITH actions AS MATERIALIZED ({{actions}}),
action_dyads AS MATERIALIZED (
    SELECT a.id, a.occurred_on - DATE '1900-01-01' AS day, t.key AS attacker, s.key AS target
    FROM actions AS a {dyads("a", attacker="s", target="t")}
),
attack_dyads AS MATERIALIZED (
    SELECT b.id, b.occurred_on - DATE '1900-01-01' AS day, x.key AS attacker, y.key AS target
    FROM events_incident AS b {dyads("b", attacker="x", target="y")}
    WHERE b.status = 'published' AND b.kind = ANY (%s)
),
ahead AS (
    SELECT id, is_attack,
           -- Walking the days backwards, so the frame only grows: min() has no inverse, and a frame whose
           -- start moved would be aggregated again from scratch for every row. The day and the id packed in one
           -- bigint (days since 1900 fit in 16 bits, ids in the other 47): the earliest, then the lowest id,
           -- in one pass (joining back on the day multiplied rows by the actions of that day).
           min((day::bigint << 47) | id) FILTER (WHERE is_attack) OVER (
               PARTITION BY attacker, target ORDER BY day DESC RANGE BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
           ) AS next
    FROM (
        SELECT id, day, attacker, target, false AS is_attack FROM action_dyads
        UNION ALL
        SELECT id, day, attacker, target, true FROM attack_dyads
    ) AS t
),
per_action AS (SELECT id, min(next) AS next FROM ahead WHERE NOT is_attack GROUP BY id)
SELECT a.id, a.kind, a.occurred_on, p.next & (2 ^ 47 - 1)::bigint, DATE '1900-01-01' + (p.next >> 47)::integer,
       coalesce(DATE '1900-01-01' + (p.next >> 47)::integer, %s::date) - a.occurred_on AS days,
       p.next IS NULL AS censored
FROM actions AS a
JOIN per_action AS p ON p.id = a.id
ORDER BY a.occurred_on, a.id
"""

# The same windows, counting only the attacks within `within_km` of the action: the actions and the attacks that
# could answer any of them (a point, sides overlapping), the attacks in (day, id) order; then in numpy, for each
# action, the attacks after its day walked in growing chunks until one is near enough and on one of its dyads.
# In dense data the first near attack is a few hundred rows on; a walk in SQL (a LATERAL lookup per action)
# took over 15 s at 70,000 rows, and a join on distance alone pairs every action with thousands of attacks.
NEAR_ACTIONS_SQL = """
SELECT a.id, a.kind, a.occurred_on, a.occurred_on - DATE '1900-01-01', ST_X(a.location), ST_Y(a.location),
       a.attacking_sides, a.targeted_sides
FROM ({actions}) AS a
WHERE a.location IS NOT NULL AND a.targeted_sides <> '{{}}' AND a.attacking_sides <> '{{}}'
ORDER BY a.occurred_on, a.id
"""
NEAR_ATTACKS_SQL = """
SELECT b.id, b.occurred_on - DATE '1900-01-01', ST_X(b.location), ST_Y(b.location), b.attacking_sides,
       b.targeted_sides
FROM events_incident AS b
WHERE b.status = 'published' AND b.kind = ANY (%s) AND b.location IS NOT NULL AND b.occurred_on > %s
  AND b.attacking_sides && %s::text[] AND b.targeted_sides && %s::text[]
ORDER BY b.occurred_on, b.id
"""
FIRST_CHUNK = 256


def near_windows(actions: list[tuple], attacks: list[tuple], within_km: float) -> list[tuple]:
    """(next attack's id or None, its day number or None) per action: the first attack strictly after the
    action's day, within `within_km`, by a side it targeted on a side that carried it out."""
    chord = 2 * EARTH_KM * math.sin(within_km / (2 * EARTH_KM))
    act_points = sphere_points(np.asarray([a[4:6] for a in actions], dtype=float).reshape(-1, 2))
    points = sphere_points(np.asarray([b[2:4] for b in attacks], dtype=float).reshape(-1, 2))
    days = np.asarray([b[1] for b in attacks], dtype=np.int64)
    # Who may answer whom, per distinct pair of side sets: few in any data.
    kinds = {}
    attack_kind = np.asarray([kinds.setdefault((frozenset(b[4]), frozenset(b[5])), len(kinds)) for b in attacks])
    found = []
    for a, point in zip(actions, act_points, strict=True):
        targeted, attacking = set(a[7]), set(a[6])
        answers = np.asarray([bool(att & targeted) and bool(tgt & attacking) for att, tgt in kinds], dtype=bool)
        start, size, hit = int(np.searchsorted(days, a[3], side="right")), FIRST_CHUNK, None
        while start < len(days) and hit is None:
            chunk = slice(start, start + size)
            near = (((points[chunk] - point) ** 2).sum(axis=1) <= chord * chord) & answers[attack_kind[chunk]]
            if near.any():
                hit = start + int(np.argmax(near))
            start, size = start + size, size * 2
        found.append((attacks[hit][0], attacks[hit][1]) if hit is not None else (None, None))
    return found


def deterrence_windows(
    selected: QuerySet, *, until: dt.date | None = None, within_km: float | None = None
) -> tuple[list[dict], int, int]:
    """One window per deterrent action among `selected` (strikes and shows of force, published), and how many
    actions were left out for naming no target or no actor (aimed at no one, nothing can answer them).

    `days` counts from the action to the next attack by a side it targeted on a side that carried it out
    (strictly later: dates are days, so a same-day attack may have come first). A window with no such attack
    is censored at the data's last date.

    With `within_km`, only the attacks within that great-circle distance of the action end its window, and the
    actions without a point are left out: the third number counts them (0 without `within_km`).
    """
    actions = selected.filter(status=Incident.Status.PUBLISHED, kind__in=Kind.deterrent())
    until = until or last_date()
    if until is None:
        return [], 0, 0
    placed = () if within_km is None else ("location",)
    sql, params = compiled(actions, "id", "kind", "occurred_on", "attacking_sides", "targeted_sides", *placed)
    unaimed = actions.filter(Q(targeted_sides=[]) | Q(attacking_sides=[])).count()
    unplaced = 0
    if within_km is None:
        rows = fetch(DETERRENCE_SQL.format(actions=sql), [*params, Category.ATTACK.kinds, until])
    else:
        placed = fetch(NEAR_ACTIONS_SQL.format(actions=sql), params)
        attacks = []
        if placed:
            targeted = sorted({key for row in placed for key in row[7]})
            attacking = sorted({key for row in placed for key in row[6]})
            first = min(row[2] for row in placed)
            attacks = fetch(NEAR_ATTACKS_SQL, [Category.ATTACK.kinds, first, targeted, attacking])
        epoch, last = dt.date(1900, 1, 1), (until - dt.date(1900, 1, 1)).days
        rows = [
            (a[0], a[1], a[2], pk, epoch + dt.timedelta(days=day) if pk else None, (last if pk is None else day) - a[3],
             pk is None)
            for a, (pk, day) in zip(placed, near_windows(placed, attacks, within_km), strict=True)
        ]  # fmt: skip
        unplaced = actions.filter(location__isnull=True).exclude(Q(targeted_sides=[]) | Q(attacking_sides=[])).count()
    windows = [
        {
            "incident": row[0],
            "kind": row[1],
            "occurred_on": row[2].isoformat(),
            "next_attack": row[3],
            "next_attack_on": row[4].isoformat() if row[4] else None,
            "days": row[5],
            "censored": row[6],
        }
        for row in rows
    ]
    return windows, unaimed, unplaced


def deterrence(selected: QuerySet, *, within_km: float | None = None) -> dict:
    windows, unaimed, unplaced = deterrence_windows(selected, within_km=within_km)
    kinds = []
    for kind in Kind.deterrent():
        mine = [w for w in windows if w["kind"] == kind]
        if mine:
            summary = kaplan_meier([w["days"] for w in mine], [not w["censored"] for w in mine])
            kinds.append({"kind": kind, "kind_label": Kind(kind).label, **summary})
    radius = {} if within_km is None else {"within_km": within_km, "unplaced": unplaced}
    return {
        "censored_at": (last_date() or dt.date.today()).isoformat() if windows else None,
        "unaimed": unaimed,
        **radius,
        "summary": kinds,
        "windows": windows,
    }
