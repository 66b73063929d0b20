"""Liveness and readiness probes for load balancers and orchestrators.

/healthz answers 200 while the process can serve at all (it touches no dependency), /readyz checks
each database and Redis and answers 503 naming the ones that failed, so a load balancer takes the
instance out of rotation until they are back.

They are answered by a middleware at the top of the stack, not by views: a probe comes from the
load balancer over plain HTTP with the instance's own address as Host, so it must skip the SSL
redirect and the ALLOWED_HOSTS check that the public site gets.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.core.cache import caches
from django.db import connections
from django.http import HttpRequest, HttpResponse, JsonResponse

logger = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"


def database_ready(alias: str) -> bool:
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception as exc:
        logger.warning("Readiness: database %r unavailable: %s", alias, exc)
        return False


def redis_ready() -> bool:
    cache = caches["default"]
    ping = getattr(cache, "ping", None)
    if ping is None:  # a cache without Redis behind it has nothing to check
        return True
    try:
        ping()
        return True
    except Exception as exc:
        logger.warning("Readiness: Redis unavailable: %s", exc)
        return False


def readiness() -> dict[str, bool]:
    """Each dependency the site needs, by name: "database" (and "database:replica"), "redis"."""
    checks = {}
    for alias in connections:
        checks["database" if alias == "default" else f"database:{alias}"] = database_ready(alias)
    checks["redis"] = redis_ready()
    return checks


class HealthProbeMiddleware:
    """Answers /healthz and /readyz before any other middleware sees the request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info.rstrip("/")
        if path == HEALTH_PATH:
            return self._no_store(JsonResponse({"status": "ok"}))
        if path == READY_PATH:
            checks = readiness()
            failed = sorted(name for name, ok in checks.items() if not ok)
            body = {
                "status": "unavailable" if failed else "ok",
                "checks": {name: "ok" if ok else "unavailable" for name, ok in checks.items()},
                "failed": failed,
            }
            response = JsonResponse(body, status=503 if failed else 200)
            if failed:
                response["Retry-After"] = "10"
            return self._no_store(response)
        return self.get_response(request)

    @staticmethod
    def _no_store(response: HttpResponse) -> HttpResponse:
        response["Cache-Control"] = "no-store"
        return response
