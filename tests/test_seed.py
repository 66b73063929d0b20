import datetime as dt

import pytest
from django.core.management import call_command

from events.models import Casualty, Incident, IncidentLink
from posture.models import Actor, Base, Source, TroopLevel

pytestmark = pytest.mark.django_db

MODELS = [Source, Actor, Base, TroopLevel, Incident, Casualty, IncidentLink]


def counts():
    return {model.__name__: model.objects.count() for model in MODELS}


def history_counts():
    return {model.__name__: model.history.count() for model in MODELS}


def test_seed_loads_twice_with_the_same_counts_and_no_new_history(capsys):
    call_command("load_seed")
    first, first_history = counts(), history_counts()
    call_command("load_seed")

    assert counts() == first
    assert history_counts() == first_history
    assert "already up to date" in capsys.readouterr().out
    assert first["Incident"] >= 15
    assert first["IncidentLink"] >= 8


def test_seed_has_the_assessments_facts():
    call_command("load_seed")
    assessment = Source.objects.get(title="Strategic assessment, TSC, March 2021")

    asad = Base.objects.get(slug="ayn-al-asad")
    assert {"Ain al-Asad", "Al Asad"} <= set(asad.alternate_names)
    assert asad.location.x == pytest.approx(42.44, abs=0.01)
    assert asad.location.y == pytest.approx(33.79, abs=0.01)

    rockets = Incident.objects.get(occurred_on=dt.date(2021, 3, 3), kind="rocket_attack")
    assert rockets.munitions == 10
    assert rockets.base == asad
    assert assessment in rockets.sources.all()
    contractor = rockets.casualties.get(group="us_contractor", kind="killed")
    assert contractor.best == 1
    assert "cardiac" in contractor.note
    assert rockets.casualties.get(group="us_military", kind="killed").best == 0

    tbi = Incident.objects.get(occurred_on=dt.date(2020, 1, 8)).casualties.get(kind="tbi")
    assert tbi.low == 100

    us_iraq = TroopLevel.objects.filter(contributor__slug="united-states", host_country="IRQ", status="actual")
    assert us_iraq.latest("as_of").best == 2500
    assert TroopLevel.objects.get(contributor__slug="united-states", host_country="SYR").label() == "~1,000"
    nato = TroopLevel.objects.filter(contributor__slug="nato").order_by("status")
    assert [(t.status, t.label()) for t in nato] == [("actual", "500"), ("planned", "4,000+")]

    # The cycle: the 25 February strike answered, and the B-52s as a deterrent after 3 March.
    response = IncidentLink.objects.get(incident=rockets, relation="response_to")
    assert response.prior.occurred_on == dt.date(2021, 2, 25)
    assert response.lag_days == 6
    b52 = IncidentLink.objects.get(prior=rockets, relation="deterrence_signal_after", incident__kind="show_of_force")
    assert b52.incident.occurred_on == dt.date(2021, 3, 7)
    assert {a.slug for a in b52.incident.actors.all()} >= {"israel", "qatar", "saudi-arabia"}

    kh = Actor.objects.get(slug="kataib-hezbollah")
    assert kh.affiliations.filter(slug="irgc-qf").exists()
    assert Actor.objects.get(slug="nato-mission-iraq").affiliations.filter(slug="nato").exists()


def test_every_seed_row_cites_a_source():
    call_command("load_seed")
    assert not Incident.objects.filter(sources=None).exists()
    assert not TroopLevel.objects.filter(sources=None).exists()
    assert not IncidentLink.objects.filter(sources=None).exists()
