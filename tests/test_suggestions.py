"""Suggested links: found on planted cycles, nothing more than chance on independent streams, fresh after
writes (through a real worker), reviewed in the admin, and served by GET /api/v1/links/suggestions/."""

from __future__ import annotations

import datetime as dt
import statistics

import pytest
from django.contrib.auth.models import Permission
from django.contrib.gis.geos import Point
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bench import planted
from events.cycles import suggestions as cycles
from events.models import Incident, IncidentLink, Involvement, LinkSuggestion, SuggestionRejection
from posture.models import Actor, Side

from .acled_rows import acled_rows, write_acled_csv
from .celery_worker import wait_for_job, wait_until
from .factories import ActorFactory, IncidentFactory, InvolvementFactory, SourceFactory, UserFactory

URL = "/api/v1/links/suggestions/"


def load_planted(seed: int, **options) -> tuple[planted.Planted, dict[str, int]]:
    generated = planted.generate(seed, **options)
    ids = planted.load(generated)
    cycles.refresh_suggestions()
    return generated, ids


def rank_one(ids: dict[str, int]) -> dict[str, tuple[str, float]]:
    """Incident key -> (key of its rank-1 candidate, score)."""
    key = {pk: k for k, pk in ids.items()}
    return {key[s.incident_id]: (key[s.prior_id], s.score) for s in LinkSuggestion.objects.filter(rank=1)}


# --- Proof on planted data -------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_suggestions_recover_the_planted_parents(seed):
    generated, ids = load_planted(seed)
    assert len(generated.parents) > 150  # enough answers for the shares below to mean something
    top = rank_one(ids)
    key = {pk: k for k, pk in ids.items()}
    found = {(key[i], key[p]) for i, p in LinkSuggestion.objects.values_list("incident_id", "prior_id")}

    # Top-1 precision: of the planted answers, the share whose first candidate is the attack they answer.
    answered = [child for child in generated.parents if child in top]
    precision = sum(top[child][0] == generated.parents[child] for child in answered) / len(answered)
    # Recall: the share of planted (answer, attack) pairs among the suggestions, at the default window.
    recall = sum(pair in found for pair in generated.parents.items()) / len(generated.parents)
    assert precision >= 0.8, precision
    assert recall >= 0.7, recall

    # Incidents that start an exchange get a first candidate too, but it scores lower: the score carries
    # what tells an answer from a coincidence.
    roots = [top[k][1] for k in top if k not in generated.parents]
    answers = [top[k][1] for k in answered]
    assert statistics.median(roots) < statistics.median(answers)

    chance = cycles.chance()
    assert chance.verdict == "more than chance", chance.as_dict()
    assert chance.pairs > chance.interval[1]


@pytest.mark.django_db
def test_with_independent_streams_the_baseline_says_no_more_than_chance():
    """Twenty seeds on arrays (chance_of, chance()'s arithmetic), in seconds; the first also through
    PostgreSQL, which must read the rows the arrays hold and so give the same answer to the last digit."""

    def rows(generated: planted.Planted) -> list[tuple]:
        # As chance() reads them: in id order, which is the planted order, and the sides as their slugs.
        return [(i.occurred_on, [f"planted-{i.side}"], [f"planted-{i.target}"]) for i in generated.incidents]

    first = planted.generate(100, answers=False)
    planted.load(first, dataset="independent-0")
    only = ("SELECT id FROM events_incident WHERE dataset = %s", ["independent-0"])
    assert cycles.chance(only, seed=0) == cycles.chance_of(rows(first), seed=0)

    verdicts = [
        cycles.chance_of(rows(planted.generate(100 + seed, answers=False)), seed=seed).verdict for seed in range(20)
    ]
    assert "insufficient data" not in verdicts
    assert verdicts.count("no more than chance") >= 18, verdicts


@pytest.mark.django_db
def test_a_refresh_of_some_incidents_gives_what_a_full_refresh_gives():
    generated, ids = load_planted(4, days=240)
    moved = [ids[i.key] for i in generated.incidents[10:200:7]]
    Incident.objects.filter(pk__in=moved[::2]).update(occurred_on=dt.date(2022, 3, 1))
    Incident.objects.filter(pk__in=moved[1::4]).update(status=Incident.Status.DRAFT)
    Involvement.objects.filter(incident_id__in=moved[3::4]).delete()

    def table():
        return set(
            LinkSuggestion.objects.values_list("incident_id", "prior_id", "relation", "lag_days", "score", "rank")
        )

    cycles.refresh_suggestions(moved)
    partial = table()
    cycles.refresh_suggestions()
    assert partial == table()
    assert not LinkSuggestion.objects.filter(incident__status=Incident.Status.DRAFT).exists()


