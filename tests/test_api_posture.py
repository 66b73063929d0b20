"""/api/v1/bases/, deployments, actors and sources."""

import datetime as dt

import pytest
from django.contrib.gis.geos import Point

from posture.models import BaseStatus, TroopLevel

from .factories import ActorFactory, BaseFactory, SourceFactory, TroopLevelFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def asad():
    base = BaseFactory(name="Ayn al-Asad Air Base", slug="ayn-al-asad", alternate_names=["Al Asad Airbase"])
    base.users.add(ActorFactory(name="United States", slug="united-states"))
    BaseStatus.objects.create(base=base, status=BaseStatus.Status.ACTIVE, start_on=dt.date(2003, 1, 1))
    return base


class TestBases:
    def test_a_feature_collection_with_the_known_point(self, client, asad):
        response = client.get("/api/v1/bases/")

        assert response.status_code == 200
        assert response["Content-Type"] == "application/geo+json"
        (feature,) = response.json()["features"]
        assert feature["geometry"] == {"type": "Point", "coordinates": [42.4412, 33.7856]}
        assert feature["properties"] == {
            "id": asad.pk,
            "name": "Ayn al-Asad Air Base",
            "slug": "ayn-al-asad",
            "alternate_names": ["Al Asad Airbase"],
            "country": "IRQ",
            "country_name": "Iraq",
            "kind": "air_base",
            "kind_label": "Air base",
            "status": "active",
            "status_label": "Active",
            "users": [{"slug": "united-states", "name": "United States"}],
            "troop_levels": [],
        }

    def test_current_troop_levels_are_the_latest_per_contributor_and_status(self, client, asad):
        us = ActorFactory(name="United States Army")
        TroopLevelFactory(contributor=us, base=asad, as_of=dt.date(2020, 1, 1), best=5000)
        latest = TroopLevelFactory(contributor=us, base=asad, as_of=dt.date(2021, 3, 1), best=2500)
        planned = TroopLevelFactory(
            contributor=us,
            base=asad,
            as_of=dt.date(2021, 3, 1),
            best=None,
            low=4000,
            status=TroopLevel.Status.PLANNED,
            qualifier=TroopLevel.Qualifier.AT_LEAST,
        )

        (feature,) = client.get("/api/v1/bases/").json()["features"]

        levels = {level["id"]: level for level in feature["properties"]["troop_levels"]}
        assert set(levels) == {latest.pk, planned.pk}
        assert levels[latest.pk]["label"] == latest.label() == "~2,500"
        assert levels[planned.pk]["label"] == planned.label() == "4,000+"
        assert levels[planned.pk]["figure"] == 4000

    @pytest.mark.parametrize(
        ("qualifier", "figure"),
        [("exact", 0), ("about", 1000), ("at_least", 4000), ("up_to", 900), ("exact", 1234567)],
    )
    def test_the_sql_label_is_the_models(self, client, asad, qualifier, figure):
        level = TroopLevelFactory(base=asad, qualifier=qualifier, best=figure)

        (feature,) = client.get("/api/v1/bases/").json()["features"]

        assert feature["properties"]["troop_levels"][0]["label"] == level.label()

    def test_country_and_bbox_filters(self, client, asad):
        tanf = BaseFactory(country="SYR", location=Point(38.63, 33.50))

        assert [f["id"] for f in client.get("/api/v1/bases/?country=SYR").json()["features"]] == [tanf.pk]
        assert [f["id"] for f in client.get("/api/v1/bases/?bbox=42,33,43,34").json()["features"]] == [asad.pk]
        assert client.get("/api/v1/bases/?bbox=1,2").status_code == 400

    def test_query_count(self, client, asad, django_assert_num_queries):
        for _ in range(3):
            TroopLevelFactory(base=BaseFactory())

        with django_assert_num_queries(2):
            client.get("/api/v1/bases/")


class TestDeployments:
    @pytest.fixture
    def series(self):
        us, nato = ActorFactory(slug="united-states"), ActorFactory(slug="nato")
        return {
            "us_old": TroopLevelFactory(contributor=us, as_of=dt.date(2020, 1, 1), best=5200),
            "us_new": TroopLevelFactory(contributor=us, as_of=dt.date(2021, 3, 1), best=2500),
            "us_syria": TroopLevelFactory(contributor=us, host_country="SYR", as_of=dt.date(2021, 3, 1), best=900),
            "nato": TroopLevelFactory(contributor=nato, as_of=dt.date(2021, 2, 18), best=500),
            "nato_planned": TroopLevelFactory(
                contributor=nato, as_of=dt.date(2021, 2, 18), low=4000, best=None, status="planned"
            ),
        }

    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ("", {"us_old", "us_new", "us_syria", "nato", "nato_planned"}),
            ("contributor=united-states", {"us_old", "us_new", "us_syria"}),
            ("host_country=SYR", {"us_syria"}),
            ("status=planned", {"nato_planned"}),
            ("as_of_after=2021-01-01&as_of_before=2021-02-28", {"nato", "nato_planned"}),
            ("latest=true", {"us_new", "us_syria", "nato", "nato_planned"}),
            ("latest=true&contributor=united-states&host_country=IRQ", {"us_new"}),
        ],
    )
    def test_filters(self, client, series, query, expected):
        body = client.get(f"/api/v1/deployments/?{query}").json()

        assert {name for name, level in series.items() if level.pk in {r["id"] for r in body["results"]}} == expected
        assert body["count"] == len(expected)

    def test_the_row_follows_the_contract(self, client, series):
        body = client.get("/api/v1/deployments/?contributor=nato&status=planned").json()

        (row,) = body["results"]
        assert {k: row[k] for k in ("contributor", "host_country", "host_country_name", "figure", "label")} == {
            "contributor": {"slug": "nato", "name": series["nato"].contributor.name},
            "host_country": "IRQ",
            "host_country_name": "Iraq",
            "figure": 4000,
            "label": "~4,000",
        }
        assert row["status_label"] == "Planned"
        assert row["sources"][0]["publisher"] == "Example Wire"

    @pytest.mark.parametrize(
        "query",
        ["host_country=XX", "status=rumoured", "as_of_after=soon", "latest=maybe", "colour=red", "page=0"],
    )
    def test_bad_filters_are_400(self, client, series, query):
        response = client.get(f"/api/v1/deployments/?{query}")

        assert response.status_code == 400
        assert list(response.json()["errors"]) == [query.split("=")[0]]

    def test_query_count(self, client, series, django_assert_num_queries):
        # last change, count, rows, their sources
        with django_assert_num_queries(4):
            client.get("/api/v1/deployments/")


def test_actors(client):
    ActorFactory(name="Kata'ib Hezbollah", slug="kataib-hezbollah", country="IRQ")

    body = client.get("/api/v1/actors/").json()

    assert body["count"] == 1
    assert body["results"][0] | {"id": 0} == {
        "id": 0,
        "slug": "kataib-hezbollah",
        "name": "Kata'ib Hezbollah",
        "kind": "armed_group",
        "country": "IRQ",
        "aliases": [],
    }


def test_sources(client):
    source = SourceFactory(title="Rockets hit Ayn al-Asad")

    body = client.get("/api/v1/sources/").json()

    assert body["results"] == [
        {
            "id": source.pk,
            "publisher": "Example Wire",
            "title": "Rockets hit Ayn al-Asad",
            "url": source.url,
            "published_on": "2021-03-04",
            "reliability": "B",
        }
    ]
