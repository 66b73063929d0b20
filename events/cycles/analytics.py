"""Cycle analytics: how long deterrent actions held, how fast sides answer each other, what an incident was
followed by, how a chain escalated, and where attacks surged.

PostgreSQL does the pairing, windows and counts in set-based statements; Python only does the statistics
(lifelines for survival, scipy for exact and bootstrap intervals). Every figure carries its n and an interval,
and below the documented n (the MIN_* constants, listed in the README's "Cycle analytics") it says
"insufficient data" instead of a number.

Answers are cached while the data are unchanged (cache_key); after a change, a task computes the Analytics
view's unfiltered ones ahead of its first visitor (warm_default_answers).

Analytics read published incidents only, whoever asks, so a draft never shapes a public figure. The incident
filters choose what is measured (the actions, the answers, the counted attacks); what they are measured
against (the next attack, the priors) is every published incident.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from lifelines import KaplanMeierFitter
from lifelines.utils import median_survival_times
from scipy import stats

from ..models import KIND_CATEGORY, Category, Incident, Kind

ATTACK_KINDS = [kind.value for kind, category in KIND_CATEGORY.items() if category == Category.ATTACK]
STRIKE_KINDS = [kind.value for kind, category in KIND_CATEGORY.items() if category == Category.STRIKE]
DETERRENT_KINDS = [*STRIKE_KINDS, Kind.SHOW_OF_FORCE.value]
FORCE_KINDS = [*ATTACK_KINDS, *STRIKE_KINDS]

# Below these, a figure is "insufficient data".
MIN_WINDOWS = 5  # deterrence windows of one kind of action, for its Kaplan-Meier median and shares
MIN_LAGS = 10  # lags of one pair of sides, for their median, IQR and its bootstrap CI
MIN_BASELINE = 10  # answers (and priors) of one pair, for the comparison with shuffled dates
MIN_BEFORE_AFTER = 5  # attacks before + after an incident, for the rate ratio
SURGE_FACTOR = 2  # ACLED's rule: a week with at least twice the mean of the previous four
SURGE_WEEKS = 4
SURGE_MIN_COUNT = 3  # a week with fewer attacks is never a surge (twice a mean of zero is zero)
SURGE_RULE = (
    f"A week with at least {SURGE_MIN_COUNT} incidents and {SURGE_FACTOR} times the mean of the previous "
    f"{SURGE_WEEKS} weeks (ACLED's surge rule)."
)
SPIKE_FACTOR = 2  # before-after: the window before is a spike at twice what the 4N days before it predict
SPIKE_MIN_COUNT = 3

HELD_DAYS = (7, 14, 30)
PERMUTATIONS = 199
BOOTSTRAP_RESAMPLES = 999
BOOTSTRAP_MAX_N = 20_000  # beyond it the median's CI is the exact order-statistic interval (same coverage)
RANDOM_SEED = 20210225  # resampling is seeded: the same data give the same answer (and the same ETag)
LEVEL = 0.95

INSUFFICIENT = "insufficient data"
OK = "ok"
NOT_REACHED = "not reached"


class AnalyticsError(ValueError):
    """A request the analytics cannot answer, naming the parameter: the API answers it with a 400."""

    def __init__(self, parameter: str, message: str):
        super().__init__(message)
        self.parameter = parameter
        self.message = message


def figure(n: int, value=None, low=None, high=None, *, status: str | None = None) -> dict:
    """{"n", "status", "value", "low", "high"}: a number with its interval (a null bound is unbounded)."""

    def clean(x):
        if x is None:
            return None
        x = float(x)
        return None if not math.isfinite(x) else round(x, 4)

    if status is None:
        status = OK if value is not None else INSUFFICIENT
    if status == INSUFFICIENT:
        value = low = high = None
    return {"n": int(n), "status": status, "value": clean(value), "low": clean(low), "high": clean(high)}


def _compiled(queryset: QuerySet, *fields: str) -> tuple[str, list]:
    sql, params = queryset.order_by().values(*fields).query.sql_with_params()
    return sql, list(params)


def _fetch(sql: str, params: Sequence, *, as_written: bool = False) -> list[tuple]:
    """Rows of one statement. `as_written` joins in the order the statement is written: from the few link
    rows outwards, which a planner misled by stale statistics (a table just loaded) would not."""
    with transaction.atomic(), connection.cursor() as cursor:
        # unnest() is estimated at 10 rows a call, so these statements look a thousand times costlier than
        # they are, and JIT compiling them took 0.3 to 1 s of each at 1,000,000 incidents for nothing.
        cursor.execute("SET LOCAL jit = off")
        if as_written:
            cursor.execute("SET LOCAL join_collapse_limit = 1")
            cursor.execute("SET LOCAL from_collapse_limit = 1")
        cursor.execute(sql, params)
        return cursor.fetchall()


def published() -> QuerySet:
    return Incident.objects.published()


def last_date() -> dt.date | None:
    """The data's last date: windows still open are censored there."""
    return published().order_by("-occurred_on").values_list("occurred_on", flat=True).first()


