"""OGC API – Features Part 1 Core at /ogc/: over HTTP with the test client, and read by the real GDAL."""

import datetime as dt
import shutil
import subprocess

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.gis.geos import Point
from django.db import connection

from api.ogc import COLLECTIONS, _extent
from events.models import Incident

from .factories import BaseFactory, IncidentFactory

pytestmark = pytest.mark.django_db

ROOT = "/ogc"


def rels(body) -> dict[str, dict]:
    return {link["rel"]: link for link in body["links"]}


def test_the_landing_page_links_what_clients_look_for(client):
    response = client.get(f"{ROOT}/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    links = rels(response.json())
    assert links["service-desc"]["type"] == "application/vnd.oai.openapi+json;version=3.0"
    assert links["conformance"]["href"] == "http://testserver/ogc/conformance"
    assert links["data"]["href"] == "http://testserver/ogc/collections"
    assert "http://www.opengis.net/def/rel/ogc/1.0/data" in links
    assert client.get(ROOT).json() == response.json()


def test_the_api_definition_is_openapi_3_with_the_ogc_media_type(client):
    response = client.get(f"{ROOT}/api", HTTP_ACCEPT="application/vnd.oai.openapi+json;version=3.0")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.oai.openapi+json;version=3.0"
    assert response.json()["openapi"].startswith("3.0")
    assert "/ogc/collections/{collection_id}/items" in response.json()["paths"]


def test_conformance_declares_core_geojson_and_openapi(client):
    body = client.get(f"{ROOT}/conformance").json()

    assert set(body["conformsTo"]) == {
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    }


def test_collections_describe_incidents_and_bases_with_extents(client):
    IncidentFactory(occurred_on=dt.date(2020, 1, 8))
    IncidentFactory(occurred_on=dt.date(2021, 3, 3), location=Point(36.0, 30.0))
    IncidentFactory(occurred_on=dt.date(2022, 1, 1), status=Incident.Status.DRAFT)
    BaseFactory()

    body = client.get(f"{ROOT}/collections").json()

    collections = {c["id"]: c for c in body["collections"]}
    assert set(collections) == {"incidents", "bases"}
    incidents = collections["incidents"]
    assert incidents["itemType"] == "feature"
    assert incidents["crs"] == ["http://www.opengis.net/def/crs/OGC/1.3/CRS84"]
    assert incidents["extent"]["temporal"]["interval"] == [["2020-01-08T00:00:00Z", "2021-03-03T23:59:59Z"]]
    min_lon, min_lat, max_lon, max_lat = incidents["extent"]["spatial"]["bbox"][0]
    # Bounds of the published points (an estimate from table statistics may be a little wider).
    assert min_lon <= 36.0
    assert min_lat <= 30.0
    assert max_lon >= 42.4412
    assert max_lat >= 33.7856
    items = rels(incidents)["items"]
    assert (items["type"], items["href"]) == (
        "application/geo+json",
        "http://testserver/ogc/collections/incidents/items",
    )
    assert client.get(f"{ROOT}/collections/bases").json()["id"] == "bases"


def incident_bbox(client) -> list[float] | None:
    extent = client.get(f"{ROOT}/collections/incidents").json().get("extent", {})
    return extent["spatial"]["bbox"][0] if "spatial" in extent else None


class TestIncidentExtent:
    """The spatial extent is exactly that of the incidents the client may see, and never from table statistics."""

    def test_a_draft_far_away_leaves_the_anonymous_extent_unchanged_after_analyze(self, client, editor_api):
        IncidentFactory(location=Point(42.4412, 33.7856))
        IncidentFactory(location=Point(36.0, 30.0))
        before = incident_bbox(client)
        IncidentFactory(status=Incident.Status.DRAFT, location=Point(-70.5, -50.25))
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE events_incident")
            # The statistics now span the draft: an extent estimated from them would have widened.
            cursor.execute("SELECT ST_XMin(ST_EstimatedExtent('events_incident', 'location'))")
            assert cursor.fetchone()[0] <= -70.5

        assert before == incident_bbox(client) == [36.0, 30.0, 42.4412, 33.7856]
        # Editors see drafts in every list, so in the extent too.
        assert incident_bbox(editor_api) == [-70.5, -50.25, 42.4412, 33.7856]

    def test_it_follows_every_write(self, client):
        west = IncidentFactory(location=Point(36.0, 30.0))
        IncidentFactory(location=Point(42.4412, 33.7856))
        draft = IncidentFactory(status=Incident.Status.DRAFT, location=Point(50.125, 20.5))
        assert incident_bbox(client) == [36.0, 30.0, 42.4412, 33.7856]

        draft.status = Incident.Status.PUBLISHED
        draft.save()
        assert incident_bbox(client) == [36.0, 20.5, 50.125, 33.7856]

        west.delete()
        draft.location = Point(40.0, 31.0)
        draft.save()
        assert incident_bbox(client) == [40.0, 31.0, 42.4412, 33.7856]

    def test_no_located_incident_no_spatial_extent(self, client):
        IncidentFactory(location=None)
        IncidentFactory(status=Incident.Status.DRAFT)

        extent = client.get(f"{ROOT}/collections/incidents").json()["extent"]

        assert "spatial" not in extent
        assert extent["temporal"]["interval"][0][0].endswith("T00:00:00Z")

    def test_the_extent_costs_a_fixed_number_of_queries(self, client, django_assert_num_queries):
        IncidentFactory.create_batch(3)
        # One for the dates, one for the box; whatever the number of incidents.
        with django_assert_num_queries(2):
            _extent(COLLECTIONS["incidents"], AnonymousUser())


def test_an_unknown_collection_is_404_in_ogc_form(client):
    response = client.get(f"{ROOT}/collections/tanks/items")

    assert response.status_code == 404
    assert response.json()["code"] == "NotFound"


class TestItems:
    def test_items_are_geojson_with_counts_and_a_next_link(self, client):
        IncidentFactory.create_batch(3)

        response = client.get(f"{ROOT}/collections/incidents/items?limit=2")

        assert response.status_code == 200
        assert response["Content-Type"] == "application/geo+json"
        body = response.json()
        assert (body["numberMatched"], body["numberReturned"], len(body["features"])) == (3, 2, 2)
        assert body["timeStamp"].endswith("Z")
        links = rels(body)
        assert links["next"]["type"] == "application/geo+json"
        assert links["collection"]["href"] == "http://testserver/ogc/collections/incidents"
        rest = client.get(links["next"]["href"]).json()
        assert rest["numberReturned"] == 1
        assert "next" not in rels(rest)

    def test_the_known_point(self, client):
        IncidentFactory()

        (feature,) = client.get(f"{ROOT}/collections/incidents/items").json()["features"]

        assert feature["geometry"]["coordinates"] == [42.4412, 33.7856]

    @pytest.mark.parametrize(
        ("datetime", "expected"),
        [
            ("2021-03-03", ["mar3"]),
            ("2021-03-03T18:30:00Z", ["mar3"]),
            ("2021-03-03T01:30:00+03:00", []),  # 2021-03-02T22:30Z: the day before, in UTC
            ("2021-02-01/2021-03-03", ["mar3", "feb25"]),
            ("2021-02-26/..", ["mar7", "mar3"]),
            ("../2021-02-25", ["feb25", "jan"]),
            ("/2021-02-25", ["feb25", "jan"]),
            ("2021-03-01T/2021-03-07T", ["mar7", "mar3"]),
        ],
    )
    def test_datetime_instants_and_intervals(self, client, datetime, expected):
        made = {
            "jan": IncidentFactory(occurred_on=dt.date(2021, 1, 5)),
            "feb25": IncidentFactory(occurred_on=dt.date(2021, 2, 25)),
            "mar3": IncidentFactory(occurred_on=dt.date(2021, 3, 3)),
            "mar7": IncidentFactory(occurred_on=dt.date(2021, 3, 7)),
        }

        response = client.get(f"{ROOT}/collections/incidents/items", {"datetime": datetime})

        assert response.status_code == 200, response.content
        assert [f["id"] for f in response.json()["features"]] == [made[name].pk for name in expected]

    @pytest.mark.parametrize(
        ("query", "param"),
        [
            ({"datetime": "yesterday"}, "datetime"),
            ({"datetime": "../.."}, "datetime"),
            ({"datetime": "2021-03-03/2021-01-01"}, "datetime"),
            ({"datetime": "2021-01-01/2021-02-01/2021-03-01"}, "datetime"),
            ({"datetime": "0001-01-01T00:30:00+01:00"}, "datetime"),  # before year 1 in UTC
            ({"datetime": "9999-12-31T23:00:00-05:00"}, "datetime"),  # after year 9999 in UTC
            ({"bbox": "1,2,3"}, "bbox"),
            ({"bbox": "50,1,40,2"}, "bbox"),
            ({"limit": "0"}, "limit"),
            ({"start": "2021-01-01"}, "start"),
            ({"kind": "tank_battle"}, "kind"),
        ],
    )
    def test_bad_parameters_are_400_in_ogc_form(self, client, query, param):
        response = client.get(f"{ROOT}/collections/incidents/items", query)

        assert response.status_code == 400
        body = response.json()
        assert body["code"] == "InvalidParameterValue"
        assert param in body["errors"]
        assert param in body["description"]

    def test_bbox_with_heights_and_the_api_filters(self, client):
        inside = IncidentFactory()
        IncidentFactory(location=Point(36.0, 30.0))
        IncidentFactory(kind="air_strike")

        response = client.get(f"{ROOT}/collections/incidents/items?bbox=42,33,0,43,34,100&kind=rocket_attack&f=json")

        assert [f["id"] for f in response.json()["features"]] == [inside.pk]

    def test_a_repeat_is_304_though_the_time_stamp_moves_on(self, client, monkeypatch, settings):
        # Without the shared cache, which would hand back the first answer's bytes, time stamp and all.
        settings.RESPONSE_CACHE = False
        IncidentFactory()
        url = f"{ROOT}/collections/incidents/items"
        first = client.get(url)
        monkeypatch.setattr("api.ogc.time_stamp", lambda: "2031-01-01T00:00:00Z")  # the clock moves on
        repeat = client.get(url)

        assert repeat.json()["timeStamp"] != first.json()["timeStamp"]
        assert repeat["ETag"] == first["ETag"]
        assert client.get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304

    def test_drafts_stay_out(self, client):
        IncidentFactory(status=Incident.Status.DRAFT)

        assert client.get(f"{ROOT}/collections/incidents/items").json()["numberMatched"] == 0

    def test_a_single_item_and_its_links(self, client):
        incident = IncidentFactory()

        response = client.get(f"{ROOT}/collections/incidents/items/{incident.pk}")

        assert response["Content-Type"] == "application/geo+json"
        body = response.json()
        assert (body["type"], body["id"]) == ("Feature", incident.pk)
        assert rels(body)["self"]["href"].endswith(f"/ogc/collections/incidents/items/{incident.pk}")

    @pytest.mark.parametrize("feature_id", ["0", "abc", "99999999999999999999999"])
    def test_unknown_items_are_404(self, client, feature_id):
        assert client.get(f"{ROOT}/collections/incidents/items/{feature_id}").status_code == 404

    def test_bases_are_a_collection_too(self, client):
        base = BaseFactory()

        body = client.get(f"{ROOT}/collections/bases/items?datetime=2021-03-03").json()

        assert [f["id"] for f in body["features"]] == [base.pk]
        assert client.get(f"{ROOT}/collections/bases/items/{base.pk}").json()["properties"]["slug"] == base.slug


@pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="gdal-bin is installed by scripts/dev")
def test_gdal_reads_both_layers_and_pages_through(live_server):
    IncidentFactory.create_batch(4)
    far = IncidentFactory(location=Point(36.0, 30.0), title="Far away")
    BaseFactory(name="Ayn al-Asad Air Base")
    root = f"OAPIF:{live_server.url}/ogc"

    def ogrinfo(*args: str) -> str:
        result = subprocess.run(["ogrinfo", "-ro", *args], capture_output=True, text=True, timeout=120, check=False)
        assert result.returncode == 0, result.stderr
        assert "ERROR" not in result.stderr, result.stderr
        return result.stdout

    layers = ogrinfo(root)
    # Two features per request, so reading five means following next links twice.
    incidents = ogrinfo("-oo", "PAGE_SIZE=2", root, "incidents")
    near = ogrinfo("-spat", "42", "33", "43", "34", root, "incidents")
    bases = ogrinfo(root, "bases")

    assert "1: incidents" in layers
    assert "2: bases" in layers
    assert "Feature Count: 5" in incidents
    assert incidents.count("OGRFeature(incidents)") == 5
    assert "POINT (42.4412 33.7856)" in incidents
    assert "Far away" in incidents
    assert "Far away" not in near
    assert near.count("OGRFeature(incidents)") == 4
    assert f"OGRFeature(incidents):{far.pk}" in incidents
    assert "name (String) = Ayn al-Asad Air Base" in bases
