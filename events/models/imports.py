"""Bookkeeping for the imports and the ACLED sync: the jobs, the rows they could not take, what each imported
incident last looked like in its source, and where the sync left off.

Part of the events app through events/models/__init__.py.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.contrib.gis.db import models
from django.core.exceptions import ValidationError
from django.db.models import Q

from .incidents import Incident

# The reasons imports and syncs give the history rows they write ("Import #12", "ACLED sync #123", "UCDP GED 26.0.7
# sync #45"); the public history names a row by its job when its reason has this form, so an editor's may not.
JOB_REASON = r"^(Import|[A-Za-z][A-Za-z0-9 .-]* sync) #([0-9]+)$"


def validate_editor_reason(value: str) -> None:
    if re.match(JOB_REASON, value or ""):
        raise ValidationError("This reads as an import's or a sync's name: say why in other words.", code="job_name")


class ImportJob(models.Model):
    """One import of a file (or one run of the ACLED sync), processed by a Celery task in chunks.

    Every chunk commits its incidents together with the progress counters below, so a job that dies
    mid-way resumes after its last committed chunk and imports every row exactly once.
    """

    class Format(models.TextChoices):
        ACLED = "acled", "ACLED CSV export"
        GEOJSON = "geojson", "GeoJSON FeatureCollection (this project's format)"
        CSV = "csv", "CSV export (this project's format)"
        UCDP = "ucdp", "UCDP GED CSV (Georeferenced Event Dataset)"
        ACLED_API = "acled_api", "ACLED API (sync)"
        UCDP_API = "ucdp_api", "UCDP GED API (sync)"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    class Via(models.TextChoices):
        ADMIN = "admin", "Admin upload"
        API = "api", "API"
        COMMAND = "command", "Command line"
        SYNC = "sync", "Sync (ACLED, UCDP)"

    # Removed with the job, once its delete commits, by events.actions.delete_import_jobs (the admin's delete).
    file = models.FileField(upload_to="imports/%Y/%m/", blank=True)
    original_name = models.CharField(max_length=255, blank=True)
    format = models.CharField(max_length=10, choices=Format.choices)
    dataset = models.CharField(
        max_length=50,
        blank=True,
        help_text="Rows are deduplicated on dataset + external id. Defaults to 'acled' for ACLED files; rows of "
        "this project's own exports keep the dataset they carry.",
    )
    as_draft = models.BooleanField("import as drafts", default=False)
    via = models.CharField(max_length=10, choices=Via.choices, default=Via.ADMIN)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    message = models.TextField(blank=True, help_text="Why the job failed as a whole, if it did.")

    rows_total = models.PositiveIntegerField(null=True, blank=True)
    rows_done = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField("created", default=0)
    updated_count = models.PositiveIntegerField("updated", default=0)
    unchanged_count = models.PositiveIntegerField("unchanged", default=0)
    failed_count = models.PositiveIntegerField("failed", default=0)
    # A sync's: the incidents it retracted (ACLED's deletions, the events a newer UCDP version left out).
    retracted_count = models.PositiveIntegerField("retracted", default=0)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Touched by every committed chunk; the beat task re-queues unfinished jobs whose heartbeat stopped.
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # Used by the beat task that resumes stalled imports.
            models.Index(fields=["heartbeat_at"], condition=Q(status__in=["queued", "running"]), name="importjob_open"),
        ]

    def __str__(self) -> str:
        return f"Import #{self.pk} ({self.get_format_display()}, {self.get_status_display().lower()})"

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @property
    def percent(self) -> int | None:
        if not self.rows_total:
            return 100 if self.status == self.Status.DONE else None
        return min(100, self.rows_done * 100 // self.rows_total)

    def progress_label(self) -> str:
        total = "?" if self.rows_total is None else f"{self.rows_total:,}"
        percent = f" ({self.percent}%)" if self.percent is not None else ""
        return f"{self.rows_done:,} of {total} rows{percent}"

    def counts(self) -> dict[str, int]:
        return {
            "created": self.created_count,
            "updated": self.updated_count,
            "unchanged": self.unchanged_count,
            "failed": self.failed_count,
        }

    def summary(self) -> str:
        counts = ", ".join(f"{value:,} {name}" for name, value in self.counts().items())
        return f"{self.get_status_display()}: {self.progress_label()}; {counts}"


class ImportRowError(models.Model):
    """A row the import could not take, with the reason. The job's other rows are still imported."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="row_errors")
    row = models.PositiveIntegerField(
        help_text="Where the record is in the file: in a CSV the header is row 1; in GeoJSON features count from 1."
    )
    external_id = models.CharField(max_length=200, blank=True)
    reason = models.TextField()

    class Meta:
        ordering = ["job", "row", "id"]
        indexes = [models.Index(fields=["job", "row"])]

    def __str__(self) -> str:
        ident = f" ({self.external_id})" if self.external_id else ""
        return f"row {self.row}{ident}: {self.reason}"


class ImportRecord(models.Model):
    """What an imported incident last looked like in its source, so re-importing an unchanged row is a no-op."""

    incident = models.OneToOneField(Incident, on_delete=models.CASCADE, primary_key=True, related_name="import_record")
    digest = models.CharField(max_length=32, help_text="MD5 of the row as parsed: its content, not its bytes.")
    source_timestamp = models.BigIntegerField(null=True, blank=True, help_text="ACLED's `timestamp` of the row.")
    job = models.ForeignKey(ImportJob, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    imported_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.incident_id}: {self.digest}"


class SyncState(models.Model):
    """Where a source's sync ("acled", "ucdp") left off, and how its last run went (the admin's Sync states page).

    ACLED: the largest `timestamp` among the rows it has committed, and the largest `deleted_timestamp` of the
    deletions it has applied. UCDP: the GED version it has read. The OAuth tokens of ACLED's account are kept
    here, never shown by the admin nor logged.
    """

    name = models.CharField(max_length=50, unique=True)
    last_timestamp = models.BigIntegerField(null=True, blank=True)
    last_deleted_timestamp = models.BigIntegerField(null=True, blank=True)
    version = models.CharField(max_length=20, blank=True, help_text="UCDP: the GED version last read in full.")
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_job = models.ForeignKey(ImportJob, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    access_token = models.TextField(blank=True, editable=False)
    refresh_token = models.TextField(blank=True, editable=False)
    token_expires_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "sync state"

    def __str__(self) -> str:
        return (
            f"{self.name}: version {self.version}" if self.version else f"{self.name}: timestamp {self.last_timestamp}"
        )
