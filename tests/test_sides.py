"""Sides: an incident's attacking and targeted sides are kept by PostgreSQL whoever writes."""

import datetime as dt

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.urls import reverse

from events.models import Incident, Involvement
from events.seed.load import load_seed
from posture.models import Actor, Side

from .bodies import incident_feature
from .factories import ActorFactory, IncidentFactory, InvolvementFactory, SourceFactory

pytestmark = pytest.mark.django_db


def sides_of(incident: Incident) -> tuple[list[str], list[str]]:
    incident.refresh_from_db(fields=["attacking_sides", "targeted_sides"])
    return incident.attacking_sides, incident.targeted_sides


@pytest.fixture
def us():
    return Side.objects.create(name="United States and partners", slug="us-and-partners")


@pytest.fixture
def iran():
    return Side.objects.create(name="Iran and aligned groups", slug="iran-and-aligned")


def test_an_actor_without_a_side_is_a_side_of_its_own():
    incident = IncidentFactory()
    InvolvementFactory(incident=incident, actor=ActorFactory(slug="unnamed-militia"), role=Involvement.Role.ATTACKER)
    InvolvementFactory(incident=incident, actor=ActorFactory(slug="coalition"), role=Involvement.Role.TARGET)

    assert sides_of(incident) == (["actor:unnamed-militia"], ["actor:coalition"])
    assert Actor.objects.get(slug="unnamed-militia").side_key == "actor:unnamed-militia"


def test_attackers_and_claimants_are_the_attacking_side_once_each(us, iran):
    incident = IncidentFactory()
    front = ActorFactory(slug="front-group", side=iran)
    InvolvementFactory(incident=incident, actor=front, role=Involvement.Role.ATTACKER)
    InvolvementFactory(incident=incident, actor=front, role=Involvement.Role.CLAIMED_BY)
    InvolvementFactory(incident=incident, actor=ActorFactory(slug="kh", side=iran), role=Involvement.Role.ATTACKER)
    InvolvementFactory(incident=incident, actor=ActorFactory(slug="lone-wolf"), role=Involvement.Role.CLAIMED_BY)
    InvolvementFactory(incident=incident, actor=ActorFactory(side=us), role=Involvement.Role.TARGET)

    assert sides_of(incident) == (["actor:lone-wolf", "iran-and-aligned"], ["us-and-partners"])


def test_moving_an_actor_or_renaming_a_side_recomputes_its_incidents(us, iran):
    militia = ActorFactory(slug="militia")
    attacks = [IncidentFactory() for _ in range(3)]
    for incident in attacks:
        InvolvementFactory(incident=incident, actor=militia, role=Involvement.Role.ATTACKER)
    untouched = IncidentFactory()
    InvolvementFactory(incident=untouched, actor=ActorFactory(slug="other"), role=Involvement.Role.ATTACKER)

    militia.side = iran
    militia.save()
    assert [sides_of(i)[0] for i in attacks] == [["iran-and-aligned"]] * 3

    iran.slug = "iran-axis"
    iran.save()
    assert [sides_of(i)[0] for i in attacks] == [["iran-axis"]] * 3

    Actor.objects.filter(pk=militia.pk).update(side=None)
    assert [sides_of(i)[0] for i in attacks] == [["actor:militia"]] * 3
    assert sides_of(untouched) == (["actor:other"], [])


def test_raw_sql_writes_and_deletes_are_followed(us):
    incident = IncidentFactory()
    actor = ActorFactory(side=us)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO events_involvement (incident_id, actor_id, role) VALUES (%s, %s, 'target')",
            [incident.pk, actor.pk],
        )
        assert sides_of(incident) == ([], ["us-and-partners"])
        cursor.execute("UPDATE events_involvement SET role = 'attacker' WHERE incident_id = %s", [incident.pk])
        assert sides_of(incident) == (["us-and-partners"], [])
        cursor.execute("DELETE FROM events_involvement WHERE incident_id = %s", [incident.pk])
    assert sides_of(incident) == ([], [])