def first_date() -> dt.date | None:
    return published().order_by("occurred_on").values_list("occurred_on", flat=True).first()


# Deterrence

# The next attack by a side the action was aimed at, on the acting side: for every action at once. Each action
# and each attack is spread over its dyads (attacker side, target side: for an action, the sides it targeted
# and the sides that carried it out); along each dyad's days, a window over the days after gives the first
# attack; the earliest over the action's dyads is its next attack, the lowest id breaking a tie. Sorting the
# dyads once is linear in the data, where looking ahead from every action would scan to the end for the
# dyads that never answer.
DETERRENCE_SQL = """
WITH actions AS MATERIALIZED ({actions}),
action_dyads AS MATERIALIZED (
    SELECT a.id, a.occurred_on - DATE '1900-01-01' AS day, t.key AS attacker, s.key AS target
    FROM actions AS a, unnest(a.targeted_sides) AS t(key), unnest(a.attacking_sides) AS s(key)
),
attack_dyads AS MATERIALIZED (
    SELECT b.id, b.occurred_on - DATE '1900-01-01' AS day, x.key AS attacker, y.key AS target
    FROM events_incident AS b, unnest(b.attacking_sides) AS x(key), unnest(b.targeted_sides) AS y(key)
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


def deterrence_windows(selected: QuerySet, *, until: dt.date | None = None) -> tuple[list[dict], int]:
    """One window per deterrent action among `selected` (strikes and shows of force, published), and how many
    actions were left out for naming no target or no actor (aimed at no one, nothing can answer them).

    `days` counts from the action to the next attack by a side it targeted on a side that carried it out
    (strictly later: dates are days, so a same-day attack may have come first). A window with no such attack
    is censored at the data's last date.
    """
    actions = selected.filter(status=Incident.Status.PUBLISHED, kind__in=DETERRENT_KINDS)
    until = until or last_date()
    if until is None:
        return [], 0
    sql, params = _compiled(actions, "id", "kind", "occurred_on", "attacking_sides", "targeted_sides")
    rows = _fetch(DETERRENCE_SQL.format(actions=sql), [*params, ATTACK_KINDS, until])
    unaimed = actions.filter(Q(targeted_sides=[]) | Q(attacking_sides=[])).count()
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
    return windows, unaimed


def kaplan_meier(days: Sequence[int], observed: Sequence[bool]) -> dict:
    """Survival of the windows: the curve, the median with its 95% CI, and the share held 7, 14, 30 days.

    "Held N days" is S(N), the chance that no attack came within N days (T > N), with its Greenwood CI.
    """
    n, events = len(days), int(sum(bool(o) for o in observed))
    base = {"n": n, "attacks": events, "censored": n - events}
    if n < MIN_WINDOWS:
        held = {str(t): figure(n) for t in HELD_DAYS}
        return {**base, "status": INSUFFICIENT, "median_days": figure(n), "held": held, "curve": []}
    kmf = KaplanMeierFitter(alpha=1 - LEVEL).fit(np.asarray(days, dtype=float), np.asarray(observed, dtype=bool))
    survival = kmf.survival_function_.iloc[:, 0]
    bounds = kmf.confidence_interval_survival_function_
    at_risk = kmf.event_table["at_risk"]
    # Column by column: a .loc lookup per step took 2 s for the 30,000 steps of 1,000,000 incidents.
    curve = [
        {"days": int(t), "survival": round(s, 4), "low": round(lo, 4), "high": round(hi, 4), "at_risk": int(n)}
        for t, s, lo, hi, n in zip(
            survival.index.tolist(),
            survival.to_numpy(dtype=float).tolist(),
            bounds.iloc[:, 0].reindex(survival.index).to_numpy(dtype=float).tolist(),
            bounds.iloc[:, 1].reindex(survival.index).to_numpy(dtype=float).tolist(),
            at_risk.reindex(survival.index).tolist(),
            strict=True,
        )
    ]
    median = float(kmf.median_survival_time_)
    median_bounds = median_survival_times(kmf.confidence_interval_).iloc[0]
    low, high = float(median_bounds.iloc[0]), float(median_bounds.iloc[1])
    median_days = figure(n, median if math.isfinite(median) else None, low, high,
                         status=OK if math.isfinite(median) else NOT_REACHED)  # fmt: skip
    held = {}
    for t in HELD_DAYS:
        # A step function: the value at t is the last step at or before it.
        step = survival.index[survival.index <= t].max()
        held[str(t)] = figure(n, survival.loc[step], bounds.loc[step].iloc[0], bounds.loc[step].iloc[1])
    return {**base, "status": OK, "median_days": median_days, "held": held, "curve": curve}


def deterrence(selected: QuerySet) -> dict:
    windows, unaimed = deterrence_windows(selected)
    kinds = []
    for kind in DETERRENT_KINDS:
        mine = [w for w in windows if w["kind"] == kind]
        if mine:
            summary = kaplan_meier([w["days"] for w in mine], [not w["censored"] for w in mine])
            kinds.append({"kind": kind, "kind_label": Kind(kind).label, **summary})
    return {
        "censored_at": (last_date() or dt.date.today()).isoformat() if windows else None,
        "unaimed": unaimed,
        "summary": kinds,
        "windows": windows,
    }


# Response lags


def _link_lags(
    table: str, selected: QuerySet, *, everything: bool, best_only: bool = False
) -> dict[tuple[str, str], list[int]]:
    sql, params = _compiled(selected, "id")
    # Every published answer (the unfiltered request) needs no membership test: the join below keeps them.
    conditions = ["true" if everything else f"l.incident_id IN ({sql})", "l.rank = 1" if best_only else "true"]
    rows = _fetch(
        f"""
        WITH l AS MATERIALIZED (
            SELECT l.id, l.incident_id, l.prior_id FROM {table} AS l WHERE {" AND ".join(conditions)}
        )
        SELECT ps.key, ans.key, array_agg(i.occurred_on - p.occurred_on ORDER BY l.id)
        FROM l
        JOIN events_incident AS i ON i.id = l.incident_id AND i.status = 'published'
        JOIN events_incident AS p ON p.id = l.prior_id AND p.status = 'published'
        CROSS JOIN LATERAL unnest(p.attacking_sides) AS ps(key)
        CROSS JOIN LATERAL unnest(i.attacking_sides) AS ans(key)
        GROUP BY 1, 2
        """,  # noqa: S608 - table is a constant of this module, sql the selection's compiled query
        [] if everything else params,
        as_written=True,
    )
    return {(first, answering): list(lags) for first, answering, lags in rows}


def _suggestion_table_exists() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('events_linksuggestion') IS NOT NULL")
        return cursor.fetchone()[0]


def lag_summary(lags: Sequence[int], *, window: int, bin_days: int) -> dict:
    """count, median with a bootstrap 95% CI, IQR, and histogram bins of width `bin_days` up to `window`."""
    values = np.asarray(lags, dtype=float)
    n = len(values)
    bins = histogram(values, window=window, bin_days=bin_days)
    if n < MIN_LAGS:
        return {"count": n, "median": figure(n), "iqr": figure(n), "method": None, "bins": bins}
    median = float(np.median(values))
    low, high, method = median_ci(values)
    q1, q3 = np.percentile(values, [25, 75])
    return {
        "count": n,
        "median": figure(n, median, low, high),
        # The IQR's "interval" is the quartiles themselves; its value is their distance.
        "iqr": figure(n, q3 - q1, q1, q3),
        "method": method,
        "bins": bins,
    }


def median_ci(values: np.ndarray) -> tuple[float, float, str]:
    if len(values) > BOOTSTRAP_MAX_N:
        ci = stats.quantile_test(values, q=float(np.median(values)), p=0.5).confidence_interval(LEVEL)
        return float(ci.low), float(ci.high), "exact order-statistic interval"
    if np.all(values == values[0]):
        return float(values[0]), float(values[0]), "bootstrap (percentile)"
    result = stats.bootstrap(
        (values,),
        np.median,
        confidence_level=LEVEL,
        method="percentile",  # BCa degenerates on the ties a median of whole days has
        n_resamples=BOOTSTRAP_RESAMPLES,
        batch=100,
        random_state=np.random.default_rng(RANDOM_SEED),
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high), "bootstrap (percentile)"


def histogram(values: np.ndarray, *, window: int, bin_days: int) -> list[dict]:
    edges = list(range(0, window + 1, bin_days))
    if edges[-1] != window + 1:
        edges.append(window + 1)
    counts, _ = np.histogram(values[values <= window], bins=edges)
    return [
        {"from": int(lo), "to": int(hi) - 1, "count": int(count)}
        for lo, hi, count in zip(edges[:-1], edges[1:], counts, strict=True)
    ]


# The dates (as day numbers) of the pairs' force incidents both ways, for all pairs in one scan: the first
# side's on the answering side (the priors) and the answering side's on the first side (the answers, among the
# selected). Each incident is spread over its dyads (its sides are distinct, so a dyad holds it once) and
# joined to the pairs' two directions; a pair of a side with itself takes its dyad as both. In id order, so
# that the permutations draw from the same sequence whatever the table's physical order.
PAIR_DATES_SQL = """
WITH directed AS (
    SELECT p.ord, p.first AS attacker, p.answering AS target, true AS prior
    FROM unnest(%s::text[], %s::text[]) WITH ORDINALITY AS p(first, answering, ord)
    UNION ALL
    SELECT p.ord, p.answering, p.first, false
    FROM unnest(%s::text[], %s::text[]) WITH ORDINALITY AS p(first, answering, ord)
),
dyads AS (
    SELECT i.id, i.occurred_on - DATE '1900-01-01' AS day, a.key AS attacker, t.key AS target, {selected} AS selected
    FROM events_incident AS i, unnest(i.attacking_sides) AS a(key), unnest(i.targeted_sides) AS t(key)
    WHERE i.status = 'published' AND i.kind = ANY (%s) AND i.attacking_sides && %s::text[]
      AND i.targeted_sides && %s::text[]
)
SELECT x.ord, array_agg(d.day ORDER BY d.id) FILTER (WHERE x.prior),
       array_agg(d.day ORDER BY d.id) FILTER (WHERE NOT x.prior AND d.selected)
