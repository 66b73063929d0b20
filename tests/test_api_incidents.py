"""/api/v1/incidents/ and what hangs off it: the FeatureCollection, filters, paging, errors, conditional GET,
exports, detail, chain, clusters and the timeline, all over HTTP against PostGIS."""

import csv
import datetime as dt
import io
import json

import pytest
from django.contrib.gis.geos import Point
from django.db import connection
from django.test.utils import CaptureQueriesContext

from events.models import Incident, IncidentLink, Involvement, Kind
from ops.routers import PrimaryReplicaRouter

from .factories import (
    ActorFactory,
    BaseFactory,
    CasualtyFactory,
    IncidentFactory,
    IncidentLinkFactory,
    InvolvementFactory,
    SourceFactory,
)

pytestmark = pytest.mark.django_db

URL = "/api/v1/incidents/"
AYN_AL_ASAD = (42.4412, 33.7856)


def features(response) -> list[dict]:
    return response.json()["features"]


def ids(response) -> list[int]:
    return [f["id"] for f in features(response)]


@pytest.fixture
def asad_attack():
    base = BaseFactory(name="Ayn al-Asad Air Base")
    militia = ActorFactory(name="Kata'ib Hezbollah", slug="kataib-hezbollah")
    us = ActorFactory(name="United States", slug="united-states")
    incident = IncidentFactory(
        title="Ten rockets on Ayn al-Asad",
        occurred_on=dt.date(2021, 3, 3),
        base=base,
        weapon="107 mm rockets",
        munitions=10,
        place_name="Ayn al-Asad Air Base",
        casualties_best=1,
        fatalities_best=1,
    )
    InvolvementFactory(incident=incident, actor=militia, role=Involvement.Role.ATTACKER)
    InvolvementFactory(incident=incident, actor=us, role=Involvement.Role.TARGET)
    return incident


class TestCollection:
    def test_it_is_geojson_with_lon_lat_order(self, client, asad_attack):
        response = client.get(URL)

        assert response.status_code == 200
        assert response["Content-Type"] == "application/geo+json"
        body = response.json()
        assert body["type"] == "FeatureCollection"
        (feature,) = body["features"]
        assert feature["geometry"] == {"type": "Point", "coordinates": list(AYN_AL_ASAD)}
        assert feature["id"] == asad_attack.pk

    def test_properties_follow_the_contract(self, client, asad_attack):
        (feature,) = features(client.get(URL))

        assert feature["properties"] == {
            "id": asad_attack.pk,
            "occurred_on": "2021-03-03",
            "date_precision": "day",
            "date_label": "2021-03-03",
            "kind": "rocket_attack",
            "kind_label": "Rocket attack",
            "category": "attack",
            "title": "Ten rockets on Ayn al-Asad",
            "place_name": "Ayn al-Asad Air Base",
            "country": "IRQ",
            "base": asad_attack.base_id,
            "base_name": "Ayn al-Asad Air Base",
            "attackers": ["Kata'ib Hezbollah"],
            "targets": ["United States"],
            "attribution": "unknown",
            "casualties_best": 1,
            "fatalities_best": 1,
            "weapon": "107 mm rockets",
            "munitions": 10,
            "status": "published",
        }

    @pytest.mark.parametrize(
        ("precision", "label"),
        [(1, "2021-03-03"), (2, "week of 2021-03-03"), (3, "March 2021")],
    )
    def test_date_label_says_the_precision(self, client, precision, label):
        IncidentFactory(date_precision=precision)

        (feature,) = features(client.get(URL))

        assert feature["properties"]["date_label"] == label

    def test_an_incident_without_a_point_has_null_geometry(self, client):
        IncidentFactory(location=None, kind=Kind.DIPLOMATIC_MOVE)

        (feature,) = features(client.get(URL))

        assert feature["geometry"] is None

    def test_drafts_are_left_out_for_the_public_and_an_outsider(self, client, outsider):
        IncidentFactory(status=Incident.Status.DRAFT)
        published = IncidentFactory()

        assert ids(client.get(URL)) == [published.pk]
        client.force_login(outsider)
        assert ids(client.get(URL)) == [published.pk]

    def test_editors_see_drafts(self, client, editor):
        draft = IncidentFactory(status=Incident.Status.DRAFT, occurred_on=dt.date(2021, 3, 4))
        published = IncidentFactory()
        client.force_login(editor)

        response = client.get(URL)

        assert ids(response) == [draft.pk, published.pk]
        assert features(response)[0]["properties"]["status"] == "draft"

    def test_query_count_does_not_grow_with_rows(self, client, django_assert_num_queries):
        for _ in range(5):
            incident = IncidentFactory()
            InvolvementFactory(incident=incident)
            InvolvementFactory(incident=incident, role=Involvement.Role.TARGET)

        # Last-Modified, then the page itself (count, features and cursors in one statement).
        with django_assert_num_queries(2):
            response = client.get(URL)

        assert len(features(response)) == 5


