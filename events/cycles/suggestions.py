"""Suggested links: for each published incident, the earlier incidents it may answer, scored: the pairs that may be
among an incident's best chosen in numpy, then scored, ranked and written by PostgreSQL in one statement, for
any set of incidents; and a measure of the pairing against chance. The editor's review of them is
events.cycles.review.

A candidate is the reversed dyad: the incident's attacking side was a targeted side of the earlier one, at
most WINDOW_DAYS before it. Its score, in (0, 1], multiplies four factors (README, "Cycle analytics"):

- lag: 0.5 ** ((lag_days - 1) / HALF_LIFE_DAYS), 1 the day after, half a week later;
- distance: 1 / (1 + km / DISTANCE_SCALE_KM), with an unplaced end counted at DISTANCE_SCALE_KM;
- severity of both: sqrt(s(incident) * s(prior)), s(c) = 1 - 0.5 / (1 + ln(1 + casualties)), from 0.5 to 1;
- dyad: 1 when the incident also targets the prior's attacking side (A hit B, B hits A), else HALF_DYAD.
"""

from __future__ import annotations

import datetime as dt
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
FLOOR_DAYS = 3  # the candidates of an incident's first days give its floor (likely_pairs)
HALF_LIFE_DAYS = 7.0
DISTANCE_SCALE_KM = 250.0
HALF_DYAD = 0.5
# Diplomacy and political context (Category.POLITICAL) answer nobody in this sense, and are left out; a
# month-precise date has no usable lag.
MAX_DATE_PRECISION = 2  # day or week

# Who can answer and be answered.
ELIGIBLE = "{0}.status = 'published' AND {0}.date_precision <= %(precision)s AND {0}.kind <> ALL(%(left_out)s)"