FROM directed AS x
JOIN dyads AS d ON d.attacker = x.attacker AND d.target = x.target
GROUP BY x.ord
"""


def pair_dates(
    pairs: Sequence[tuple[str, str]], selected: QuerySet, *, everything: bool
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per pair (first, answering), in order: the priors' and the answers' day numbers."""
    if not pairs:
        return []
    firsts, answerings = [first for first, _ in pairs], [answering for _, answering in pairs]
    keys = sorted({*firsts, *answerings})
    sql, params = _compiled(selected, "id")
    rows = _fetch(
        PAIR_DATES_SQL.format(selected="true" if everything else f"i.id IN ({sql})"),
        [firsts, answerings, firsts, answerings, *([] if everything else params), FORCE_KINDS, keys, keys],
    )
    found = {ord_: (priors, answers) for ord_, priors, answers in rows}
    dates = []
    for ord_ in range(1, len(pairs) + 1):
        priors, answers = found.get(ord_, (None, None))
        dates.append((np.asarray(priors or [], dtype=np.int64), np.asarray(answers or [], dtype=np.int64)))
    return dates


def nearest_prior_lags(priors: np.ndarray, answers: np.ndarray) -> np.ndarray:
    """For each answer, the days since the latest prior at least a day earlier (inf when there is none)."""
    ordered = np.sort(priors)
    index = np.searchsorted(ordered, answers, side="left") - 1  # the last prior strictly before
    lags = np.full(len(answers), np.inf)
    found = index >= 0
    lags[found] = answers[found] - ordered[index[found]]
    return lags