class TestFilters:
    @pytest.fixture
    def spread(self):
        """Incidents that each filter can tell apart."""
        base = BaseFactory()
        militia = ActorFactory(slug="militia")
        rome = IncidentFactory(
            title="far west", location=Point(12.5, 41.9), country="ITA", occurred_on=dt.date(2020, 1, 1)
        )
        strike = IncidentFactory(
            title="strike", kind=Kind.AIR_STRIKE, country="SYR", occurred_on=dt.date(2021, 2, 25), casualties_best=22
        )
        attack = IncidentFactory(title="rockets on the base", base=base, occurred_on=dt.date(2021, 3, 3))
        InvolvementFactory(incident=attack, actor=militia, role=Involvement.Role.ATTACKER)
        InvolvementFactory(incident=strike, actor=militia, role=Involvement.Role.TARGET)
        claimed = IncidentFactory(title="claimed only", occurred_on=dt.date(2021, 3, 4))
        InvolvementFactory(incident=claimed, actor=militia, role=Involvement.Role.CLAIMED_BY)
        return {"rome": rome, "strike": strike, "attack": attack, "claimed": claimed, "base": base}

    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ("bbox=35,29,49,38", ["claimed", "attack", "strike"]),
            ("bbox=12,41,13,42", ["rome"]),
            ("start=2021-03-03", ["claimed", "attack"]),
            ("end=2021-02-25", ["strike", "rome"]),
            ("start=2021-02-25&end=2021-03-03", ["attack", "strike"]),
            ("kind=air_strike", ["strike"]),
            ("kind=air_strike&kind=rocket_attack", ["claimed", "attack", "strike", "rome"]),
            ("actor=militia", ["attack", "strike"]),
            ("country=SYR", ["strike"]),
            ("country=syr", ["strike"]),
            ("q=ON%20THE%20BASE", ["attack"]),
            ("min_casualties=1", ["strike"]),
            ("ordering=occurred_on", ["rome", "strike", "attack", "claimed"]),
            ("ordering=-casualties_best&kind=air_strike", ["strike"]),
        ],
    )
    def test_each_filter(self, client, spread, query, expected):
        response = client.get(f"{URL}?{query}")

        assert response.status_code == 200, response.content
        assert ids(response) == [spread[name].pk for name in expected]
        assert response.json()["numberMatched"] == len(expected)

    def test_base(self, client, spread):
        assert ids(client.get(f"{URL}?base={spread['base'].pk}")) == [spread["attack"].pk]