# --- The seed's cycle --------------------------------------------------------------------------------------


@pytest.fixture
def cycle(db):
    """A militia attack on US forces, the US strike on the militia six days later, and a rocket attack
    on the base six days after that, 160 km off; the sides as the seed has them."""
    us = Side.objects.create(name="United States and partners", slug="us-and-partners")
    iran = Side.objects.create(name="Iran and aligned groups", slug="iran-and-aligned")
    militia, united_states = ActorFactory(slug="kh", side=iran), ActorFactory(slug="us", side=us)
    front = ActorFactory(slug="front", side=iran)

    def incident(day, kind, attacker, target, lon, lat, **fields):
        found = IncidentFactory(
            occurred_on=dt.date(2021, 2, day) if day <= 28 else dt.date(2021, 3, day - 28),
            kind=kind,
            location=Point(lon, lat, srid=4326),
            **fields,
        )
        InvolvementFactory(incident=found, actor=attacker, role=Involvement.Role.ATTACKER)
        InvolvementFactory(incident=found, actor=target, role=Involvement.Role.TARGET)
        return found

    erbil = incident(15, "rocket_attack", front, united_states, 43.96, 36.24, casualties_best=3)
    strike = incident(25, "air_strike", united_states, militia, 40.92, 34.45, casualties_best=1)
    rockets = incident(31, "rocket_attack", militia, united_states, 42.44, 33.79)
    cycles.refresh_suggestions()
    return erbil, strike, rockets


def test_the_reversed_dyad_is_suggested_with_lag_distance_and_relation(cycle):
    erbil, strike, rockets = cycle
    rows = {(s.incident_id, s.prior_id): s for s in LinkSuggestion.objects.all()}
    assert set(rows) == {(strike.pk, erbil.pk), (rockets.pk, strike.pk)}
    answer = rows[(rockets.pk, strike.pk)]
    assert (answer.relation, answer.lag_days, answer.rank) == ("retaliation_for", 6, 1)
    assert 150 < answer.distance_km < 165  # Abu Kamal to Ayn al-Asad
    assert 0 < answer.score <= 1
    # Same-side pairs never: the militia's rockets do not answer the front group's rockets.
    assert (rockets.pk, erbil.pk) not in rows


def test_linked_and_rejected_pairs_are_left_out(cycle, editor):
    erbil, strike, rockets = cycle
    IncidentLink.objects.create(
        incident=strike, prior=erbil, relation="retaliation_for", asserted_by="DoD", confidence="high"
    )
    SuggestionRejection.objects.create(incident=rockets, prior=strike, rejected_by=editor)
    cycles.refresh_suggestions([erbil.pk, strike.pk, rockets.pk])
    assert not LinkSuggestion.objects.exists()


# --- Freshness: the write paths queue a refresh, a real worker runs it -------------------------------------


def _sides_and_source():
    us = Side.objects.create(name="US", slug="us")
    iran = Side.objects.create(name="Iran", slug="iran")
    ActorFactory(slug="united-states", side=us)
    ActorFactory(slug="kataib-hezbollah", side=iran)
    return SourceFactory()


