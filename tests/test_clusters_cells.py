"""The counted map cells behind /api/v1/incidents/clusters/: the triggers keep them equal to a recount
whatever writes the incidents, and the API answers from them only when that gives exactly what counting the
rows gives."""

import pytest
from django.contrib.gis.geos import Point
from django.db import connection
from django.test.utils import CaptureQueriesContext

from events.models import Incident, IncidentCell, Kind

from .factories import EditorFactory, IncidentFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/incidents/clusters/"
WHOLE_REGION = "20,20,60,45"  # holds every incident below, with room around the cells at zoom <= 8


def cells() -> dict[tuple, tuple]:
    """The non-empty cells: (zoom, x, y, kind, status) -> (count, sum of lon, sum of lat, sum of ids, casualties)."""
    return {
        (c.zoom, c.x, c.y, c.kind, c.status): (
            c.count,
            round(c.sum_lon, 9),
            round(c.sum_lat, 9),
            c.sum_id,
            c.casualties,
        )
        for c in IncidentCell.objects.filter(count__gt=0)
    }


def recounted() -> dict[tuple, tuple]:
    IncidentCell.rebuild()
    return cells()


def clusters(client, query: str) -> tuple[dict, list[str]]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"{URL}?{query}")
    assert response.status_code == 200, response.content
    return response.json(), [q["sql"] for q in queries.captured_queries]


def counted_rows(sql: list[str]) -> bool:
    return any("floor(r.lon" in statement for statement in sql)


def read_cells(sql: list[str]) -> bool:
    return any("FROM events_incidentcell" in statement for statement in sql)


