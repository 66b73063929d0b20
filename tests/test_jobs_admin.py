"""The admin of the background jobs: subscriptions, deliveries, import jobs and who may touch them."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.db import transaction
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


def uploaded_job(name="acled.csv") -> ImportJob:
    return ImportJob.objects.create(format="acled", file=ContentFile(b"event_id_cnty\n", name=name), original_name=name)


def test_deleting_an_import_job_removes_its_uploaded_file(editor_client, django_capture_on_commit_callbacks):
    job = uploaded_job()
    storage, name = job.file.storage, job.file.name
    assert storage.exists(name)

    with django_capture_on_commit_callbacks(execute=True):
        response = editor_client.post(reverse("admin:events_importjob_delete", args=[job.pk]), {"post": "yes"})

    assert response.status_code == 302
    assert not ImportJob.objects.exists()
    assert not storage.exists(name)


def test_deleting_selected_import_jobs_removes_their_files(editor_client, django_capture_on_commit_callbacks):
    jobs = [uploaded_job("first.csv"), uploaded_job("second.csv")]
    kept = uploaded_job("kept.csv")

    with django_capture_on_commit_callbacks(execute=True):
        response = editor_client.post(
            reverse("admin:events_importjob_changelist"),
            {"action": "delete_selected", "_selected_action": [job.pk for job in jobs], "post": "yes"},
            follow=True,
        )

    assert "Successfully deleted 2 import jobs." in response.content.decode()
    assert list(ImportJob.objects.all()) == [kept]
    assert not any(job.file.storage.exists(job.file.name) for job in jobs)
    assert kept.file.storage.exists(kept.file.name)


def test_a_running_import_cannot_be_deleted_until_it_ends(editor_client):
    job = uploaded_job()
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING)

    page = editor_client.get(reverse("admin:events_importjob_change", args=[job.pk]))
    refused = editor_client.post(reverse("admin:events_importjob_delete", args=[job.pk]), {"post": "yes"})
    selected = editor_client.post(
        reverse("admin:events_importjob_changelist"),
        {"action": "delete_selected", "_selected_action": [job.pk], "post": "yes"},
    )

    assert reverse("admin:events_importjob_delete", args=[job.pk]) not in page.content.decode()
    assert refused.status_code == 403
    assert selected.status_code == 403
    assert ImportJob.objects.filter(pk=job.pk).exists()
    assert job.file.storage.exists(job.file.name)


def test_a_rolled_back_delete_keeps_the_file(django_capture_on_commit_callbacks):
    job = uploaded_job()

    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        ImportJob.objects.filter(pk=job.pk).delete()
        transaction.set_rollback(True)

    assert callbacks == []
    assert ImportJob.objects.filter(pk=job.pk).exists()
    assert job.file.storage.exists(job.file.name)


def test_a_job_whose_file_is_already_gone_can_still_be_deleted(editor_client, django_capture_on_commit_callbacks):
    job = uploaded_job()
    job.file.storage.delete(job.file.name)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = editor_client.post(reverse("admin:events_importjob_delete", args=[job.pk]), {"post": "yes"})

    assert response.status_code == 302
    assert len(callbacks) == 1
    assert not ImportJob.objects.exists()


def test_editors_run_imports_and_manage_subscriptions_but_not_users_or_the_schedule():
    codenames = set(Group.objects.get(name="Editors").permissions.values_list("codename", flat=True))

    assert {"add_importjob", "view_importjob", "add_subscription", "change_subscription", "view_delivery"} <= codenames
    assert not {"add_delivery", "add_user", "change_user", "change_periodictask", "add_periodictask"} & codenames
