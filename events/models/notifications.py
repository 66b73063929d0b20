"""Webhook notifications: the subscriptions, the surges found when incidents were published, and the outbox of
deliveries.

Part of the events app through events/models/__init__.py.
"""

from __future__ import annotations

import datetime as dt
import secrets

from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.fields import ArrayField
from django.db.models import Q
from django.utils import timezone

from posture.countries import CountryField, country_code_check
from posture.models import Base

from .incidents import Incident, Kind


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
    """A surge week found when incidents were published (events.cycles.analytics.surges_touched_by), once each: its
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
