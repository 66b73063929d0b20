"""The ACLED and UCDP syncs (issue 20), run in-process against local servers that speak their protocols
(tests/fake_sources.py): ACLED's OAuth, pages and deletions; UCDP's token header, NextPageUrl and versions.
The worker runs ACLED's beat task in tests/test_jobs_sync.py, and UCDP's at the end of this module."""

from __future__ import annotations

import datetime as dt
import io
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.files import File
from django.core.management import CommandError, call_command

from events import tasks
from events.imports.runner import run_import
from events.imports.sync import check_retired_acled_key, run_sync
from events.models import ImportJob, Incident, SyncState

from . import fake_sources
from .acled_rows import acled_rows
from .celery_worker import Worker, wait_for_job, wait_for_quiet_database, wait_until
from .factories import UserFactory
from .fake_sources import UCDP_TOKEN, AcledServer, UcdpServer, ged_results

pytestmark = pytest.mark.django_db
ucdp_server = fake_sources.ucdp_server  # a fixture; acled_server comes from conftest, as the worker's

T0 = 1_700_000_000
EXCERPT = Path(__file__).parent / "data" / "ucdp-ged-excerpt.csv"


@pytest.fixture
def acled(acled_server: AcledServer, settings) -> Iterator[AcledServer]:
    acled_server.reset()
    settings.ACLED_BASE_URL = acled_server.url
    settings.ACLED_EMAIL, settings.ACLED_PASSWORD = AcledServer.EMAIL, AcledServer.PASSWORD
    settings.ACLED_QUERY = "iso=368"
    settings.ACLED_PAGE_SIZE = 3
    settings.SYNC_BACKOFF_MS = 1
    yield acled_server
    acled_server.reset()  # the worker's tests share it


def sync_acled(**expected) -> ImportJob:
    job = run_sync("acled")
    counts = {"created": job.created_count, "updated": job.updated_count, "retracted": job.retracted_count,
              "failed": job.failed_count}  # fmt: skip
    assert (job.status, job.message) == ("done", ""), job.message
    assert {name: counts[name] for name in expected} == expected
    return job


def acled_date(timestamp: int) -> str:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).date().isoformat()


