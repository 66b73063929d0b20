"""The pure statistics of the cycle analytics: functions of numbers and arrays, no database. Every figure has its n
and an interval; below the documented n (the MIN_* constants, docs/analytics.md) it is "insufficient data"."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from lifelines import KaplanMeierFitter
from lifelines.utils import median_survival_times
from scipy import stats
from scipy.spatial import cKDTree

# Below these, a figure is "insufficient data".
MIN_WINDOWS = 5  # deterrence windows of one kind of action, for its Kaplan-Meier median and shares
MIN_LAGS = 10  # lags of one pair of sides, for their median, IQR and its bootstrap CI
MIN_BASELINE = 10  # answers (and priors) of one pair, for the comparison with shuffled dates
MIN_BEFORE_AFTER = 5  # attacks before + after an incident, for the rate ratio

HELD_DAYS = (7, 14, 30)
PERMUTATIONS = 199
BOOTSTRAP_RESAMPLES = 999
BOOTSTRAP_MAX_N = 20_000  # beyond it the median's CI is the exact order-statistic interval (same coverage)
RANDOM_SEED = 20210225  # resampling is seeded: the same data give the same answer (and the same ETag)
LEVEL = 0.95
# The permutation tests count their shuffles on this many threads (numpy lets go of the GIL while it streams
# the pairs); more would only fight the web tier's other requests for the cores and the memory bandwidth.
THREADS = min(2, os.cpu_count() or 1)

INSUFFICIENT = "insufficient data"
OK = "ok"
NOT_REACHED = "not reached"


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


def nearest_prior_lags(priors: np.ndarray, answers: np.ndarray) -> np.ndarray:
    """For each answer, the days since the latest prior at least a day earlier (inf when there is none)."""
    ordered = np.sort(priors)
    index = np.searchsorted(ordered, answers, side="left") - 1  # the last prior strictly before
    lags = np.full(len(answers), np.inf)
    found = index >= 0
    lags[found] = answers[found] - ordered[index[found]]
    return lags


def near_prior_lags(answer_of: np.ndarray, prior_of: np.ndarray, n_answers: int) -> Callable:
    """nearest_prior_lags among neighbours only: the pairs (answer_of[k], prior_of[k]), as pairs_within finds
    them, are the priors near each answer; the function returned takes the priors' and the answers' days (in
    the same order as the points were) and gives each answer the days since its latest near prior."""
    order = np.argsort(answer_of, kind="stable")
    answer_of, prior_of = answer_of[order], prior_of[order]
    starts = np.flatnonzero(np.r_[True, answer_of[1:] != answer_of[:-1]]) if len(answer_of) else answer_of
    # Every shuffle streams every near pair (millions in dense data): in 32 bits, with "no prior" a day count
    # no lag reaches until the one value per answer is made a float.
    firsts, answer_of, prior_of = answer_of[starts], answer_of.astype(np.int32), prior_of.astype(np.int32)
    none = np.iinfo(np.int32).max

    def lags(priors: np.ndarray, answers: np.ndarray) -> np.ndarray:
        out = np.full(n_answers, np.inf)
        if len(answer_of):
            lag = np.take(answers.astype(np.int32), answer_of)
            lag -= np.take(priors.astype(np.int32), prior_of)
            lag[lag < 1] = none
            nearest = np.minimum.reduceat(lag, starts).astype(float)
            nearest[nearest == none] = np.inf
            out[firsts] = nearest
        return out

    return lags


def chance_baseline(
    priors: np.ndarray, answers: np.ndarray, *, window: int, bin_days: int, lags_of: Callable = nearest_prior_lags
) -> dict:
    """What the pairing gives with the dates shuffled: the pair's dates are permuted between its priors and
    its answers (who acted, and where, stays; when is drawn from the same dates), PERMUTATIONS times.
    `lags_of(priors, answers)` pairs them: nearest_prior_lags, or near_prior_lags for the neighbours only.

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

    observed_lags = lags_of(priors, answers)
    observed = statistic(observed_lags)
    pooled = np.concatenate([priors, answers])
    shuffled_stats, shuffled_bins, shuffled_within = [], [], []
    # Drawn in order and paired on every core, as in knox_cells: the same shuffles on any machine.
    orders = (rng.permutation(len(pooled)) for _ in range(PERMUTATIONS))

    def shuffled(order: np.ndarray) -> np.ndarray:
        return lags_of(pooled[order[:n_priors]], pooled[order[n_priors:]])

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        for lags in pool.map(shuffled, orders):
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


# Distances: great-circle, on the sphere PostGIS' ST_DistanceSphere uses (the WGS 84 mean radius), so that a
# pair's distance here is the suggestions' distance_km.
EARTH_KM = 6371.0088


def sphere_points(lon_lat: np.ndarray) -> np.ndarray:
    """(n, 2) longitudes and latitudes in degrees as (n, 3) points on the sphere, in km: their straight-line
    (chord) distance grows with the great-circle one, so a k-d tree finds the pairs within a great-circle
    distance exactly."""
    lon, lat = np.radians(lon_lat[:, 0]), np.radians(lon_lat[:, 1])
    return EARTH_KM * np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])


def _chord(km: float) -> float:
    """The straight-line distance between sphere_points `km` apart along the sphere (a hair more, for rounding)."""
    return 2 * EARTH_KM * math.sin(min(km, math.pi * EARTH_KM) / (2 * EARTH_KM)) * (1 + 1e-9)


def count_within(a: np.ndarray, b: np.ndarray, km: float) -> int:
    """How many pairs pairs_within would find, at most (the k-d trees count whole branches at once: a fraction
    of a second for the 39 million pairs of the dense bench, where listing them takes seconds and gigabytes)."""
    if not len(a) or not len(b):
        return 0
    return int(cKDTree(a).count_neighbors(cKDTree(b), _chord(km)))


