"""Suggested links: for each published incident, the earlier incidents it may answer, scored, computed by
PostgreSQL in one statement for any set of incidents; and a measure of the pairing against chance. The
editor's review of them is events.cycles.review.

A candidate is the reversed dyad: the incident's attacking side was a targeted side of the earlier one, at
most WINDOW_DAYS before it. Its score, in (0, 1], multiplies four factors (README, "Cycle analytics"):

- lag: 0.5 ** ((lag_days - 1) / HALF_LIFE_DAYS), 1 the day after, half a week later;
- distance: 1 / (1 + km / DISTANCE_SCALE_KM), with an unplaced end counted at DISTANCE_SCALE_KM;
- severity of both: sqrt(s(incident) * s(prior)), s(c) = 1 - 0.5 / (1 + ln(1 + casualties)), from 0.5 to 1;
- dyad: 1 when the incident also targets the prior's attacking side (A hit B, B hits A), else HALF_DYAD.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from django.db import connection, transaction

from ..models import Category, Kind
from .sides import spread

# Query text is assembled from the constants below; every value goes in as a parameter.
# ruff: noqa: S608

WINDOW_DAYS = 30  # the default `window`, and the longest kept
PER_INCIDENT = 10  # candidates kept per incident, best first
FLOOR_DAYS = 3  # the candidates of an incident's first days give its floor (BOUNDS)
HALF_LIFE_DAYS = 7.0
DISTANCE_SCALE_KM = 250.0
HALF_DYAD = 0.5
# Diplomacy and political context (Category.POLITICAL) answer nobody in this sense, and are left out; a
# month-precise date has no usable lag.
MAX_DATE_PRECISION = 2  # day or week

# The reversed dyads of the incidents in `{incidents}` (a relation with one column, id): a hash join on
# (side, day) of each incident's attacking sides on each of the `window` days before it against the sides
# targeted on that day, so the work grows with the pairs found, not with the incidents of the period. The
# earlier incidents are read by the date index, from the set's first day less the window to its last. Each
# incident probes `{lags}` days back, an expression that `{bounds}` may join what it needs for (BOUNDS).
PAIRS = f"""
WITH probe AS MATERIALIZED (
    SELECT i.id, ik.key, i.occurred_on - g.lag AS day
    FROM {{incidents}} AS a
    JOIN events_incident AS i ON i.id = a.id
    {{bounds}}
    {spread("i", "attacking", "ik")}
    CROSS JOIN generate_series(1, {{lags}}) AS g(lag)
    WHERE i.status = 'published' AND i.date_precision <= %(precision)s AND i.kind <> ALL(%(left_out)s)
),
earlier AS MATERIALIZED (
    SELECT p.id, pk.key, p.occurred_on AS day
    FROM events_incident AS p
    {spread("p", "targeted", "pk")}
    WHERE p.occurred_on BETWEEN (SELECT min(day) FROM probe) AND (SELECT max(day) FROM probe)
      AND p.status = 'published' AND p.date_precision <= %(precision)s AND p.kind <> ALL(%(left_out)s)
)
SELECT DISTINCT probe.id AS incident_id, earlier.id AS prior_id
FROM probe JOIN earlier ON earlier.key = probe.key AND earlier.day = probe.day
"""

# A candidate pair's proposed relation and its score (the module's docstring), incident `i` answering `p`;
# the benchmark's hand-written SQL scores with them too, so that it differs from ours in the pairing only.
RELATION = """
CASE WHEN i.kind = ANY(%(signal)s) THEN 'deterrence_signal_after'
     WHEN i.kind = ANY(%(hostile)s) AND p.kind = ANY(%(hostile)s) THEN 'retaliation_for'
     ELSE 'response_to' END"""
SEVERITY = "(1 - 0.5 / (1 + ln(1 + {casualties})))"


def score(km: str) -> str:
    """The score of `i` answering `p`, `km` the distance between them (NULL when an end has no point)."""
    return f"""
power(0.5, (i.occurred_on - p.occurred_on - 1) / %(half_life)s)
  / (1 + coalesce({km}, %(scale)s) / %(scale)s)
  * sqrt({SEVERITY.format(casualties="i.casualties_best")} * {SEVERITY.format(casualties="p.casualties_best")})
  * CASE WHEN i.targeted_sides && p.attacking_sides THEN 1 ELSE %(half_dyad)s END"""


SCORE = score("ST_DistanceSphere(i.location, p.location) / 1000")
DISTANCE_KM = "round((ST_DistanceSphere(i.location, p.location) / 1000)::numeric, 3)::float8"

# Those pairs scored, less the pairs linked or rejected.
CANDIDATES = (
    f"""