def chance_baseline(priors: np.ndarray, answers: np.ndarray, *, window: int, bin_days: int) -> dict:
    """What the pairing gives with the dates shuffled: the pair's dates are permuted between its priors and
    its answers (who acted stays; when is drawn from the same dates), PERMUTATIONS times.

    The statistic is the mean days from each answer to the latest prior before it, capped at window + 1 (no
    prior within the window). Answers that follow priors more closely than chance give a small p; p < 0.05
    says "more than chance", anything else "no more than chance".
    """
    n_priors, n_answers = len(priors), len(answers)
    if n_priors < MIN_BASELINE or n_answers < MIN_BASELINE:
        return {
            "priors": n_priors,
            "answers": n_answers,
            "status": INSUFFICIENT,
            "verdict": INSUFFICIENT,
            "p_value": None,
            "observed": None,
            "shuffled": None,
        }
    rng = np.random.default_rng(RANDOM_SEED)
    cap = window + 1

    def statistic(lags: np.ndarray) -> float:
        return float(np.minimum(lags, cap).mean())

    observed_lags = nearest_prior_lags(priors, answers)
    observed = statistic(observed_lags)
    pooled = np.concatenate([priors, answers])
    shuffled_stats, shuffled_bins, shuffled_within = [], [], []
    for _ in range(PERMUTATIONS):
        order = rng.permutation(len(pooled))
        fake_priors, fake_answers = pooled[order[:n_priors]], pooled[order[n_priors:]]
        lags = nearest_prior_lags(fake_priors, fake_answers)
        shuffled_stats.append(statistic(lags))
        within = lags[lags <= window]
        shuffled_within.append(within)
        shuffled_bins.append([b["count"] for b in histogram(within, window=window, bin_days=bin_days)])
    shuffled_stats = np.asarray(shuffled_stats)
    p_value = (1 + int(np.sum(shuffled_stats <= observed))) / (PERMUTATIONS + 1)
    bins = np.asarray(shuffled_bins, dtype=float)
    low, high = np.percentile(bins, [2.5, 97.5], axis=0)
    template = histogram(np.asarray([]), window=window, bin_days=bin_days)
    within_all = np.concatenate(shuffled_within) if shuffled_within else np.asarray([])
    observed_within = observed_lags[observed_lags <= window]
    return {
        "priors": n_priors,
        "answers": n_answers,
        "status": OK,
        "verdict": "more than chance" if p_value < 0.05 else "no more than chance",
        "p_value": round(p_value, 4),
        "observed": {
            "mean_capped_lag": round(observed, 3),
            "within_window": int(len(observed_within)),
            "median": figure(len(observed_within), np.median(observed_within) if len(observed_within) else None),
            "bins": histogram(observed_within, window=window, bin_days=bin_days),
        },
        "shuffled": {
            "permutations": PERMUTATIONS,
            "mean_capped_lag": figure(PERMUTATIONS, shuffled_stats.mean(), *np.percentile(shuffled_stats, [2.5, 97.5])),
            "within_window": round(float(np.mean([len(w) for w in shuffled_within])), 2),
            "median": figure(len(within_all), np.median(within_all) if len(within_all) else None),
            # The band: the middle 95% of the permutations' counts per bin.
            "bins": [
                {**b, "count": round(float(m), 2), "low": round(float(lo), 2), "high": round(float(hi), 2)}
                for b, m, lo, hi in zip(template, bins.mean(axis=0), low, high, strict=True)
            ],
        },
    }


