"""Import a file of incidents: `manage.py import_incidents PATH [--format acled|ucdp|geojson|csv] [--draft] [--wait]`.

The file is copied into the media storage and imported by a Celery worker, as uploads are. With --wait
the command prints the progress until the job ends, then the rows that failed; its exit status is 0 when
every row was imported, 1 when some row failed, 2 when the job failed as a whole, and 3 when the job made no
progress for --stall-timeout seconds (the job itself goes on, or starts once a worker takes it).
"""

from __future__ import annotations

import time
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.management.base import BaseCommand, CommandError

from events import actions
from events.models import ImportJob

SHOWN_ERRORS = 50
# How long --wait lets a queued job sit before it says no worker seems to be taking it.
NO_WORKER_HINT_SECONDS = 30
# How long --wait lets a job go without progress before it gives up waiting (a chunk takes seconds).
STALL_TIMEOUT_SECONDS = 600
POLL_SECONDS = 0.5


class Command(BaseCommand):
    help = "Import incidents from an ACLED CSV export, a UCDP GED CSV, or this project's GeoJSON or CSV export."

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument("--format", choices=actions.UPLOAD_FORMATS, help="Guessed from the file when left out.")
        parser.add_argument("--draft", action="store_true", help="Import new incidents as drafts.")
        parser.add_argument("--wait", action="store_true", help="Print progress and wait for the job to end.")
        parser.add_argument(
            "--dataset", default="", help="Dataset of the rows (default: acled for ACLED files, ucdp-ged for UCDP's)."
        )
        parser.add_argument("--user", help="Username recorded as the author in history.")
        parser.add_argument(
            "--stall-timeout",
            type=float,
            default=STALL_TIMEOUT_SECONDS,
            metavar="SECONDS",
            help=f"With --wait, give up (exit status 3) after this long without progress ({STALL_TIMEOUT_SECONDS}).",
        )

    def handle(self, *args, path: Path, format: str | None, draft: bool, wait: bool, dataset: str, user, **options):
        if options["stall_timeout"] <= 0:
            raise CommandError("--stall-timeout must be a positive number of seconds.")
        if not path.is_file():
            raise CommandError(f"{path} is not a file.")
        author = None
        if user:
            author = get_user_model().objects.filter(username=user).first()
            if author is None:
                raise CommandError(f"There is no user {user!r}.")
        with path.open("rb") as stream:
            try:
                job = actions.start_import(
                    file=File(stream, name=path.name),
                    format=format,
                    dataset=dataset,
                    as_draft=draft,
                    via=ImportJob.Via.COMMAND,
                    user=author,
                    on_queue_error=self._queue_failed,
                )
            except ValidationError as exc:
                problems = "; ".join(message for messages in exc.message_dict.values() for message in messages)
                raise CommandError(f"{path}: {problems}") from None
        self.stdout.write(f"Import #{job.pk} of {path.name} ({job.get_format_display()}) is queued.")
        if not wait:
            return
        job = self._wait(job, options["stall_timeout"])
        self._report(job)

    def _queue_failed(self, exc: Exception) -> None:
        self.stderr.write(
            f"The job queue is unreachable ({exc}); the import stays queued and starts once the queue is back "
            "(beat's 'Resume stalled imports')."
        )

    def _wait(self, job: ImportJob, stall_timeout: float) -> ImportJob:
        last = None
        hinted = False
        started = moved = time.monotonic()
        while True:
            job.refresh_from_db()
            line = job.summary()
            if line != last:
                self.stdout.write(line)
                last = line
                moved = time.monotonic()
            if job.finished:
                return job
            waited = time.monotonic() - started
            if job.status == ImportJob.Status.QUEUED and waited > NO_WORKER_HINT_SECONDS and not hinted:
                self.stderr.write("Still queued: is a Celery worker running (make run starts one)?")
                hinted = True
            if time.monotonic() - moved > stall_timeout:
                status = job.get_status_display().lower()
                raise CommandError(
                    f"Gave up waiting for import #{job.pk}: no progress in {stall_timeout:g} s, {status} at the last "
                    "look. The job goes on; its page in the admin shows it.",
                    returncode=3,
                )
            time.sleep(POLL_SECONDS)

    def _report(self, job: ImportJob) -> None:
        if job.status == ImportJob.Status.FAILED:
            raise CommandError(f"Import #{job.pk} failed: {job.message}", returncode=2)
        if job.failed_count:
            for error in job.row_errors.all()[:SHOWN_ERRORS]:
                self.stderr.write(f"  row {error.row} ({error.external_id or 'no id'}): {error.reason}")
            more = job.failed_count - SHOWN_ERRORS
            if more > 0:
                self.stderr.write(f"  … and {more} more (see the import in the admin, or /api/v1/imports/{job.pk}/)")
            raise CommandError(f"{job.failed_count} row(s) of import #{job.pk} failed.", returncode=1)
