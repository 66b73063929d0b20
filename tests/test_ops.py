"""Operations pieces in process: the fail-open cache, the rate limit, request limits, the replica
router, page maxima and change history. tests/test_production.py runs them against real servers."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.apps import apps
from django.contrib.gis.geos import Point
from django.core.cache import cache
from django.urls import URLPattern, URLResolver, get_resolver
from redis.exceptions import ConnectionError as RedisConnectionError
from rest_framework.pagination import PageNumberPagination

from api.filters import MAX_LIMIT
from events.actions import CasualtyFigure, IncidentRelations, record_incident
from events.models import Casualty, Incident, Involvement
from ops.cache import FailOpenRedisCache
from ops.routers import PrimaryReplicaRouter, ReplicaReadsMiddleware

from .factories import ActorFactory, SourceFactory


@pytest.fixture
def unreachable_cache(tmp_path):
    return FailOpenRedisCache(f"unix://{tmp_path}/no-redis-here.sock?db=0", {"OPTIONS": {"RETRY_AFTER": 60}})


class TestFailOpenCache:
    def test_an_unreachable_redis_answers_as_an_empty_cache(self, unreachable_cache):
        unreachable_cache.set("key", "value")

        assert unreachable_cache.get("key") is None
        assert unreachable_cache.get("key", "default") == "default"
        assert unreachable_cache.add("key", "value") is False
        assert unreachable_cache.get_many(["a", "b"]) == {}
        assert unreachable_cache.has_key("key") is False
        assert unreachable_cache.delete("key") is False
        with pytest.raises(ValueError, match="not found"):
            unreachable_cache.incr("counter")

    def test_the_readiness_ping_does_not_fail_open(self, unreachable_cache):
        with pytest.raises(RedisConnectionError):
            unreachable_cache.ping()

    def test_after_a_failure_it_stops_trying_for_a_while(self, unreachable_cache, monkeypatch):
        client = unreachable_cache._cache
        attempts = []
        connect = client.get_client
        monkeypatch.setattr(client, "get_client", lambda *a, **k: attempts.append(1) or connect(*a, **k))

        for _ in range(5):
            assert unreachable_cache.get("key", "default") == "default"

        assert attempts == [1]  # RETRY_AFTER is 60 s here

    def test_a_reachable_redis_works_as_usual(self, settings):
        cache = FailOpenRedisCache(settings.REDIS_URL, {"KEY_PREFIX": "test-ops"})
        cache.set("key", 41, 30)

        assert cache.incr("key") == 42
        assert cache.get("key") == 42
        assert cache.ping() is True
        cache.delete("key")


class TestRequestLimits:
    def test_a_body_over_the_upload_maximum_is_refused_with_413(self, client, settings):
        settings.MAX_UPLOAD_SIZE = 1000

        response = client.post("/api/v1/incidents/", data="x" * 1001, content_type="application/json")

        assert response.status_code == 413
        assert response.json() == {"detail": "Request body too large: at most 1000 bytes."}

    def test_a_garbled_content_length_is_a_400(self, client):
        response = client.get("/api/v1/kinds/", CONTENT_LENGTH="lots")

        assert response.status_code == 400

    @pytest.mark.django_db
    def test_a_json_body_over_the_memory_limit_is_a_clean_error(self, api_client, editor, settings):
        settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
        api_client.force_authenticate(editor)
        body = {"type": "Feature", "properties": {"title": "x" * 2000}}

        response = api_client.post("/api/v1/incidents/", json.dumps(body), content_type="application/json")

        assert response.status_code == 413
        assert "over 1,000 bytes" in response.json()["detail"]
        assert Incident.objects.count() == 0


@pytest.fixture
def fresh_addresses():
    """The throttle's counts live in Redis for a minute: start these addresses from zero."""
    addresses = ["192.0.2.44", "192.0.2.45", "192.0.2.46"]
    for address in addresses:
        cache.delete(f"throttle_anon_{address}")
    return addresses


@pytest.mark.django_db
@pytest.mark.usefixtures("fresh_addresses")
class TestAnonymousRateLimit:
    def test_the_limit_refuses_with_429_and_retry_after(self, client, settings):
        settings.API_ANON_RATE = "3/min"
        address = {"REMOTE_ADDR": "192.0.2.44"}

        statuses = [client.get("/api/v1/kinds/", **address).status_code for _ in range(4)]
        refused = client.get("/api/v1/kinds/", **address)

        assert statuses == [200, 200, 200, 429]
        assert refused.status_code == 429
        assert 0 < int(refused["Retry-After"]) <= 60

    def test_a_client_cannot_pick_its_address_with_x_forwarded_for(self, client, settings):
        settings.API_ANON_RATE = "2/min"
        statuses = [
            client.get("/api/v1/kinds/", REMOTE_ADDR="192.0.2.45", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}").status_code
            for n in range(3)
        ]

        assert statuses == [200, 200, 429]

    def test_an_empty_rate_turns_the_limit_off(self, client, settings):
        settings.API_ANON_RATE = ""

        assert {client.get("/api/v1/kinds/", REMOTE_ADDR="192.0.2.46").status_code for _ in range(5)} == {200}


