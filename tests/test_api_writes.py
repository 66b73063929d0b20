"""Writes through the API: who may, what they may send, and what the database holds afterwards."""

import datetime as dt
import json

import pytest
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client
from rest_framework.authtoken.models import Token

from events.models import Casualty, Incident, IncidentLink, Involvement

from .bodies import incident_feature as feature
from .factories import ActorFactory, BaseFactory, IncidentFactory, IncidentLinkFactory, SourceFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/incidents/"


@pytest.fixture
def source():
    return SourceFactory()


@pytest.fixture
def token(editor):
    return Token.objects.create(user=editor).key


@pytest.fixture
def as_editor(client, token):
    """A script with the editor's token: no session, no CSRF."""

    def send(method: str, url: str, body=None, **extra):
        data = json.dumps(body) if body is not None else None
        return getattr(client, method)(
            url, data, content_type="application/json", HTTP_AUTHORIZATION=f"Token {token}", **extra
        )

    return send


class TestCreate:
    def test_an_editor_records_an_incident_with_everything(self, as_editor, editor, source):
        ActorFactory(slug="kataib-hezbollah", name="Kata'ib Hezbollah")
        ActorFactory(slug="united-states", name="United States")
        base = BaseFactory()
        body = feature(
            source,
            date_precision="week",
            base=base.pk,
            munitions=10,
            status="published",
            actors=[{"role": "attacker", "slug": "kataib-hezbollah"}, {"role": "target", "slug": "united-states"}],
            casualties=[
                {"group": "us_contractor", "kind": "killed", "best": 1},
                {"group": "us_military", "kind": "tbi", "low": 0, "high": 3},
            ],
        )

        response = as_editor("post", URL, body)

        assert response.status_code == 201, response.content
        incident = Incident.objects.get()
        assert response["Location"].endswith(f"/api/v1/incidents/{incident.pk}/")
        assert response.json()["properties"]["attackers"] == ["Kata'ib Hezbollah"]
        assert (incident.location.x, incident.location.y) == (42.4412, 33.7856)
        assert incident.date_precision == 2
        assert incident.created_by == editor
        assert (incident.casualties_best, incident.fatalities_best) == (1, 1)
        assert incident.nearest_base == base
        assert set(incident.involvements.values_list("role", "actor__slug")) == {
            ("attacker", "kataib-hezbollah"),
            ("target", "united-states"),
        }
        assert list(incident.sources.all()) == [source]
        assert incident.history.earliest().history_type == "+"

    def test_a_new_incident_is_a_draft_unless_published(self, as_editor, source):
        as_editor("post", URL, feature(source))

        assert Incident.objects.get().status == Incident.Status.DRAFT

    def test_geometry_may_be_null(self, as_editor, source):
        response = as_editor("post", URL, {**feature(source), "geometry": None})

        assert response.status_code == 201
        assert Incident.objects.get().location is None

    def test_a_session_needs_the_csrf_token(self, editor, source):
        browser = Client(enforce_csrf_checks=True)
        browser.force_login(editor)
        body = json.dumps(feature(source))

        refused = browser.post(URL, body, content_type="application/json")
        # What a page's form gives the browser: the CSRF cookie, echoed in the X-CSRFToken header.
        secret = _get_new_csrf_string()
        browser.cookies["csrftoken"] = secret
        accepted = browser.post(URL, body, content_type="application/json", HTTP_X_CSRFTOKEN=secret)

        assert refused.status_code == 403
        assert accepted.status_code == 201
        assert Incident.objects.count() == 1


