"""Read replicas: public reads go to the replica, everything else to the primary.

Enabled by DATABASE_REPLICA_URL (settings add the "replica" database and this router). Only the
reads of safe requests outside the admin are sent to the replica, so an editor never reads back a
stale copy of what they just saved, and Celery tasks and commands always see the primary.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar

from django.db import connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.http import HttpRequest, HttpResponse

REPLICA = "replica"

_replica_reads: ContextVar[bool] = ContextVar("replica_reads", default=False)

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class ReplicaReadsMiddleware:
    """Marks the public reads (safe methods outside /admin/) that the replica may serve."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        allowed = request.method in SAFE_METHODS and not request.path_info.startswith("/admin/")
        token = _replica_reads.set(allowed)
        try:
            return self.get_response(request)
        finally:
            _replica_reads.reset(token)


def read_connection(model=None) -> BaseDatabaseWrapper:
    """The connection a public read goes to: the replica when the router says so, else the primary.

    Raw SQL (`connection.cursor()`) bypasses the router; the query builders that write their own SQL
    for the API (GeoJSON, timeline, conditional GET, OGC) take their cursor from here instead.
    """
    return connections[router.db_for_read(model)]


class PrimaryReplicaRouter:
    def db_for_read(self, model, **hints) -> str:
        # Inside a transaction the primary may hold rows the replica has not seen yet.
        if _replica_reads.get() and not connections["default"].in_atomic_block:
            return REPLICA
        return "default"

    def db_for_write(self, model, **hints) -> str:
        return "default"

    def allow_relation(self, obj1, obj2, **hints) -> bool:
        # Both aliases are the same database, one a copy of the other.
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints) -> bool:
        return db == "default"