class TestReplicaRouter:
    router = PrimaryReplicaRouter()

    def route(self, method: str, path: str):
        seen = {}

        def view(request):
            seen["read"] = self.router.db_for_read(Incident)
            seen["write"] = self.router.db_for_write(Incident)
            return None

        request = type("Request", (), {"method": method, "path_info": path})()
        ReplicaReadsMiddleware(view)(request)
        return seen

    def test_public_reads_go_to_the_replica_and_writes_to_the_primary(self):
        assert self.route("GET", "/api/v1/incidents/") == {"read": "replica", "write": "default"}
        assert self.route("POST", "/api/v1/incidents/") == {"read": "default", "write": "default"}
        assert self.route("GET", "/admin/events/incident/") == {"read": "default", "write": "default"}

    def test_outside_a_request_everything_goes_to_the_primary(self):
        # Celery tasks and management commands.
        assert self.router.db_for_read(Incident) == "default"

    def test_only_the_primary_is_migrated(self):
        assert self.router.allow_migrate("default", "events") is True
        assert self.router.allow_migrate("replica", "events") is False


def test_every_api_list_has_a_hard_page_maximum():
    """Paginated DRF lists cap the page size a client may ask for; the rest read `limit` through the
    shared parameter reader, which caps it at MAX_LIMIT (next test)."""

    def views(resolver, prefix=""):
        for pattern in resolver.url_patterns:
            if isinstance(pattern, URLResolver):
                yield from views(pattern, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                yield prefix + str(pattern.pattern), pattern.callback

    checked = 0
    for route, callback in views(get_resolver()):
        view = getattr(callback, "cls", None)
        paginator = getattr(view, "pagination_class", None)
        if not route.startswith(("api/", "ogc")) or paginator is None:
            continue
        assert issubclass(paginator, PageNumberPagination), route
        assert paginator.page_size, route
        assert paginator.page_size_query_param is None or paginator.max_page_size, route
        checked += 1
    assert checked >= 4


@pytest.mark.django_db
def test_a_huge_limit_on_incidents_is_capped_and_the_rest_is_paged(client):
    source = SourceFactory()
    Incident.objects.bulk_create(
        Incident(
            occurred_on=dt.date(2020, 1, 1) + dt.timedelta(days=n % 2000),
            kind="rocket_attack",
            title=f"Synthetic {n}",
            location=Point(42 + n % 7 * 0.1, 33 + n % 5 * 0.1, srid=4326),
            country="IRQ",
            status="published",
        )
        for n in range(MAX_LIMIT + 1)
    )
    assert source.pk

    page = client.get("/api/v1/incidents/", {"limit": 10**9}).json()
    ogc = client.get("/ogc/collections/incidents/items", {"limit": 10**9, "f": "json"}).json()

    assert page["numberMatched"] == MAX_LIMIT + 1
    assert page["numberReturned"] == MAX_LIMIT
    assert "next" in json.dumps(page)
    assert ogc["numberReturned"] <= MAX_LIMIT


EDITORIAL = {
    "posture": ["Source", "Actor", "Affiliation", "Base", "BaseStatus", "TroopLevel"],
    "events": ["Incident", "Involvement", "Casualty", "IncidentLink"],
}


@pytest.mark.parametrize(("app", "name"), [(app, name) for app, names in EDITORIAL.items() for name in names])
def test_every_editorial_model_keeps_a_change_history(app, name):
    model = apps.get_model(app, name)

    assert hasattr(model, "history")
    assert apps.get_model(app, f"Historical{name}")._meta.db_table.startswith(f"{app}_historical")


@pytest.mark.django_db
def test_a_write_through_the_shared_write_path_leaves_history_rows(editor):
    actor = ActorFactory()
    incident = record_incident(
        fields={"occurred_on": dt.date(2021, 3, 3), "kind": "rocket_attack", "title": "Ten rockets", "country": "IRQ"},
        relations=IncidentRelations(
            actors={"attacker": [actor]},
            casualties=[CasualtyFigure(group="us_contractor", kind="killed", best=1)],
            sources=[SourceFactory()],
        ),
        user=editor,
    )

    assert incident.history.count() >= 1
    assert Casualty.history.filter(incident_id=incident.pk, history_type="+").count() == 1
    assert Involvement.history.filter(incident_id=incident.pk, history_type="+").count() == 1


@pytest.mark.parametrize(
    ("tile_url", "source"),
    [
        ("https://tile.openstreetmap.org/{z}/{x}/{y}.png", ["https://tile.openstreetmap.org"]),
        ("https://{s}.tiles.example.org/{z}/{x}/{y}.png", ["https://*.tiles.example.org"]),
        ("", []),
    ],
)
def test_the_policy_lets_images_come_from_the_tile_server_only(tile_url, source):
    from config.settings import tile_source

    assert tile_source(tile_url) == source