class TestBadBodies:
    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"geometry": {"type": "LineString", "coordinates": [[1, 2], [3, 4]]}}, "geometry"),
            ({"geometry": {"type": "Point", "coordinates": [42.4, 33.7, 100]}}, "geometry"),
            ({"geometry": {"type": "Point", "coordinates": [181, 33.7]}}, "geometry"),
            ({"geometry": {"type": "Point", "coordinates": [42.4, -91]}}, "geometry"),
            ({"geometry": {"type": "Point", "coordinates": ["42.4", "33.7"]}}, "geometry"),
            ({"geometry": {"type": "Point", "coordinates": [True, 33.7]}}, "geometry"),
            ({"geometry": {"type": "Point", "coordinates": [42.4, 33.7], "bbox": [1, 2, 3, 4]}}, "geometry"),
            ({"geometry": [42.4, 33.7]}, "geometry"),
            ({"geometry": "POINT(42.4 33.7)"}, "geometry"),
            ({"properties": ["not", "an", "object"]}, "properties"),
            ({"properties": "title=x"}, "properties"),
            ({"properties": None}, "properties"),
            ({"type": "FeatureCollection"}, "type"),
            ({"id": 5}, "id"),
            ({"crs": {"type": "name"}}, "crs"),
        ],
    )
    def test_feature_level_problems(self, as_editor, source, change, field):
        response = as_editor("post", URL, {**feature(source), **change})

        assert response.status_code == 400
        assert field in response.json()["errors"], response.json()
        assert not Incident.objects.exists()

    @pytest.mark.parametrize(
        ("properties", "field"),
        [
            ({"colour": "red"}, "properties.colour"),
            ({"casualties_best": 5}, "properties.casualties_best"),
            ({"created_at": "2021-01-01T00:00:00Z"}, "properties.created_at"),
            ({"nearest_base": 1}, "properties.nearest_base"),
            ({"kind": "tank_battle"}, "properties.kind"),
            ({"occurred_on": "2021-02-30"}, "properties.occurred_on"),
            ({"date_precision": 2}, "properties.date_precision"),
            ({"country": "Iraq"}, "properties.country"),
            ({"munitions": -1}, "properties.munitions"),
            ({"munitions": 10**12}, "properties.munitions"),
            ({"base": 10**30}, "properties.base"),
            ({"title": "x" * 201}, "properties.title"),
            ({"title": "nul\u0000byte"}, "properties.title"),
            ({"sources": []}, "properties.sources"),
            ({"sources": [999999]}, "properties.sources"),
            ({"actors": [{"role": "attacker", "slug": "nobody"}]}, "properties.actors.0.slug"),
            ({"actors": [{"role": "hero", "slug": "x"}]}, "properties.actors.0.role"),
            ({"actors": {"attacker": "x"}}, "properties.actors"),
            (
                {"casualties": [{"group": "civilians", "kind": "killed", "low": 5, "best": 2}]},
                "properties.casualties.0",
            ),
            ({"casualties": [{"group": "civilians", "kind": "killed"}]}, "properties.casualties.0"),
            (
                {"casualties": [{"group": "civilians", "kind": "killed", "best": 1}] * 2},
                "properties.casualties",
            ),
            (
                {"casualties": [{"group": "civilians", "kind": "killed", "best": 1, "x": 1}]},
                "properties.casualties.0.x",
            ),
        ],
    )
    def test_property_problems_name_the_field(self, as_editor, source, properties, field):
        body = feature(source, **properties)

        response = as_editor("post", URL, body)

        assert response.status_code == 400
        errors = response.json()["errors"]
        assert any(name == field or name.startswith(field + ".") for name in errors), errors
        assert not Incident.objects.exists()

    def test_required_properties(self, as_editor):
        response = as_editor("post", URL, {"type": "Feature", "geometry": None, "properties": {}})

        assert set(response.json()["errors"]) == {
            "properties.occurred_on",
            "properties.kind",
            "properties.title",
            "properties.sources",
        }

    def test_a_nul_in_a_key_is_refused(self, as_editor, source):
        body = feature(source)
        body["properties"]["ti\u0000tle"] = "x"

        assert as_editor("post", URL, body).status_code == 400

    @pytest.mark.parametrize(
        ("content", "content_type"),
        [
            ("title=x&kind=rocket_attack", "application/x-www-form-urlencoded"),
            (
                "--b\r\nContent-Disposition: form-data; name=title\r\n\r\nx\r\n--b--\r\n",
                "multipart/form-data; boundary=b",
            ),
            ("<incident/>", "application/xml"),
        ],
    )
    def test_only_json_bodies(self, client, token, content, content_type):
        response = client.post(URL, content, content_type=content_type, HTTP_AUTHORIZATION=f"Token {token}")

        assert response.status_code == 400
        assert "Content-Type" in response.json()["errors"]

    @pytest.mark.parametrize(
        "content",
        ["{not json", "[1, 2]", '"a string"', "NaN", '{"geometry": NaN}', "[" * 5000 + "]" * 5000],
        ids=["broken", "array", "string", "nan", "nan-member", "deep"],
    )
    def test_bodies_that_are_not_a_json_object(self, client, token, content):
        response = client.post(URL, content, content_type="application/json", HTTP_AUTHORIZATION=f"Token {token}")

        assert response.status_code == 400
        assert response.json()["errors"]

    def test_a_duplicate_external_id(self, as_editor, source):
        IncidentFactory(dataset="acled", external_id="IRQ123")

        response = as_editor("post", URL, feature(source, dataset="acled", external_id="IRQ123"))

        assert response.status_code == 400
        assert "properties.external_id" in response.json()["errors"]


