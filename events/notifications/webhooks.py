"""Webhook notifications for newly published incidents, and for the surges they make.

Publishing writes one outbox row (Delivery) per matching subscription in the publishing transaction; the
surges are counted after it commits, in the worker (outbox.announce_surges), and their rows written then.
`send_delivery` POSTs a row, signed, and on failure schedules the next attempt with exponential backoff.
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

from ..cycles import analytics
from ..models import Delivery, Incident, Subscription, SurgeAlert
from ..properties import properties, properties_json

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Posture-Signature"
MAX_BACKOFF_SECONDS = 24 * 3600


def create_deliveries(incident_ids: Sequence[int]) -> list[int]:
    """Outbox rows for every active subscription each published incident matches; returns their ids.

    One statement for any number of incidents. A subscriber gets an incident once, even if it is
    unpublished and published again. The surges these incidents make are create_surge_deliveries'.
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
              ON s.active AND s.notify_incidents
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


def record_surges(incident_ids: Sequence[int]) -> list[int]:
    """The surge weeks these incidents are in, recorded once each; returns the ids of those new here."""
    found = analytics.surges_touched_by(incident_ids)
    if not found:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO events_surgealert (scope, key, label, base_id, week, count, previous, detected_at)
            SELECT f.scope, f.key, f.label, CASE WHEN f.scope = 'base' THEN f.key::bigint END, f.week, f.count,
                   f.previous, now()
            FROM unnest(%s::text[], %s::text[], %s::text[], %s::date[], %s::int[], %s::int[])
                 AS f(scope, key, label, week, count, previous)
            ORDER BY f.week, f.scope, f.key
            ON CONFLICT (scope, key, week) DO NOTHING
            RETURNING id
            """,
            [[getattr(surge, column) for surge in found] for column in ("scope", "key", "label", "week", "count",
                                                                         "previous")],
        )  # fmt: skip
        return [row[0] for row in cursor.fetchall()]


def surges_subscribed() -> bool:
    """Whether any active subscription asks for surges: the usual case is none, and then publishing counts none."""
    return Subscription.objects.filter(active=True, notify_surges=True).exists()


def create_surge_deliveries(incident_ids: Sequence[int]) -> list[int]:
    """Outbox rows for the new surges these incidents make, to the active subscriptions that ask for surges.

    A subscription with a country or a base filter hears of surges at bases in that country, or within its
    distance of that base, and of no side's; one with neither hears of every surge. Runs the analytics query
    (surges_touched_by): called by outbox.announce_surges once the publication has committed.
    """
    if not incident_ids or not surges_subscribed():
        return []
    surge_ids = record_surges(incident_ids)
    if not surge_ids:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO events_delivery (subscription_id, surge_id, status, attempts, next_attempt_at,
                                         last_error, created_at)
            SELECT s.id, g.id, 'pending', 0, now(), '', now()
            FROM events_surgealert AS g
            LEFT JOIN posture_base AS gb ON gb.id = g.base_id
            JOIN events_subscription AS s ON s.active AND s.notify_surges
            LEFT JOIN posture_base AS b ON b.id = s.base_id
            WHERE g.id = ANY (%s)
              AND ((s.country = '' AND s.base_id IS NULL)
                   OR (g.scope = 'base' AND (s.country = '' OR s.country = gb.country)
                       AND (s.base_id IS NULL
                            OR ST_DistanceSphere(gb.location, b.location) <= s.within_km * 1000.0)))
            ORDER BY g.id, s.id
            ON CONFLICT (subscription_id, surge_id) DO NOTHING
            RETURNING id
            """,
            [surge_ids],
        )
        return [row[0] for row in cursor.fetchall()]


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def backoff_seconds(attempts: int) -> int:
    """The wait after the `attempts`-th failed attempt: base, 2×base, 4×base, … capped at a day."""
    return min(MAX_BACKOFF_SECONDS, settings.WEBHOOK_RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1))


# What a receiver is told about the incident: the API's own properties, and where to read the rest.
WEBHOOK_PROPERTIES = properties(
    "id",
    "occurred_on",
    "date_label",
    "kind",
    "kind_label",
    "category",
    "title",
    "summary",
    "attribution",
    "attackers",
    "targets",
    "place_name",
    "country",
    "admin1",
    "casualties_best",
    "fatalities_best",
    "weapon",
    "munitions",
    "dataset",
    "external_id",
)
# Composed from the declared constant expressions; the id is a parameter.
WEBHOOK_INCIDENT = (
    "SELECT "  # noqa: S608
    + properties_json(
        WEBHOOK_PROPERTIES,
        [
            ("api_path", "'/api/v1/incidents/' || i.id || '/'"),
            ("geometry", "ST_AsGeoJSON(i.location)::json"),
            ("base", "CASE WHEN b.id IS NOT NULL THEN json_build_object('id', b.id, 'name', b.name) END"),
            (
                "nearest_base",
                "CASE WHEN nb.id IS NOT NULL THEN json_build_object('id', nb.id, 'name', nb.name, "
                "'km', i.nearest_base_km) END",
            ),
        ],
    )
    + "::text FROM events_incident AS i LEFT JOIN posture_base AS b ON b.id = i.base_id "
    "LEFT JOIN posture_base AS nb ON nb.id = i.nearest_base_id WHERE i.id = %s"
)


def payload(delivery: Delivery) -> dict:
    if delivery.surge_id:
        return surge_payload(delivery)
    with connection.cursor() as cursor:
        cursor.execute(WEBHOOK_INCIDENT.sql, (*WEBHOOK_INCIDENT.params, delivery.incident_id))
        incident = json.loads(cursor.fetchone()[0])
    return {
        "event": "incident.published",
        "delivery": delivery.pk,
        "subscription": {"id": delivery.subscription_id, "name": delivery.subscription.name},
        "sent_at": timezone.now().isoformat(),
        "incident": incident,
    }


def surge_payload(delivery: Delivery) -> dict:
    alert: SurgeAlert = delivery.surge
    surge = analytics.Surge(
        scope=alert.scope, key=alert.key, label=alert.label, week=alert.week, count=alert.count,
        previous=alert.previous,
    )  # fmt: skip
    since = alert.week - dt.timedelta(weeks=analytics.SURGE_WEEKS)
    query = f"start={since:%Y-%m-%d}&end={alert.week + dt.timedelta(days=6):%Y-%m-%d}"
    query += f"&base={alert.key}&scope=base" if alert.scope == SurgeAlert.Scope.BASE else "&scope=side"
    return {
        "event": "surge.detected",
        "delivery": delivery.pk,
        "subscription": {"id": delivery.subscription_id, "name": delivery.subscription.name},
        "sent_at": timezone.now().isoformat(),
        "surge": {
            "id": alert.pk,
            **surge.as_dict(),
            "rule": analytics.SURGE_RULE,
            "api_path": f"/api/v1/analytics/surges/?{query}",
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
            .select_related("subscription", "incident", "surge")
            .filter(pk=delivery_id, status=Delivery.Status.PENDING)
            .first()
        )
        now = timezone.now()
        if delivery is None or delivery.next_attempt_at > now + dt.timedelta(seconds=1):
            return None
        subscription = delivery.subscription
        unpublished = delivery.incident_id and delivery.incident.status != Incident.Status.PUBLISHED
        if not subscription.active or unpublished:
            delivery.status = Delivery.Status.SKIPPED
            delivery.save(update_fields=["status"])
            return None
        body = json.dumps(payload(delivery), separators=(",", ":"), ensure_ascii=False).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "posture-webhooks/1",
            "X-Posture-Event": delivery.event,
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
