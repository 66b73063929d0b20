"""Work across rows is queued once, after commit, from the one place every write passes through: no analytics
query runs in an editor's transaction, and what a write sets off elsewhere is queued by the write itself
(events.actions), not by a signal. What the queued tasks then do is tested with a worker elsewhere
(test_analytics' surge alerts, test_jobs_derived's nearest bases)."""

import json
import weakref

import pytest
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete, pre_save
from django.urls import reverse

from events.cycles import analytics
from events.models import Subscription
from events.notifications import outbox
from events.seed.load import load_seed
from posture.models import Side

from .bodies import incident_feature
from .factories import ActorFactory, BaseFactory, SourceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def surge_counts(monkeypatch):
    """The incident ids every count of surges was asked for, in order."""
    calls = []

    def surges_touched_by(incident_ids):
        calls.append(list(incident_ids))
        return []

    monkeypatch.setattr(analytics, "surges_touched_by", surges_touched_by)
    return calls


@pytest.fixture
def queued(monkeypatch):
    """The tasks sent to the broker, by name and arguments, instead of sending them."""
    sent = []
    monkeypatch.setattr(
        outbox.announce_surges, "apply_async", lambda args, **kw: sent.append((outbox.announce_surges.name, args))
    )
    monkeypatch.setattr(outbox.deliver, "apply_async", lambda args, **kw: sent.append((outbox.deliver.name, args)))
    return sent


def publish(editor_api) -> int:
    response = editor_api.post(
        "/api/v1/incidents/", incident_feature(SourceFactory(), status="published"), format="json"
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


def test_a_publication_counts_its_surges_in_the_worker_after_its_commit(
    editor_api, surge_counts, queued, django_capture_on_commit_callbacks
):
    Subscription.objects.create(
        name="Surges", url="https://hooks.example.org/", notify_surges=True, notify_incidents=False
    )

    with django_capture_on_commit_callbacks(execute=True):
        incident = publish(editor_api)
        assert surge_counts == []  # nothing counted in the publishing transaction
        assert queued == []  # nor sent before the commit

    assert queued == [("events.tasks.announce_surges", ([incident],))]
    outbox.announce_surges([incident])  # what the worker runs
    assert surge_counts == [[incident]]


def test_with_no_subscription_to_surges_nothing_is_queued_for_them(
    editor_api, surge_counts, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        publish(editor_api)

    assert queued == []
    assert surge_counts == []


def test_with_the_broker_down_the_surges_are_counted_after_the_commit_all_the_same(
    editor_api, surge_counts, monkeypatch, django_capture_on_commit_callbacks
):
    Subscription.objects.create(
        name="Surges", url="https://hooks.example.org/", notify_surges=True, notify_incidents=False
    )

    def down(*args, **kwargs):
        raise ConnectionError("no broker")

    monkeypatch.setattr(outbox.announce_surges, "apply_async", down)
    with django_capture_on_commit_callbacks(execute=True):
        incident = publish(editor_api)
        assert surge_counts == []

    assert surge_counts == [[incident]]


def queued_after_commit(callbacks) -> list[tuple]:
    """The tasks (name, arguments) that these on-commit callbacks queue (outbox.queue_after_commit's)."""
    return [callback.queues for callback in callbacks if hasattr(callback, "queues")]


@pytest.fixture
def editor_client(client, editor):
    client.force_login(editor)
    return client


BASE_FORM = {
    "name": "Ayn al-Asad",
    "slug": "ayn-al-asad",
    "alternate_names": "",
    "location": json.dumps({"type": "Point", "coordinates": [42.4412, 33.7856]}),
    "country": "IRQ",
    "kind": "air_base",
    "description": "",
    "statuses-TOTAL_FORMS": "0",
    "statuses-INITIAL_FORMS": "0",
}


def add_base(client):
    return client.post(reverse("admin:posture_base_add"), BASE_FORM)


def move_base(client):
    base = BaseFactory()
    moved = {**BASE_FORM, "slug": base.slug, "location": json.dumps({"type": "Point", "coordinates": [47.0, 30.5]})}
    return client.post(reverse("admin:posture_base_change", args=[base.pk]), moved)


def delete_base(client):
    return client.post(reverse("admin:posture_base_delete", args=[BaseFactory().pk]), {"post": "yes"})


def delete_bases(client):
    bases = BaseFactory.create_batch(2)
    selected = {"action": "delete_selected", "_selected_action": [b.pk for b in bases], "post": "yes"}
    return client.post(reverse("admin:posture_base_changelist"), selected)


@pytest.mark.parametrize("write", [add_base, move_base, delete_base, delete_bases])
def test_a_base_added_moved_or_deleted_in_the_admin_re_ranks_the_nearest_bases_after_commit(
    editor_client, write, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = write(editor_client)

    assert response.status_code == 302, response.content.decode()[:2000]
    assert queued_after_commit(callbacks) == [("events.tasks.refresh_nearest_bases", ())]


def test_an_actor_changed_in_the_admin_refreshes_its_suggestions_after_commit(
    editor_client, django_capture_on_commit_callbacks
):
    militia = ActorFactory(slug="militia")
    iran = Side.objects.create(name="Iran and aligned groups", slug="iran-and-aligned")
    form = {"name": militia.name, "slug": militia.slug, "kind": militia.kind, "country": "", "aliases": "",
            "description": "", "side": iran.pk, "affiliations_out-TOTAL_FORMS": 0,
            "affiliations_out-INITIAL_FORMS": 0}  # fmt: skip

    with django_capture_on_commit_callbacks() as callbacks:
        response = editor_client.post(reverse("admin:posture_actor_change", args=[militia.pk]), form)

    assert response.status_code == 302, response.content.decode()[:2000]
    assert queued_after_commit(callbacks) == [("events.tasks.refresh_suggestions_of_actor", (militia.pk,))]


def test_a_side_deleted_in_the_admin_refreshes_every_suggestion_after_commit(
    editor_client, django_capture_on_commit_callbacks
):
    iran = Side.objects.create(name="Iran and aligned groups", slug="iran-and-aligned")
    militia = ActorFactory(side=iran)

    with django_capture_on_commit_callbacks() as callbacks:
        response = editor_client.post(reverse("admin:posture_side_delete", args=[iran.pk]), {"post": "yes"})

    assert response.status_code == 302
    assert queued_after_commit(callbacks) == [("events.tasks.refresh_suggestions", ())]
    militia.refresh_from_db()
    assert militia.side is None


def test_the_seed_re_ranks_the_nearest_bases_once_however_many_bases_it_writes(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        written = load_seed()

    assert written["Base"] > 1
    assert queued_after_commit(callbacks).count(("events.tasks.refresh_nearest_bases", ())) == 1


def test_no_handler_of_ours_listens_to_model_signals():
    """No signals for data: simple-history's receivers (the history rows) are the only ones."""
    for signal in (pre_save, post_save, pre_delete, post_delete, m2m_changed):
        for entry in signal.receivers:
            receiver = entry[1]() if isinstance(entry[1], weakref.ReferenceType) else entry[1]
            module = getattr(receiver, "__module__", "") or ""
            assert not module.startswith(("events", "posture", "ops", "api", "config")), (signal, receiver)