class TestUpdate:
    def test_only_what_is_sent_changes(self, as_editor):
        incident = IncidentFactory(title="Old", weapon="rockets")
        Involvement.objects.create(incident=incident, actor=ActorFactory(), role="attacker")

        response = as_editor("patch", f"{URL}{incident.pk}/", {"properties": {"title": "New"}})

        assert response.status_code == 200, response.content
        incident.refresh_from_db()
        assert (incident.title, incident.weapon) == ("New", "rockets")
        assert incident.location is not None
        assert incident.involvements.count() == 1
        assert response.json()["properties"]["title"] == "New"

    def test_relations_sent_replace_the_old_ones_and_derived_figures_follow(self, as_editor):
        incident = IncidentFactory()
        Casualty.objects.create(incident=incident, group="civilians", kind="killed", best=3)

        as_editor(
            "patch",
            f"{URL}{incident.pk}/",
            {"geometry": None, "properties": {"casualties": [{"group": "militia", "kind": "wounded", "best": 2}]}},
        )

        incident.refresh_from_db()
        assert incident.location is None
        assert list(incident.casualties.values_list("group", "best")) == [("militia", 2)]
        assert (incident.casualties_best, incident.fatalities_best) == (2, 0)

    def test_server_owned_fields_are_refused(self, as_editor):
        incident = IncidentFactory()

        response = as_editor("patch", f"{URL}{incident.pk}/", {"properties": {"id": 99, "updated_at": "2020"}})

        assert response.status_code == 400
        assert set(response.json()["errors"]) == {"properties.id", "properties.updated_at"}

    def test_the_same_external_id_may_stay(self, as_editor):
        incident = IncidentFactory(dataset="acled", external_id="IRQ1")

        response = as_editor("patch", f"{URL}{incident.pk}/", {"properties": {"external_id": "IRQ1"}})

        assert response.status_code == 200

    def test_put_is_not_offered(self, as_editor, source):
        incident = IncidentFactory()

        assert as_editor("put", f"{URL}{incident.pk}/", feature(source)).status_code == 405


class TestDelete:
    def test_an_editor_deletes_and_links_go_with_it(self, as_editor):
        link = IncidentLinkFactory()

        response = as_editor("delete", f"{URL}{link.incident_id}/")

        assert response.status_code == 204
        assert not Incident.objects.filter(pk=link.incident_id).exists()
        assert not IncidentLink.objects.exists()
        assert Incident.history.filter(history_type="-").count() == 1


class TestLinks:
    def test_an_editor_links_two_incidents(self, as_editor, source):
        prior = IncidentFactory(occurred_on=dt.date(2021, 2, 25))
        later = IncidentFactory(occurred_on=dt.date(2021, 3, 3))
        body = {
            "incident": later.pk,
            "prior": prior.pk,
            "relation": "response_to",
            "asserted_by": "TSC",
            "confidence": "high",
            "sources": [source.pk],
        }

        created = as_editor("post", "/api/v1/links/", body)
        again = as_editor("post", "/api/v1/links/", {**body, "confidence": "low"})

        assert created.status_code == 201, created.content
        assert created.json()["lag_days"] == 6
        assert again.status_code == 200
        link = IncidentLink.objects.get()
        assert (link.confidence, list(link.sources.all())) == ("low", [source])

    def test_patch_and_delete(self, as_editor):
        link = IncidentLinkFactory()

        patched = as_editor("patch", f"/api/v1/links/{link.pk}/", {"relation": "escalation_of", "note": "why"})
        deleted = as_editor("delete", f"/api/v1/links/{link.pk}/")

        assert patched.status_code == 200
        assert patched.json()["relation"] == "escalation_of"
        assert deleted.status_code == 204
        assert not IncidentLink.objects.exists()

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"prior": "self"}, "prior"),
            ({"relation": "revenge"}, "relation"),
            ({"sources": []}, "sources"),
            ({"incident": 10**9}, "incident"),
            ({"lag_days": 3}, "lag_days"),
            ({"asserted_by": ""}, "asserted_by"),
        ],
    )
    def test_bad_links(self, as_editor, source, change, field):
        prior, later = IncidentFactory(), IncidentFactory()
        body = {"incident": later.pk, "prior": prior.pk, "relation": "response_to", "asserted_by": "TSC"}
        body["sources"] = [source.pk]
        body.update({k: (later.pk if v == "self" else v) for k, v in change.items()})

        response = as_editor("post", "/api/v1/links/", body)

        assert response.status_code == 400
        assert field in response.json()["errors"]
        assert not IncidentLink.objects.exists()

    def test_links_to_drafts_are_not_listed_publicly(self, client):
        IncidentLinkFactory(incident=IncidentFactory(status=Incident.Status.DRAFT))
        public = IncidentLinkFactory()

        body = client.get("/api/v1/links/").json()

        assert [link["id"] for link in body["results"]] == [public.pk]