SELECT i.id AS incident_id, p.id AS prior_id, {RELATION} AS relation,
       i.occurred_on - p.occurred_on AS lag_days, {{distance}} AS distance_km, {{score}} AS score
"""
    + """FROM ({pairs}) AS pair
JOIN events_incident AS i ON i.id = pair.incident_id
JOIN events_incident AS p ON p.id = pair.prior_id
WHERE NOT EXISTS (SELECT 1 FROM events_incidentlink AS l WHERE l.incident_id = i.id AND l.prior_id = p.id)
  AND NOT EXISTS (SELECT 1 FROM events_suggestionrejection AS r WHERE r.incident_id = i.id AND r.prior_id = p.id)
"""
)

RANKED = """
SELECT c.*, row_number() OVER (PARTITION BY c.incident_id ORDER BY c.score DESC, c.lag_days, c.prior_id DESC) AS rank
FROM ({candidates}) AS c
"""


def ranked(
    incidents: str,
    *,
    lags: str = "%(window)s",
    bounds: str = "",
    score: str = SCORE,
    distance: str = DISTANCE_KM,
) -> str:
    """The scored, ranked candidates of the incidents in the relation `incidents` (benchmarks use it too), each
    probing `lags` days back (an SQL expression), `bounds` joined for it."""
    pairs = PAIRS.format(incidents=incidents, lags=lags, bounds=bounds)
    candidates = CANDIDATES.format(pairs=pairs, score=score, distance=distance)
    return RANKED.format(candidates=candidates)


# A candidate that cannot enter an incident's best PER_INCIDENT is never scored. The best PER_INCIDENT are at
# least the incident's floor: the PER_INCIDENT-th best score among its candidates of the first FLOOR_DAYS days
# (real candidates, so at most the PER_INCIDENT-th best of all). A candidate's score is at most its lag's factor
# times sqrt(s(incident) x s(the most severe prior of the period)), the distance and dyad factors being at most
# 1: past the lag where that falls below the floor nothing can enter, and the incident probes no further back.
# An incident with fewer candidates in its first days has no floor and probes the whole window. The answers are
# the same to the bit (bench/suggestions_bench.py compares them with the unbounded SQL); in dense data (a side
# acting every day) the window shrinks from 30 days to a few.
FLOORS = f"""
SELECT r.incident_id AS id, r.score AS floor
FROM ({ranked("affected", lags="%(floor_days)s", distance="NULL")}) AS r
WHERE r.rank = %(per_incident)s
"""
TOP_SEVERITY = f"""
SELECT {SEVERITY.format(casualties="coalesce(max(p.casualties_best), 0)")} AS severity
FROM events_incident AS p
WHERE p.occurred_on BETWEEN (SELECT min(i.occurred_on) FROM affected JOIN events_incident AS i USING (id)) - %(window)s
                        AND (SELECT max(i.occurred_on) FROM affected JOIN events_incident AS i USING (id))
