"""A Redis cache that fails open: when Redis is unreachable the site keeps answering, uncached.

The cache holds nothing that is not also somewhere else (sessions are cached_db, throttling history is
disposable), so an unreachable Redis must cost speed, never availability. Django's RedisCache raises on
every call instead; this backend answers as an empty cache and stops trying for a few seconds, so that
each request does not pay a connection timeout while Redis is down.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from django.core.cache import cache
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django.db import connection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

UNREACHABLE = (RedisConnectionError, RedisTimeoutError)


def _fail_open(method: Callable, fallback: Callable) -> Callable:
    """Wrap a RedisCacheClient method: while Redis is unreachable, answer fallback(*args) instead."""

    @functools.wraps(method)
    def guarded(self: FailOpenRedisCacheClient, *args: Any) -> Any:
        if time.monotonic() < self._down_until:
            return fallback(*args)
        try:
            result = method(self, *args)
        except UNREACHABLE as exc:
            self._mark_down(exc)
            return fallback(*args)
        if self._down_until:
            self._mark_up()
        return result

    return guarded


def _missing_key(key: Any, delta: int) -> int:
    # An unreachable cache holds no key, and incr() of a missing key raises ValueError.
    raise ValueError(f"Key '{key}' not found.")


class FailOpenRedisCacheClient(RedisCacheClient):
    def __init__(self, servers, *, retry_after: float = 5.0, **options: Any) -> None:
        super().__init__(servers, **options)
        self._retry_after = retry_after
        self._down_until = 0.0
        self._lock = threading.Lock()

    def _mark_down(self, exc: Exception) -> None:
        with self._lock:
            was_up = self._down_until == 0.0
            self._down_until = time.monotonic() + self._retry_after
        if was_up:
            logger.warning("Redis cache unreachable, serving uncached: %s", exc)

    def _mark_up(self) -> None:
        with self._lock:
            self._down_until = 0.0
        logger.warning("Redis cache reachable again")

    def ping(self) -> bool:
        """Raises when Redis is unreachable: for the readiness probe, which must not fail open."""
        return self.get_client(write=True).ping()

    add = _fail_open(RedisCacheClient.add, lambda key, value, timeout: False)
    get = _fail_open(RedisCacheClient.get, lambda key, default: default)
    set = _fail_open(RedisCacheClient.set, lambda key, value, timeout: None)
    touch = _fail_open(RedisCacheClient.touch, lambda key, timeout: False)
    delete = _fail_open(RedisCacheClient.delete, lambda key: False)
    get_many = _fail_open(RedisCacheClient.get_many, lambda keys: {})
    has_key = _fail_open(RedisCacheClient.has_key, lambda key: False)
    incr = _fail_open(RedisCacheClient.incr, _missing_key)
    set_many = _fail_open(RedisCacheClient.set_many, lambda data, timeout: None)
    delete_many = _fail_open(RedisCacheClient.delete_many, lambda keys: None)
    clear = _fail_open(RedisCacheClient.clear, lambda: False)


class FailOpenRedisCache(RedisCache):
    """Django's RedisCache, answering as an empty cache while Redis is unreachable.

    OPTIONS take RETRY_AFTER (seconds before trying Redis again after a failure) besides the usual
    redis-py connection options (socket_timeout, socket_connect_timeout, ...).
    """

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = FailOpenRedisCacheClient
        options = dict(self._options)
        options["retry_after"] = options.pop("RETRY_AFTER", 5.0)
        self._options = options

    def ping(self) -> bool:
        return self._cache.ping()


# Answers kept per data change: the cycle analytics' (events.cycles.analytics), whose answers take seconds at
# 1,000,000 incidents. One entry per endpoint and query string, holding the answer and the data change it was
# computed after: a change makes it stale rather than adding another (the unfiltered deterrence answer is 18 MB
# at 1,000,000 incidents, and the cache's Redis also holds Celery's queues).
ANSWER_SECONDS = 6 * 3600
WARM_SECONDS = 7 * 24 * 3600  # a warmed answer stays until the next change, however quiet the data


def data_changed_at() -> dt.datetime | None:
    """When the last write that can change an answer committed (ops_dataversion, ops/migrations/0001). The date
    alone moving does not count: no answer kept here depends on today's date."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT changed_at FROM ops_dataversion")
        row = cursor.fetchone()
    return row[0] if row else None


def answer_key(endpoint: str, query: str) -> str:
    return "analytics:" + hashlib.blake2b(f"{endpoint}?{query}".encode(), digest_size=16).hexdigest()


def cached_answer(endpoint: str, query: str, compute: Callable[[], dict]) -> dict:
    """The endpoint's answer to a query string, computed once per data change (only for committed data: a
    transaction's own writes are not in the data version yet)."""
    changed_at = data_changed_at()
    key = answer_key(endpoint, query)
    stored = cache.get(key)
    if stored is not None and changed_at is not None and stored[0] == changed_at:
        return stored[1]
    body = compute()
    cache.set(key, (changed_at, body), ANSWER_SECONDS)
    return body


def warm_answers(answers: dict[str, Callable[[], dict]], query: str = "") -> list[str]:
    """Compute these endpoints' answers to the query (the empty one unless given) for the current data into the
    cache, so that the first visitor after a change reads them. Answers already computed for these data are left
    alone. Returns the endpoints computed."""
    changed_at = data_changed_at()
    if changed_at is None:
        return []
    computed = []
    for endpoint, answer in answers.items():
        key = answer_key(endpoint, query)
        stored = cache.get(key)
        if stored is None or stored[0] != changed_at:
            cache.set(key, (changed_at, answer()), WARM_SECONDS)
            computed.append(endpoint)
    return computed