class TestPaging:
    def test_paging_through_reaches_every_feature_once_and_back(self, client):
        # Ties on the date: the id breaks them, so no row is skipped or repeated.
        made = [IncidentFactory(occurred_on=dt.date(2021, 3, 1 + n % 3)) for n in range(7)]
        seen, pages, url = [], [], f"{URL}?limit=3"
        while url:
            body = client.get(url).json()
            assert body["numberMatched"] == 7
            pages.append(body)
            seen += [f["id"] for f in body["features"]]
            url = next((link["href"] for link in body["links"] if link["rel"] == "next"), None)

        assert sorted(seen) == sorted(i.pk for i in made)
        assert len(seen) == len(set(seen)) == 7
        assert [p["numberReturned"] for p in pages] == [3, 3, 1]
        last_prev = next(link["href"] for link in pages[-1]["links"] if link["rel"] == "prev")
        assert [f["id"] for f in client.get(last_prev).json()["features"]] == [f["id"] for f in pages[1]["features"]]

    def test_the_first_page_has_no_prev_and_the_last_no_next(self, client):
        IncidentFactory()

        links = {link["rel"] for link in client.get(URL).json()["links"]}

        assert links == {"self"}

    @pytest.mark.parametrize("limit", ["99999999", "9" * 60])
    def test_a_huge_limit_is_capped(self, client, limit):
        IncidentFactory.create_batch(3)

        response = client.get(f"{URL}?limit={limit}")

        assert response.status_code == 200
        assert response.json()["numberReturned"] == 3

    def test_empty_parameters_count_as_absent(self, client):
        IncidentFactory.create_batch(2)

        response = client.get(f"{URL}?bbox=&kind=&actor=&start=&limit=")

        assert response.status_code == 200
        assert response.json()["numberMatched"] == 2

    def test_a_cursor_is_tied_to_its_ordering(self, client):
        IncidentFactory.create_batch(2)
        next_link = next(link for link in client.get(f"{URL}?limit=1").json()["links"] if link["rel"] == "next")

        response = client.get(next_link["href"] + "&ordering=casualties_best")

        assert response.status_code == 400
        assert "cursor" in response.json()["errors"]


class TestBadInput:
    @pytest.mark.parametrize(
        ("query", "param"),
        [
            ("bbox=1,2,3", "bbox"),
            ("bbox=1,2,3,4,5", "bbox"),
            ("bbox=a,b,c,d", "bbox"),
            ("bbox=nan,1,2,3", "bbox"),
            ("bbox=inf,1,2,3", "bbox"),
            ("bbox=-181,1,2,3", "bbox"),
            ("bbox=1,-91,2,3", "bbox"),
            ("bbox=5,1,2,3", "bbox"),
            ("bbox=1,5,2,3", "bbox"),
            ("start=2021-02-30", "start"),
            ("start=yesterday", "start"),
            ("end=2021-3-1", "end"),
            ("start=2021-03-02&end=2021-03-01", "end"),
            ("kind=tank_battle", "kind"),
            ("ordering=title", "ordering"),
            ("limit=0", "limit"),
            ("limit=-5", "limit"),
            ("limit=ten", "limit"),
            ("country=XXX", "country"),
            ("country=Iraq", "country"),
            ("base=abc", "base"),
            ("min_casualties=-1", "min_casualties"),
            ("actor=not a slug", "actor"),
            ("cursor=garbage", "cursor"),
            ("q=" + "x" * 201, "q"),
            ("q=a%00b", "q"),
            ("start=2021-01-01&start=2021-02-01", "start"),
            ("format=xlsx", "format"),
            ("colour=red", "colour"),
        ],
    )
    def test_it_is_a_400_naming_the_parameter(self, client, query, param):
        response = client.get(f"{URL}?{query}")

        assert response.status_code == 400
        assert response["Content-Type"] == "application/json"
        assert param in response.json()["errors"]

    def test_a_nul_in_a_parameter_name_is_refused_too(self, client):
        response = client.get(f"{URL}?a%00=1")

        assert response.status_code == 400

    @pytest.mark.parametrize("path", ["timeline/?bucket=year", "incidents/clusters/?zoom=99"])
    def test_other_incident_endpoints_validate_the_same_way(self, client, path):
        response = client.get(f"/api/v1/{path}")

        assert response.status_code == 400
        assert path.split("?")[1].split("=")[0] in response.json()["errors"]

    def test_every_error_is_reported_at_once(self, client):
        response = client.get(f"{URL}?bbox=1&kind=nope&limit=0")

        assert set(response.json()["errors"]) == {"bbox", "kind", "limit"}


