"""Pulling new and updated events from an ACLED-compatible API.

Each run asks for the rows whose `timestamp` (ACLED's last-modified time) is at or after the largest one
the previous successful run saw, page by page until a short page, and imports every page through the same
path as an uploaded ACLED file: as an ImportJob (format "acled_api"), so its counts and bad rows show in
the admin. The boundary timestamp is asked for again on purpose: rows that share it but arrived later are
not missed, and the ones already imported come back unchanged and cost nothing.

Configuration (environment): ACLED_API_URL, ACLED_API_KEY (sent as a bearer token, and as `key` with
`email` when ACLED_EMAIL is set, as the older key-based API wants), ACLED_QUERY (extra filters, by default
Iraq and Syria) and ACLED_PAGE_SIZE.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl

import requests
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from ..models import ImportJob, SyncState
from . import acled
from .records import ParsedIncident, Record, RowProblem
from .runner import import_chunk
from .write import ImportContext

log = logging.getLogger(__name__)

STATE_NAME = "acled"
MAX_PAGES = 10_000  # a server that never sends a short page must not keep the task alive forever


class SyncError(Exception):
    pass


def _request_params(since: int | None, page: int) -> list[tuple[str, str]]:
    params = parse_qsl(settings.ACLED_QUERY, keep_blank_values=True)
    params += [("limit", str(settings.ACLED_PAGE_SIZE)), ("page", str(page))]
    if since is not None:
        params.append(("timestamp", str(since)))
    if settings.ACLED_EMAIL:
        params += [("key", settings.ACLED_API_KEY), ("email", settings.ACLED_EMAIL)]
    return params


def fetch_page(session: requests.Session, since: int | None, page: int) -> list[dict]:
    try:
        response = session.get(settings.ACLED_API_URL, params=_request_params(since, page), timeout=60)
    except requests.RequestException as exc:
        raise SyncError(f"{settings.ACLED_API_URL} is unreachable: {exc}") from None
    if response.status_code != 200:
        raise SyncError(f"HTTP {response.status_code} from the ACLED API on page {page}: {response.text[:300]}")
    try:
        body = response.json()
    except ValueError:
        raise SyncError(f"The ACLED API answered page {page} with something that is not JSON.") from None
    if not isinstance(body, dict) or body.get("success") is False or "error" in body:
        error = body.get("error") if isinstance(body, dict) else body
        raise SyncError(f"The ACLED API refused page {page}: {str(error)[:300]}")
    rows = body.get("data") or []
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise SyncError(f"Page {page} of the ACLED API has no list of rows under 'data'.")
    return rows


def run_sync() -> ImportJob | None:
    """One sync run; None when the sync is not configured or another run holds the lock."""
    if not settings.ACLED_API_KEY:
        log.info("ACLED sync is off: ACLED_API_KEY is not set.")
        return None
    with connection.cursor() as cursor:
        # Session-level: held across the run's transactions, released if the worker dies.
        cursor.execute("SELECT pg_try_advisory_lock(hashtext('events.sync.acled'))")
        if not cursor.fetchone()[0]:
            log.info("Another ACLED sync is running.")
            return None
    try:
        return _sync()
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(hashtext('events.sync.acled'))")


def _sync() -> ImportJob:
    state, _ = SyncState.objects.get_or_create(name=STATE_NAME)
    since = state.last_timestamp
    now = timezone.now()
    # A run whose worker died left its job open; this run holds the lock, so no other run is alive.
    ImportJob.objects.filter(format=ImportJob.Format.ACLED_API, status=ImportJob.Status.RUNNING).update(
        status=ImportJob.Status.FAILED,
        message="Interrupted (the worker stopped); the next run took over.",
        finished_at=now,
    )
    job = ImportJob.objects.create(
        format=ImportJob.Format.ACLED_API,
        via=ImportJob.Via.SYNC,
        dataset=acled.DATASET,
        status=ImportJob.Status.RUNNING,
        started_at=now,
        heartbeat_at=now,
        rows_total=0,
    )
    state.last_run_at = now
    state.last_job = job
    state.save(update_fields=["last_run_at", "last_job"])
    context = ImportContext.load(user_id=None, reason=f"ACLED sync #{job.pk}", publish=True, job_id=job.pk)
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {settings.ACLED_API_KEY}"
    newest = since
    first_row: dict[str, int] = {}
    try:
        for page in range(1, MAX_PAGES + 1):
            rows = fetch_page(session, since, page)
            offset = job.rows_done
            records: list[Record] = []
            for number, row in enumerate(rows, start=offset + 1):
                record = acled.parse_acled(row, number)
                if isinstance(record, ParsedIncident):
                    first = first_row.setdefault(record.external_id, number)
                    if first != number:
                        record = RowProblem(number, record.external_id, f"repeats row {first} of this sync")
                    elif record.source_timestamp is not None:
                        newest = max(newest or 0, record.source_timestamp)
                records.append(record)
            if records:
                with transaction.atomic():
                    job = ImportJob.objects.select_for_update().get(pk=job.pk)
                    job.rows_total = offset + len(records)
                    job.save(update_fields=["rows_total"])
                    import_chunk(job, records, context)
            if len(rows) < settings.ACLED_PAGE_SIZE:
                break
    except Exception as exc:
        log.warning("ACLED sync #%s failed: %s", job.pk, exc)
        message = str(exc) if isinstance(exc, SyncError) else f"{type(exc).__name__}: {exc}"
        finished = timezone.now()
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportJob.Status.FAILED, message=message, finished_at=finished
        )
        SyncState.objects.filter(pk=state.pk).update(last_error=message)
        if not isinstance(exc, SyncError):
            raise
        job.refresh_from_db()
        return job
    finished = timezone.now()
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.DONE, finished_at=finished)
    SyncState.objects.filter(pk=state.pk).update(last_timestamp=newest, last_success_at=finished, last_error="")
    job.refresh_from_db()
    return job
