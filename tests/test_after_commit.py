"""Work across rows is queued once, after commit, from the one place every write passes through: no analytics
query runs in an editor's transaction, and what a write sets off elsewhere is queued by the write itself
(events.actions), not by a signal. What the queued tasks then do is tested with a worker elsewhere
(test_analytics' surge alerts, test_jobs_derived's nearest bases)."""

import pytest

from events.cycles import analytics
from events.models import Subscription
from events.notifications import outbox

from .bodies import incident_feature
from .factories import SourceFactory

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