# Every write route, for the two kinds of caller who may not write.
@pytest.fixture
def routes(source):
    incident = IncidentFactory()
    link = IncidentLinkFactory()
    return [
        ("post", URL, feature(source), Incident, 3),
        ("patch", f"{URL}{incident.pk}/", {"properties": {"title": "x"}}, Incident, 3),
        ("delete", f"{URL}{incident.pk}/", None, Incident, 3),
        ("post", "/api/v1/links/", {"incident": incident.pk, "prior": link.prior_id}, IncidentLink, 1),
        ("patch", f"/api/v1/links/{link.pk}/", {"note": "x"}, IncidentLink, 1),
        ("delete", f"/api/v1/links/{link.pk}/", None, IncidentLink, 1),
        ("post", "/api/v1/sources/", {"publisher": "P", "title": "T"}, None, None),
    ]


@pytest.mark.parametrize("who", ["anonymous", "outsider"])
def test_no_write_route_lets_the_unprivileged_change_anything(client, outsider, routes, who):
    if who == "outsider":
        client.force_login(outsider)
    titles = list(Incident.objects.values_list("title", flat=True))
    notes = list(IncidentLink.objects.values_list("note", flat=True))
    from posture.models import Source

    sources = Source.objects.count()
    for method, url, body, _model, _count in routes:
        response = getattr(client, method)(url, json.dumps(body) if body else None, content_type="application/json")
        if who == "anonymous":
            assert response.status_code == 401, (method, url)
            assert response["WWW-Authenticate"] == "Token"
        else:
            assert response.status_code == 403, (method, url)

    assert list(Incident.objects.values_list("title", flat=True)) == titles
    assert list(IncidentLink.objects.values_list("note", flat=True)) == notes
    assert Source.objects.count() == sources


def test_an_editor_adds_a_source(as_editor):
    response = as_editor("post", "/api/v1/sources/", {"publisher": "Reuters", "title": "Rockets hit base"})

    assert response.status_code == 201
    assert response.json()["id"]
    assert (
        as_editor("post", "/api/v1/sources/", {"publisher": "Reuters", "title": "Rockets hit base"}).status_code == 400
    )


