"""Bookkeeping for the background jobs: imports, the ACLED sync and webhook notifications.

Part of the events app through events/models/__init__.py.
"""

from __future__ import annotations

import datetime as dt
import secrets

from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.fields import ArrayField
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from posture.countries import CountryField, country_code_check
from posture.models import Base

from .incidents import Incident, Kind


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

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    class Via(models.TextChoices):
        ADMIN = "admin", "Admin upload"
        API = "api", "API"
        COMMAND = "command", "Command line"
        SYNC = "sync", "ACLED sync"

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


def delete_upload_after_commit(sender, instance: ImportJob, using: str, **kwargs) -> None:
    """post_delete receiver (connected in EventsConfig.ready): a deleted job takes its uploaded file along.

    A receiver rather than a delete() override, because the admin's bulk action and QuerySet.delete()
    never call delete() on the instances.
    """
    if not instance.file:
        return
    storage, name = instance.file.storage, instance.file.name
    # Only once the delete has committed, so a rolled-back delete keeps a job whose file is still there.
    # robust: a storage that fails to remove it must not turn the committed delete into an error page;
    # the leftover file is logged. FileSystemStorage already ignores a file that is gone.
    transaction.on_commit(lambda: storage.delete(name), using=using, robust=True)


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


def _new_secret() -> str:
    return secrets.token_urlsafe(32)


class Subscription(models.Model):
    """A webhook that receives every newly published incident that passes its filter, and surge alerts."""

    name = models.CharField(max_length=200)
    url = models.URLField("webhook URL", max_length=1000)
    secret = models.CharField(
        max_length=200,
        default=_new_secret,
        help_text="Shared with the receiver: each POST carries X-Posture-Signature: sha256=HMAC-SHA256(secret, body).",
    )
    kinds = ArrayField(
        models.CharField(max_length=30, choices=Kind.choices),
        default=list,
        blank=True,
        help_text="Only these kinds; none selected means every kind.",
    )
    country = CountryField(blank=True, help_text="Only incidents in this country; blank means anywhere.")
    base = models.ForeignKey(
        Base,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="subscriptions",
        help_text="Only incidents within the given distance of this base.",
    )
    within_km = models.PositiveIntegerField("within (km)", null=True, blank=True)
    notify_incidents = models.BooleanField("newly published incidents", default=True)
    notify_surges = models.BooleanField(
        "surges",
        default=False,
        help_text="A week in which a side's attacks, or a base's, reach at least twice the mean of the previous four "
        "(the analytics' surge rule). A country or base filter limits these to bases there (no side surges); "
        "kinds do not apply.",
    )
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, editable=False, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            country_code_check("country", blank=True),
            models.CheckConstraint(
                condition=Q(base__isnull=True, within_km__isnull=True) | Q(base__isnull=False, within_km__isnull=False),
                name="events_subscription_base_with_distance",
                violation_error_message="Give both a base and a distance, or neither.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def filter_label(self) -> str:
        parts = []
        if self.kinds:
            parts.append(", ".join(Kind(kind).label for kind in self.kinds))
        if self.country:
            parts.append(f"in {self.country}")
        if self.base_id:
            parts.append(f"within {self.within_km} km of {self.base}")
        return "; ".join(parts) or "every published incident"


class SurgeAlert(models.Model):
    """A surge week found when incidents were published (events.analytics.surges_touched_by), once each: its
    deliveries hang off it, and a later incident in the same week does not announce it again."""

    class Scope(models.TextChoices):
        SIDE = "side", "Side"
        BASE = "base", "Base"

    scope = models.CharField(max_length=4, choices=Scope.choices)
    key = models.CharField(max_length=200, help_text="A side key, or a base's id.")
    label = models.CharField(max_length=200)
    base = models.ForeignKey(Base, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    week = models.DateField(help_text="Monday of the ISO week.")
    count = models.PositiveIntegerField()
    previous = models.PositiveIntegerField(help_text="Incidents in the four weeks before.")
    detected_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-week", "scope", "key"]
        constraints = [models.UniqueConstraint(fields=["scope", "key", "week"], name="events_surgealert_once")]

    def __str__(self) -> str:
        return f"Surge: {self.label}, week of {self.week:%Y-%m-%d} ({self.count} against {self.previous / 4:g} a week)"


class DeliveryQuerySet(models.QuerySet):
    def due(self, now: dt.datetime | None = None):
        return self.filter(status=Delivery.Status.PENDING, next_attempt_at__lte=now or timezone.now())


class Delivery(models.Model):
    """The outbox: one row per webhook delivery (of an incident or of a surge), written in the transaction that
    publishes the incident."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Gave up"
        SKIPPED = "skipped", "Skipped (no longer published, or subscription off)"

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="deliveries")
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    surge = models.ForeignKey(SurgeAlert, on_delete=models.CASCADE, null=True, blank=True, related_name="deliveries")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    objects = DeliveryQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(fields=["subscription", "incident"], name="events_delivery_once"),
            models.UniqueConstraint(fields=["subscription", "surge"], name="events_delivery_surge_once"),
            models.CheckConstraint(
                condition=Q(incident__isnull=False, surge__isnull=True) | Q(incident__isnull=True, surge__isnull=False),
                name="events_delivery_incident_or_surge",
                violation_error_message="A delivery is of an incident or of a surge.",
            ),
        ]
        indexes = [
            # The beat task drains due pending deliveries.
            models.Index(fields=["next_attempt_at"], condition=Q(status="pending"), name="delivery_due"),
        ]

    def __str__(self) -> str:
        what = f"incident {self.incident_id}" if self.incident_id else f"surge {self.surge_id}"
        return f"Delivery #{self.pk} of {what} to {self.subscription}"

    @property
    def event(self) -> str:
        return "surge.detected" if self.surge_id else "incident.published"


class SyncState(models.Model):
    """Where the ACLED sync left off: the largest `timestamp` among the rows it has committed."""

    name = models.CharField(max_length=50, unique=True)
    last_timestamp = models.BigIntegerField(null=True, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_job = models.ForeignKey(ImportJob, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        verbose_name = "sync state"

    def __str__(self) -> str:
        return f"{self.name}: timestamp {self.last_timestamp}"