MAX_PAIRS = 12
DEFAULT_WINDOW = 30  # days, when the request names none

# Who attacked whom how often, among force incidents: (attacking side, targeted side, selected incidents,
# all published incidents), in one scan for both counts.
DYADS_SQL = """
SELECT a.key, t.key, count(*) FILTER (WHERE r.selected), count(*)
FROM (
    SELECT i.attacking_sides, i.targeted_sides, {selected} AS selected
    FROM events_incident AS i WHERE i.status = 'published' AND i.kind = ANY (%s)
) AS r
CROSS JOIN LATERAL unnest(r.attacking_sides) AS a(key)
CROSS JOIN LATERAL unnest(r.targeted_sides) AS t(key)
WHERE a.key <> t.key
GROUP BY 1, 2
"""


def dyads(selected: QuerySet, *, everything: bool) -> tuple[dict[tuple[str, str], int], dict[tuple[str, str], int]]:
    """Force incidents per (attacking side, targeted side): among the selected, and among all published."""
    sql, params = _compiled(selected, "id")
    rows = _fetch(
        DYADS_SQL.format(selected="true" if everything else f"i.id IN ({sql})"),
        [*([] if everything else params), FORCE_KINDS],
    )
    return {(a, t): n for a, t, n, _ in rows if n}, {(a, t): n for a, t, _, n in rows}


