"""Every list takes `limit` and has a hard maximum; bases filter as incidents do."""

import pytest
from django.contrib.gis.geos import Point

from api.lists import ListPagination

from .factories import ActorFactory, BaseFactory, IncidentFactory, IncidentLinkFactory, SourceFactory, TroopLevelFactory

pytestmark = pytest.mark.django_db

PLAIN_LISTS = {
    "/api/v1/actors/": lambda: ActorFactory.create_batch(3),
    "/api/v1/sources/": lambda: SourceFactory.create_batch(3),
    "/api/v1/deployments/": lambda: TroopLevelFactory.create_batch(3),
    "/api/v1/links/": lambda: [IncidentLinkFactory() for _ in range(3)],
}


@pytest.mark.parametrize("url", PLAIN_LISTS)
def test_a_plain_list_takes_limit_and_pages_on(client, url):
    PLAIN_LISTS[url]()

    first = client.get(url, {"limit": 2}).json()

    assert first["count"] == 3
    assert len(first["results"]) == 2
    second = client.get(first["next"]).json()
    assert len(second["results"]) == 1
    assert {row["id"] for row in first["results"]}.isdisjoint(row["id"] for row in second["results"])


@pytest.mark.parametrize("url", PLAIN_LISTS)
def test_a_plain_list_caps_a_huge_limit_at_its_maximum(client, url, monkeypatch):
    monkeypatch.setattr(ListPagination, "max_page_size", 2)
    PLAIN_LISTS[url]()

    body = client.get(url, {"limit": 10**40}).json()

    assert len(body["results"]) == 2
    assert body["next"] is not None


@pytest.mark.parametrize("query", ["limit=0", "limit=two", "page_size=-1", "limit=2&page_size=2", "page=0", "page=²"])
def test_a_bad_page_or_size_is_a_400_naming_it(client, query):
    response = client.get(f"/api/v1/actors/?{query}")

    assert response.status_code == 400
    assert list(response.json()["errors"]) == [query.split("=")[0]]


def test_the_older_page_size_still_works(client):
    ActorFactory.create_batch(3)

    assert len(client.get("/api/v1/actors/", {"page_size": 1}).json()["results"]) == 1


class TestBases:
    URL = "/api/v1/bases/"

    def test_limit_pages_the_bases_by_keyset(self, client):
        bases = BaseFactory.create_batch(3)

        first = client.get(self.URL, {"limit": 2}).json()

        assert first["numberMatched"] == 3
        assert [f["id"] for f in first["features"]] == [b.pk for b in bases[:2]]
        (following,) = [link["href"] for link in first["links"] if link["rel"] == "next"]
        second = client.get(following).json()
        assert [f["id"] for f in second["features"]] == [bases[2].pk]

    def test_without_limit_every_base_comes_in_one_collection_with_no_links(self, client):
        BaseFactory.create_batch(3)

        body = client.get(self.URL).json()

        assert body["numberReturned"] == 3
        assert body["links"] == []

    def test_the_box_and_the_country_filter_as_on_incidents(self, client):
        inside = BaseFactory(location=Point(42.44, 33.79), country="IRQ")
        BaseFactory(location=Point(38.8, 33.5), country="SYR")
        on_the_edge = BaseFactory(location=Point(44.0, 36.0), country="IRQ")
        box = {"bbox": "40,32,44,36"}

        by_box = client.get(self.URL, box).json()
        by_country = client.get(self.URL, {"country": "irq"}).json()

        assert {f["id"] for f in by_box["features"]} == {inside.pk, on_the_edge.pk}
        assert {f["id"] for f in by_country["features"]} == {inside.pk, on_the_edge.pk}
        # The same box selects the same way for incidents (edges included).
        IncidentFactory(location=Point(44.0, 36.0))
        assert client.get("/api/v1/incidents/", box).json()["numberMatched"] == 1

    @pytest.mark.parametrize(
        ("query", "name"),
        [
            ("bbox=1,2,3", "bbox"),
            ("country=XX", "country"),
            ("limit=0", "limit"),
            ("country=IRQ&country=SYR", "country"),
        ],
    )
    def test_bad_parameters_are_400s_naming_them(self, client, query, name):
        response = client.get(f"{self.URL}?{query}")

        assert response.status_code == 400
        assert list(response.json()["errors"]) == [name]