class TestConditionalGet:
    def test_a_repeat_with_the_etag_is_304(self, client):
        IncidentFactory()
        first = client.get(URL)

        repeat = client.get(URL, HTTP_IF_NONE_MATCH=first["ETag"])

        assert first["ETag"]
        assert first["Last-Modified"]
        assert repeat.status_code == 304
        assert repeat.content == b""

    def test_a_change_gives_a_new_etag(self, client):
        incident = IncidentFactory()
        first = client.get(URL)
        Incident.objects.filter(pk=incident.pk).update(title="Renamed")

        repeat = client.get(URL, HTTP_IF_NONE_MATCH=first["ETag"])

        assert repeat.status_code == 200
        assert repeat["ETag"] != first["ETag"]

    def test_if_modified_since_alone_is_answered_before_any_work(self, client, django_assert_num_queries):
        IncidentFactory()
        first = client.get(URL)

        with django_assert_num_queries(1):
            repeat = client.get(URL, HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])

        assert repeat.status_code == 304

    def test_drafts_vary_the_response_by_credentials(self, client):
        IncidentFactory()

        response = client.get(URL)

        assert {"Authorization", "Cookie"} <= {v.strip() for v in response["Vary"].split(",")}

    @pytest.mark.parametrize("path", ["timeline/", "bases/", "incidents/clusters/", "actors/", "deployments/"])
    def test_other_collections_too(self, client, path):
        IncidentFactory()
        first = client.get(f"/api/v1/{path}")

        assert client.get(f"/api/v1/{path}", HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304


class TestExports:
    def test_csv_has_acled_columns_then_ours(self, client, asad_attack):
        response = client.get(f"{URL}?format=csv")

        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/csv")
        assert response["Content-Disposition"].startswith('attachment; filename="incidents-')
        rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
        (row,) = rows
        assert list(row)[:20] == [
            "event_id_cnty",
            "event_date",
            "time_precision",
            "event_type",
            "sub_event_type",
            "actor1",
            "assoc_actor_1",
            "actor2",
            "assoc_actor_2",
            "iso",
            "country",
            "admin1",
            "location",
            "latitude",
            "longitude",
            "geo_precision",
            "source",
            "notes",
            "fatalities",
            "timestamp",
        ]
        assert row["event_id_cnty"] == f"FPD{asad_attack.pk}"
        assert row["event_date"] == "2021-03-03"
        assert (row["event_type"], row["sub_event_type"]) == (
            "Explosions/Remote violence",
            "Shelling/artillery/missile attack",
        )
        assert (row["actor1"], row["actor2"]) == ("Kata'ib Hezbollah", "United States")
        assert (row["iso"], row["country"], row["country_iso3"]) == ("368", "Iraq", "IRQ")
        assert (float(row["latitude"]), float(row["longitude"])) == (AYN_AL_ASAD[1], AYN_AL_ASAD[0])
        assert row["source"] == "Example Wire"
        assert row["fatalities"] == "1"
        assert row["id"] == str(asad_attack.pk)

    def test_csv_lists_every_match_with_the_filters_applied(self, client):
        IncidentFactory.create_batch(3)
        IncidentFactory(kind=Kind.AIR_STRIKE)
        IncidentFactory(status=Incident.Status.DRAFT)

        response = client.get(f"{URL}?format=csv&kind=rocket_attack&limit=1")

        assert len(list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))) == 3

    def test_geojson_download_holds_every_match(self, client):
        IncidentFactory.create_batch(3)

        response = client.get(f"{URL}?format=geojson")

        assert response["Content-Type"] == "application/geo+json"
        assert response["Content-Disposition"].endswith('.geojson"')
        body = json.loads(b"".join(response.streaming_content))
        assert body["type"] == "FeatureCollection"
        assert len(body["features"]) == 3
        assert (body["numberMatched"], body["numberReturned"]) == (3, 3)
        self_link = {"rel": "self", "href": f"http://testserver{URL}?format=geojson", "type": "application/geo+json"}
        assert body["links"] == [self_link]

    def test_csv_raises_the_statement_timeout_for_its_copy(self, client, settings):
        settings.EXPORT_STATEMENT_TIMEOUT = "7min"
        IncidentFactory.create_batch(2)

        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"{URL}?format=csv")
            rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))

        assert response.status_code == 200
        assert len(rows) == 2
        assert "SET LOCAL statement_timeout = '7min'" in [query["sql"] for query in queries]

    @pytest.mark.django_db(transaction=True)
    def test_the_raised_timeout_ends_with_the_export(self, client, settings):
        settings.EXPORT_STATEMENT_TIMEOUT = "7min"
        IncidentFactory()
        before = statement_timeout()
        assert before != "7min"

        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"{URL}?format=csv")
            assert len(b"".join(response.streaming_content).splitlines()) == 2

        assert "SET LOCAL statement_timeout = '7min'" in [query["sql"] for query in queries]
        # The connection goes back to the pool, or on to the next request, with its own limit.
        assert statement_timeout() == before
        assert not connection.in_atomic_block

    # Transactional: inside the test's transaction the router sends every read to the primary.
    @pytest.mark.django_db(transaction=True)
    def test_geojson_pages_read_where_the_first_page_did(self, client, settings, monkeypatch):
        monkeypatch.setattr("api.export.MAX_LIMIT", 2)
        settings.MIDDLEWARE = [*settings.MIDDLEWARE, "ops.routers.ReplicaReadsMiddleware"]
        settings.DATABASE_ROUTERS = [f"{__name__}.RecordingRouter"]
        IncidentFactory.create_batch(5)
        RecordingRouter.decisions.clear()

        response = client.get(f"{URL}?format=geojson")
        body = json.loads(b"".join(response.streaming_content))

        assert len(body["features"]) == 5
        # Three pages, the last two read after the view had returned.
        assert RecordingRouter.decisions == ["replica"] * 3