# The reversed dyads of the incidents in `{incidents}` (a relation with one column, id): a hash join on
# (side, day) of each incident's attacking sides on each of the `window` days before it against the sides
# targeted on that day, so the work grows with the pairs found, not with the incidents of the period. The
# earlier incidents are read by the date index, from the set's first day less the window to its last. The
# refresh pairs in numpy instead (likely_pairs), the same way; this is the reference it is tested against.
PAIRS = f"""
WITH probe AS MATERIALIZED (
    SELECT i.id, ik.key, i.occurred_on - g.lag AS day
    FROM {{incidents}} AS a
    JOIN events_incident AS i ON i.id = a.id
    {spread("i", "attacking", "ik")}
    CROSS JOIN generate_series(1, %(window)s) AS g(lag)
    WHERE {ELIGIBLE.format("i")}
),
earlier AS MATERIALIZED (
    SELECT p.id, pk.key, p.occurred_on AS day
    FROM events_incident AS p
    {spread("p", "targeted", "pk")}
    WHERE p.occurred_on BETWEEN (SELECT min(day) FROM probe) AND (SELECT max(day) FROM probe) AND {ELIGIBLE.format("p")}
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


def ranked(incidents: str, *, score: str = SCORE, distance: str = DISTANCE_KM) -> str:
    """The scored, ranked candidates of the incidents in the relation `incidents`, every pair of the window
    scored: the reference the refresh is tested against."""
    candidates = CANDIDATES.format(pairs=PAIRS.format(incidents=incidents), score=score, distance=distance)
    return RANKED.format(candidates=candidates)


# A candidate that cannot enter an incident's best PER_INCIDENT is never scored in SQL. numpy pairs the incidents
# as PAIRS does and estimates every pair's score from the incidents' days, points, casualties and sides (a few
# float operations a pair, where PostgreSQL's evaluation of SCORE costs 10-20 us); the estimate is within
# MARGIN of SCORE, relatively, whatever the rounding: less MARGIN it is a lower bound of the score, plus MARGIN
# an upper one, so a candidate is discarded only when its score is surely below the PER_INCIDENT-th best, never
# on a tie. SQL then scores and ranks what is left (CANDIDATES, RANKED), among which every candidate ranked
# before a kept one is kept too, so the ranks are those among all the candidates: the same rows, scores and
# ranks, to the bit, as scoring every candidate (tests/test_dense_suggestions.py), for about PER_INCIDENT pairs
# an incident instead of every pair of the window.
MARGIN = 1e-6  # the estimate and SCORE differ by about 1e-12 (tests/test_dense_suggestions.py)
EARTH_RADIUS_KM = 6371008.7714 / 1000  # ST_DistanceSphere's sphere: WGS 84's mean radius, (2a + b) / 3

# The incidents the estimate reads: the affected ones that can probe, and every incident on a day one of them
# probes that can be probed for (PAIRS' `probe` and `earlier`), with what their score reads. Two parts, each by
# an index: as one scan with an OR, a refresh of one incident read the whole table.
COLUMNS = (
    "e.id, e.occurred_on - DATE '2000-01-01', e.attacking_sides, e.targeted_sides,"
    " ST_X(e.location), ST_Y(e.location), e.casualties_best"
)
INCIDENTS = f"""
WITH affected AS MATERIALIZED ({{affected}}),
probing AS MATERIALIZED (
    SELECT i.id, i.occurred_on FROM affected JOIN events_incident AS i USING (id)
    WHERE {ELIGIBLE.format("i")} AND i.attacking_sides <> '{{{{}}}}'
),
days AS MATERIALIZED (
    SELECT DISTINCT occurred_on - g.lag AS day FROM probing CROSS JOIN generate_series(1, %(window)s) AS g(lag)
)
SELECT TRUE AS probing, {COLUMNS} FROM probing JOIN events_incident AS e USING (id)
UNION ALL
SELECT FALSE, {COLUMNS} FROM days JOIN events_incident AS e ON e.occurred_on = days.day
WHERE {ELIGIBLE.format("e")} AND e.targeted_sides <> '{{{{}}}}' AND e.id NOT IN (SELECT id FROM probing)
"""
# The pairs CANDIDATES leaves out, for the affected incidents.
EXCLUDED = """
WITH affected AS MATERIALIZED ({affected})
SELECT l.incident_id, l.prior_id FROM events_incidentlink AS l JOIN affected AS a ON a.id = l.incident_id
UNION SELECT r.incident_id, r.prior_id FROM events_suggestionrejection AS r JOIN affected AS a ON a.id = r.incident_id
"""


def likely_pairs(cursor, affected: str, parameters: dict) -> tuple[list[int], list[int]]:
    """(incident ids, prior ids): the candidate pairs of the incidents in `affected` (SQL returning ids) that may
    be among their best PER_INCIDENT: every one that is, and few more."""
    found = estimate(cursor, affected, parameters)
    return found.likely() if found else ([], [])


def estimate(cursor, affected: str, parameters: dict) -> Estimate | None:
    """The incidents that the candidates of those in `affected` read, ready to pair and estimate."""
    cursor.execute(INCIDENTS.format(affected=affected), parameters)
    rows = cursor.fetchall()
    cursor.execute(EXCLUDED.format(affected=affected), parameters)
    excluded = cursor.fetchall()
    if not rows:
        return None
    probing, ids, day, attacking, targeted, lon, lat, casualties = zip(*rows, strict=True)
    return Estimate(ids, day, probing, attacking, targeted, lon, lat, casualties, excluded)


class Estimate:
    """The pairing and the score estimate, over the rows of INCIDENTS (row numbers stand for incidents)."""

    def __init__(self, ids, day, probing, attacking, targeted, lon, lat, casualties, excluded):
        self.ids = np.array(ids, dtype=np.int64)
        self.n = len(ids)
        self.day = np.array(day, dtype=np.int64) - min(day) + WINDOW_DAYS  # from WINDOW_DAYS, so day - lag >= 0
        self.span = int(self.day.max()) + 1
        # s(c) of the module's docstring; a unit vector for each point (NaN where there is none).
        self.severity = 1 - 0.5 / (1 + np.log1p(np.array(casualties, dtype=np.float64)))
        lon = np.radians(np.array(lon, dtype=np.float64))  # None becomes NaN
        lat = np.radians(np.array(lat, dtype=np.float64))
        self.unit = np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=1)
        # Sides as integers: the (side, day) codes of each probing incident's attacking sides and of every
        # incident's targeted sides, the latter sorted for searchsorted.
        keys: dict[str, int] = {}
        att_row = [r for r, sides in enumerate(attacking) if probing[r] for _ in sides]
        att_key = [keys.setdefault(k, len(keys)) for r, sides in enumerate(attacking) if probing[r] for k in sides]
        tgt_row = [r for r, sides in enumerate(targeted) for _ in sides]
        tgt_key = [keys.setdefault(k, len(keys)) for sides in targeted for k in sides]
        self.att_row = np.array(att_row, dtype=np.int64)
        self.att_code = np.array(att_key, dtype=np.int64) * self.span + self.day[self.att_row]
        tgt_row = np.array(tgt_row, dtype=np.int64)
        tgt_code = np.array(tgt_key, dtype=np.int64) * self.span + self.day[tgt_row]
        order = np.argsort(tgt_code, kind="stable")
        self.tgt_row, self.tgt_code = tgt_row[order], tgt_code[order]
        # An incident with two attacking sides can meet a prior twice (PAIRS' DISTINCT).
        self.repeats = len(att_row) > len(set(att_row))
        # The dyad factor depends on (incident's targeted sides, prior's attacking sides) only: numbered sets.
        self.targeted_set, self.targeted_sets = _numbered(targeted)
        self.attacking_set, self.attacking_sets = _numbered(attacking)
        row = {pk: r for r, pk in enumerate(ids)}
        self.excluded = np.array(
            [row[i] * self.n + row[p] for i, p in excluded if i in row and p in row], dtype=np.int64
        )

    def pairs(self, lag: int, probes: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(incident rows, prior rows): the candidates `lag` days back of the probing rows (of those where the
        boolean `probes`, by row, holds)."""
        att_row, att_code = self.att_row, self.att_code
        if probes is not None:
            keep = probes[att_row]
            att_row, att_code = att_row[keep], att_code[keep]
        first = np.searchsorted(self.tgt_code, att_code - lag, side="left")
        counts = np.searchsorted(self.tgt_code, att_code - lag, side="right") - first
        total = int(counts.sum())
        # Each probe's run of matches, laid end to end.
        starts = np.repeat(first - (np.cumsum(counts) - counts), counts)
        incident, prior = np.repeat(att_row, counts), self.tgt_row[starts + np.arange(total)]
        code = incident * self.n + prior
        if self.repeats:
            code = np.unique(code)
        if len(self.excluded):
            code = code[~np.isin(code, self.excluded)]
        return code // self.n, code % self.n

    def score(self, lag: int, incident: np.ndarray, prior: np.ndarray) -> np.ndarray:
        """SCORE's estimate, factor by factor."""
        chord = np.linalg.norm(self.unit[incident] - self.unit[prior], axis=1)
        km = 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(chord / 2, 1))
        km = np.where(np.isnan(km), DISTANCE_SCALE_KM, km)
        pair_sets = self.targeted_set[incident] * len(self.attacking_sets) + self.attacking_set[prior]
        combos, which = np.unique(pair_sets, return_inverse=True)
        dyad = np.array(
            [
                1.0
                if self.targeted_sets[c // len(self.attacking_sets)] & self.attacking_sets[c % len(self.attacking_sets)]
                else HALF_DYAD
                for c in combos.tolist()
            ]
        )[which]
        return (
            0.5 ** ((lag - 1) / HALF_LIFE_DAYS)
            / (1 + km / DISTANCE_SCALE_KM)
            * np.sqrt(self.severity[incident] * self.severity[prior])
            * dyad
        )

    def floors(self, incident: np.ndarray, estimate: np.ndarray) -> np.ndarray:
        """By row: a lower bound of the PER_INCIDENT-th best of these candidates' scores, 0 below PER_INCIDENT of
        them. At least PER_INCIDENT candidates score that much: a candidate whose upper bound is below it is
        not among the best PER_INCIDENT."""
        # One sort of int64 keys, by incident then estimate, best first (a lexsort of millions takes seconds): a
        # positive float's bits order as its value does, and its upper 32 bits, read back, are a value at most
        # 2^-20 below it (relatively), which makes the floor lower, never higher.
        upper = estimate.view(np.int64) >> 32
        keys = np.sort(incident << 32 | (0xFFFFFFFF - upper))
        counts = np.bincount(incident, minlength=self.n)
        full = counts >= PER_INCIDENT
        kth = 0xFFFFFFFF - (keys[(np.cumsum(counts) - counts)[full] + PER_INCIDENT - 1] & 0xFFFFFFFF)
        floor = np.zeros(self.n)
        floor[full] = (kth << 32).view(np.float64) * (1 - MARGIN)
        return floor

    def likely(self) -> tuple[list[int], list[int]]:
        # The first FLOOR_DAYS days back give each incident its floor; an incident then probes back only as
        # far as a candidate's best possible score (the lag's factor times the severities' bound, distance and
        # dyad at most 1) reaches it, and keeps the pairs whose estimate does.
        found = [(lag, *self.pairs(lag)) for lag in range(1, FLOOR_DAYS + 1)]
        incident = np.concatenate([f[1] for f in found])
        prior = np.concatenate([f[2] for f in found])
        estimate = np.concatenate([self.score(*f) for f in found])
        floor = self.floors(incident, estimate)
        keep = estimate * (1 + MARGIN) >= floor[incident]
        kept = [(incident[keep], prior[keep], estimate[keep])]
        reach = np.sqrt(self.severity * self.severity.max()) * (1 + MARGIN)
        for lag in range(FLOOR_DAYS + 1, WINDOW_DAYS + 1):
            probes = 0.5 ** ((lag - 1) / HALF_LIFE_DAYS) * reach >= floor
            if not probes.any():
                break
            incident, prior = self.pairs(lag, probes)
            estimate = self.score(lag, incident, prior)
            keep = estimate * (1 + MARGIN) >= floor[incident]
            kept.append((incident[keep], prior[keep], estimate[keep]))
        incident, prior, estimate = (np.concatenate(k) for k in zip(*kept, strict=True))
        # The floors again, over every pair kept, and what reaches them.
        keep = estimate * (1 + MARGIN) >= self.floors(incident, estimate)[incident]
        return self.ids[incident[keep]].tolist(), self.ids[prior[keep]].tolist()


def _numbered(sides: Sequence[Sequence[str]]) -> tuple[np.ndarray, list[frozenset]]:
    """Each row's set of sides as a number, and the sets."""
    number: dict[frozenset, int] = {}
    of_row = np.array([number.setdefault(frozenset(s), len(number)) for s in sides], dtype=np.int64)
    return of_row, list(number)


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

# Upsert the best PER_INCIDENT of each affected incident, of the likely pairs (rows whose figures are unchanged
# are not rewritten), and delete the affected incidents' other rows.
LIKELY = "SELECT * FROM unnest(%(incident)s::bigint[], %(prior)s::bigint[]) AS pair(incident_id, prior_id)"
REFRESH = f"""
WITH affected AS MATERIALIZED ({{affected}}),
best AS MATERIALIZED (
    SELECT * FROM ({RANKED.format(candidates=CANDIDATES.format(pairs=LIKELY, score=SCORE, distance=DISTANCE_KM))}) AS r
    WHERE r.rank <= %(per_incident)s
),
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
SOME = "SELECT unnest(%(affected)s::bigint[]) AS id"
ALL = "SELECT id FROM events_incident"


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
        **extra,
    }


def refresh_suggestions(incident_ids: Iterable[int] | None = None) -> None:
    """Recompute the suggestions of these incidents and of every incident they may be a candidate for
    (None: all of them). Refreshes take turns, so two never write the same pair at once."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('events.linksuggestion'))")
        if incident_ids is None:
            _refresh(cursor, ALL, _parameters())
        else:
            refresh_some(cursor, incident_ids)