def _feature(day: str, kind: str, attacker: str, target: str, source) -> dict:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [42.44, 33.79]},
        "properties": {
            "occurred_on": day,
            "kind": kind,
            "title": f"{kind} {day}",
            "status": "published",
            "sources": [source.pk],
            "actors": [{"role": "attacker", "slug": attacker}, {"role": "target", "slug": target}],
        },
    }


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_an_api_write_is_followed_by_its_suggestions(celery_worker, editor_api):
    source = _sides_and_source()
    first = editor_api.post(
        "/api/v1/incidents/",
        _feature("2021-02-25", "air_strike", "united-states", "kataib-hezbollah", source),
        format="json",
    )
    second = editor_api.post(
        "/api/v1/incidents/",
        _feature("2021-03-03", "rocket_attack", "kataib-hezbollah", "united-states", source),
        format="json",
    )
    assert (first.status_code, second.status_code) == (201, 201)
    later, earlier = second.json()["id"], first.json()["id"]

    wait_until(lambda: LinkSuggestion.objects.filter(incident_id=later, prior_id=earlier).exists(), "the suggestion")

    # Linking the pair through the API takes it out of the suggestions.
    response = editor_api.post(
        "/api/v1/links/",
        {
            "incident": later,
            "prior": earlier,
            "relation": "retaliation_for",
            "asserted_by": "TSC",
            "sources": [source.pk],
        },
        format="json",
    )
    assert response.status_code == 201
    wait_until(lambda: not LinkSuggestion.objects.exists(), "the linked pair to leave the suggestions")


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_an_import_is_followed_by_its_suggestions(celery_worker, editor_api, tmp_path):
    strike, rockets = acled_rows(2)
    us, kh = "Military Forces of the United States (2021-)", "Kataib Hezbollah"
    common = {
        "time_precision": "1",
        "assoc_actor_1": "",
        "assoc_actor_2": "",
        "latitude": "33.79",
        "longitude": "42.44",
        "event_type": "Explosions/Remote violence",
        "year": "2021",
    }
    strike.update(common, event_date="2021-02-25", sub_event_type="Air/drone strike", actor1=us, actor2=kh)
    rockets.update(
        common, event_date="2021-03-03", sub_event_type="Shelling/artillery/missile attack", actor1=kh, actor2=us
    )
    with open(write_acled_csv(tmp_path / "pair.csv", [strike, rockets]), "rb") as f:
        response = editor_api.post("/api/v1/imports/", {"file": f}, format="multipart")
    assert response.status_code == 202, response.content
    wait_for_job(response.json()["id"])

    # No side was assigned: each actor is a side of its own, and the pair is still found.
    suggestion = wait_until(lambda: LinkSuggestion.objects.first(), "the import's suggestion")
    assert suggestion.incident.external_id == rockets["event_id_cnty"]
    assert suggestion.prior.external_id == strike["event_id_cnty"]
    assert suggestion.lag_days == 6
    assert suggestion.incident.attacking_sides == [f"actor:{Actor.objects.get(name=kh).slug}"]


# --- Review in the admin ----------------------------------------------------------------------------------


def _changelist(client):
    return client.get(reverse("admin:events_linksuggestion_changelist"))


def _act(client, action, suggestions):
    return client.post(
        reverse("admin:events_linksuggestion_changelist"),
        {"action": action, "_selected_action": [s.pk for s in suggestions]},
        follow=True,
    )


@pytest.mark.django_db
def test_the_queue_lists_suggestions_best_first_in_a_constant_number_of_queries(client, editor):
    load_planted(5, days=120)
    client.force_login(editor)
    with CaptureQueriesContext(connection) as first:
        response = _changelist(client)
    assert response.status_code == 200
    listed = list(response.context["cl"].result_list)
    assert len(listed) == 50
    assert [s.score for s in listed] == sorted((s.score for s in listed), reverse=True)
    assert listed[0].score == LinkSuggestion.objects.order_by("-score").first().score

    with CaptureQueriesContext(connection) as second:
        assert client.get(reverse("admin:events_linksuggestion_changelist") + "?p=2").status_code == 200
    assert len(first.captured_queries) == len(second.captured_queries) <= 12


@pytest.mark.django_db
def test_accepting_in_bulk_links_the_pairs_citing_both_incidents_sources(client, editor, cycle):
    erbil, strike, rockets = cycle
    client.force_login(editor)
    response = _act(client, "accept", LinkSuggestion.objects.all())
    assert response.status_code == 200
    assert "2 links made" in response.content.decode()

    links = {(link.incident_id, link.prior_id): link for link in IncidentLink.objects.all()}
    assert set(links) == {(strike.pk, erbil.pk), (rockets.pk, strike.pk)}
    link = links[(rockets.pk, strike.pk)]
    assert link.relation == "retaliation_for"
    assert link.asserted_by == f"{editor.username} (confirmed from a suggestion)"
    assert {s.pk for s in link.sources.all()} == {
        *rockets.sources.values_list("pk", flat=True),
        *strike.sources.values_list("pk", flat=True),
    }
    assert "6 days later" in link.note
    assert link.history.first().history_user == editor
    assert not LinkSuggestion.objects.exists()