def statement_timeout() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        return cursor.fetchone()[0]


class RecordingRouter(PrimaryReplicaRouter):
    """Records where PrimaryReplicaRouter sends each read; reads the primary, as the tests have no replica."""

    decisions: list[str] = []

    def db_for_read(self, model, **hints) -> str:
        self.decisions.append(super().db_for_read(model, **hints))
        return "default"


class TestDetail:
    @pytest.fixture
    def linked(self, asad_attack):
        strike = IncidentFactory(title="US strike", kind=Kind.AIR_STRIKE, occurred_on=dt.date(2021, 2, 25))
        answer = IncidentFactory(title="Later answer", occurred_on=dt.date(2021, 3, 10))
        IncidentLinkFactory(incident=asad_attack, prior=strike, relation=IncidentLink.Relation.RESPONSE_TO)
        IncidentLinkFactory(incident=answer, prior=asad_attack, relation=IncidentLink.Relation.RETALIATION_FOR)
        CasualtyFactory(incident=asad_attack, best=1)
        CasualtyFactory(incident=asad_attack, group="us_military", kind="tbi", low=0, best=None, high=3)
        asad_attack.sources.add(SourceFactory(), SourceFactory())
        return asad_attack

    def test_it_has_everything(self, client, linked):
        response = client.get(f"{URL}{linked.pk}/")

        assert response.status_code == 200
        assert response["Content-Type"] == "application/geo+json"
        feature = response.json()
        assert feature["geometry"]["coordinates"] == list(AYN_AL_ASAD)
        p = feature["properties"]
        assert (p["weapon"], p["munitions"], p["attribution"]) == ("107 mm rockets", 10, "unknown")
        assert p["actors"] == [
            {"role": "attacker", "slug": "kataib-hezbollah", "name": "Kata'ib Hezbollah"},
            {"role": "target", "slug": "united-states", "name": "United States"},
        ]
        assert {(c["group"], c["kind"], c["low"], c["best"], c["high"]) for c in p["casualties"]} == {
            ("us_contractor", "killed", None, 1, None),
            ("us_military", "tbi", 0, None, 3),
        }
        assert len(p["sources"]) == 3
        assert [link["prior"]["title"] for link in p["links_out"]] == ["US strike"]
        assert p["links_out"][0]["lag_days"] == 6
        assert p["links_out"][0]["relation_label"] == "response to"
        assert [link["incident"]["title"] for link in p["links_in"]] == ["Later answer"]
        assert p["nearest_base"] is None or set(p["nearest_base"]) == {"id", "name"}

    def test_it_is_one_query_however_much_hangs_off_it(self, client, linked, django_assert_num_queries):
        # Besides the data version, which names the answer (its ETag).
        with django_assert_num_queries(2):
            client.get(f"{URL}{linked.pk}/")
        for group in ("civilians", "militia", "coalition"):
            IncidentLinkFactory(prior=linked)
            InvolvementFactory(incident=linked)
            CasualtyFactory(incident=linked, group=group)
        with django_assert_num_queries(2):
            client.get(f"{URL}{linked.pk}/")

    def test_links_read_as_on_the_links_endpoint(self, client, linked):
        p = client.get(f"{URL}{linked.pk}/").json()["properties"]

        for link in p["links_out"] + p["links_in"]:
            assert link == client.get(f"/api/v1/links/{link['id']}/").json()

    def test_casualties_and_actors_carry_their_labels(self, client, linked):
        p = client.get(f"{URL}{linked.pk}/").json()["properties"]

        assert {(c["group_label"], c["kind_label"]) for c in p["casualties"]} == {
            ("US contractors", "killed"),
            ("US military", "traumatic brain injury"),
        }
        assert [s["publisher"] for s in p["sources"]] == ["Example Wire"] * 3

    def test_a_draft_is_404_for_the_public(self, client):
        draft = IncidentFactory(status=Incident.Status.DRAFT)

        response = client.get(f"{URL}{draft.pk}/")

        assert response.status_code == 404
        assert response["Content-Type"] == "application/json"

    def test_links_to_drafts_are_hidden(self, client, asad_attack):
        draft = IncidentFactory(status=Incident.Status.DRAFT)
        IncidentLinkFactory(incident=draft, prior=asad_attack)

        p = client.get(f"{URL}{asad_attack.pk}/").json()["properties"]

        assert p["links_in"] == []

    @pytest.mark.parametrize("pk", ["0", "99999999999999999999999"])
    def test_unknown_ids_are_404(self, client, pk):
        assert client.get(f"{URL}{pk}/").status_code == 404