class TestLinkDefaults:
    """A link write may leave out what the model has a default for; what it has none for is a 400 naming it."""

    def test_the_readme_example_without_confidence_or_note_takes_the_defaults(self, as_editor, source):
        prior, later = IncidentFactory(occurred_on=dt.date(2021, 2, 25)), IncidentFactory()
        body = {"incident": later.pk, "prior": prior.pk, "relation": "response_to", "asserted_by": "TSC"}

        response = as_editor("post", "/api/v1/links/", {**body, "sources": [source.pk]})

        assert response.status_code == 201, response.content
        assert (response.json()["confidence"], response.json()["note"]) == ("medium", "")
        link = IncidentLink.objects.get()
        assert (link.relation, link.asserted_by, link.confidence, link.note) == ("response_to", "TSC", "medium", "")

    def test_restating_a_link_without_confidence_resets_it_to_the_default(self, as_editor, source):
        link = IncidentLinkFactory(confidence="high", note="two sources agree")
        body = {"incident": link.incident_id, "prior": link.prior_id, "relation": link.relation}

        response = as_editor("post", "/api/v1/links/", {**body, "asserted_by": "TSC", "sources": [source.pk]})

        assert response.status_code == 200, response.content
        link.refresh_from_db()
        assert (link.confidence, link.note, link.asserted_by) == ("medium", "", "TSC")

    def test_what_has_no_default_is_named_all_at_once(self, as_editor):
        prior, later = IncidentFactory(), IncidentFactory()

        response = as_editor("post", "/api/v1/links/", {"incident": later.pk, "prior": prior.pk})

        assert response.status_code == 400
        assert response.json() == {
            "errors": {field: ["This field is required."] for field in ("relation", "asserted_by", "sources")}
        }
        assert not IncidentLink.objects.exists()

    def test_a_patch_leaves_what_it_does_not_send(self, as_editor):
        link = IncidentLinkFactory(confidence="high", note="kept")

        response = as_editor("patch", f"/api/v1/links/{link.pk}/", {"asserted_by": "CENTCOM"})

        assert response.status_code == 200, response.content
        link.refresh_from_db()
        assert (link.asserted_by, link.confidence, link.note) == ("CENTCOM", "high", "kept")

    def test_the_schema_says_which_members_are_optional_and_their_defaults(self, client):
        schemas = client.get("/api/schema/?format=json").json()["components"]["schemas"]
        post, patch = schemas["LinkInputRequest"], schemas["PatchedLinkInputRequest"]

        assert sorted(post["required"]) == ["asserted_by", "incident", "prior", "relation", "sources"]
        assert (post["properties"]["confidence"]["default"], post["properties"]["note"]["default"]) == ("medium", "")
        assert "required" not in patch
        assert not [name for name, member in patch["properties"].items() if "default" in member]


@pytest.fixture
def refuse_title():
    """A CHECK the serializers know nothing of, standing in for a constraint a concurrent write trips.

    Added inside the test's transaction, so it goes with the rollback; and before any row is written there, as
    PostgreSQL alters no table with deferred checks pending.
    """

    def add(table: str, column: str) -> None:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT test_refused CHECK ({column} <> 'refused')")

    return add


class TestConstraintViolations:
    """An IntegrityError from the database is a 400 with the constraint's message, and nothing is written."""

    def test_creating_an_incident(self, as_editor, source, refuse_title):
        refuse_title("events_incident", "title")

        response = as_editor("post", URL, feature(source, title="refused"))

        assert response.status_code == 400
        (message,) = response.json()["errors"]["body"]
        assert message.startswith("The database refused the change: ")
        assert "test_refused" in message
        assert not Incident.objects.exists()

    def test_updating_an_incident(self, as_editor, refuse_title):
        refuse_title("events_incident", "title")
        incident = IncidentFactory(title="before")

        response = as_editor("patch", f"{URL}{incident.pk}/", {"properties": {"title": "refused"}})

        assert response.status_code == 400
        assert list(response.json()["errors"]) == ["body"]
        incident.refresh_from_db()
        assert incident.title == "before"

    def test_creating_and_changing_a_link(self, as_editor, source, refuse_title):
        refuse_title("events_incidentlink", "note")
        link = IncidentLinkFactory(note="before")
        body = {"incident": link.prior_id, "prior": link.incident_id, "relation": "response_to", "asserted_by": "X"}

        created = as_editor("post", "/api/v1/links/", {**body, "sources": [source.pk], "note": "refused"})
        changed = as_editor("patch", f"/api/v1/links/{link.pk}/", {"note": "refused"})

        assert (created.status_code, changed.status_code) == (400, 400)
        assert "test_refused" in created.json()["errors"]["body"][0]
        assert "test_refused" in changed.json()["errors"]["body"][0]
        assert list(IncidentLink.objects.values_list("note", flat=True)) == ["before"]


def test_a_patch_sends_each_replaced_list_item_whole(as_editor):
    """A PATCH leaves out what it does not change, but actors and casualties are replaced whole: an item
    without a required member is a 400 naming it (it was a 500 from the write)."""
    incident = IncidentFactory()

    response = as_editor(
        "patch",
        f"{URL}{incident.pk}/",
        {"properties": {"casualties": [{"kind": "killed", "best": 1}], "actors": [{"role": "target"}]}},
    )

    assert response.status_code == 400
    assert response.json()["errors"] == {
        "properties.casualties.0.group": ["This field is required."],
        "properties.actors.0.slug": ["This field is required."],
    }
    assert not Casualty.objects.exists()