class TestAcled:
    def test_a_run_reads_the_pages_changed_since_the_last_one_then_retracts_what_acled_deleted(self, acled):
        acled.rows = acled_rows(7, seed=21, timestamp=T0)  # timestamps T0+1 … T0+7

        sync_acled(created=7, updated=0, retracted=0, failed=0)

        # One login; three pages of three, three and one rows, from the beginning; then the deletions.
        assert acled.grants() == ["password"]
        assert [(r["page"], r["_format"], r["iso"], r.get("timestamp")) for r in acled.data_requests()] == [
            ("1", "json", "368", None), ("2", "json", "368", None), ("3", "json", "368", None)
        ]  # fmt: skip
        assert [r.get("deleted_timestamp") for r in acled.data_requests("/api/deleted/read")] == [None]
        assert {r["authorization"] for r in acled.requests if "authorization" in r} == {"Bearer access-1"}

        # ACLED corrects one event and deletes another.
        corrected, deleted = acled.rows[1], acled.rows[2]
        acled.rows[1] = {**corrected, "fatalities": "4", "timestamp": str(T0 + 100)}
        acled.rows.remove(deleted)
        acled.deleted = [{"event_id_cnty": deleted["event_id_cnty"], "deleted_timestamp": T0 + 50}]
        acled.requests.clear()

        sync_acled(created=0, updated=1, retracted=1, failed=0)

        assert acled.grants() == []  # the token kept from the first run
        assert [(r["timestamp"], r["timestamp_where"]) for r in acled.data_requests()] == [(str(T0 + 7), ">=")]
        gone = Incident.objects.get(external_id=deleted["event_id_cnty"])
        assert (gone.status, gone.retracted_reason) == ("retracted", f"deleted by ACLED on {acled_date(T0 + 50)}")
        assert Incident.objects.get(external_id=corrected["event_id_cnty"]).fatalities_best == 4
        state = SyncState.objects.get(name="acled")
        assert (state.last_timestamp, state.last_deleted_timestamp, state.last_error) == (T0 + 100, T0 + 50, "")

        # ACLED adds the event again, later: the next run restores it; the old deletion, asked again at the
        # boundary, no longer applies. `manage.py sync acled` prints what it did.
        acled.rows.append({**deleted, "timestamp": str(T0 + 200)})
        acled.requests.clear()
        out = io.StringIO()

        call_command("sync", "acled", stdout=out)

        assert "0 added, 1 updated, 0 retracted, 0 failed" in out.getvalue()
        deletions_asked = acled.data_requests("/api/deleted/read")
        assert [(r["deleted_timestamp"], r["deleted_timestamp_where"]) for r in deletions_asked] == [
            (str(T0 + 50), ">=")
        ]
        assert Incident.objects.get(external_id=deleted["event_id_cnty"]).status == "published"
        # No duplicate: one incident per ACLED event, whatever came and went.
        assert Incident.objects.filter(dataset="acled").count() == 7

    def test_a_token_that_expires_mid_sync_is_refreshed_and_a_refused_refresh_logs_in_again(self, acled):
        acled.rows = acled_rows(7, seed=23, timestamp=T0)
        acled.expire_after = 2  # each token answers two requests, then is refused

        sync_acled(created=7)

        # Pages 1 and 2 with the first token; page 3 is refused, the token refreshed, page 3 asked again.
        assert acled.grants() == ["password", "refresh_token"]
        assert [r["page"] for r in acled.data_requests()] == ["1", "2", "3", "3"]

        # ACLED forgets the refresh tokens: the next refresh is refused, and the sync logs in again.
        acled.refresh_tokens.clear()
        acled.requests.clear()
        sync_acled(created=0)
        assert acled.grants() == ["refresh_token", "password"]

    def test_a_token_past_its_expiry_is_refreshed_before_use(self, acled):
        acled.token_lifetime = 30  # inside the minute before expiry in which the sync no longer sends it
        acled.rows = acled_rows(4, seed=24, timestamp=T0)

        sync_acled(created=4)

        assert acled.grants() == ["password", "refresh_token", "refresh_token"]
        assert all(r["authorization"] != "Bearer access-1" for r in acled.data_requests()[1:])

    def test_a_wrong_password_fails_the_run_saying_so_and_is_asked_once(self, acled, settings, caplog):
        settings.ACLED_PASSWORD = "not the password"
        SyncState.objects.filter(name="acled").update(last_timestamp=T0)

        with caplog.at_level(logging.DEBUG):
            job = run_sync("acled")

        message = (
            "ACLED refused the login of analyst@example.org: the e-mail or the password is wrong (ACLED_EMAIL, "
            'ACLED_PASSWORD): ACLED says "The user credentials were incorrect.".'
        )
        assert (job.status, job.message) == ("failed", message)
        state = SyncState.objects.get(name="acled")
        assert (state.last_error, state.last_timestamp, state.access_token) == (message, T0, "")
        assert acled.grants() == ["password"]
        assert acled.data_requests() == []
        assert "not the password" not in caplog.text
        with pytest.raises(CommandError, match="the e-mail or the password is wrong"):
            call_command("sync", "acled", stdout=io.StringIO())

    def test_a_429_or_5xx_backs_off_and_asks_the_same_page_again_within_bounds(self, acled, settings):
        acled.rows = acled_rows(4, seed=25, timestamp=T0)
        acled.failures = [503, 429]

        sync_acled(created=4)

        assert [r["page"] for r in acled.data_requests()] == ["1", "1", "1", "2"]

        settings.SYNC_RETRIES = 2
        acled.failures = [502, 502, 502]
        acled.requests.clear()
        job = run_sync("acled")
        assert job.message == "ACLED answered page 1 of the events with HTTP 502, 3 attempts; the next run starts over."
        assert len(acled.data_requests()) == 3
        assert SyncState.objects.get(name="acled").last_timestamp == T0 + 4

    def test_without_an_account_the_sync_is_off_and_the_old_key_says_why_at_start_up(self, settings):
        settings.ACLED_EMAIL = settings.ACLED_PASSWORD = ""
        settings.ACLED_API_KEY = "an old key"

        assert run_sync("acled") is None
        assert not ImportJob.objects.exists()
        (warning,) = check_retired_acled_key()
        assert warning.id == "events.W001"
        assert warning.msg.startswith("ACLED_API_KEY is set but starts nothing")
        settings.ACLED_EMAIL, settings.ACLED_PASSWORD = "a@example.org", "pw"
        assert check_retired_acled_key() == []


def test_the_sync_states_page_shows_the_last_run_never_the_token_and_starts_a_run(
    acled, client, django_capture_on_commit_callbacks
):
    acled.rows = acled_rows(3, seed=26, timestamp=T0)
    acled.deleted = [{"event_id_cnty": acled.rows[0]["event_id_cnty"], "deleted_timestamp": T0 + 9}]
    sync_acled(created=3, retracted=1)
    state = SyncState.objects.get(name="acled")
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    listing = client.get("/admin/events/syncstate/").content.decode()
    detail = client.get(f"/admin/events/syncstate/{state.pk}/change/").content.decode()

    for page in (listing, detail):
        assert state.access_token not in page
        assert state.refresh_token not in page
    assert '<td class="field-added">3</td>' in listing
    assert '<td class="field-retracted">1</td>' in listing
    assert "held (not shown), expires" in detail
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(
            "/admin/events/syncstate/", {"action": "run_now", "_selected_action": [state.pk]}, follow=True
        )
    assert "Queued: acled." in response.content.decode()
    assert len(callbacks) == 1