class TestTheTriggersKeepTheCellsCounted:
    def test_creating_moving_retyping_unpublishing_and_deleting(self):
        a = IncidentFactory(location=Point(42.44, 33.78), casualties_best=2)
        b = IncidentFactory(location=Point(42.45, 33.79), kind=Kind.AIR_STRIKE)
        c = IncidentFactory(location=Point(36.0, 30.0), status=Incident.Status.DRAFT)
        IncidentFactory(location=None)
        z5 = IncidentCell.degrees(5)
        cell = (5, int(42.44 // z5), int(33.78 // z5))

        assert cells()[(*cell, "rocket_attack", "published")] == (1, 42.44, 33.78, a.pk, 2)
        assert cells()[(*cell, "air_strike", "published")] == (1, 42.45, 33.79, b.pk, 0)
        assert sum(count for (zoom, *_), (count, *_) in cells().items() if zoom == 5) == 3

        a.location = Point(42.5, 33.7)
        a.save()
        b.kind = Kind.DRONE_STRIKE
        b.save()
        c.status = Incident.Status.PUBLISHED
        c.save()
        Incident.objects.filter(pk=a.pk).update(casualties_best=5)
        before_delete = cells()
        assert before_delete[(*cell, "rocket_attack", "published")] == (1, 42.5, 33.7, a.pk, 5)
        assert (*cell, "air_strike", "published") not in before_delete
        assert before_delete == recounted()

        Incident.objects.filter(pk__in=[a.pk, c.pk]).delete()

        # An emptied cell is kept at zero with its sums reset, so it adds nothing later.
        emptied = IncidentCell.objects.get(zoom=5, x=cell[1], y=cell[2], kind="rocket_attack", status="published")
        assert (emptied.count, emptied.sum_lon, emptied.sum_lat, emptied.sum_id) == (0, 0, 0, 0)
        after = cells()
        assert after == recounted()
        assert {key[3] for key in after} == {"drone_strike"}

    def test_a_bulk_write_is_counted_like_single_ones(self):
        Incident.objects.bulk_create(
            Incident(
                occurred_on="2021-03-03",
                kind=Kind.ROCKET_ATTACK,
                title=f"Rocket {n}",
                location=Point(40 + n / 10, 34 + n / 20),
                status=Incident.Status.PUBLISHED,
            )
            for n in range(50)
        )
        Incident.objects.filter(title__endswith="7").update(kind=Kind.IED)

        assert sum(count for (zoom, *_), (count, *_) in cells().items() if zoom == 0) == 50
        assert cells() == recounted()

    def test_saving_without_changing_place_kind_status_or_casualties_touches_no_cell(self):
        incident = IncidentFactory(location=Point(42.44, 33.78))
        incident.title = "Renamed"
        before = list(IncidentCell.objects.values_list("id", "count", "sum_lon"))
        incident.save()
        assert list(IncidentCell.objects.values_list("id", "count", "sum_lon")) == before


@pytest.fixture
def incidents():
    return [IncidentFactory(location=Point(42.44 + n / 1000, 33.78), casualties_best=n) for n in range(3)] + [
        IncidentFactory(location=Point(36.0, 30.0), kind=Kind.AIR_STRIKE, casualties_best=4),
        IncidentFactory(location=Point(44.3, 33.3), kind=Kind.SHOW_OF_FORCE),
        IncidentFactory(location=Point(44.31, 33.31), status=Incident.Status.DRAFT),
        IncidentFactory(location=None),
    ]


class TestTheApiAnswersFromTheCells:
    @pytest.mark.parametrize("zoom", [3, 5, 8])
    def test_a_box_around_everything_is_answered_from_the_cells_as_counting_would(self, client, incidents, zoom):
        body, sql = clusters(client, f"zoom={zoom}&bbox={WHOLE_REGION}")
        # The same view with a filter the cells do not count (a start before every incident) counts rows.
        counted, counted_sql = clusters(client, f"zoom={zoom}&bbox={WHOLE_REGION}&start=1900-01-01")

        assert read_cells(sql)
        assert not counted_rows(sql)
        assert counted_rows(counted_sql)
        assert body == counted
        assert body["numberMatched"] == 5  # published and located: the box leaves out the unlocated one

    def test_single_incident_clusters_link_to_it(self, client, incidents):
        body, _ = clusters(client, f"zoom=8&bbox={WHOLE_REGION}")

        singles = {f["properties"]["incident"] for f in body["features"] if f["properties"]["count"] == 1}
        assert singles == {incidents[3].pk, incidents[4].pk}

    def test_kinds_are_counted_in_the_cells_too(self, client, incidents):
        body, sql = clusters(client, f"zoom=5&bbox={WHOLE_REGION}&kind=air_strike&kind=show_of_force")

        assert read_cells(sql)
        assert not counted_rows(sql)
        assert body["numberMatched"] == 2
        assert sorted(f["properties"]["categories"]["strike"] for f in body["features"]) == [0, 1]

    def test_drafts_are_in_the_cells_only_for_editors(self, client, incidents):
        public, _ = clusters(client, f"zoom=5&bbox={WHOLE_REGION}")
        client.force_login(EditorFactory())
        editors, sql = clusters(client, f"zoom=5&bbox={WHOLE_REGION}")

        assert read_cells(sql)
        assert (public["numberMatched"], editors["numberMatched"]) == (5, 6)

    def test_a_box_that_cuts_a_cell_counts_the_rows(self, client, incidents):
        # 42.4405 cuts the three incidents' cell at every zoom: only two of them are in the box.
        body, sql = clusters(client, "zoom=8&bbox=42.4405,20,60,45")

        assert counted_rows(sql)
        assert body["numberMatched"] == 3  # two of the three, and the show of force
        assert sorted(f["properties"]["count"] for f in body["features"]) == [1, 2]

    @pytest.mark.parametrize(
        "query", ["zoom=9&bbox=20,20,60,45", "zoom=5", "zoom=5&bbox=20,20,60,45&country=IRQ"], ids=str
    )
    def test_other_views_count_the_rows(self, client, incidents, query):
        _, sql = clusters(client, query)

        assert counted_rows(sql)
        assert not read_cells(sql)


class TestTheListsCountComesFromTheCellsWhenTheyKnowIt:
    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            (f"bbox={WHOLE_REGION}", 5),  # the cells know
            (f"bbox={WHOLE_REGION}&kind=air_strike", 1),
            ("bbox=42.4405,20,60,45", 3),  # a cell cut by the box: counted
            (f"bbox={WHOLE_REGION}&start=1900-01-01", 5),  # a filter the cells do not count
        ],
    )
    def test_number_matched_is_exact_either_way(self, client, incidents, query, expected):
        response = client.get(f"/api/v1/incidents/?{query}&limit=1")

        assert response.status_code == 200
        assert response.json()["numberMatched"] == expected