def pairs_within(a: np.ndarray, b: np.ndarray, km: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (i, j) with a[i] and b[j] (sphere_points) at most `km` apart along the sphere, and that distance."""
    if not len(a) or not len(b):
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0)
    found = cKDTree(a).sparse_distance_matrix(cKDTree(b), _chord(km), output_type="ndarray")
    distance = 2 * EARTH_KM * np.arcsin(np.minimum(found["v"] / (2 * EARTH_KM), 1.0))
    keep = distance <= km
    return found["i"][keep].astype(np.int64), found["j"][keep].astype(np.int64), distance[keep]


# The space-time table (Knox's test, as Ratcliffe's Near Repeat Calculator runs it; docs/analytics.md)
MIN_SPACETIME = 20  # acts, and attacks, with a point: below either, the table is "insufficient data"
# Pairs within the largest distance band that one table may count: each costs about 60 bytes while the table is
# computed (2.4 GB for the dense bench's 39 million), so past this a request would take a web worker's memory.
MAX_SPACETIME_PAIRS = 50_000_000
MIN_CELL = 5  # observed + expected in a cell: below it, its ratio and p say nothing and are left out


def knox_cells(
    days: np.ndarray,
    act: np.ndarray,
    attack: np.ndarray,
    km: np.ndarray,
    km_edges: Sequence[float],
    day_edges: Sequence[int],
    *,
    permutations: int,
    seed: int,
) -> dict:
    """The space-time table on arrays: `days` the day numbers of every event of both sets; (act[k], attack[k])
    the pairs of an act and an attack (indexes into `days`) at most km_edges[-1] apart, `km[k]` apart.

    Per cell (km band, day band): `observed`, the pairs whose attack came days_from < d <= days_to days after the
    act (the first band from 1: same-day pairs are never counted) and lie km_from < km <= km_to apart (the
    first band from 0); `expected`, its mean over `permutations` shuffles of the dates among all the events
    (places, and who acted, stay: Knox's Monte Carlo), with the middle 95% of the shuffled counts; and
    p = (1 + shuffles counting at least as many) / (1 + permutations). Places never move, so the pairs within
    the largest distance are found once and every shuffle only looks their days up again: O(pairs) each.
    """
    km_edges, day_edges = np.asarray(km_edges, dtype=float), np.asarray(day_edges, dtype=np.int64)
    n_km, n_days = len(km_edges), len(day_edges)
    days = np.asarray(days, dtype=np.int64)
    days = days - days.min() if len(days) else days
    # Each shuffle streams every pair (tens of millions in dense data), so the pairs are kept as small as they
    # can be: 32-bit indexes, and days (and their differences) in 16 bits while the span allows. The pairs are
    # sorted by km band once; a band's cells are then counts of differences at most each day edge.
    small = np.int16 if len(days) == 0 or int(days.max()) < 2**14 else np.int32
    band = np.searchsorted(km_edges, km, side="left")
    order = np.argsort(band, kind="stable")
    index = np.int32 if len(days) < 2**31 else np.int64
    act = np.asarray(act, dtype=np.int64)[order].astype(index)
    attack = np.asarray(attack, dtype=np.int64)[order].astype(index)
    segments = np.searchsorted(band[order], np.arange(n_km + 1), side="left")
    # Differences at most 0 (same day, or the attack first), then at most each day band's last day.
    limits = np.concatenate([[0], day_edges]).astype(small)

    def count(dates: np.ndarray) -> np.ndarray:
        dates = dates.astype(small)
        lag = np.take(dates, attack)
        lag -= np.take(dates, act)
        cells = np.empty((n_km, n_days), dtype=np.int64)
        for k in range(n_km):
            within = lag[segments[k] : segments[k + 1]]
            at_most = np.array([np.count_nonzero(within <= limit) for limit in limits], dtype=np.int64)
            cells[k] = np.diff(at_most)
        return cells

    observed = count(days)
    rng = np.random.default_rng(seed)
    shuffled = np.empty((permutations, n_km, n_days), dtype=np.int64)
    # The shuffles are drawn in order, then counted on as many threads as there are cores (numpy lets go of the
    # GIL while it streams the pairs): the same permutations, and the same answer, on any machine.
    draws = (days[rng.permutation(len(days))] for _ in range(permutations))
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        for p, cells in enumerate(pool.map(count, draws)):
            shuffled[p] = cells
    expected = shuffled.mean(axis=0)
    low, high = np.percentile(shuffled, [2.5, 97.5], axis=0)
    p_value = (1 + (shuffled >= observed).sum(axis=0)) / (1 + permutations)
    cells = []
    for k in range(n_km):
        for d in range(n_days):
            obs, exp = int(observed[k, d]), float(expected[k, d])
            enough = obs + exp >= MIN_CELL
            cells.append(
                {
                    "km_from": 0.0 if k == 0 else float(km_edges[k - 1]),
                    "km_to": float(km_edges[k]),
                    "days_from": 1 if d == 0 else int(day_edges[d - 1]) + 1,
                    "days_to": int(day_edges[d]),
                    "observed": obs,
                    "expected": round(exp, 3),
                    "expected_low": round(float(low[k, d]), 3),
                    "expected_high": round(float(high[k, d]), 3),
                    "status": OK if enough else INSUFFICIENT,
                    "ratio": round(obs / exp, 3) if enough and exp > 0 else None,
                    "p_value": round(float(p_value[k, d]), 4) if enough else None,
                }
            )
    return {"cells": cells, "observed": observed, "shuffled": shuffled}