# --- UCDP ----------------------------------------------------------------------------------------------------


@pytest.fixture
def ucdp(ucdp_server: UcdpServer, settings) -> UcdpServer:
    ucdp_server.versions = {"25.1": ged_results(EXCERPT)}
    ucdp_server.requests.clear()
    ucdp_server.failures.clear()
    settings.UCDP_API_URL = ucdp_server.api_url
    settings.UCDP_TOKEN = UCDP_TOKEN
    settings.UCDP_VERSION = "25.1"
    settings.UCDP_COUNTRIES = ["645", "652"]
    settings.UCDP_PAGE_SIZE = 3
    settings.SYNC_BACKOFF_MS = 1
    return ucdp_server


def import_file(path: Path) -> ImportJob:
    with open(path, "rb") as f:
        job = ImportJob.objects.create(file=File(f, name=path.name), format="ucdp", dataset="ucdp-ged", via="command")
    return run_import(job.pk)


class TestUcdp:
    def test_the_api_gives_the_incidents_the_file_gives(self, ucdp):
        from_file = import_file(EXCERPT)
        assert from_file.created_count > 5
        incidents = {i.external_id: i for i in Incident.objects.filter(dataset="ucdp-ged")}

        job = run_sync("ucdp")

        # Every row is one the file import wrote, to the byte of its content: unchanged, none added.
        assert (job.status, job.created_count, job.updated_count) == ("done", 0, 0)
        assert job.unchanged_count == from_file.created_count
        assert job.failed_count == from_file.failed_count
        assert {i.external_id: i.title for i in Incident.objects.filter(dataset="ucdp-ged")} == {
            key: incident.title for key, incident in incidents.items()
        }
        # Page by page, following NextPageUrl, with the token and UCDP's filters.
        pages = len(ucdp.versions["25.1"]) // 3 + 1
        assert [r["page"] for r in ucdp.requests] == [str(n) for n in range(pages)]
        assert {(r["token"], r["Country"], r["pagesize"]) for r in ucdp.requests} == {(UCDP_TOKEN, "645,652", "3")}
        assert SyncState.objects.get(name="ucdp").version == "25.1"
        # Read in full: the next run has nothing to do until a newer version.
        assert run_sync("ucdp") is None

    def test_a_newer_version_updates_what_changed_and_retracts_what_it_dropped(self, ucdp):
        older = ucdp.versions["25.1"]
        newer = [dict(row) for row in older if row["id"] != older[1]["id"]]
        changed = newer[0]
        changed.update(deaths_civilians=changed["deaths_civilians"] + 3, best=changed["best"] + 3)
        ucdp.versions["26.0.8"] = newer
        first = run_sync("ucdp")
        out = io.StringIO()

        call_command("sync", "ucdp", "--version", "26.0.8", stdout=out)

        assert "0 added, 1 updated, 1 retracted" in out.getvalue()
        dropped = Incident.objects.get(dataset="ucdp-ged", external_id=str(older[1]["id"]))
        assert (dropped.status, dropped.retracted_reason) == ("retracted", "not in UCDP GED 26.0.8")
        updated = Incident.objects.get(dataset="ucdp-ged", external_id=str(changed["id"]))
        last = updated.history.order_by("-history_id").first()
        assert last.history_change_reason.startswith("UCDP GED 26.0.8 sync #")
        assert Incident.objects.filter(dataset="ucdp-ged").count() == first.created_count
        # UCDP_VERSION still names the older one: the newer, read in full, stays.
        assert SyncState.objects.get(name="ucdp").version == "26.0.8"
        assert run_sync("ucdp") is None

    def test_a_refused_token_is_named_and_a_429_or_5xx_resumes_from_the_page_reached(self, ucdp, settings):
        settings.UCDP_TOKEN = "wrong"
        job = run_sync("ucdp")
        assert job.message == "UCDP answered page 0 of GED with HTTP 401: the token (UCDP_TOKEN) was refused."

        settings.UCDP_TOKEN = UCDP_TOKEN
        ucdp.requests.clear()
        ucdp.fail_after, ucdp.failures = 1, [503, 429]  # page 0 is answered, page 1 refused twice

        job = run_sync("ucdp")

        assert job.status == "done"
        assert [r["page"] for r in ucdp.requests][:5] == ["0", "1", "1", "1", "2"]
        assert Incident.objects.filter(dataset="ucdp-ged").count() == job.created_count

    def test_a_bad_version_is_refused_before_anything_runs(self, ucdp):
        with pytest.raises(CommandError, match="'26.x' is not a UCDP GED version"):
            call_command("sync", "ucdp", "--version", "26.x", stdout=io.StringIO())
        with pytest.raises(CommandError, match="--version is UCDP's"):
            call_command("sync", "acled", "--version", "26.0.8", stdout=io.StringIO())
        assert not ImportJob.objects.exists()