"""
BOUNDED = ranked(
    "affected",
    bounds="LEFT JOIN floors AS f ON f.id = i.id",
    # 1e-9: the float rounding of a bound equal to the floor never cuts a lag that could tie.
    lags=f"""CASE WHEN f.id IS NULL THEN %(window)s ELSE greatest(0, least(%(window)s, floor(
        1 + %(half_life)s * ln(sqrt({SEVERITY.format(casualties="i.casualties_best")} *
        (SELECT severity FROM top_severity)) / f.floor) / ln(2) + 1e-9)))::integer END""",
)


# The incidents whose candidates may change when those in `ids` do: themselves, the later incidents that had
# one of them as a candidate, and the later ones, outside `ids`, that may have one now: the same (side, day)
# join, probing from the incidents of the `window` days after the first changed one.
AFFECTED = f"""
WITH changed AS MATERIALIZED (SELECT unnest(%(ids)s::bigint[]) AS id)
SELECT id FROM changed
-- A join, not "= ANY": as a filter, ANY compares each row with the whole array.
UNION SELECT s.incident_id FROM changed AS c JOIN events_linksuggestion AS s ON s.prior_id = c.id
UNION SELECT forward.id FROM (
    WITH targeted AS MATERIALIZED (
        SELECT ck.key, c.occurred_on AS day
        FROM changed JOIN events_incident AS c ON c.id = changed.id
        {spread("c", "targeted", "ck")}
    ),
    probe AS MATERIALIZED (
        SELECT i.id, ik.key, i.occurred_on - g.lag AS day
        FROM events_incident AS i
        {spread("i", "attacking", "ik")}
        CROSS JOIN generate_series(1, %(window)s) AS g(lag)
        WHERE i.occurred_on > (SELECT min(day) FROM targeted)
          AND i.occurred_on <= (SELECT max(day) FROM targeted) + %(window)s
          AND NOT EXISTS (SELECT 1 FROM changed WHERE changed.id = i.id)
    )
    SELECT probe.id FROM probe JOIN targeted ON targeted.key = probe.key AND targeted.day = probe.day
) AS forward
"""

# Upsert the best PER_INCIDENT of each affected incident (rows whose figures are unchanged are not
# rewritten), and delete the affected incidents' other rows.
REFRESH = f"""
WITH affected AS MATERIALIZED ({{affected}}),
floors AS MATERIALIZED ({FLOORS}),
top_severity AS MATERIALIZED ({TOP_SEVERITY}),
best AS MATERIALIZED (SELECT * FROM ({BOUNDED}) AS r WHERE r.rank <= %(per_incident)s),
written AS (
    INSERT INTO events_linksuggestion AS t
        (incident_id, prior_id, relation, lag_days, distance_km, score, rank, computed_at)
    SELECT incident_id, prior_id, relation, lag_days, distance_km, round(score::numeric, 6)::float8, rank, now()
    FROM best
    ON CONFLICT (incident_id, prior_id) DO UPDATE SET
        relation = EXCLUDED.relation, lag_days = EXCLUDED.lag_days, distance_km = EXCLUDED.distance_km,
        score = EXCLUDED.score, rank = EXCLUDED.rank, computed_at = EXCLUDED.computed_at
    WHERE (t.relation, t.lag_days, t.distance_km, t.score, t.rank)
          IS DISTINCT FROM (EXCLUDED.relation, EXCLUDED.lag_days, EXCLUDED.distance_km, EXCLUDED.score, EXCLUDED.rank)
    RETURNING 1
)
DELETE FROM events_linksuggestion AS s
WHERE s.incident_id IN (SELECT id FROM affected)
  -- NOT IN, which hashes `best` once; NOT EXISTS against a CTE is a nested loop over it for every row.
  AND (s.incident_id, s.prior_id) NOT IN (SELECT b.incident_id, b.prior_id FROM best AS b)
"""
# The affected incidents are found first and passed in as an array: the planner then knows how many there
# are (a CTE of the union above it guesses forty times too many, and sorts where it should hash).
REFRESH_SOME = REFRESH.format(affected="SELECT unnest(%(affected)s::bigint[]) AS id")
REFRESH_ALL = REFRESH.format(affected="SELECT id FROM events_incident")


def _parameters(**extra) -> dict:
    return {
        "window": WINDOW_DAYS,
        "half_life": HALF_LIFE_DAYS,
        "scale": DISTANCE_SCALE_KM,
        "half_dyad": HALF_DYAD,
        "precision": MAX_DATE_PRECISION,
        "left_out": Category.POLITICAL.kinds,
        "signal": Category.SIGNAL.kinds,
        "hostile": Kind.force(),
        "per_incident": PER_INCIDENT,
        "floor_days": FLOOR_DAYS,
        **extra,
    }


def refresh_suggestions(incident_ids: Iterable[int] | None = None) -> None:
    """Recompute the suggestions of these incidents and of every incident they may be a candidate for
    (None: all of them). Refreshes take turns, so two never write the same pair at once."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('events.linksuggestion'))")
        if incident_ids is None:
            cursor.execute(REFRESH_ALL, _parameters())
        else:
            refresh_some(cursor, incident_ids)


def refresh_some(cursor, incident_ids: Iterable[int]) -> None:
    """Two statements on any DB-API cursor (the benchmark's too): the incidents affected, then the refresh."""
    ids = sorted(set(incident_ids))
    if not ids:
        return
    cursor.execute(AFFECTED, _parameters(ids=ids))
    affected = [row[0] for row in cursor.fetchall()]
    cursor.execute(REFRESH_SOME, _parameters(affected=affected))


# --- Against chance --------------------------------------------------------------------------------------

PERMUTATIONS = 199
MIN_PAIRS = 10  # below it, "insufficient data"
ALPHA = 0.05


