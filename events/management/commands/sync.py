"""Run one sync in the foreground: `manage.py sync acled` or `manage.py sync ucdp [--version 26.0.8]`.

The same run beat starts (events.imports.sync), then the refresh of the suggestions it ends with. It prints the
rows added, updated, retracted and failed; its exit status is 0 when the run succeeded, 1 when some row failed,
2 when the run failed or could not start (not configured, another run holding the lock).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from events import tasks
from events.imports.sync import SOURCES, SyncError, run_sync
from events.models import ImportJob

SHOWN_ERRORS = 20


class Command(BaseCommand):
    help = "Run one sync (ACLED's API or UCDP's) in the foreground and print what it changed."

    def create_parser(self, prog_name, subcommand, **kwargs):
        # --version is UCDP's GED version here, not Django's.
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve", **kwargs)

    def add_arguments(self, parser):
        parser.add_argument("source", choices=sorted(SOURCES))
        parser.add_argument(
            "--version", dest="ged_version", help="UCDP only: the GED version to move to (25.1, 26.0.8)."
        )

    def handle(self, *args, source: str, ged_version: str | None, **options):
        if ged_version is not None and source != "ucdp":
            raise CommandError("--version is UCDP's: ACLED's API has no versions.")
        try:
            job = run_sync(source, version=ged_version)
        except SyncError as exc:
            raise CommandError(str(exc), returncode=2) from None
        if job is None:
            raise CommandError(
                f"No {source} sync ran: it is not configured, has nothing new to read, or another run holds it "
                "(the log says which).",
                returncode=2,
            )
        tasks.refresh_suggestions_after_import(job.pk)  # what its committed pages wrote and retracted
        self.stdout.write(
            f"{job}: {job.created_count:,} added, {job.updated_count:,} updated, {job.retracted_count:,} retracted, "
            f"{job.failed_count:,} failed ({job.unchanged_count:,} unchanged)."
        )
        for error in job.row_errors.all()[:SHOWN_ERRORS]:
            self.stdout.write(f"  {error}")
        if job.status == ImportJob.Status.FAILED:
            raise CommandError(job.message, returncode=2)
        if job.failed_count:
            raise CommandError(f"{job.failed_count:,} rows failed.", returncode=1)