class TestChain:
    def test_it_is_the_whole_component_in_date_order_with_lags(self, client):
        soleimani = IncidentFactory(title="drone strike", kind=Kind.DRONE_STRIKE, occurred_on=dt.date(2020, 1, 3))
        missiles = IncidentFactory(
            title="missiles", kind=Kind.BALLISTIC_MISSILE_STRIKE, occurred_on=dt.date(2020, 1, 8)
        )
        k1 = IncidentFactory(title="K-1", occurred_on=dt.date(2019, 12, 27))
        IncidentFactory(title="unrelated")
        IncidentLinkFactory(incident=missiles, prior=soleimani, relation=IncidentLink.Relation.RETALIATION_FOR)
        IncidentLinkFactory(incident=soleimani, prior=k1, relation=IncidentLink.Relation.ESCALATION_OF)
        # A cycle must not loop forever.
        IncidentLinkFactory(incident=missiles, prior=k1, relation=IncidentLink.Relation.RESPONSE_TO)

        body = client.get(f"{URL}{missiles.pk}/chain/").json()

        assert body["incident"] == missiles.pk
        assert [i["title"] for i in body["incidents"]] == ["K-1", "drone strike", "missiles"]
        assert body["incidents"][1]["coordinates"] == list(AYN_AL_ASAD)
        lags = {(link["prior"], link["incident"]): link["lag_days"] for link in body["links"]}
        assert lags == {(k1.pk, soleimani.pk): 7, (soleimani.pk, missiles.pk): 5, (k1.pk, missiles.pk): 12}
        assert body["links"][0]["relation_label"] == "escalation of"
        assert body["truncated"] is False

    @staticmethod
    def a_line_of(n: int) -> list[Incident]:
        """n incidents, each a response to the one the day before."""
        incidents = [IncidentFactory(occurred_on=dt.date(2021, 1, 1) + dt.timedelta(days=d)) for d in range(n)]
        for prior, incident in zip(incidents, incidents[1:], strict=False):
            IncidentLinkFactory(incident=incident, prior=prior)
        return incidents

    def test_a_chain_beyond_the_limit_says_it_was_cut(self, client, monkeypatch, django_assert_num_queries):
        monkeypatch.setattr("api.incidents.CHAIN_LIMIT", 3)
        line = self.a_line_of(6)

        with django_assert_num_queries(4):
            body = client.get(f"{URL}{line[-1].pk}/chain/").json()

        assert body["truncated"] is True
        # The part nearest the incident, still joined up by its links.
        assert [i["id"] for i in body["incidents"]] == [i.pk for i in line[-3:]]
        assert [(link["prior"], link["incident"]) for link in body["links"]] == [
            (line[3].pk, line[4].pk),
            (line[4].pk, line[5].pk),
        ]

    def test_a_chain_of_exactly_the_limit_is_whole(self, client, monkeypatch, django_assert_num_queries):
        monkeypatch.setattr("api.incidents.CHAIN_LIMIT", 3)
        line = self.a_line_of(3)

        with django_assert_num_queries(4):
            body = client.get(f"{URL}{line[0].pk}/chain/").json()

        assert body["truncated"] is False
        assert [i["id"] for i in body["incidents"]] == [i.pk for i in line]

    def test_a_short_chain_is_walked_once(self, client, django_assert_num_queries):
        line = self.a_line_of(2)

        # The incident, the chain, its links.
        with django_assert_num_queries(3):
            body = client.get(f"{URL}{line[0].pk}/chain/").json()

        assert body["truncated"] is False
        assert len(body["incidents"]) == 2

    def test_the_public_chain_does_not_pass_through_a_draft(self, client):
        first = IncidentFactory(occurred_on=dt.date(2021, 1, 1))
        draft = IncidentFactory(occurred_on=dt.date(2021, 1, 2), status=Incident.Status.DRAFT)
        last = IncidentFactory(occurred_on=dt.date(2021, 1, 3))
        IncidentLinkFactory(incident=draft, prior=first)
        IncidentLinkFactory(incident=last, prior=draft)

        body = client.get(f"{URL}{last.pk}/chain/").json()

        assert [i["id"] for i in body["incidents"]] == [last.pk]
        assert body["links"] == []

    def test_editors_see_the_chain_through_drafts(self, client, editor):
        first = IncidentFactory(occurred_on=dt.date(2021, 1, 1))
        draft = IncidentFactory(occurred_on=dt.date(2021, 1, 2), status=Incident.Status.DRAFT)
        last = IncidentFactory(occurred_on=dt.date(2021, 1, 3))
        IncidentLinkFactory(incident=draft, prior=first)
        IncidentLinkFactory(incident=last, prior=draft)
        client.force_login(editor)

        body = client.get(f"{URL}{last.pk}/chain/").json()

        assert [i["id"] for i in body["incidents"]] == [first.pk, draft.pk, last.pk]


