"""Cycle analytics: how long deterrent actions held, how fast sides answer each other, what an incident was
followed by, how a chain escalated, where attacks surged, and how attacks and answers cluster in space and time.

One module per measure, the pure statistics in stats, and the statements' common reading in queries. PostgreSQL
does the pairing, windows and counts in set-based statements; Python only does the statistics (lifelines for
survival, scipy for exact and bootstrap intervals, numpy for the permutations). Every figure carries its n and an
interval, and below the documented n (the MIN_* constants, docs/analytics.md) it says "insufficient data".

Answers are cached while the data are unchanged (ops.cache.cached_answer); after a change, a task computes the
Analytics view's unfiltered ones ahead of its first visitor (warm_default_answers).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from ops import cache

from . import spacetime, stats
from .before_after import SPIKE_FACTOR, SPIKE_MIN_COUNT, before_after
from .deterrence import deterrence, deterrence_windows
from .escalation import LEVELS, escalation, severity
from .queries import fetch, first_date, last_date, published, side_labels
from .response_lags import DEFAULT_WINDOW, MAX_PAIRS, response_lags
from .spacetime import space_time
from .stats import (
    HELD_DAYS,
    INSUFFICIENT,
    LEVEL,
    MIN_BASELINE,
    MIN_BEFORE_AFTER,
    MIN_LAGS,
    MIN_WINDOWS,
    NOT_REACHED,
    OK,
    PERMUTATIONS,
    RANDOM_SEED,
    chance_baseline,
    exact_proportion_ci,
    figure,
    histogram,
    kaplan_meier,
    lag_summary,
    median_ci,
    nearest_prior_lags,
    rate_ratio,
)
from .surges import (
    SURGE_FACTOR,
    SURGE_MIN_COUNT,
    SURGE_RULE,
    SURGE_WEEKS,
    Surge,
    surge_dicts,
    surges,
    surges_answer,
    surges_touched_by,
)

cached_answer = cache.cached_answer
logger = logging.getLogger(__name__)

# What the Analytics view asks for first, unfiltered: its three plots.
DEFAULT_ANSWERS: dict[str, Callable[[], dict]] = {
    "deterrence": lambda: deterrence(published()),
    "response-lags": lambda: response_lags(published(), window=DEFAULT_WINDOW),
    "surges": lambda: surges_answer(published()),
}


def default_pair(lags: dict) -> tuple[str, str] | None:
    """The pair of sides the Analytics view tests in space and time at first: of the response-lags answer's
    pairs, the first with the most answers (links and suggestions), as the view's lags panel picks it."""
    pairs = lags.get("pairs") or []
    if not pairs:
        return None
    best = max(pairs, key=lambda pair: pair["links"]["count"] + pair["suggestions"]["count"])
    return best["first"]["key"], best["answering"]["key"]


def warm_default_answers() -> list[str]:
    """Compute the Analytics view's unfiltered answers for the current data into the cache, so that its first
    visitor after a change reads them (at 1,000,000 incidents they take seconds to compute; the space-time table
    of dense data, tens of seconds)."""
    computed = cache.warm_answers(DEFAULT_ANSWERS)
    pair = default_pair(cache.cached_answer("response-lags", "", DEFAULT_ANSWERS["response-lags"]))
    if pair is not None:
        first, answering = pair
        table = {"space-time": lambda: space_time(published(), first=first, answering=answering)}
        try:
            computed += cache.warm_answers(table, spacetime.canonical_query(first=first, answering=answering))
        except spacetime.TooManyPairs as refused:  # the visitor gets the same 400, naming `km`
            logger.info("space-time table not warmed: %s", refused)
    return computed


__all__ = [
    "DEFAULT_ANSWERS",
    "DEFAULT_WINDOW",
    "HELD_DAYS",
    "INSUFFICIENT",
    "LEVEL",
    "LEVELS",
    "MAX_PAIRS",
    "MIN_BASELINE",
    "MIN_BEFORE_AFTER",
    "MIN_LAGS",
    "MIN_WINDOWS",
    "NOT_REACHED",
    "OK",
    "PERMUTATIONS",
    "RANDOM_SEED",
    "SPIKE_FACTOR",
    "SPIKE_MIN_COUNT",
    "SURGE_FACTOR",
    "SURGE_MIN_COUNT",
    "SURGE_RULE",
    "SURGE_WEEKS",
    "Surge",
    "before_after",
    "cached_answer",
    "chance_baseline",
    "default_pair",
    "deterrence",
    "deterrence_windows",
    "escalation",
    "exact_proportion_ci",
    "fetch",
    "figure",
    "first_date",
    "histogram",
    "kaplan_meier",
    "lag_summary",
    "last_date",
    "median_ci",
    "nearest_prior_lags",
    "published",
    "rate_ratio",
    "response_lags",
    "severity",
    "space_time",
    "spacetime",
    "stats",
    "side_labels",
    "surge_dicts",
    "surges",
    "surges_answer",
    "surges_touched_by",
    "warm_default_answers",
]
