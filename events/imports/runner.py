"""Running one ImportJob: the file is read in chunks, and each chunk commits together with the job's progress,
so an import killed half-way resumes after its last committed chunk and imports every row exactly once."""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
from collections.abc import Iterator

from django.conf import settings
from django.db import DataError, IntegrityError, InterfaceError, OperationalError, transaction
from django.utils import timezone

from ..models import ImportJob, ImportRowError
from .formats import FORMATS
from .records import ImportFileError, ParsedIncident, Record, RowProblem
from .write import ImportContext, ImportOutcome, import_incidents

log = logging.getLogger(__name__)

# How long a worker under IMPORT_TEST_PAUSE_AT_ROW sleeps: far longer than a test takes to kill it.
TEST_PAUSE_SECONDS = 120


def run_import(job_id: int) -> ImportJob | None:
    """Process an ImportJob from its last committed chunk to the end. Safe to run twice, even at once."""
    try:
        return _run_import(job_id)
    except (OperationalError, InterfaceError):
        raise  # the database went away: the job stays open, and beat's resume_stalled_imports retries it
    except Exception as exc:
        log.exception("Import #%s stopped", job_id)
        _fail(job_id, f"The import stopped on an unexpected error: {exc}")
        raise


def _run_import(job_id: int) -> ImportJob | None:
    job = ImportJob.objects.filter(pk=job_id).first()
    if job is None or job.finished:
        return job
    fmt = FORMATS[job.format]
    try:
        stream = job.file.open("rb")
    except (OSError, ValueError) as exc:
        return _fail(job_id, f"The uploaded file cannot be read: {exc}")
    with stream:
        try:
            fmt.check(stream)
            total = fmt.count(stream)
        except ImportFileError as exc:
            return _fail(job_id, str(exc))
        now = timezone.now()
        ImportJob.objects.filter(pk=job_id, started_at__isnull=True).update(started_at=now)
        ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.QUEUED).update(status=ImportJob.Status.RUNNING)
        ImportJob.objects.filter(pk=job_id).update(rows_total=total, heartbeat_at=now)
        job.refresh_from_db()
        context = ImportContext.load(
            user_id=job.created_by_id, reason=f"Import #{job.pk}", publish=not job.as_draft, job_id=job.pk
        )
        chunk_size = max(1, settings.IMPORT_CHUNK_SIZE)
        records = read_ahead(fmt.records(stream, job.rows_done, job.dataset), chunk_size)
        first_row: dict[tuple[str, str], int] = {}  # to report an external id the file repeats
        position = 0  # records taken from `records`
        while True:
            with transaction.atomic():
                job = ImportJob.objects.select_for_update().get(pk=job_id)
                if job.finished:
                    return job
                done_before = job.rows_done
                chunk: list[Record] = []
                for row, key, record in records:
                    position += 1
                    if key[1]:
                        first = first_row.setdefault(key, row)
                    # Records before job.rows_done are committed (by this run, or by another run of the
                    # same job while this one waited for the lock): only remember their ids.
                    if position <= job.rows_done:
                        continue
                    if isinstance(record, ParsedIncident) and first != row:
                        record = RowProblem(row, key[1], f"external id already on row {first} of this file")
                    chunk.append(record)
                    if len(chunk) >= chunk_size:
                        break
                if not chunk:
                    job.status = ImportJob.Status.DONE
                    job.finished_at = timezone.now()
                    job.save(update_fields=["status", "finished_at"])
                    return job
                import_chunk(job, chunk, context)
            _test_pause(done_before, job.rows_done)


def _test_pause(before: int, after: int) -> None:
    """Tests only (IMPORT_TEST_PAUSE_AT_ROW): stop for a while once the committed rows reach that count, so
    that a test kills the worker between two chunks for certain, not when a poll happens to catch it."""
    pause_at = settings.IMPORT_TEST_PAUSE_AT_ROW
    if pause_at and before < pause_at <= after:
        log.warning("IMPORT_TEST_PAUSE_AT_ROW: pausing after row %s", after)
        time.sleep(TEST_PAUSE_SECONDS)


def read_ahead(records: Iterator, size: int, batch: int = 500) -> Iterator:
    """`records`, parsed by a thread up to `size` ahead: the parsing of the next chunk (Python) overlaps the
    writing of this one (PostgreSQL). Handed over in batches, a queue operation per record costing more
    than parsing it. The thread touches only the file, never the database."""
    buffer: queue.Queue = queue.Queue(maxsize=max(1, size // batch))
    stop = threading.Event()

    def offer(item) -> bool:
        while not stop.is_set():
            try:
                buffer.put(item, timeout=0.5)
                return True
            except queue.Full:
                continue
        return False  # the consumer has gone

    def produce() -> None:
        try:
            while items := list(itertools.islice(records, batch)):
                if not offer(items):
                    return
        except BaseException as exc:  # handed to the consumer, raised there
            offer(exc)
            return
        offer([])

    thread = threading.Thread(target=produce, name="import-read-ahead", daemon=True)
    thread.start()
    try:
        while items := buffer.get():
            if isinstance(items, BaseException):
                raise items
            yield from items
    finally:
        stop.set()
        thread.join(timeout=5)


def import_chunk(job: ImportJob, chunk: list[Record], context: ImportContext) -> None:
    """Write one chunk and the job's progress, in the caller's transaction (which locks the job row)."""
    problems = [r for r in chunk if isinstance(r, RowProblem)]
    parsed = []
    for record in chunk:
        if not isinstance(record, ParsedIncident):
            continue
        if record.base and record.base.lower() not in context.bases:
            # Written without its base, the incident would look as if it targeted none (a typo, a base not
            # yet added): the editor hears of the row instead.
            reason = f'base_name: unknown base "{record.base}" (no base has this slug or name)'
            problems.append(RowProblem(record.row, record.external_id, reason))
        else:
            parsed.append(record)
    try:
        outcome = import_incidents(parsed, context=context)
    except (IntegrityError, DataError):
        # Something the parsers let through and the database refused: find the culprits one row at a time.
        log.exception("Import #%s: a chunk failed; importing its rows one at a time", job.pk)
        context.reload()
        outcome = ImportOutcome()
        for record in parsed:
            try:
                outcome += import_incidents([record], context=context)
            except (IntegrityError, DataError) as exc:
                context.reload()
                problems.append(RowProblem(record.row, record.external_id, f"refused by the database: {exc}"))
    if problems:
        ImportRowError.objects.bulk_create(
            ImportRowError(job=job, row=p.row, external_id=p.external_id[:200], reason=p.reason)
            for p in sorted(problems, key=lambda p: p.row)
        )
    job.rows_done += len(chunk)
    job.failed_count += len(problems)
    job.created_count += outcome.created
    job.updated_count += outcome.updated
    job.unchanged_count += outcome.unchanged
    job.heartbeat_at = timezone.now()
    job.save(
        update_fields=["rows_done", "failed_count", "created_count", "updated_count", "unchanged_count", "heartbeat_at"]
    )


def _fail(job_id: int, message: str) -> ImportJob:
    ImportJob.objects.filter(pk=job_id).update(
        status=ImportJob.Status.FAILED, message=message, finished_at=timezone.now()
    )
    return ImportJob.objects.get(pk=job_id)
