"""Version ETags and the shared response cache (api/caching.py), against the real database and Redis.

These tests commit (transaction=True): the cache shares only what a committed data version names, and the
data version moves when a write commits. Every write path must move it: the API, the admin, an import and
the ACLED sync run by the real worker, and raw SQL.
"""

from __future__ import annotations

import datetime as dt
import gzip
import threading
import time

import pytest
from django.core.cache import caches
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from api.caching import LOCAL
from events import tasks
from events.models import ImportJob, Incident

from .acled_rows import acled_rows, write_acled_csv
from .celery_worker import wait_for_job, wait_until
from .factories import BaseFactory, IncidentFactory, SourceFactory

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/api/v1/incidents/?limit=100"


@pytest.fixture(autouse=True)
def _no_local_copies():
    """Each test starts with this process holding no copies of its own (another process would not)."""
    LOCAL.clear()


def titles(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [feature["properties"]["title"] for feature in response.json()["features"]]


def body_queries(queries: CaptureQueriesContext) -> list[str]:
    """The queries that read the answer's data (the data version's own read is not one)."""
    return [q["sql"] for q in queries.captured_queries if "ops_dataversion" not in q["sql"]]


def fetch(client, url: str = URL, **headers):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, **headers)
    return response, body_queries(queries)


class TestSharing:
    def test_the_next_visitor_gets_the_stored_bytes_and_headers_without_a_query_for_the_body(self, client_factory):
        IncidentFactory(title="Rockets on Ayn al-Asad")
        first, built = fetch(client_factory())

        again, queries = fetch(client_factory())

        assert built, "the first answer is built"
        assert queries == []
        assert again.content == first.content
        for header in ("Content-Type", "ETag", "Last-Modified", "Vary"):
            assert (header, again[header]) == (header, first[header])
        assert titles(again) == ["Rockets on Ayn al-Asad"]

    def test_another_process_gets_the_copy_in_redis(self, client_factory):
        IncidentFactory(title="Rockets on Ayn al-Asad")
        first, _ = fetch(client_factory())
        LOCAL.clear()  # as in another web process

        again, queries = fetch(client_factory())

        assert queries == []
        assert again.content == first.content

    @pytest.mark.parametrize(
        "url",
        [
            "/api/v1/timeline/?bucket=month",
            "/api/v1/incidents/clusters/?zoom=3",
            "/api/v1/bases/",
            "/api/v1/actors/",
            "/api/v1/deployments/",
            "/api/v1/links/",
            "/ogc/collections/incidents/items",
        ],
    )
    def test_every_versioned_read_is_shared(self, client_factory, url):
        IncidentFactory()
        first, _ = fetch(client_factory(), url)

        again, queries = fetch(client_factory(), url)

        assert first.status_code == 200
        assert queries == []
        assert again.content == first.content

    def test_the_query_is_part_of_the_name(self, client):
        IncidentFactory(title="Old", occurred_on=dt.date(2020, 1, 1))
        IncidentFactory(title="New", occurred_on=dt.date(2021, 1, 1))

        assert titles(client.get(URL + "&start=2020-12-01")) == ["New"]
        assert titles(client.get(URL + "&end=2020-12-01")) == ["Old"]
        assert titles(client.get(URL)) == ["New", "Old"]

    def test_off_by_setting(self, client, settings):
        settings.RESPONSE_CACHE = False
        IncidentFactory()
        first, _ = fetch(client)

        again, queries = fetch(client)

        assert queries, "built again"
        assert again["ETag"] == first["ETag"]
        assert client.get(URL, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304


class TestConditionalGet:
    def test_if_none_match_is_answered_before_any_query_for_the_body(self, client, django_assert_num_queries):
        IncidentFactory()
        first = client.get(URL)

        with django_assert_num_queries(1):  # the data version
            repeat = client.get(URL, HTTP_IF_NONE_MATCH=first["ETag"])

        assert repeat.status_code == 304
        assert repeat["ETag"] == first["ETag"]
        assert repeat["Last-Modified"] == first["Last-Modified"]

    def test_an_editors_304_reads_no_incident_either(self, editor_api):
        IncidentFactory(status=Incident.Status.DRAFT)
        first = editor_api.get(URL)

        repeat, queries = fetch(editor_api, HTTP_IF_NONE_MATCH=first["ETag"])

        assert repeat.status_code == 304
        assert not [sql for sql in queries if "events_incident" in sql]

    def test_the_detail_is_versioned_too(self, client, django_assert_num_queries):
        incident = IncidentFactory()
        first = client.get(f"/api/v1/incidents/{incident.pk}/")

        with django_assert_num_queries(1):
            assert client.get(f"/api/v1/incidents/{incident.pk}/", HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304

    def test_a_stale_etag_gets_the_new_answer(self, client):
        incident = IncidentFactory(title="Before")
        first = client.get(URL)
        Incident.objects.filter(pk=incident.pk).update(title="After")

        repeat = client.get(URL, HTTP_IF_NONE_MATCH=first["ETag"])

        assert repeat.status_code == 200
        assert repeat["ETag"] != first["ETag"]
        assert titles(repeat) == ["After"]


class TestEveryWriteMovesTheVersion:
    """Each answer is first stored (the second read is a cache hit), then one write, then a read."""

    @pytest.fixture
    def cached(self, client):
        incident = IncidentFactory(title="Before")
        client.get(URL)
        assert fetch(client)[1] == [], "stored"
        return incident

    def test_an_api_write(self, client, editor_api, cached):
        response = editor_api.patch(
            f"/api/v1/incidents/{cached.pk}/", {"properties": {"title": "After"}}, format="json"
        )

        assert response.status_code == 200, response.content
        assert titles(client.get(URL)) == ["After"]

    def test_an_admin_delete(self, client, admin_client, cached):
        response = admin_client.post(f"/admin/events/incident/{cached.pk}/delete/", {"post": "yes"})

        assert response.status_code == 302
        assert titles(client.get(URL)) == []

    def test_a_raw_bulk_update(self, client, cached):
        IncidentFactory.create_batch(3, title="Other")
        client.get(URL)
        with connection.cursor() as cursor:
            cursor.execute("UPDATE events_incident SET title = 'Bulk ' || id")

        assert sorted(titles(client.get(URL))) == sorted(f"Bulk {i.pk}" for i in Incident.objects.all())

    def test_a_write_to_a_posture_table(self, client):
        base = BaseFactory(name="Al Asad")
        client.get("/api/v1/bases/")
        with connection.cursor() as cursor:
            cursor.execute("UPDATE posture_base SET name = 'Ayn al-Asad' WHERE id = %s", [base.pk])

        names = [f["properties"]["name"] for f in client.get("/api/v1/bases/").json()["features"]]
        assert names == ["Ayn al-Asad"]

    def test_a_statement_that_changes_nothing_keeps_the_stored_answers(self, client, cached):
        Incident.objects.filter(title="no such title").update(title="x")

        assert fetch(client)[1] == []

    @pytest.mark.worker
    def test_an_import_run_by_the_worker(self, client, celery_worker, editor_api, cached, tmp_path):
        rows = acled_rows(5, seed=31, first=9100)
        with open(write_acled_csv(tmp_path / "acled.csv", rows), "rb") as f:
            response = editor_api.post("/api/v1/imports/", {"file": f}, format="multipart")
        assert response.status_code == 202, response.content

        job = wait_for_job(response.json()["id"])

        assert job.status == ImportJob.Status.DONE
        assert client.get(URL).json()["numberMatched"] == 1 + len(rows)

    @pytest.mark.worker
    def test_the_acled_sync_run_by_the_worker(self, client, celery_worker, acled_server, cached):
        acled_server.rows = acled_rows(3, seed=32, first=9200, timestamp=1_700_000_000)
        before = set(ImportJob.objects.values_list("id", flat=True))
        tasks.sync_acled.delay()
        started = ImportJob.objects.exclude(id__in=before).filter(format="acled_api")
        job_id = wait_until(lambda: started.values_list("id", flat=True).first(), "the sync to start")

        assert wait_for_job(job_id).status == ImportJob.Status.DONE
        assert client.get(URL).json()["numberMatched"] == 1 + 3


class TestDrafts:
    def test_an_editors_answer_is_never_stored(self, editor_api, client):
        IncidentFactory(title="Draft", status=Incident.Status.DRAFT)

        assert titles(editor_api.get(URL)) == ["Draft"]
        assert titles(client.get(URL)) == []
        again, queries = fetch(editor_api)
        assert queries, "built again for the editor"
        assert titles(again) == ["Draft"]

    def test_a_draft_saved_after_a_public_answer_was_stored_stays_out_of_it(self, editor_api, client):
        IncidentFactory(title="Public")
        client.get(URL)
        response = editor_api.post(
            "/api/v1/incidents/",
            {"type": "Feature", "geometry": None, "properties": {"occurred_on": "2021-03-03", "kind": "statement",
             "title": "Draft", "sources": [SourceFactory().pk], "status": "draft"}},
            format="json",
        )  # fmt: skip
        assert response.status_code == 201, response.content

        assert titles(client.get(URL)) == ["Public"]
        assert titles(editor_api.get(URL)) == ["Draft", "Public"]

    def test_reads_inside_a_writing_transaction_are_not_shared(self, client):
        IncidentFactory(title="Committed")

        with transaction.atomic():
            IncidentFactory(title="Never committed")
            inside = titles(client.get(URL))
            transaction.set_rollback(True)

        assert sorted(inside) == ["Committed", "Never committed"]
        assert titles(client.get(URL)) == ["Committed"]


class TestOneBuilds:
    def test_a_request_for_an_answer_being_built_waits_for_it_rather_than_building_it_again(self, client, settings):
        IncidentFactory(title="Built")
        settings.RESPONSE_CACHE = False
        etag = client.get(URL)["ETag"]  # the same name with the cache on: it does not depend on it
        settings.RESPONSE_CACHE = True
        cache = caches[settings.RESPONSE_CACHE_ALIAS]
        key = "api-response:" + etag.strip('"')
        # Another process is building it: it holds the lock, and stores the answer a moment later.
        cache.set(key + ":building", 1, 30)
        stored = {"content": b'{"type": "FeatureCollection", "features": []}', "content_type": "application/geo+json"}

        def builder():
            time.sleep(0.3)
            cache.set(key, {**stored, "encoding": None}, 30)
            cache.delete(key + ":building")

        thread = threading.Thread(target=builder)
        thread.start()
        response, queries = fetch(client)
        thread.join(timeout=10)
        assert not thread.is_alive(), "the stand-in builder never stored its answer"

        assert queries == []
        assert response.content == stored["content"]
        assert response["ETag"] == etag


class TestEncodings:
    def test_gzip_and_identity_are_kept_apart(self, client_factory):
        IncidentFactory.create_batch(20)
        plain, _ = fetch(client_factory())
        packed, _ = fetch(client_factory(), HTTP_ACCEPT_ENCODING="gzip, deflate, br")

        assert packed["Content-Encoding"] == "gzip"
        assert gzip.decompress(packed.content) == plain.content
        assert not plain.has_header("Content-Encoding")
        assert packed["ETag"] != plain["ETag"]
        assert "Accept-Encoding" in {v.strip() for v in plain["Vary"].split(",")}

        plain_again, plain_queries = fetch(client_factory())
        packed_again, packed_queries = fetch(client_factory(), HTTP_ACCEPT_ENCODING="gzip")
        assert plain_queries == packed_queries == []
        assert plain_again.content == plain.content
        assert packed_again.content == packed.content
        assert packed_again["Content-Encoding"] == "gzip"

    def test_gzip_refused_by_q_0_is_not_sent(self, client):
        IncidentFactory.create_batch(20)

        response = client.get(URL, HTTP_ACCEPT_ENCODING="gzip;q=0, *;q=1")

        assert not response.has_header("Content-Encoding")


class TestRedisDown:
    def test_answers_are_computed_as_without_the_cache(self, client, settings, tmp_path):
        settings.RESPONSE_CACHE_LOCAL_BYTES = 0  # what Redis alone does
        settings.CACHES = {
            **settings.CACHES,
            settings.RESPONSE_CACHE_ALIAS: {
                **settings.CACHES[settings.RESPONSE_CACHE_ALIAS],
                "LOCATION": f"unix://{tmp_path}/no-redis.sock",
            },
        }
        IncidentFactory(title="Still answered")

        first = client.get(URL)
        again, queries = fetch(client)

        assert titles(first) == titles(again) == ["Still answered"]
        assert queries, "nothing was stored"
        assert client.get(URL, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304

    def test_entries_over_the_size_limit_are_not_stored(self, client, settings):
        settings.RESPONSE_CACHE_MAX_BYTES = 100
        settings.RESPONSE_CACHE_LOCAL_BYTES = 0
        IncidentFactory()
        client.get(URL)

        assert fetch(client)[1], "built again"


@pytest.fixture
def client_factory():
    from django.test import Client

    return Client