class TestClusters:
    def test_nearby_incidents_share_a_cluster(self, client):
        near = [IncidentFactory(location=Point(42.44 + n / 1000, 33.78)) for n in range(3)]
        alone = IncidentFactory(location=Point(36.0, 30.0), kind=Kind.AIR_STRIKE, casualties_best=4)
        IncidentFactory(location=None)

        body = client.get("/api/v1/incidents/clusters/?zoom=6").json()

        assert body["numberMatched"] == 5
        assert body["truncated"] is False
        big, small = body["features"]
        assert big["properties"]["count"] == 3
        assert big["properties"]["categories"] == {"attack": 3, "strike": 0, "signal": 0, "political": 0}
        assert big["properties"]["incident"] is None
        assert big["geometry"]["coordinates"] == [pytest.approx(42.441), pytest.approx(33.78)]
        assert small["properties"] == {
            "count": 1,
            "categories": {"attack": 0, "strike": 1, "signal": 0, "political": 0},
            "casualties_best": 4,
            "incident": alone.pk,
        }
        assert len(near) == 3

    def test_it_takes_the_incident_filters(self, client):
        IncidentFactory(kind=Kind.AIR_STRIKE)
        IncidentFactory()

        body = client.get("/api/v1/incidents/clusters/?zoom=10&kind=air_strike").json()

        assert body["numberMatched"] == 1
        assert body["features"][0]["properties"]["count"] == 1

    def test_limit_keeps_the_densest_and_says_so(self, client):
        IncidentFactory.create_batch(2)
        IncidentFactory(location=Point(36.0, 30.0))

        body = client.get("/api/v1/incidents/clusters/?zoom=8&limit=1").json()

        assert body["truncated"] is True
        assert [f["properties"]["count"] for f in body["features"]] == [2]