def refresh_some(cursor, incident_ids: Iterable[int]) -> None:
    """On any DB-API cursor (the benchmark's too): the incidents affected, then the refresh."""
    ids = sorted(set(incident_ids))
    if not ids:
        return
    cursor.execute(AFFECTED, _parameters(ids=ids))
    affected = [row[0] for row in cursor.fetchall()]
    _refresh(cursor, SOME, _parameters(affected=affected))


def _refresh(cursor, affected: str, parameters: dict) -> None:
    incident, prior = likely_pairs(cursor, affected, parameters)
    cursor.execute(REFRESH.format(affected=affected), {**parameters, "incident": incident, "prior": prior})


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
    the observed incidents pair more often within the window than the shuffled ones. The rows come in id
    order, which the shuffles follow: the same data gives the same answer.
    """
    where = f"i.id IN ({incident_ids_sql[0]})" if incident_ids_sql else "TRUE"
    params = list(incident_ids_sql[1]) if incident_ids_sql else []
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT i.occurred_on, i.attacking_sides, i.targeted_sides FROM events_incident AS i
            WHERE {where} AND i.status = 'published' AND i.date_precision <= %s AND i.kind <> ALL(%s)
              AND (i.attacking_sides <> '{{}}' OR i.targeted_sides <> '{{}}')
            ORDER BY i.id
            """,
            [*params, MAX_DATE_PRECISION, Category.POLITICAL.kinds],
        )
        rows = cursor.fetchall()
    return chance_of(rows, window=window, permutations=permutations, seed=seed)


def chance_of(
    rows: Sequence[tuple[dt.date, Sequence[str], Sequence[str]]],
    *,
    window: int = WINDOW_DAYS,
    permutations: int = PERMUTATIONS,
    seed: int = 0,
) -> Chance:
    """chance()'s arithmetic on its rows, in id order: each incident's date, the sides it attacked for and the
    sides it targeted."""
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
