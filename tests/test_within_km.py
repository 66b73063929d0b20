"""`within_km` on deterrence, before-after and response-lags: only the attacks near the action count, the
incidents without a point are left out and counted, and without it every answer is what it was."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.gis.geos import Point

from bench import planted as planting
from events.models import Incident, IncidentLink, Involvement

from .factories import IncidentFactory, InvolvementFactory
from .test_analytics import get, side_actor

pytestmark = pytest.mark.django_db

API = "/api/v1/analytics"
BASE = (44.0, 33.0)
NEAR = (44.03, 33.0)  # 2.8 km east
FAR = (45.5, 33.0)  # 140 km east


def event(day: int, attacker, target, kind: str, at: tuple[float, float] | None) -> Incident:
    incident = IncidentFactory(
        occurred_on=dt.date(2024, 1, 1) + dt.timedelta(days=day),
        kind=kind,
        location=Point(*at, srid=4326) if at else None,
    )
    InvolvementFactory(incident=incident, actor=attacker, role=Involvement.Role.ATTACKER)
    InvolvementFactory(incident=incident, actor=target, role=Involvement.Role.TARGET)
    return incident


@pytest.fixture
def near_and_far():
    """A US strike on the militia, answered the next day 140 km away and on the fourth day 3 km away; a strike
    with no point; an attack with no point."""
    us, militia = side_actor("us"), side_actor("militia")
    strike = event(0, us, militia, "air_strike", BASE)
    far = event(1, militia, us, "rocket_attack", FAR)
    unplaced_strike = event(2, us, militia, "air_strike", None)
    unplaced_attack = event(3, militia, us, "rocket_attack", None)
    near = event(4, militia, us, "rocket_attack", NEAR)
    event(20, militia, us, "statement", BASE)  # the data's last day
    return {"strike": strike, "far": far, "near": near, "unplaced_strike": unplaced_strike,
            "unplaced_attack": unplaced_attack}  # fmt: skip


def test_deterrence_within_10_km_ends_the_window_at_the_first_attack_near_the_strike(client, near_and_far):
    strike, unplaced = near_and_far["strike"], near_and_far["unplaced_strike"]

    anywhere = get(client, "deterrence")
    near = get(client, "deterrence", within_km=10)
    wide = get(client, "deterrence", within_km=500)

    windows = {w["incident"]: w for w in anywhere["windows"]}
    assert (windows[strike.pk]["days"], windows[strike.pk]["next_attack"]) == (1, near_and_far["far"].pk)
    assert windows[unplaced.pk]["days"] == 1  # the attack with no point, the next day
    assert "within_km" not in anywhere
    assert "unplaced" not in anywhere
    windows = {w["incident"]: w for w in near["windows"]}
    assert (windows[strike.pk]["days"], windows[strike.pk]["next_attack"]) == (4, near_and_far["near"].pk)
    assert unplaced.pk not in windows
    assert (near["within_km"], near["unplaced"]) == (10, 1)
    assert {w["incident"]: w["days"] for w in wide["windows"]}[strike.pk] == 1


def test_before_after_within_10_km_counts_only_the_attacks_near_the_incident(client, near_and_far):
    strike = near_and_far["strike"]

    anywhere = get(client, "before-after", incident=strike.pk, days=14)
    near = get(client, "before-after", incident=strike.pk, days=14, within_km=10)

    assert anywhere["after"]["attacks"] == 3
    assert "unplaced" not in anywhere
    assert near["after"]["attacks"] == 1
    assert (near["within_km"], near["unplaced"]) == (10, 1)
    unplaced = get(client, "before-after", incident=near_and_far["unplaced_strike"].pk, within_km=10)
    assert unplaced["after"]["attacks"] == 0
    assert any("no point" in warning for warning in unplaced["warnings"])


def test_response_lags_within_10_km_keep_only_the_links_whose_ends_are_near(client, near_and_far):
    strike = near_and_far["strike"]
    for answer in ("far", "near", "unplaced_attack"):
        IncidentLink.objects.create(incident=near_and_far[answer], prior=strike, relation="response_to")

    anywhere = get(client, "response-lags")
    near = get(client, "response-lags", within_km=10)

    def links(body):
        pair = next(p for p in body["pairs"] if (p["first"]["key"], p["answering"]["key"]) == ("us", "militia"))
        return pair["links"]["count"], sum(b["count"] for b in pair["links"]["bins"])

    assert links(anywhere) == (3, 3)
    assert links(near) == (1, 1)
    assert (near["within_km"], near["unplaced"]) == (10, 2)


def test_on_dense_planted_data_only_the_local_baseline_sees_the_answers(client):
    # Nearly one act a day over 100 km: the latest act anywhere is always a day or two before any attack, with
    # the dates shuffled too, so the country-wide baseline cannot see that half the acts are answered within 5 km
    # and 3 days (the p = 1.000); the local one can.
    planting.load(planting.near_repeats(seed=2, acts=400, attacks=1600, answered=0.5))

    def verdict(**params):
        pairs = {(p["first"]["key"], p["answering"]["key"]): p for p in get(client, "response-lags", **params)["pairs"]}
        return pairs[("planted-a", "planted-b")]["baseline"]["verdict"]

    assert verdict() == "no more than chance"
    assert verdict(within_km=5) == "more than chance"


@pytest.mark.parametrize("path", ["deterrence", "before-after", "response-lags"])
@pytest.mark.parametrize("value", ["0", "-1", "501", "abc", "nan", "inf"])
def test_a_bad_within_km_is_a_400_naming_it(client, path, value):
    incident = IncidentFactory()

    params = {"within_km": value, **({"incident": incident.pk} if path == "before-after" else {})}

    response = client.get(f"{API}/{path}/", params)

    assert response.status_code == 400, response.content
    assert list(response.json()["errors"]) == ["within_km"]
