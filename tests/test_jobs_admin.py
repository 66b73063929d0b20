"""The admin of the background jobs: subscriptions, deliveries, import jobs and who may touch them."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from events.models import Delivery, ImportJob, Subscription

from .factories import BaseFactory, IncidentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor_client(client, editor):
    client.force_login(editor)
    return client


def subscription_form(**overrides):
    return {
        "name": "Base watch",
        "url": "https://hooks.example.org/posture",
        "secret": "s3cret",
        "active": "on",
        "kinds": ["rocket_attack", "drone_attack"],
        "country": "IRQ",
        "base": "",
        "within_km": "",
        **overrides,
    }


def test_an_editor_subscribes_a_webhook_to_kinds_near_a_base(editor_client, editor):
    base = BaseFactory()

    response = editor_client.post(
        reverse("admin:events_subscription_add"), subscription_form(base=base.pk, within_km="50")
    )

    assert response.status_code == 302
    subscription = Subscription.objects.get()
    assert subscription.kinds == ["rocket_attack", "drone_attack"]
    assert (subscription.base, subscription.within_km, subscription.created_by) == (base, 50, editor)
    assert subscription.filter_label() == f"Rocket attack, One-way drone attack; in IRQ; within 50 km of {base}"


def test_a_base_without_a_distance_is_a_form_error(editor_client):
    response = editor_client.post(reverse("admin:events_subscription_add"), subscription_form(base=BaseFactory().pk))

    assert response.status_code == 200
    assert "Give both a base and a distance, or neither." in response.content.decode()
    assert not Subscription.objects.exists()


def test_deliveries_show_their_status_and_can_be_sent_again(editor_client, django_capture_on_commit_callbacks):
    subscription = Subscription.objects.create(name="Hook", url="https://hooks.example.org/")
    given_up = Delivery.objects.create(
        subscription=subscription, incident=IncidentFactory(), status="failed", attempts=10, last_status_code=500
    )
    delivered = Delivery.objects.create(subscription=subscription, incident=IncidentFactory(), status="delivered")

    page = editor_client.get(reverse("admin:events_delivery_changelist")).content.decode()
    assert "Gave up" in page
    assert "Delivered" in page

    with django_capture_on_commit_callbacks() as queued:
        response = editor_client.post(
            reverse("admin:events_delivery_changelist"),
            {"action": "send_again", "_selected_action": [given_up.pk, delivered.pk]},
            follow=True,
        )

    assert "1 deliveries queued." in response.content.decode()
    given_up.refresh_from_db()
    assert given_up.status == Delivery.Status.PENDING
    assert Delivery.objects.get(pk=delivered.pk).status == Delivery.Status.DELIVERED
    assert len(queued) == 1


def test_an_import_job_is_followed_not_edited(editor_client):
    job = ImportJob.objects.create(format="acled", rows_total=10, rows_done=4, status="running", created_count=4)

    page = editor_client.get(reverse("admin:events_importjob_change", args=[job.pk])).content.decode()
    listing = editor_client.get(reverse("admin:events_importjob_changelist")).content.decode()

    assert "4 of 10 rows (40%)" in page
    assert "4 of 10 rows (40%)" in listing
    assert "None so far." in page
    assert 'name="_save"' not in page


def test_editors_run_imports_and_manage_subscriptions_but_not_users_or_the_schedule():
    codenames = set(Group.objects.get(name="Editors").permissions.values_list("codename", flat=True))

    assert {"add_importjob", "view_importjob", "add_subscription", "change_subscription", "view_delivery"} <= codenames
    assert not {"add_delivery", "add_user", "change_user", "change_periodictask", "add_periodictask"} & codenames