@dataclass
class Chance:
    """How the pairing of the reversed dyads compares with the same incidents' dates shuffled."""

    pairs: int  # (attacking side of a later incident, the same side targeted earlier) within the window
    expected: float  # mean over the shuffles
    interval: tuple[float, float]  # 2.5th and 97.5th percentiles over the shuffles
    p_value: float  # share of shuffles with at least as many pairs, counting the observed order as one
    permutations: int
    incidents: int
    lag_counts: list[int]  # observed pairs by lag, 1 … window days
    expected_lag_counts: list[float]

    @property
    def verdict(self) -> str:
        if self.pairs < MIN_PAIRS:
            return "insufficient data"
        return "more than chance" if self.p_value < ALPHA else "no more than chance"

    def as_dict(self) -> dict:
        return {
            "verdict": self.verdict,
            "pairs": self.pairs,
            "expected": round(self.expected, 2),
            "interval": [round(self.interval[0], 2), round(self.interval[1], 2)],
            "ratio": round(self.pairs / self.expected, 3) if self.expected else None,
            "p_value": round(self.p_value, 4),
            "permutations": self.permutations,
            "incidents": self.incidents,
            "min_pairs": MIN_PAIRS,
        }


def chance(
    incident_ids_sql: tuple[str, Sequence] | None = None,
    *,
    window: int = WINDOW_DAYS,
    permutations: int = PERMUTATIONS,
    seed: int = 0,
) -> Chance:
    """The reversed-dyad pair count of these incidents (SQL returning ids, with its parameters; None: all
    published) against `permutations` shuffles of their dates among themselves.

    Shuffling keeps who attacked whom and how often, and breaks only the timing: if answers follow attacks,
    the observed incidents pair more often within the window than the shuffled ones.
    """
    where = f"i.id IN ({incident_ids_sql[0]})" if incident_ids_sql else "TRUE"
    params = list(incident_ids_sql[1]) if incident_ids_sql else []
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT i.occurred_on, i.attacking_sides, i.targeted_sides FROM events_incident AS i
            WHERE {where} AND i.status = 'published' AND i.date_precision <= %s AND i.kind <> ALL(%s)
              AND (i.attacking_sides <> '{{}}' OR i.targeted_sides <> '{{}}')
            """,
            [*params, MAX_DATE_PRECISION, Category.POLITICAL.kinds],
        )
        rows = cursor.fetchall()
    n = len(rows)
    if not n:
        return Chance(0, 0.0, (0.0, 0.0), 1.0, permutations, 0, [0] * window, [0.0] * window)
    first = min(r[0] for r in rows)
    days = np.array([(r[0] - first).days for r in rows], dtype=np.int64)
    keys = sorted({k for r in rows for k in (*r[1], *r[2])})
    index = {k: j for j, k in enumerate(keys)}
    # One (incident, key) entry per side an incident attacked, and per side it targeted.
    att_row = np.array([i for i, r in enumerate(rows) for _ in r[1]], dtype=np.int64)
    att_key = np.array([index[k] for r in rows for k in r[1]], dtype=np.int64)
    tgt_row = np.array([i for i, r in enumerate(rows) for _ in r[2]], dtype=np.int64)
    tgt_key = np.array([index[k] for r in rows for k in r[2]], dtype=np.int64)
    span = int(days.max()) + window + 1

    def lag_counts(dates: np.ndarray) -> np.ndarray:
        attacks = np.bincount(att_key * span + dates[att_row], minlength=len(keys) * span).reshape(len(keys), span)
        targets = np.bincount(tgt_key * span + dates[tgt_row], minlength=len(keys) * span).reshape(len(keys), span)
        # Pairs at lag l: a side attacking on day d that was targeted on day d - l.
        return np.array([(attacks[:, lag:] * targets[:, :-lag]).sum() for lag in range(1, window + 1)])

    observed = lag_counts(days)
    rng = np.random.default_rng(seed)
    shuffled = np.array([lag_counts(days[rng.permutation(n)]) for _ in range(permutations)])
    totals = shuffled.sum(axis=1)
    pairs = int(observed.sum())
    return Chance(
        pairs=pairs,
        expected=float(totals.mean()),
        interval=(float(np.percentile(totals, 2.5)), float(np.percentile(totals, 97.5))),
        p_value=float((1 + (totals >= pairs).sum()) / (1 + permutations)),
        permutations=permutations,
        incidents=n,
        lag_counts=[int(c) for c in observed],
        expected_lag_counts=[round(float(c), 3) for c in shuffled.mean(axis=0)],
    )