def response_lags(selected: QuerySet, *, window: int = DEFAULT_WINDOW) -> dict:
    """Per pair of sides (the side that acted first, the side that answered): lags from confirmed links and
    from suggestions (the best candidate per answer), separately, and the shuffled-date baseline beside them.

    The pairs are those of the links and suggestions, and every reversed dyad of the data (the answering side
    attacked the first side among the selected, and the first side attacked it), the most linked first, then
    the most active; at most MAX_PAIRS.
    """
    # The unfiltered request (the dashboard's first) skips every test of membership in the selection.
    everything = _compiled(selected, "id") == _compiled(published(), "id")
    selected = selected.filter(status=Incident.Status.PUBLISHED)
    bin_days = max(1, math.ceil((window + 1) / 15))
    links = _link_lags("events_incidentlink", selected, everything=everything)
    suggestions = (
        _link_lags("events_linksuggestion", selected, everything=everything, best_only=True)
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
    dates = pair_dates(pairs[:MAX_PAIRS], selected, everything=everything)
    for (first, answering), (priors, answers) in zip(pairs[:MAX_PAIRS], dates, strict=True):
        answer.append(
            {
                "first": {"key": first, "label": labels.get(first, first)},
                "answering": {"key": answering, "label": labels.get(answering, answering)},
                "links": lag_summary(links.get((first, answering), []), window=window, bin_days=bin_days),
                "suggestions": lag_summary(suggestions.get((first, answering), []), window=window, bin_days=bin_days),
                "baseline": chance_baseline(priors, answers, window=window, bin_days=bin_days),
            }
        )
    return {
        "window": window,
        "bin_days": bin_days,
        "pairs_total": len(pairs),
        "truncated": len(pairs) > MAX_PAIRS,
        "pairs": answer,
    }


def side_labels(keys: Iterable[str]) -> dict[str, str]:
    """Names for side keys: a side's name, or the actor's for "actor:<slug>"."""
    from posture.models import Actor, Side

    keys = set(keys)
    names = dict(Side.objects.filter(slug__in=keys).values_list("slug", "name"))
    actors = {key.removeprefix("actor:") for key in keys if key.startswith("actor:")}
    names |= {f"actor:{slug}": name for slug, name in Actor.objects.filter(slug__in=actors).values_list("slug", "name")}
    return names


# Before and after


def rate_ratio(after: int, before: int, *, days_after: int, days_before: int) -> dict:
    """after/days_after over before/days_before, with the exact 95% CI of the conditional binomial: given the
    total, `after` is Binomial(total, p0 · RR / (1 - p0 + p0 · RR)) with p0 the after window's share of time."""
    total = after + before
    if total < MIN_BEFORE_AFTER or days_after <= 0 or days_before <= 0:
        return figure(total)
    low, high = exact_proportion_ci(after, total)
    scale = days_before / days_after

    def ratio(pi: float) -> float | None:
        return None if pi >= 1 else pi / (1 - pi) * scale

    value = None if before == 0 else (after / days_after) / (before / days_before)
    return figure(total, value, ratio(low), ratio(high), status=OK)


def exact_proportion_ci(successes: int, trials: int) -> tuple[float, float]:
    """The Clopper-Pearson 95% interval of a binomial proportion: what scipy's binomtest(...).proportion_ci
    calls "exact", from the beta quantiles directly (the same numbers, without its root search, which made
    thousands of surge weeks take seconds)."""
    alpha = 1 - LEVEL
    low = 0.0 if successes == 0 else float(stats.beta.ppf(alpha / 2, successes, trials - successes + 1))
    high = 1.0 if successes == trials else float(stats.beta.ppf(1 - alpha / 2, successes + 1, trials - successes))
    return low, high


COUNT_SQL = """
SELECT count(*) FILTER (WHERE occurred_on BETWEEN %s AND %s),
       count(*) FILTER (WHERE occurred_on BETWEEN %s AND %s),
       count(*) FILTER (WHERE occurred_on BETWEEN %s AND %s)
FROM ({attacks}) AS r
WHERE attacking_sides && %s::text[] AND targeted_sides && %s::text[]
"""


def before_after(incident: Incident, selected: QuerySet, *, days: int, chose_kinds: bool = False) -> dict:
    """Attacks by the incident's targeted sides on its attacking sides in the `days` before and after it (the
    day itself in neither), their rate ratio, and a warning when the window before was a spike. The attacks
    counted are the selected ones of the attack kinds, or of the kinds the selection chose (`chose_kinds`).

    Windows are cut at the data's first and last dates, and the ratio is per day of window. The window
    before is a spike when it holds at least SPIKE_MIN_COUNT attacks and SPIKE_FACTOR times what the rate of
    the 4 × days before it predicts: a fall afterwards may then be regression to the mean, not the incident.
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
        attacks = attacks.filter(kind__in=ATTACK_KINDS)
    sql, params = _compiled(attacks, "occurred_on", "attacking_sides", "targeted_sides")
    (before, after, prior), = _fetch(
        COUNT_SQL.format(attacks=sql),
        [before_start, before_end, after_start, after_end, prior_start, prior_end, *params,
         list(incident.targeted_sides), list(incident.attacking_sides)],
    )  # fmt: skip
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
    if not incident.targeted_sides or not incident.attacking_sides:
        warnings.append("The incident names no attacker or no target, so no attack can be counted as an answer.")
    labels = side_labels([*incident.attacking_sides, *incident.targeted_sides])
    return {
        "incident": incident.pk,
        "occurred_on": day.isoformat(),
        "days": days,
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


# Escalation

LEVELS = {
    0: "words: a statement, a diplomatic move, context",
    1: "signal: a show of force or a posture announcement",
    2: "force, nobody hurt",
    3: "force with wounded or injured, or a ballistic missile strike",
    4: "force with 1 to 9 killed",
    5: "force with 10 or more killed",
}
WORD_KINDS = {Kind.STATEMENT, Kind.DIPLOMATIC_MOVE, Kind.CONTEXT}
SIGNAL_KINDS = {Kind.SHOW_OF_FORCE, Kind.POSTURE_ANNOUNCEMENT}


def severity(kind: str, casualties: int, fatalities: int) -> int:
    """The ordinal severity ladder (LEVELS) from the kind and the best casualty figures."""
    if kind in WORD_KINDS:
        return 0
    if kind in SIGNAL_KINDS:
        return 1
    if fatalities >= 10:
        level = 5
    elif fatalities > 0:
        level = 4
    elif casualties > 0:
        level = 3
    else:
        level = 2
    return max(level, 3) if kind == Kind.BALLISTIC_MISSILE_STRIKE else level


ESCALATION_SQL = """
WITH chain AS (
    SELECT i.id, i.occurred_on, i.kind, i.title, i.base_id, i.casualties_best, i.fatalities_best,
           i.attacking_sides, i.targeted_sides
    FROM events_incident AS i WHERE i.id IN ({chain})
)
SELECT c.id, c.occurred_on, c.kind, c.title, c.base_id, b.name, c.casualties_best, c.fatalities_best,
       row_number() OVER (PARTITION BY c.kind ORDER BY c.occurred_on, c.id) = 1 AS first_kind_in_chain,
       c.fatalities_best > 0 AND coalesce(sum(c.fatalities_best) OVER (ORDER BY c.occurred_on, c.id
           ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) = 0 AS first_fatality_in_chain,
       c.base_id IS NOT NULL AND NOT EXISTS (
           SELECT 1 FROM events_incident AS e
           WHERE e.status = 'published' AND e.base_id = c.base_id AND e.kind = c.kind
             AND (e.occurred_on, e.id) < (c.occurred_on, c.id)) AS first_kind_at_base,
       c.base_id IS NOT NULL AND c.fatalities_best > 0 AND NOT EXISTS (
           SELECT 1 FROM events_incident AS e
           WHERE e.status = 'published' AND e.base_id = c.base_id AND e.fatalities_best > 0
             AND (e.occurred_on, e.id) < (c.occurred_on, c.id)) AS first_fatality_at_base,
       cardinality(c.attacking_sides) > 0 AND cardinality(c.targeted_sides) > 0 AND NOT EXISTS (
           SELECT 1 FROM events_incident AS e
           WHERE e.status = 'published' AND e.kind = c.kind
             AND e.attacking_sides && c.attacking_sides AND e.targeted_sides && c.targeted_sides
             AND (e.occurred_on, e.id) < (c.occurred_on, c.id)) AS first_kind_in_dyad,
       coalesce((SELECT array_agg(l.prior_id ORDER BY l.prior_id) FROM events_incidentlink AS l
                 WHERE l.incident_id = c.id AND l.prior_id IN (SELECT id FROM chain)), '{{}}') AS answers
FROM chain AS c LEFT JOIN posture_base AS b ON b.id = c.base_id
ORDER BY c.occurred_on, c.id
"""


def escalation(incident: Incident, selected: QuerySet) -> dict:
    """The incident's chain in date order on the severity ladder, each step against the steps it answers,
    with first-of-kind flags (in the chain, at the base, between the two sides)."""
    chain = Incident.objects.in_chain_of(incident.pk, through_drafts=False).published()
    steps_of = selected.filter(status=Incident.Status.PUBLISHED, pk__in=chain.values("pk"))
    sql, params = _compiled(steps_of, "id")
    rows = _fetch(ESCALATION_SQL.format(chain=sql), params)
    levels: dict[int, int] = {}
    steps, highest = [], -1
    for row in rows:
        pk, day, kind, title, base_id, base_name, casualties, fatalities = row[:8]
        first_in_chain, first_fatality, first_at_base, first_fatality_base, first_in_dyad, answers = row[8:]
        level = severity(kind, casualties, fatalities)
        levels[pk] = level
        answered = [levels[a] for a in answers if a in levels]
        change = None
        if answered:
            top = max(answered)
            change = "up" if level > top else "down" if level < top else "same"
        label = Kind(kind).label.lower()
        notes, flags = [], []
        force = kind in FORCE_KINDS
        if first_in_chain and steps:
            flags.append("first_kind_in_chain")
            notes.append(f"first {label} in the chain")
        if first_fatality:
            flags.append("first_fatality_in_chain")
            notes.append("first fatality in the chain")
        if first_at_base and force:
            flags.append("first_kind_at_base")
            notes.append(f"first {label} against {base_name}")
        if first_fatality_base:
            flags.append("first_fatality_at_base")
            notes.append(f"first fatality at {base_name}")
        if first_in_dyad and force:
            flags.append("first_kind_in_dyad")
            notes.append(f"first {label} by these attackers on these targets")
        if steps and level > highest:
            flags.append("new_high")
            notes.append("the most severe step of the chain so far")
        highest = max(highest, level)
        steps.append(
            {
                "incident": pk,
                "occurred_on": day.isoformat(),
                "kind": kind,
                "kind_label": Kind(kind).label,
                "title": title,
                "base": base_id,
                "base_name": base_name,
                "casualties_best": casualties,
                "fatalities_best": fatalities,
                "level": level,
                "level_label": LEVELS[level],
                "answers": [a for a in answers if a in levels],
                "change": change,
                "flags": flags,
                "notes": notes,
            }
        )
    changes = [s["change"] for s in steps if s["change"]]
    return {
        "incident": incident.pk,
        "ladder": [{"level": level, "label": label} for level, label in LEVELS.items()],
        "n": len(steps),
        "up": changes.count("up"),
        "down": changes.count("down"),
        "same": changes.count("same"),
        "highest": max((s["level"] for s in steps), default=None),
        "steps": steps,
    }


# Surges


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
SURGES_SQL = """
WITH counted AS MATERIALIZED (
    -- The selection twice rather than a CTE read twice, which PostgreSQL would write out in full first. Each
    -- branch counted on its own and the counts materialized: grouped as one, the million rows were sorted for
    -- the window below (1.8 s at 1,000,000 incidents) where hashing them takes a fraction of that.
    SELECT 'side' AS scope, s.key, date_trunc('week', r.occurred_on::timestamp)::date AS week, count(*) AS n
    FROM ({rows}) AS r CROSS JOIN LATERAL unnest(r.attacking_sides) AS s(key)
    GROUP BY 2, 3
    UNION ALL
    SELECT 'base', r.base_id::text, date_trunc('week', r.occurred_on::timestamp)::date, count(*)
    FROM ({rows}) AS r WHERE r.base_id IS NOT NULL
    GROUP BY 2, 3
),
bounds AS (SELECT %s::date AS first),
windowed AS (
    SELECT c.*, sum(n) OVER (
        PARTITION BY scope, key ORDER BY week
        RANGE BETWEEN interval '{days} days' PRECEDING AND interval '7 days' PRECEDING
    ) AS previous
    FROM counted AS c
)
SELECT w.scope, w.key, coalesce(s.name, a.name, bs.name, w.key), w.week, w.n, coalesce(w.previous, 0)
FROM windowed AS w CROSS JOIN bounds AS b
LEFT JOIN posture_side AS s ON w.scope = 'side' AND s.slug = w.key
LEFT JOIN posture_actor AS a ON w.scope = 'side' AND w.key LIKE 'actor:%%' AND a.slug = substr(w.key, 7)
LEFT JOIN posture_base AS bs ON w.scope = 'base' AND bs.id::text = w.key
WHERE w.week >= b.first + {days} AND w.n >= %s AND w.n * {weeks} >= %s * coalesce(w.previous, 0) {only}
ORDER BY w.week, w.scope, w.key
"""


def _week(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def surges(selected: QuerySet, *, scope: str | None = None, chose_kinds: bool = False) -> list[Surge]:
    """Surge weeks per side and per base among the selected force incidents (published), or among the
    selected of the kinds the selection chose (`chose_kinds`)."""
    counted = selected.filter(status=Incident.Status.PUBLISHED)
    if not chose_kinds:
        counted = counted.filter(kind__in=FORCE_KINDS)
    start = counted.order_by("occurred_on").values_list("occurred_on", flat=True).first()
    if start is None:
        return []
    only = ("AND w.scope = %s", [scope]) if scope else ("", [])
    return _surges(counted, _week(start), only)


def _surges(counted: QuerySet, first_week: dt.date, only: tuple[str, list]) -> list[Surge]:
    sql, params = _compiled(counted, "occurred_on", "attacking_sides", "base_id")
    statement = SURGES_SQL.format(rows=sql, weeks=SURGE_WEEKS, days=7 * SURGE_WEEKS, only=only[0])
    rows = _fetch(statement, [*params, *params, first_week, SURGE_MIN_COUNT, SURGE_FACTOR, *only[1]])
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
        .filter(pk__in=list(incident_ids), kind__in=FORCE_KINDS)
        .values_list("occurred_on", "attacking_sides", "base_id")
    )
    if not touched:
        return []
    start = first_date()
    weeks = sorted({_week(day) for day, _, _ in touched})
    sides = sorted({key for _, keys, _ in touched for key in keys})
    bases = sorted({str(base) for _, _, base in touched if base is not None})
    counted = published().filter(
        kind__in=FORCE_KINDS,
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


# Cached answers

# One entry per endpoint and query string, holding the answer and the data change it was computed after: a
# change makes it stale rather than adding another (the unfiltered deterrence answer is 18 MB at 1,000,000
# incidents, and the cache's Redis also holds Celery's queues).
CACHE_SECONDS = 6 * 3600
WARM_SECONDS = 7 * 24 * 3600  # the warmed answers stay until the next change, however quiet the data

# What the Analytics view asks for first, unfiltered: its three plots.
DEFAULT_ANSWERS: dict[str, Callable[[], dict]] = {
    "deterrence": lambda: deterrence(published()),
    "response-lags": lambda: response_lags(published(), window=DEFAULT_WINDOW),
    "surges": lambda: surges_answer(published()),
}


def data_changed_at() -> dt.datetime | None:
    """When the last write that can change an answer committed (ops_dataversion, ops/migrations/0001). The
    date alone moving does not count: no analytics answer depends on today's date."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT changed_at FROM ops_dataversion")
        row = cursor.fetchone()
    return row[0] if row else None


def cache_key(endpoint: str, query: str) -> str:
    return "analytics:" + hashlib.blake2b(f"{endpoint}?{query}".encode(), digest_size=16).hexdigest()


def cached_answer(endpoint: str, query: str, compute: Callable[[], dict]) -> dict:
    """The endpoint's answer to a query string, computed once per data change (only for committed data: a
    transaction's own writes are not in the data version yet)."""
    changed_at = data_changed_at()
    key = cache_key(endpoint, query)
    stored = cache.get(key)
    if stored is not None and changed_at is not None and stored[0] == changed_at:
        return stored[1]
    body = compute()
    cache.set(key, (changed_at, body), CACHE_SECONDS)
    return body


def warm_default_answers() -> list[str]:
    """Compute the Analytics view's unfiltered answers for the current data into the cache, so that its first
    visitor after a change reads them (at 1,000,000 incidents they take seconds to compute). Answers already
    computed for these data are left alone. Returns the endpoints computed."""
    changed_at = data_changed_at()
    if changed_at is None:
        return []
    computed = []
    for endpoint, answer in DEFAULT_ANSWERS.items():
        key = cache_key(endpoint, "")
        stored = cache.get(key)
        if stored is None or stored[0] != changed_at:
            cache.set(key, (changed_at, answer()), WARM_SECONDS)
            computed.append(endpoint)
    return computed
