"""Webhook notifications for newly published incidents.

Publishing writes one outbox row (Delivery) per matching subscription in the publishing transaction;
`send_delivery` POSTs it, signed, and on failure schedules the next attempt with exponential backoff.
Receivers verify `X-Posture-Signature: sha256=<hex>`, the HMAC-SHA256 of the raw body with the
subscription's secret (README: "Imports, sync and notifications").
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
from collections.abc import Sequence

import requests
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from .models import Delivery, Incident, Involvement

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Posture-Signature"
MAX_BACKOFF_SECONDS = 24 * 3600


def create_deliveries(incident_ids: Sequence[int]) -> list[int]:
    """Outbox rows for every active subscription each published incident matches; returns their ids.

    One statement for any number of incidents. A subscriber gets an incident once, even if it is
    unpublished and published again.
    """
    if not incident_ids:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO events_delivery (subscription_id, incident_id, status, attempts, next_attempt_at,
                                         last_error, created_at)
            SELECT s.id, i.id, 'pending', 0, now(), '', now()
            FROM events_incident AS i
            JOIN events_subscription AS s
              ON s.active
             AND (cardinality(s.kinds) = 0 OR i.kind = ANY (s.kinds))
             AND (s.country = '' OR s.country = i.country)
            LEFT JOIN posture_base AS b ON b.id = s.base_id
            WHERE i.id = ANY (%s) AND i.status = 'published'
              AND (s.base_id IS NULL
                   OR (i.location IS NOT NULL AND ST_DistanceSphere(i.location, b.location) <= s.within_km * 1000.0))
            ORDER BY i.id, s.id
            ON CONFLICT (subscription_id, incident_id) DO NOTHING
            RETURNING id
            """,
            [list(incident_ids)],
        )
        return [row[0] for row in cursor.fetchall()]


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def backoff_seconds(attempts: int) -> int:
    """The wait after the `attempts`-th failed attempt: base, 2×base, 4×base, … capped at a day."""
    return min(MAX_BACKOFF_SECONDS, settings.WEBHOOK_RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1))


def payload(delivery: Delivery) -> dict:
    incident: Incident = delivery.incident
    roles: dict[str, list[str]] = {Involvement.Role.ATTACKER: [], Involvement.Role.TARGET: []}
    for role, name in incident.involvements.values_list("role", "actor__name").order_by("actor__name"):
        roles.setdefault(role, []).append(name)
    location = incident.location
    return {
        "event": "incident.published",
        "delivery": delivery.pk,
        "subscription": {"id": delivery.subscription_id, "name": delivery.subscription.name},
        "sent_at": timezone.now().isoformat(),
        "incident": {
            "id": incident.pk,
            "api_path": f"/api/v1/incidents/{incident.pk}/",
            "occurred_on": incident.occurred_on.isoformat(),
            "date_label": incident.date_label(),
            "kind": incident.kind,
            "kind_label": incident.get_kind_display(),
            "category": str(incident.category),
            "title": incident.title,
            "summary": incident.summary,
            "attribution": incident.attribution,
            "attackers": roles[Involvement.Role.ATTACKER],
            "targets": roles[Involvement.Role.TARGET],
            "geometry": {"type": "Point", "coordinates": [location.x, location.y]} if location else None,
            "place_name": incident.place_name,
            "country": incident.country,
            "admin1": incident.admin1,
            "base": {"id": incident.base_id, "name": incident.base.name} if incident.base_id else None,
            "nearest_base": (
                {"id": incident.nearest_base_id, "name": incident.nearest_base.name, "km": incident.nearest_base_km}
                if incident.nearest_base_id
                else None
            ),
            "casualties_best": incident.casualties_best,
            "fatalities_best": incident.fatalities_best,
            "weapon": incident.weapon,
            "munitions": incident.munitions,
            "dataset": incident.dataset,
            "external_id": incident.external_id,
        },
    }


def send_delivery(delivery_id: int) -> int | None:
    """Attempt one due delivery. Returns the seconds until the next attempt if it failed and will be retried.

    The row stays locked during the POST, so two workers never send the same delivery at once; a delivery
    that is already sent, given up, locked elsewhere or not yet due is left alone.
    """
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("subscription", "incident__base", "incident__nearest_base")
            .filter(pk=delivery_id, status=Delivery.Status.PENDING)
            .first()
        )
        now = timezone.now()
        if delivery is None or delivery.next_attempt_at > now + dt.timedelta(seconds=1):
            return None
        subscription = delivery.subscription
        if not subscription.active or delivery.incident.status != Incident.Status.PUBLISHED:
            delivery.status = Delivery.Status.SKIPPED
            delivery.save(update_fields=["status"])
            return None
        body = json.dumps(payload(delivery), separators=(",", ":"), ensure_ascii=False).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "posture-webhooks/1",
            "X-Posture-Event": "incident.published",
            "X-Posture-Delivery": str(delivery.pk),
            SIGNATURE_HEADER: sign(subscription.secret, body),
        }
        code: int | None = None
        try:
            response = requests.post(
                subscription.url,
                data=body,
                headers=headers,
                timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
                allow_redirects=False,
            )
            code = response.status_code
            error = "" if 200 <= code < 300 else f"HTTP {code}: {response.text[:500]}"
        except requests.RequestException as exc:
            error = f"{type(exc).__name__}: {exc}"[:1000]
        delivery.attempts += 1
        delivery.last_status_code = code
        delivery.last_error = error
        retry_in = None
        if not error:
            delivery.status = Delivery.Status.DELIVERED
            delivery.delivered_at = timezone.now()
        elif delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
            delivery.status = Delivery.Status.FAILED
            log.warning("Delivery %s to %s given up after %s attempts: %s", delivery.pk, subscription.url,
                        delivery.attempts, error)  # fmt: skip
        else:
            retry_in = backoff_seconds(delivery.attempts)
            delivery.next_attempt_at = timezone.now() + dt.timedelta(seconds=retry_in)
        delivery.save(
            update_fields=["attempts", "last_status_code", "last_error", "status", "delivered_at", "next_attempt_at"]
        )
        return retry_in