class TestTimeline:
    def test_weekly_counts_per_kind_with_empty_weeks_filled(self, client):
        IncidentFactory(occurred_on=dt.date(2021, 3, 3), casualties_best=2, fatalities_best=1)  # Wednesday
        IncidentFactory(occurred_on=dt.date(2021, 3, 7), kind=Kind.SHOW_OF_FORCE)  # Sunday, same week
        IncidentFactory(occurred_on=dt.date(2021, 3, 17), kind=Kind.AIR_STRIKE)
        IncidentFactory(occurred_on=dt.date(2021, 3, 17), status=Incident.Status.DRAFT)

        response = client.get("/api/v1/timeline/?bucket=week")

        assert response["Content-Type"] == "application/json"
        assert response.json() == {
            "bucket": "week",
            "kinds": ["rocket_attack", "air_strike", "show_of_force"],
            "buckets": [
                {
                    "start": "2021-03-01",
                    "counts": {"rocket_attack": 1, "show_of_force": 1},
                    "total": 2,
                    "casualties": 2,
                    "fatalities": 1,
                },
                {"start": "2021-03-08", "counts": {}, "total": 0, "casualties": 0, "fatalities": 0},
                {"start": "2021-03-15", "counts": {"air_strike": 1}, "total": 1, "casualties": 0, "fatalities": 0},
            ],
        }

    @pytest.mark.parametrize(("bucket", "starts"), [("day", 15), ("month", 1)])
    def test_other_buckets(self, client, bucket, starts):
        IncidentFactory(occurred_on=dt.date(2021, 3, 3))
        IncidentFactory(occurred_on=dt.date(2021, 3, 17))

        buckets = client.get(f"/api/v1/timeline/?bucket={bucket}").json()["buckets"]

        assert len(buckets) == starts

    def test_it_takes_the_incident_filters(self, client):
        IncidentFactory(occurred_on=dt.date(2021, 3, 3))
        IncidentFactory(occurred_on=dt.date(2021, 3, 3), country="SYR")

        body = client.get("/api/v1/timeline/?bucket=month&country=SYR").json()

        assert body["buckets"][0]["total"] == 1

    def test_no_incidents_no_buckets(self, client):
        assert client.get("/api/v1/timeline/").json() == {"bucket": "week", "kinds": [], "buckets": []}


def test_kinds_list_every_kind_with_its_category(client):
    kinds = client.get("/api/v1/kinds/").json()

    assert [k["code"] for k in kinds] == Kind.values
    assert kinds[0] == {
        "code": "rocket_attack",
        "label": "Rocket attack",
        "category": "attack",
        "category_label": "Attacks",
        "acled_event_type": "Explosions/Remote violence",
        "acled_sub_event_type": "Shelling/artillery/missile attack",
    }


def _plans_run() -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement, generic_plans + custom_plans FROM pg_prepared_statements")
        return dict(cursor.fetchall())


def test_the_detail_statement_is_prepared_once_and_reused_for_every_incident(client, settings):
    settings.RESPONSE_CACHE = False
    first, second = IncidentFactory(), IncidentFactory()
    before = _plans_run()

    answers = [client.get(f"{URL}{incident.pk}/").json()["id"] for incident in (first, second, first)]

    assert answers == [first.pk, second.pk, first.pk]
    runs = {statement: n - before.get(statement, 0) for statement, n in _plans_run().items()}
    assert [(statement[:10], n) for statement, n in runs.items() if n] == [("WITH i AS ", 3)]