def test_queryset_finds_incidents_by_side(us, iran):
    attack, strike = IncidentFactory(), IncidentFactory(kind="air_strike")
    InvolvementFactory(incident=attack, actor=ActorFactory(side=iran), role=Involvement.Role.ATTACKER)
    InvolvementFactory(incident=attack, actor=ActorFactory(side=us), role=Involvement.Role.TARGET)
    InvolvementFactory(incident=strike, actor=ActorFactory(side=us), role=Involvement.Role.ATTACKER)

    assert list(Incident.objects.attacked_by_side("iran-and-aligned")) == [attack]
    assert list(Incident.objects.targeting_side("us-and-partners")) == [attack]
    assert list(Incident.objects.attacked_by_side("us-and-partners")) == [strike]
    assert not Incident.objects.targeting_side("iran-and-aligned").exists()


def test_the_api_write_path_sets_the_sides(editor_api, us, iran):
    ActorFactory(slug="kataib-hezbollah", side=iran)
    ActorFactory(slug="united-states", side=us)
    actors = [{"role": "attacker", "slug": "kataib-hezbollah"}, {"role": "target", "slug": "united-states"}]
    body = incident_feature(SourceFactory(), actors=actors)
    response = editor_api.post("/api/v1/incidents/", body, format="json")
    assert response.status_code == 201, response.content
    incident = Incident.objects.get(title="Ten rockets on Ayn al-Asad")
    assert sides_of(incident) == (["iran-and-aligned"], ["us-and-partners"])


def test_an_editor_assigns_a_side_in_the_admin_with_history(client, editor, iran):
    militia = ActorFactory(name="Saraya Awliya al-Dam", slug="saraya-awliya-al-dam", kind="armed_group")
    attack = IncidentFactory()
    InvolvementFactory(incident=attack, actor=militia, role=Involvement.Role.ATTACKER)
    client.force_login(editor)

    url = reverse("admin:posture_actor_change", args=[militia.pk])
    form = {
        "name": militia.name,
        "slug": militia.slug,
        "kind": militia.kind,
        "country": "",
        "aliases": "",
        "description": "",
        "side": iran.pk,
        "affiliations_out-TOTAL_FORMS": 0,
        "affiliations_out-INITIAL_FORMS": 0,
    }
    response = client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:2000]

    assert sides_of(attack) == (["iran-and-aligned"], [])
    assert militia.history.first().side_id == iran.pk
    page = client.get(reverse("admin:posture_side_change", args=[iran.pk]))
    assert "Saraya Awliya al-Dam" in page.content.decode()


def test_editors_may_edit_sides():
    codenames = set(Group.objects.get(name="Editors").permissions.values_list("codename", flat=True))
    assert {"add_side", "change_side", "delete_side", "view_side"} <= codenames


def test_a_bad_side_slug_is_a_form_error(client, editor):
    client.force_login(editor)
    response = client.post(reverse("admin:posture_side_add"), {"name": "Bad", "slug": "not a slug!"})
    assert response.status_code == 200
    assert "slug" in response.context["adminform"].form.errors
    assert not Side.objects.exists()


def test_the_seed_assigns_its_actors_to_sides_and_loads_twice_without_change():
    load_seed()
    sides = dict(Actor.objects.filter(side__isnull=False).values_list("slug", "side__slug"))
    assert sides["saraya-awliya-al-dam"] == "iran-and-aligned"  # a front group counts for the side it fronts for
    assert {sides[s] for s in ["united-states", "cjtf-oir", "nato", "nato-mission-iraq"]} == {"us-and-partners"}
    assert {sides[s] for s in ["iran", "irgc", "irgc-qf", "kataib-hezbollah", "kataib-sayyid-al-shuhada"]} == {
        "iran-and-aligned"
    }
    assert (sides["israel"], sides["iraq"], sides["islamic-state"]) == ("israel", "iraqi-state", "islamic-state")
    assert "front" in Side.objects.get(slug="iran-and-aligned").description

    erbil = Incident.objects.get(external_id="2021-02-15-erbil-rockets")
    assert sides_of(erbil) == (["iran-and-aligned"], ["us-and-partners"])
    rockets = Incident.objects.get(occurred_on=dt.date(2021, 3, 3), kind="rocket_attack")
    assert "us-and-partners" in sides_of(rockets)[1]

    assert load_seed() == {}
