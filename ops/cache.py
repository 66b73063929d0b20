"""A Redis cache that fails open: when Redis is unreachable the site keeps answering, uncached.

The cache holds nothing that is not also somewhere else (sessions are cached_db, throttling history is
disposable), so an unreachable Redis must cost speed, never availability. Django's RedisCache raises on
every call instead; this backend answers as an empty cache and stops trying for a few seconds, so that
each request does not pay a connection timeout while Redis is down.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
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
