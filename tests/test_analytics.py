"""Cycle analytics through the API: the seed's figures, planted data with known answers, and bad input."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json

import numpy as np
import pytest
from django.contrib.gis.geos import Point
from django.core.cache import cache
from django.core.management import call_command
from lifelines import KaplanMeierFitter
from lifelines.utils import median_survival_times

from bench import planted as planting
from events import tasks
from events.cycles import analytics
from events.models import Delivery, Incident, IncidentLink, Involvement, Subscription, SurgeAlert
from ops.cache import answer_key, data_changed_at
from posture.models import Actor

from .celery_worker import WebhookReceiver, wait_for_quiet_database, wait_until
from .factories import ActorFactory, BaseFactory, IncidentFactory, InvolvementFactory, SourceFactory
from .test_api_writes import feature

pytestmark = pytest.mark.django_db

API = "/api/v1/analytics"


@pytest.fixture
def seed():
    call_command("load_seed")
    return {incident.occurred_on.isoformat() + " " + incident.kind: incident for incident in Incident.objects.all()}


def get(client, path: str, **params):
    response = client.get(f"{API}/{path}/", params)
    assert response.status_code == 200, response.content
    return response.json()


def test_on_the_seed_the_february_strike_held_six_days_the_january_one_five_and_the_march_overflight_is_open(
    client, seed
):
    body = get(client, "deterrence")

    windows = {w["incident"]: w for w in body["windows"]}
    abu_kamal = windows[seed["2021-02-25 air_strike"].pk]
    assert (abu_kamal["days"], abu_kamal["censored"]) == (6, False)
    assert abu_kamal["next_attack"] == seed["2021-03-03 rocket_attack"].pk
    soleimani = windows[seed["2020-01-03 drone_strike"].pk]
    assert (soleimani["days"], soleimani["censored"]) == (5, False)
    assert soleimani["next_attack"] == seed["2020-01-08 ballistic_missile_strike"].pk
    overflight = windows[seed["2021-03-07 show_of_force"].pk]
    assert (overflight["next_attack"], overflight["censored"], overflight["days"]) == (None, True, 0)
    assert body["censored_at"] == "2021-03-07"
    # The January 2021 overflight was answered by the Erbil rockets, 19 days on.
    assert windows[seed["2021-01-27 show_of_force"].pk]["days"] == 19
    # Three strikes and two overflights: too few for a median, said so instead of a number.
    summary = {s["kind"]: s for s in body["summary"]}
    assert {kind: s["n"] for kind, s in summary.items()} == {"air_strike": 3, "drone_strike": 1, "show_of_force": 2}
    for kind in summary.values():
        assert kind["status"] == "insufficient data"
        assert kind["median_days"] == {"n": kind["n"], "status": "insufficient data", "value": None, "low": None,
                                       "high": None}  # fmt: skip
        assert kind["curve"] == []


def test_on_the_seed_before_and_after_the_february_strike_counts_the_militias_attacks_on_us_forces(client, seed):
    strike = seed["2021-02-25 air_strike"]

    body = get(client, "before-after", incident=strike.pk, days=14)

    assert body["before"] == {"start": "2021-02-11", "end": "2021-02-24", "days": 14, "attacks": 1}  # Erbil
    # The data end on 7 March, so the window after is cut to 10 days; it holds the Ayn al-Asad rockets.
    assert body["after"] == {"start": "2021-02-26", "end": "2021-03-07", "days": 10, "attacks": 1}
    assert body["rate_ratio"]["status"] == "insufficient data"
    assert body["rate_ratio"]["n"] == 2
    assert [side["key"] for side in body["targeted_sides"]] == ["iran-and-aligned"]
    assert any("cut to 10" in warning for warning in body["warnings"])


def test_on_the_seed_the_january_2020_chain_climbs_the_ladder_and_flags_the_first_ballistic_missile(client, seed):
    missiles = seed["2020-01-08 ballistic_missile_strike"]

    body = get(client, "escalation", incident=missiles.pk)

    steps = body["steps"]
    assert [s["kind"] for s in steps] == ["rocket_attack", "air_strike", "drone_strike", "ballistic_missile_strike"]
    # K-1: a contractor killed (4); the US strikes: 25 killed (5); Soleimani: 10 killed (5); the missiles: TBI (3).
    assert [s["level"] for s in steps] == [4, 5, 5, 3]
    assert [s["change"] for s in steps] == [None, "up", "same", "down"]
    # The seed starts at K-1, so its first rocket attack and death there are the first the data know.
    assert steps[0]["flags"] == [
        "first_fatality_in_chain", "first_kind_at_base", "first_fatality_at_base", "first_kind_in_dyad"
    ]  # fmt: skip
    assert {"first_kind_in_chain", "first_kind_at_base", "first_kind_in_dyad"} <= set(steps[3]["flags"])
    assert "first ballistic missile strike against Ayn al-Asad Air Base" in steps[3]["notes"]
    assert steps[3]["answers"] == [seed["2020-01-03 drone_strike"].pk]
    assert (body["n"], body["up"], body["down"], body["same"], body["highest"]) == (4, 1, 1, 1, 5)
    assert [level["level"] for level in body["ladder"]] == [0, 1, 2, 3, 4, 5]


def test_drafts_never_shape_an_answer(client, editor_api, seed):
    strike = seed["2021-02-25 air_strike"]
    # A draft attack the day after the strike would end its window at one day if it counted.
    draft = IncidentFactory(occurred_on=dt.date(2021, 2, 26), kind="rocket_attack", status=Incident.Status.DRAFT)
    militias, us = Actor.objects.get(slug="iran-backed-iraqi-militias"), Actor.objects.get(slug="united-states")
    InvolvementFactory(incident=draft, actor=militias, role=Involvement.Role.ATTACKER)
    InvolvementFactory(incident=draft, actor=us, role=Involvement.Role.TARGET)

    for api in (client, editor_api):
        windows = {w["incident"]: w for w in get(api, "deterrence")["windows"]}
        assert windows[strike.pk]["days"] == 6
        refused = api.get(f"{API}/before-after/", {"incident": draft.pk})
        assert refused.status_code == 400
        assert "incident" in refused.json()["errors"]


@pytest.mark.django_db(transaction=True)
def test_after_a_change_the_unfiltered_answers_are_computed_before_the_first_visitor_asks(client, seed, monkeypatch):
    # A day more of data: the 7 March overflight's open window now runs to 8 March.
    IncidentFactory(occurred_on=dt.date(2021, 3, 8), kind="statement")
    # The data version is the committed data's, which this test's own writes do not move: a task an earlier test
    # (or the seed) left the session's worker must not commit a change between the answers computed here and the
    # two warmings below (CI once saw the worker write the seed's suggestions in between), and answers warmed for
    # the same committed data by an earlier test (the worker warms after every refresh) are the change's to
    # replace, as a committed write would have made them stale.
    wait_for_quiet_database()
    fresh = {endpoint: json.loads(json.dumps(answer())) for endpoint, answer in analytics.DEFAULT_ANSWERS.items()}
    # The space-time panel's first pair is the lags panel's: the pair with the most answers.
    first, answering = analytics.default_pair(fresh["response-lags"])
    assert (first, answering) == ("iran-and-aligned", "us-and-partners")
    table = json.loads(json.dumps(analytics.space_time(analytics.published(), first=first, answering=answering)))
    space_time_key = answer_key("space-time", analytics.spacetime.canonical_query(first=first, answering=answering))
    changed_at = data_changed_at()
    cache.delete_many([answer_key(endpoint, "") for endpoint in analytics.DEFAULT_ANSWERS] + [space_time_key])

    assert tasks.warm_analytics() == ["deterrence", "response-lags", "surges", "space-time"]
    again = tasks.warm_analytics()
    # safe to run twice: what is there is not computed again
    assert again == [], {
        "data changed at": (changed_at, data_changed_at()),
        "stored for": {endpoint: (cache.get(answer_key(endpoint, "")) or [None])[0] for endpoint in again},
    }

    def refuse(*args, **kwargs):
        raise AssertionError("computed while the visitor waited")

    for name in ("deterrence", "response_lags", "surges_answer", "space_time"):
        monkeypatch.setattr(analytics, name, refuse)
    for endpoint, body in fresh.items():
        assert get(client, endpoint) == body
    # The space-time table as the view asks for it, with its bands spelt out, and in another order: the one warmed.
    bands = {"km": "1,5,10,25", "days": "1,3,7,14,30", "permutations": "199"}
    assert get(client, "space-time", first=first, answering=answering, **bands) == table
    assert get(client, "space-time", permutations="199", answering=answering, first=first) == table
    windows = {w["incident"]: w for w in fresh["deterrence"]["windows"]}
    overflight = windows[seed["2021-03-07 show_of_force"].pk]
    assert (overflight["days"], overflight["censored"]) == (1, True)


@pytest.mark.parametrize(
    ("path", "params", "parameter"),
    [
        ("before-after", {}, "incident"),
        ("before-after", {"incident": "999999"}, "incident"),
        ("before-after", {"incident": "abc"}, "incident"),
        ("before-after", {"incident": "{id}", "days": "0"}, "days"),
        ("before-after", {"incident": "{id}", "days": "-3"}, "days"),
        ("before-after", {"incident": "{id}", "days": "100000"}, "days"),
        ("before-after", {"incident": "{id}", "days": "1" * 400}, "days"),
        ("escalation", {"incident": "0"}, "incident"),
        ("escalation", {"incident": "99999999999999999999999"}, "incident"),
        ("response-lags", {"window": "0"}, "window"),
        ("response-lags", {"window": "366"}, "window"),
        ("response-lags", {"window": "a week"}, "window"),
        ("surges", {"scope": "country"}, "scope"),
        ("deterrence", {"days": "14"}, "days"),
        ("deterrence", {"kind": "bombing"}, "kind"),
        ("surges", {"start": "2021-03-01", "end": "2021-01-01"}, "end"),
    ],
)
def test_bad_input_is_a_400_naming_the_parameter(client, path, params, parameter):
    incident = IncidentFactory()
    params = {name: value.replace("{id}", str(incident.pk)) for name, value in params.items()}

    response = client.get(f"{API}/{path}/", params)

    assert response.status_code == 400, response.content
    assert list(response.json()["errors"]) == [parameter]


def side_actor(slug: str):
    from posture.models import Side

    side = Side.objects.create(name=slug.title(), slug=slug)
    return ActorFactory(slug=f"{slug}-actor", side=side)


def attack(day: dt.date, attacker, target, *, kind="rocket_attack", base=None) -> Incident:
    incident = IncidentFactory(occurred_on=day, kind=kind, base=base, status=Incident.Status.PUBLISHED)
    InvolvementFactory(incident=incident, actor=attacker, role=Involvement.Role.ATTACKER)
    InvolvementFactory(incident=incident, actor=target, role=Involvement.Role.TARGET)
    return incident


def test_a_week_with_twice_the_mean_of_the_previous_four_is_a_surge_for_the_side_and_the_base(client):
    militia, us = side_actor("militia"), side_actor("us")
    tower = BaseFactory(name="Tower 22")
    monday = dt.date(2024, 1, 1)
    # One attack a week for six weeks, then four in the seventh (4 >= 2 x 1): a surge; three in the eighth is
    # not (the mean of the four before it is 1.75).
    for week in range(6):
        attack(monday + dt.timedelta(weeks=week), militia, us, base=tower)
    for day in range(4):
        attack(monday + dt.timedelta(weeks=6, days=day), militia, us, base=tower)
    for day in range(3):
        attack(monday + dt.timedelta(weeks=7, days=day), militia, us, base=tower)

    body = get(client, "surges")

    found = [(s["scope"], s["label"], s["week"], s["count"], s["previous_mean"]) for s in body["surges"]]
    assert found == [
        ("base", "Tower 22", "2024-02-12", 4, 1.0),
        ("side", "Militia", "2024-02-12", 4, 1.0),
    ]
    ratio = body["surges"][0]["ratio"]
    assert ratio["value"] == 4.0
    assert ratio["low"] < 4.0 < ratio["high"]
    assert ratio["n"] == 8
    assert [s["scope"] for s in get(client, "surges", scope="base")["surges"]] == ["base"]
    # Filtered to the first five weeks there is nothing to surge against.
    assert get(client, "surges", end="2024-02-04")["surges"] == []


@pytest.fixture
def planted_cycles():
    planted = planting.generate(seed=7)
    ids = planting.load(planted)
    by_key = {incident.key: incident for incident in planted.incidents}
    from posture.models import Source

    source = Source.objects.get(publisher="Planted")
    links = IncidentLink.objects.bulk_create(
        IncidentLink(incident_id=ids[child], prior_id=ids[parent], relation="response_to", asserted_by="planted")
        for child, parent in planted.parents.items()
    )
    IncidentLink.sources.through.objects.bulk_create(
        IncidentLink.sources.through(incidentlink_id=link.pk, source_id=source.pk) for link in links
    )
    return planted, ids, by_key


def test_on_planted_cycles_the_ci_of_the_lag_median_covers_the_planted_median(client, planted_cycles):
    planted, _, _ = planted_cycles

    body = get(client, "response-lags", window=30)

    pairs = {(p["first"]["key"], p["answering"]["key"]): p for p in body["pairs"]}
    a_to_b = pairs[("planted-a", "planted-b")]
    median = a_to_b["links"]["median"]
    assert median["status"] == "ok"
    assert a_to_b["links"]["count"] == sum(1 for c, p in planted.parents.items() if c.startswith("b"))
    assert median["low"] <= planted.lag_median() <= median["high"]
    assert sum(b["count"] for b in a_to_b["links"]["bins"]) == a_to_b["links"]["count"]
    # Answers that follow attacks are more than chance, and the unrelated sides are never paired with them.
    assert a_to_b["baseline"]["verdict"] == "more than chance"
    assert ("planted-a", "planted-c") not in pairs


def planted_windows(planted) -> tuple[list[int], list[bool]]:
    """The deterrence windows computed by hand from the planted incidents: A's air strikes until B's next
    attack (a rocket attack) on A, censored at the last day."""
    last = max(i.day for i in planted.incidents)
    b_days = sorted(i.day for i in planted.incidents if i.side == "b")
    days, observed = [], []
    for strike in (i for i in planted.incidents if i.side == "a"):
        later = [d for d in b_days if d > strike.day]
        days.append((later[0] if later else last) - strike.day)
        observed.append(bool(later))
    return days, observed


def test_on_planted_data_the_kaplan_meier_median_is_lifelines_on_the_planted_windows(client, planted_cycles):
    planted, _, _ = planted_cycles
    days, observed = planted_windows(planted)
    direct = KaplanMeierFitter().fit(days, observed)
    direct_ci = median_survival_times(direct.confidence_interval_).iloc[0]

    body = get(client, "deterrence")

    strikes = next(s for s in body["summary"] if s["kind"] == "air_strike")
    assert (strikes["n"], strikes["attacks"]) == (len(days), sum(observed))
    assert strikes["median_days"]["value"] == direct.median_survival_time_
    assert (strikes["median_days"]["low"], strikes["median_days"]["high"]) == tuple(direct_ci)
    assert strikes["held"]["7"]["value"] == pytest.approx(float(direct.predict(7)), abs=1e-4)
    assert sorted(w["days"] for w in body["windows"]) == sorted(days)


def test_with_independent_streams_the_baseline_says_no_more_than_chance_nine_times_in_ten(client):
    """Twenty seeds on arrays (chance_baseline on each pair's dates), in seconds; the first also through
    PostgreSQL and HTTP, whose baselines must be those of the arrays to the last digit."""

    def baselines(generated: planting.Planted, pairs: list[tuple[str, str]], *, window: int, bin_days: int):
        def days(attacker: str, target: str) -> np.ndarray:
            # As the endpoint reads them: in id order, which is the planted order (only differences matter).
            return np.asarray([i.day for i in generated.incidents if (i.side, i.target) == (attacker, target)])

        return [
            analytics.chance_baseline(days(first, answering), days(answering, first), window=window, bin_days=bin_days)
            for first, answering in pairs
        ]

    first = planting.generate(seed=1, answers=False)
    planting.load(first)
    body = get(client, "response-lags")
    pairs = [
        (p["first"]["key"].removeprefix("planted-"), p["answering"]["key"].removeprefix("planted-"))
        for p in body["pairs"]
    ]
    assert sorted(pairs) == [("a", "b"), ("b", "a"), ("c", "d"), ("d", "c")]  # a and b both ways, c and d both ways
    computed = baselines(first, pairs, window=body["window"], bin_days=body["bin_days"])
    assert [p["baseline"] for p in body["pairs"]] == json.loads(json.dumps(computed, default=float))

    verdicts = [
        baseline["verdict"]
        for seed in range(1, 21)
        for baseline in baselines(
            planting.generate(seed=seed, answers=False), pairs, window=body["window"], bin_days=body["bin_days"]
        )
    ]
    share = verdicts.count("no more than chance") / len(verdicts)
    assert share >= 0.9, verdicts


def test_the_bootstrap_median_ci_and_the_rate_ratio_on_known_numbers():
    # The example: 5 attacks after, 2 before, over equal windows.
    ratio = analytics.rate_ratio(5, 2, days_after=14, days_before=14)
    assert ratio["value"] == 2.5
    assert ratio["low"] == pytest.approx(0.409, abs=0.001)
    assert ratio["high"] == pytest.approx(26.3, abs=0.1)
    # No attacks before: the ratio is unbounded above, and its lower bound still says something.
    unbounded = analytics.rate_ratio(6, 0, days_after=14, days_before=14)
    assert (unbounded["value"], unbounded["high"]) == (None, None)
    assert unbounded["low"] > 1
    low, high, _ = analytics.median_ci(np.arange(1, 101, dtype=float))
    assert low < 50.5 < high


@pytest.fixture
def receiver():
    server = WebhookReceiver()
    yield server
    server.close()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_surge_is_a_webhook_alert_to_the_subscriptions_that_ask_for_it_sent_once(celery_worker, editor_api, receiver):
    militia, us = side_actor("militia"), side_actor("us")
    tower = BaseFactory(name="Tower 22", location=Point(38.77, 33.32, srid=4326))
    far = BaseFactory(name="Far away", location=Point(47.0, 30.5, srid=4326))
    everything = Subscription.objects.create(name="All surges", url=receiver.url + "all", notify_incidents=False,
                                             notify_surges=True)  # fmt: skip
    near = Subscription.objects.create(name="Tower 22", url=receiver.url + "near", notify_incidents=False,
                                       notify_surges=True, base=tower, within_km=50)  # fmt: skip
    elsewhere = Subscription.objects.create(name="Elsewhere", url=receiver.url + "far", notify_incidents=False,
                                            notify_surges=True, base=far, within_km=10)  # fmt: skip
    incidents_only = Subscription.objects.create(name="Incidents", url=receiver.url + "incidents")
    monday = dt.date(2024, 1, 1)
    for week in range(6):  # one attack a week
        attack(monday + dt.timedelta(weeks=week), militia, us, base=tower)
    for day in range(2):
        attack(monday + dt.timedelta(weeks=6, days=day), militia, us, base=tower)
    source = SourceFactory()

    def publish(day: str) -> int:
        actors = [{"role": "attacker", "slug": militia.slug}, {"role": "target", "slug": us.slug}]
        body = feature(source, occurred_on=day, base=tower.pk, status="published", actors=actors)
        response = editor_api.post("/api/v1/incidents/", body, format="json")
        assert response.status_code == 201, response.content
        wait_for_quiet_database()  # the surges are counted after the commit, in the worker
        return response.json()["id"]

    # The third attack of the week (3 >= 2 x 1): a surge for the militia and for Tower 22.
    third = publish("2024-02-14")

    surges = {(s.scope, s.label): s for s in SurgeAlert.objects.all()}
    assert set(surges) == {("side", "Militia"), ("base", "Tower 22")}
    assert {(s.week, s.count, s.previous) for s in surges.values()} == {(dt.date(2024, 2, 12), 3, 4)}
    sent = Delivery.objects.exclude(surge=None)
    assert sorted((d.subscription.name, d.surge.scope) for d in sent) == [
        ("All surges", "base"), ("All surges", "side"), ("Tower 22", "base")
    ]  # fmt: skip
    assert not Delivery.objects.filter(subscription=elsewhere).exists()
    assert list(Delivery.objects.filter(subscription=incidents_only).values_list("incident", flat=True)) == [third]
    wait_until(lambda: not Delivery.objects.exclude(status=Delivery.Status.DELIVERED).exists(), "the deliveries")
    alerts = [r for r in receiver.received if r.headers["X-Posture-Event"] == "surge.detected"]
    assert sorted(r.path for r in alerts) == ["/all", "/all", "/near"]
    for request in alerts:
        subscription = everything if request.path == "/all" else near
        expected = "sha256=" + hmac.new(subscription.secret.encode(), request.body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(expected, request.headers["X-Posture-Signature"])
    base_alert = next(r.json() for r in alerts if r.path == "/near")
    assert base_alert["event"] == "surge.detected"
    surge = base_alert["surge"]
    assert (surge["scope"], surge["label"], surge["week"], surge["count"], surge["previous_mean"]) == (
        "base", "Tower 22", "2024-02-12", 3, 1.0
    )  # fmt: skip
    assert surge["ratio"]["value"] == 3.0
    assert surge["api_path"] == f"/api/v1/analytics/surges/?start=2024-01-15&end=2024-02-18&base={tower.pk}&scope=base"

    # A fourth attack the same week surges no more: each surge is announced once.
    publish("2024-02-15")
    assert Delivery.objects.exclude(surge=None).count() == 3
    assert SurgeAlert.objects.count() == 2


def test_the_surges_ratios_computed_together_are_those_computed_one_by_one():
    found = [
        analytics.Surge("side", "x", "X", dt.date(2024, 1, 1), count, previous)
        for count, previous in [(3, 0), (4, 4), (9, 10), (30, 2), (3, 1)]
    ]
    together = analytics.surge_dicts(found)
    for surge, shown in zip(found, together, strict=True):
        assert shown["ratio"] == pytest.approx(surge.ratio())