def test_the_schedule_migration_is_replayable():
    """tests/conftest.py's restore_migration_data replays every data migration, 0019's among them, after a flush:
    twice in a row changes nothing and fails on nothing."""
    from .conftest import restore_migration_data

    restore_migration_data()
    restore_migration_data()
    assert set(SyncState.objects.values_list("name", flat=True)) >= {"acled", "ucdp"}


# --- UCDP in the worker --------------------------------------------------------------------------------------


def run_ucdp_in_worker() -> ImportJob:
    """Queue the beat task and wait for the ImportJob it records."""
    before = set(ImportJob.objects.values_list("id", flat=True))
    tasks.sync_ucdp.delay()
    job_id = wait_until(
        lambda: ImportJob.objects.exclude(id__in=before).filter(format="ucdp_api").values_list("id", flat=True).first(),
        "the UCDP sync to start",
    )
    return wait_for_job(job_id)


def restart(worker: Worker, env: dict[str, str]) -> None:
    """The session's worker again, with `env`: as a deployment that sets or moves UCDP_VERSION restarts it."""
    wait_for_quiet_database()
    worker.stop()
    worker.env = env
    worker.start()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_worker_reads_a_ged_version_then_a_newer_one_that_updates_and_retracts(
    celery_worker: Worker, ucdp_server: UcdpServer
):
    older = ged_results(EXCERPT)
    newer = [dict(row) for row in older if row["id"] != older[1]["id"]]
    changed = newer[0]
    changed.update(deaths_civilians=changed["deaths_civilians"] + 3, best=changed["best"] + 3)
    ucdp_server.versions = {"25.1": older, "26.0.8": newer}
    ucdp_server.requests.clear()
    ucdp_server.failures.clear()
    ucdp_server.fail_after = 0
    session_env = celery_worker.env
    ucdp_env = {"UCDP_TOKEN": UCDP_TOKEN, "UCDP_API_URL": ucdp_server.api_url, "UCDP_PAGE_SIZE": "3"}
    try:
        restart(celery_worker, {**session_env, **ucdp_env, "UCDP_VERSION": "25.1"})

        first = run_ucdp_in_worker()

        assert (first.status, first.via, first.message) == (ImportJob.Status.DONE, "sync", "")
        assert first.created_count > 5
        assert first.created_count + first.failed_count == len(older)
        ucdp_ged = Incident.objects.filter(dataset="ucdp-ged")
        assert ucdp_ged.count() == ucdp_ged.filter(status="published").count() == first.created_count
        assert ucdp_ged.values("external_id").distinct().count() == first.created_count
        # Page by page from 0, following NextPageUrl, with the token and UCDP's filters from the worker's settings.
        assert [r["page"] for r in ucdp_server.requests] == [str(n) for n in range(len(older) // 3 + 1)]
        assert {(r["token"], r["Country"], r["pagesize"]) for r in ucdp_server.requests} == {
            (UCDP_TOKEN, "645,652", "3")
        }
        state = SyncState.objects.get(name="ucdp")
        assert (state.version, state.last_job_id, state.last_error) == ("25.1", first.pk, "")
        assert state.last_success_at is not None

        # Read in full: queued again, it has nothing to do and records no run.
        ucdp_server.requests.clear()
        tasks.sync_ucdp.delay()
        wait_for_quiet_database()
        assert ImportJob.objects.filter(format="ucdp_api").count() == 1
        assert ucdp_server.requests == []

        # UCDP releases 26.0.8, which revises one event and drops another; the deployment moves to it.
        restart(celery_worker, {**session_env, **ucdp_env, "UCDP_VERSION": "26.0.8"})

        second = run_ucdp_in_worker()

        assert (second.status, second.message) == (ImportJob.Status.DONE, "")
        assert (second.created_count, second.updated_count, second.retracted_count) == (0, 1, 1)
        dropped = Incident.objects.get(dataset="ucdp-ged", external_id=str(older[1]["id"]))
        assert (dropped.status, dropped.retracted_reason) == ("retracted", "not in UCDP GED 26.0.8")
        assert dropped.retracted_at is not None
        updated = Incident.objects.get(dataset="ucdp-ged", external_id=str(changed["id"]))
        assert updated.status == "published"
        assert updated.history.latest().history_change_reason == f"UCDP GED 26.0.8 sync #{second.pk}"
        # No duplicate, and every other incident as the first run left it.
        assert ucdp_ged.count() == first.created_count
        assert ucdp_ged.filter(status="published").count() == first.created_count - 1
        state.refresh_from_db()
        assert (state.version, state.last_job_id, state.last_error) == ("26.0.8", second.pk, "")
    finally:
        restart(celery_worker, session_env)
