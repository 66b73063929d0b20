"""Webhook notifications, sent by a real worker to a receiver on loopback; and saving with Redis down."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from django.contrib.gis.geos import Point
from django.urls import reverse

from events import tasks
from events.models import Delivery, ImportJob, Incident, Subscription
from events.notifications.webhooks import backoff_seconds

from .celery_worker import WebhookReceiver, wait_for_job, wait_until
from .factories import BaseFactory, IncidentFactory, SourceFactory
from .test_admin import incident_form
from .test_api_writes import feature

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def receiver():
    server = WebhookReceiver()
    yield server
    server.close()


def signature_is_valid(secret: str, received) -> bool:
    expected = "sha256=" + hmac.new(secret.encode(), received.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, received.headers["X-Posture-Signature"])


@pytest.mark.worker
def test_a_webhook_is_delivered_signed_and_retried_after_the_receiver_answers_500(
    celery_worker, editor_api, receiver, ayn_al_asad
):
    receiver.answers = [500]
    watch = Subscription.objects.create(
        name="Rockets near Ayn al-Asad",
        url=receiver.url + "hook",
        kinds=["rocket_attack"],
        country="IRQ",
        base=ayn_al_asad,
        within_km=50,
    )
    far = BaseFactory(location=Point(36.0, 34.5, srid=4326))
    not_matching = [
        Subscription.objects.create(name="Air strikes", url=receiver.url + "other", kinds=["air_strike"]),
        Subscription.objects.create(name="Syria", url=receiver.url + "other", country="SYR"),
        Subscription.objects.create(name="Far away", url=receiver.url + "other", base=far, within_km=10),
        Subscription.objects.create(name="Switched off", url=receiver.url + "other", active=False),
    ]
    source = SourceFactory()

    response = editor_api.post("/api/v1/incidents/", feature(source, status="published", country="IRQ"), format="json")

    assert response.status_code == 201, response.content
    incident_id = response.json()["id"]
    delivery = Delivery.objects.get(subscription=watch, incident_id=incident_id)
    wait_until(lambda: Delivery.objects.get(pk=delivery.pk).status == Delivery.Status.DELIVERED, "the delivery")
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.last_status_code, delivery.last_error) == (2, 200, "")
    assert not Delivery.objects.filter(subscription__in=not_matching).exists()
    first, second = receiver.received
    assert (first.path, first.answered, second.answered) == ("/hook", 500, 200)
    for request in (first, second):
        assert signature_is_valid(watch.secret, request)
        assert request.headers["X-Posture-Delivery"] == str(delivery.pk)
        assert request.headers["Content-Type"] == "application/json"
    payload = second.json()
    assert payload["event"] == "incident.published"
    assert payload["incident"]["id"] == incident_id
    assert payload["incident"]["title"] == "Ten rockets on Ayn al-Asad"
    assert payload["incident"]["geometry"] == {"type": "Point", "coordinates": [42.4412, 33.7856]}
    assert payload["incident"]["nearest_base"]["name"] == "Ayn al-Asad"
    assert payload["incident"]["nearest_base"]["km"] == pytest.approx(0, abs=0.001)

    # A draft notifies nobody until it is published.
    draft = editor_api.post("/api/v1/incidents/", feature(source, country="IRQ"), format="json").json()["id"]
    assert not Delivery.objects.filter(incident_id=draft).exists()
    published = editor_api.patch(f"/api/v1/incidents/{draft}/", {"properties": {"status": "published"}}, format="json")
    assert published.status_code == 200
    wait_until(lambda: Delivery.objects.filter(incident_id=draft, status="delivered").exists(), "the second delivery")
    assert len(receiver.received) == 3
    assert signature_is_valid(watch.secret, receiver.received[2])


@pytest.mark.django_db
def test_the_backoff_doubles_from_the_base_and_is_capped(settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 60
    assert [backoff_seconds(n) for n in (1, 2, 3, 4)] == [60, 120, 240, 480]
    assert backoff_seconds(30) == 24 * 3600


class Broker:
    """Takes this process's Celery app off its Redis (to a socket nothing listens on) and back."""

    def __init__(self, tmp_path) -> None:
        from config.celery import app

        self.app = app
        self.url = app.conf.broker_url
        self.dead = f"redis+socket://{tmp_path}/no-redis-here.sock"

    def _point_at(self, url: str) -> None:
        self.app.conf.broker_url = url
        self.app._pool = None
        self.app.amqp._producer_pool = None

    def down(self) -> None:
        self._point_at(self.dead)

    def up(self) -> None:
        self._point_at(self.url)


@pytest.fixture
def broker(tmp_path):
    switch = Broker(tmp_path)
    yield switch
    switch.up()


@pytest.mark.worker
def test_with_redis_down_admin_saves_still_work_and_the_outbox_is_drained_later(
    celery_worker, broker, editor, client, receiver, settings, tmp_path
):
    broker.down()
    subscription = Subscription.objects.create(name="Everything", url=receiver.url + "hook")
    draft = IncidentFactory(status=Incident.Status.DRAFT, title="Ten rockets, unconfirmed")
    client.force_login(editor)

    # Publishing in the admin commits, and the editor hears that the notification will be late.
    form = incident_form(draft.sources.first(), title="Ten rockets hit Ayn al-Asad")
    response = client.post(reverse("admin:events_incident_change", args=[draft.pk]), form, follow=True)

    assert response.status_code == 200
    page = response.content.decode()
    assert "was changed successfully" in page
    assert "The job queue (Redis) is unreachable, so its webhook notifications could not be started now" in page
    draft.refresh_from_db()
    assert draft.status == Incident.Status.PUBLISHED
    pending = Delivery.objects.get(subscription=subscription, incident=draft)
    assert (pending.status, pending.attempts) == (Delivery.Status.PENDING, 0)

    # An import uploaded meanwhile is kept, queued.
    upload = tmp_path / "one.csv"
    upload.write_text("event_id_cnty,event_date,event_type,sub_event_type,latitude,longitude\n"
                      "IRQ1,2021-03-03,Battles,Armed clash,33.4,43.3\n")  # fmt: skip
    with open(upload, "rb") as f:
        response = client.post("/admin/events/importjob/add/", {"file": f, "format": "", "dataset": ""}, follow=True)
    assert "could not be started now" in response.content.decode()
    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.QUEUED

    # Redis is back: beat's tasks find what was left, and the worker does it.
    broker.up()
    assert tasks.drain_outbox() == 1
    settings.IMPORT_STALL_SECONDS = 0
    assert tasks.resume_stalled_imports() == [job.pk]

    wait_until(lambda: Delivery.objects.get(pk=pending.pk).status == Delivery.Status.DELIVERED, "the delivery")
    # The imported row is published too and may be announced first: look for the draft's delivery by id.
    assert draft.pk in [r.json()["incident"]["id"] for r in receiver.received]
    assert wait_for_job(job.pk).counts() == {"created": 1, "updated": 0, "unchanged": 0, "failed": 0}
