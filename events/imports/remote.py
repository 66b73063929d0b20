"""What the syncs of remote sources (events.imports.acled_api, events.imports.ucdp_api) share: HTTP with bounded
back-off, and a run's bookkeeping (its lock, its ImportJob, its SyncState, the pages it imports).

HTTP: a 429 or a 5xx (or no answer at all) is asked again, up to SYNC_RETRIES times, after SYNC_BACKOFF_MS, then
twice that and so on (or the server's Retry-After when longer), never past the run's deadline
(SYNC_DEADLINE_SECONDS from its start): the run then fails, naming the page, and the next run starts over. Any
other answer is the caller's to read. Nothing here logs a header or a body: tokens and passwords stay out of the
logs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import requests
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from ..models import ImportJob, SyncState
from .records import Record
from .runner import import_chunk
from .write import ImportContext

log = logging.getLogger(__name__)

MAX_PAGES = 10_000  # a server that never sends a last page must not keep the task alive forever


class SyncError(Exception):
    """The run cannot go on; the message, for the Sync states page, says why."""


class Http:
    """One run's HTTP session, with its deadline."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.session = requests.Session()
        self.deadline = time.monotonic() + settings.SYNC_DEADLINE_SECONDS

    def request(self, method: str, url: str, *, what: str, **kwargs) -> requests.Response:
        """The answer to the request, once it is neither a 429 nor a 5xx; SyncError when retries run out."""
        wait = settings.SYNC_BACKOFF_MS / 1000
        for attempt in range(settings.SYNC_RETRIES + 1):
            try:
                response = self.session.request(method, url, timeout=settings.SYNC_TIMEOUT_SECONDS, **kwargs)
            except requests.RequestException as exc:
                problem, retry_after = f"no answer ({type(exc).__name__})", 0.0
            else:
                if response.status_code != 429 and response.status_code < 500:
                    return response
                problem, retry_after = f"HTTP {response.status_code}", _retry_after(response)
            delay = max(wait, retry_after)
            if attempt == settings.SYNC_RETRIES or time.monotonic() + delay > self.deadline:
                tries = f"{attempt + 1} attempt{'s' if attempt else ''}"
                raise SyncError(f"{self.source} answered {what} with {problem}, {tries}; the next run starts over.")
            log.warning("%s: %s for %s; asking again in %.1f s", self.source, problem, what, delay)
            time.sleep(delay)
            wait *= 2
        raise AssertionError("unreachable")


def _retry_after(response: requests.Response) -> float:
    try:
        return max(0.0, float(response.headers.get("Retry-After", "0")))
    except ValueError:  # an HTTP date: the back-off's own wait will do
        return 0.0


def json_body(response: requests.Response, source: str, what: str) -> dict:
    try:
        body = response.json()
    except ValueError:
        raise SyncError(f"{source} answered {what} with something that is not JSON.") from None
    if not isinstance(body, dict):
        raise SyncError(f"{source} answered {what} with JSON that is not an object.")
    return body


def locked(name: str, run: Callable[[], ImportJob]) -> ImportJob | None:
    """run() while holding the sync's lock; None when another run of the same sync holds it."""
    key = f"events.sync.{name}"
    with connection.cursor() as cursor:
        # Session-level: held across the run's transactions, released if the worker dies.
        cursor.execute("SELECT pg_try_advisory_lock(hashtext(%s))", [key])
        if not cursor.fetchone()[0]:
            log.info("Another %s sync is running.", name)
            return None
    try:
        return run()
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(hashtext(%s))", [key])


class SyncRun:
    """One run: its ImportJob (format `fmt`, via "sync"), the SyncState `name`, and the import context."""

    def __init__(self, name: str, fmt: str, dataset: str, label: str) -> None:
        self.state, _ = SyncState.objects.get_or_create(name=name)
        now = timezone.now()
        # A run whose worker died left its job open; this run holds the lock, so no other run is alive.
        ImportJob.objects.filter(format=fmt, status=ImportJob.Status.RUNNING).update(
            status=ImportJob.Status.FAILED,
            message="Interrupted (the worker stopped); the next run took over.",
            finished_at=now,
        )
        self.job = ImportJob.objects.create(
            format=fmt,
            via=ImportJob.Via.SYNC,
            dataset=dataset,
            status=ImportJob.Status.RUNNING,
            started_at=now,
            heartbeat_at=now,
            rows_total=0,
        )
        SyncState.objects.filter(pk=self.state.pk).update(last_run_at=now, last_job=self.job)
        self.reason = f"{label} sync #{self.job.pk}"
        self.context = ImportContext.load(user_id=None, reason=self.reason, publish=True, job_id=self.job.pk)

    def import_page(self, records: list[Record]) -> None:
        """Write a page's records and the job's progress in one transaction (the runner's chunk)."""
        if not records:
            return
        with transaction.atomic():
            job = ImportJob.objects.select_for_update().get(pk=self.job.pk)
            job.rows_total = job.rows_done + len(records)
            job.save(update_fields=["rows_total"])
            import_chunk(job, records, self.context)
        self.job = job

    def retracted(self, count: int) -> None:
        """Count retractions made in the caller's transaction."""
        ImportJob.objects.filter(pk=self.job.pk).update(
            retracted_count=F("retracted_count") + count, heartbeat_at=timezone.now()
        )

    def finish(self, **state) -> ImportJob:
        finished = timezone.now()
        ImportJob.objects.filter(pk=self.job.pk).update(status=ImportJob.Status.DONE, finished_at=finished)
        SyncState.objects.filter(pk=self.state.pk).update(last_success_at=finished, last_error="", **state)
        self.job.refresh_from_db()
        return self.job

    def fail(self, exc: Exception) -> ImportJob:
        """Record why the run stopped; a SyncError is the source's doing and ends here, anything else is re-raised
        by the caller."""
        message = str(exc) if isinstance(exc, SyncError) else f"{type(exc).__name__}: {exc}"
        log.warning("%s failed: %s", self.reason, message)
        ImportJob.objects.filter(pk=self.job.pk).update(
            status=ImportJob.Status.FAILED, message=message, finished_at=timezone.now()
        )
        SyncState.objects.filter(pk=self.state.pk).update(last_error=message)
        self.job.refresh_from_db()
        return self.job


def run_sync_body(run: SyncRun, body: Callable[[SyncRun], dict]) -> ImportJob:
    """body(run) reads and imports; what it returns is written to the SyncState once the run has succeeded."""
    try:
        state = body(run)
    except Exception as exc:
        job = run.fail(exc)
        if not isinstance(exc, SyncError):
            raise
        return job
    return run.finish(**state)