@pytest.mark.django_db
def test_rejecting_in_bulk_is_remembered_with_who_and_when(client, editor, cycle):
    erbil, strike, rockets = cycle
    client.force_login(editor)
    response = _act(client, "reject", LinkSuggestion.objects.all())
    assert "2 suggestions rejected" in response.content.decode()
    rejections = SuggestionRejection.objects.all()
    assert {(r.incident_id, r.prior_id) for r in rejections} == {(strike.pk, erbil.pk), (rockets.pk, strike.pk)}
    assert {r.rejected_by for r in rejections} == {editor}
    assert all(r.rejected_at is not None for r in rejections)
    assert not IncidentLink.objects.exists()

    cycles.refresh_suggestions()  # what the queued refresh does: the pairs stay out
    assert not LinkSuggestion.objects.exists()


@pytest.mark.django_db
def test_review_needs_the_permissions(client, cycle):
    client.force_login(UserFactory(is_staff=True))
    assert _changelist(client).status_code == 403

    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_linksuggestion"))
    client.force_login(viewer)
    assert _changelist(client).status_code == 200
    response = _act(client, "accept", LinkSuggestion.objects.all())
    assert not IncidentLink.objects.exists()
    assert LinkSuggestion.objects.count() == 2
    assert response.status_code == 200


# --- GET /api/v1/links/suggestions/ ------------------------------------------------------------------------


def test_the_api_lists_suggestions_with_the_link_fields(api_client, cycle):
    erbil, strike, rockets = cycle
    body = api_client.get(URL).json()
    assert body["count"] == 2
    first = body["results"][0]
    assert set(first) == {"incident", "prior", "relation", "lag_days", "distance_km", "score", "rank"}
    by_pair = {(r["incident"], r["prior"]): r for r in body["results"]}
    assert by_pair[(rockets.pk, strike.pk)]["lag_days"] == 6
    assert by_pair[(rockets.pk, strike.pk)]["rank"] == 1
    assert [r["score"] for r in body["results"]] == sorted((r["score"] for r in body["results"]), reverse=True)


def test_the_api_filters_by_incident_window_distance_and_score(api_client, cycle):
    erbil, strike, rockets = cycle

    def pairs(**params):
        return {(r["incident"], r["prior"]) for r in api_client.get(URL, params).json()["results"]}

    assert pairs(kind="rocket_attack") == {(rockets.pk, strike.pk)}
    assert pairs(start="2021-03-01") == {(rockets.pk, strike.pk)}
    assert pairs(window=7) == {(rockets.pk, strike.pk)}  # the strike came 10 days after Erbil
    assert pairs(within_km=250) == {(rockets.pk, strike.pk)}
    assert pairs(min_score=1) == set()


def test_the_api_gives_the_measure_against_chance_on_request(api_client, cycle):
    body = api_client.get(URL, {"chance": "true"}).json()
    assert body["chance"]["verdict"] == "insufficient data"  # three incidents
    assert body["chance"]["incidents"] == 3


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"window": "0"}, "window"),
        ({"window": "-3"}, "window"),
        ({"window": "100000"}, "window"),
        ({"window": "ten"}, "window"),
        ({"within_km": "0"}, "within_km"),
        ({"within_km": "nan"}, "within_km"),
        ({"within_km": "1e9"}, "within_km"),
        ({"min_score": "2"}, "min_score"),
        ({"min_score": "x"}, "min_score"),
        ({"chance": "maybe"}, "chance"),
        ({"kind": "parade"}, "kind"),
        ({"sort": "score"}, "sort"),
    ],
)
@pytest.mark.django_db
def test_bad_parameters_get_a_400_naming_them(api_client, params, name):
    response = api_client.get(URL, params)
    assert response.status_code == 400, response.content
    assert name in response.json()["errors"]


@pytest.mark.django_db
def test_the_api_answers_in_a_constant_number_of_queries(api_client, django_assert_max_num_queries):
    load_planted(6, days=120)
    with django_assert_max_num_queries(3):
        response = api_client.get(URL, {"page_size": 200})
    assert len(response.json()["results"]) == 200


def test_a_suggestion_refresh_alone_changes_the_stored_answers(api_client, cycle):
    """The refresh runs in its own transaction after the incidents' commit: it moves the data version
    itself, so the shared cache never serves response-lags of the suggestions of before under the new name."""
    erbil, strike, rockets = cycle
    lags = "/api/v1/analytics/response-lags/"
    before = api_client.get(lags).json()
    assert api_client.get(lags).json() == before  # stored
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM events_linksuggestion WHERE prior_id = %s", [strike.pk])

    assert api_client.get(URL).json()["count"] == 1
    assert api_client.get(lags).json() != before
    cycles.refresh_suggestions()
    assert api_client.get(URL).json()["count"] == 2
    assert api_client.get(lags).json() == before
