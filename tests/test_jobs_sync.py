"""The ACLED sync, run by the worker against a local server speaking ACLED's API (tests/fake_sources.py); the
sync's behaviour in detail, in-process, is tests/test_live_sources.py's."""

from __future__ import annotations

import pytest
from django_celery_beat.models import PeriodicTask

from events import tasks
from events.models import ImportJob, Incident, SyncState

from .acled_rows import acled_rows
from .celery_worker import WORKER_ENV, wait_for_job, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

T0 = 1_700_000_000


def run_sync_in_worker() -> ImportJob:
    """Queue the beat task and wait for the ImportJob it records."""
    before = set(ImportJob.objects.values_list("id", flat=True))
    tasks.sync_acled.delay()
    job_id = wait_until(
        lambda: (
            ImportJob.objects.exclude(id__in=before).filter(format="acled_api").values_list("id", flat=True).first()
        ),
        "the sync to start",
    )
    return wait_for_job(job_id)


@pytest.mark.worker
def test_the_worker_logs_in_follows_pages_then_pulls_only_what_changed_and_retracts_what_acled_deleted(
    celery_worker, acled_server, transactional_db
):
    assert WORKER_ENV["ACLED_PAGE_SIZE"] == "3"
    acled_server.reset()
    acled_server.rows = acled_rows(7, seed=21, timestamp=T0)  # timestamps T0+1 … T0+7
    acled_server.rows[4]["longitude"] = "not a number"

    first = run_sync_in_worker()

    assert (first.status, first.via, first.rows_total) == (ImportJob.Status.DONE, "sync", 7)
    assert first.counts() == {"created": 6, "updated": 0, "unchanged": 0, "failed": 1}
    assert [(e.external_id, e.reason) for e in first.row_errors.all()] == [
        (acled_server.rows[4]["event_id_cnty"], "longitude: 'not a number' is not a number")
    ]
    # One login; three pages of three, three and one rows, from the beginning; then the deletions.
    assert acled_server.grants() == ["password"]
    assert [r["page"] for r in acled_server.data_requests()] == ["1", "2", "3"]
    assert all(r["limit"] == "3" and r["iso"] == "368" and "timestamp" not in r for r in acled_server.data_requests())
    assert len(acled_server.data_requests("/api/deleted/read")) == 1
    assert Incident.objects.filter(dataset="acled", status="published").count() == 6
    state = SyncState.objects.get(name="acled")
    assert (state.last_timestamp, state.last_job_id, state.last_error) == (T0 + 7, first.pk, "")

    # ACLED corrects one event, adds another and deletes a third; the next run asks only for what changed since.
    acled_server.rows[1] = {**acled_server.rows[1], "fatalities": "4", "timestamp": str(T0 + 100)}
    acled_server.rows.append({**acled_rows(1, seed=22, first=500)[0], "timestamp": str(T0 + 101)})
    deleted = acled_server.rows.pop(0)
    acled_server.deleted = [{"event_id_cnty": deleted["event_id_cnty"], "deleted_timestamp": T0 + 102}]
    acled_server.requests.clear()

    second = run_sync_in_worker()

    # A full page (three rows) makes it ask for the next one, which is empty; the token is kept.
    assert [(r["page"], r["timestamp"]) for r in acled_server.data_requests()] == [
        ("1", str(T0 + 7)),
        ("2", str(T0 + 7)),
    ]
    assert acled_server.grants() == []
    # The row at the boundary timestamp comes back unchanged, and costs nothing.
    assert second.counts() == {"created": 1, "updated": 1, "unchanged": 1, "failed": 0}
    assert second.retracted_count == 1
    corrected = Incident.objects.get(external_id=acled_server.rows[0]["event_id_cnty"])
    assert corrected.fatalities_best == 4
    assert [h.history_type for h in corrected.history.order_by("history_id")] == ["+", "~"]
    assert Incident.objects.get(external_id=deleted["event_id_cnty"]).status == "retracted"
    assert SyncState.objects.get(name="acled").last_timestamp == T0 + 101


@pytest.mark.django_db
def test_the_beat_schedule_is_in_the_database_where_the_admin_edits_it():
    # What the migrations wrote (0005, then 0019: ACLED every 6 hours, UCDP daily), which the suite writes again
    # after every flush (tests/conftest.py, restore_migration_data).
    tasks_by_name = dict(PeriodicTask.objects.values_list("task", "interval__every"))
    assert tasks_by_name == {
        "events.tasks.sync_acled": 6,
        "events.tasks.sync_ucdp": 24,
        "events.tasks.drain_outbox": 1,
        "events.tasks.resume_stalled_imports": 5,
    }
