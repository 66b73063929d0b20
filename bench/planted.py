"""Incidents with planted answers: who answers whom, and after how long, is known, so suggestions and the
cycle analytics can be checked against it (tests/test_suggestions.py) and timed (bench/suggestions_bench.py).

Two sides, A and B, attack each other: A starts an exchange now and then (a Poisson process), and each
attack is answered by the side it hit with probability `answer_probability`, after a lag drawn from a known
distribution (ceil of a gamma with shape LAG_SHAPE and scale `lag_scale` days), near where it was hit. So
there are chains (A, B, A, …), attacks nobody answers, and the B attacks that start exchanges of their own.
Beside them, two unrelated sides C and D do the same among themselves. With `answers=False` every side
attacks at the same rates, but nobody answers anybody: independent streams, where any pairing is chance.

    planted = generate(seed=1)
    ids = load(planted)          # into the current database: sides, actors, incidents, involvements, sources
    planted.parents              # incident key -> the key of the attack it answers
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass, field

LAG_SHAPE = 2  # an integer shape, so the distribution function has a closed form (lag_median)
REGION = (38.0, 48.0, 30.0, 37.0)  # lon, lat: Syria and Iraq, about 950 × 780 km
START = dt.date(2022, 1, 1)
DATASET = "planted"
KINDS = {"a": "air_strike", "b": "rocket_attack", "c": "armed_clash", "d": "ied"}
ENEMY = {"a": "b", "b": "a", "c": "d", "d": "c"}


@dataclass
class PlantedIncident:
    key: str
    day: int  # days after START
    side: str  # the attacking side: a, b, c or d
    lon: float
    lat: float
    casualties: int
    parent: str | None = None  # the key of the attack it answers

    @property
    def target(self) -> str:
        return ENEMY[self.side]

    @property
    def occurred_on(self) -> dt.date:
        return START + dt.timedelta(days=self.day)


@dataclass
class Planted:
    incidents: list[PlantedIncident]
    lag_scale: float
    days: int
    answers: bool
    parents: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.parents = {i.key: i.parent for i in self.incidents if i.parent}

    def lags(self) -> list[int]:
        by_key = {i.key: i for i in self.incidents}
        return [by_key[child].day - by_key[parent].day for child, parent in self.parents.items()]

    def lag_median(self) -> int:
        """The median of the planted lag distribution: the smallest m with P(ceil(G) <= m) >= 1/2."""
        m = 1
        while 1 - math.exp(-m / self.lag_scale) * (1 + m / self.lag_scale) < 0.5:
            m += 1
        return m


def generate(
    seed: int,
    *,
    days: int = 720,
    answers: bool = True,
    start_rate: float = 1 / 8,
    answer_probability: float = 0.6,
    lag_scale: float = 2.5,
    spread_km: float = 60.0,
) -> Planted:
    """Start rates are per day: A starts an exchange every 8 days on average, B every 40, and C and D
    between them as A and B do. With answers=False, every side attacks at A's rate plus what the answers
    would have added (start_rate / (1 - answer_probability)), answering nobody."""
    rng = random.Random(seed)
    incidents: list[PlantedIncident] = []
    counter = iter(range(1, 10**9))

    def place() -> tuple[float, float]:
        return rng.uniform(REGION[0], REGION[1]), rng.uniform(REGION[2], REGION[3])

    def casualties() -> int:
        return 0 if rng.random() < 0.6 else int(rng.expovariate(1 / 5)) + 1

    def poisson_days(rate: float) -> list[int]:
        out, t = [], rng.expovariate(rate)
        while t < days:
            out.append(int(t))
            t += rng.expovariate(rate)
        return out

    def attack(side: str, day: int, lon: float, lat: float, parent: PlantedIncident | None) -> None:
        incident = PlantedIncident(
            f"{side}{next(counter)}", day, side, lon, lat, casualties(), parent.key if parent else None
        )
        incidents.append(incident)
        if not answers or rng.random() >= answer_probability:
            return  # left unanswered
        lag = max(1, math.ceil(rng.gammavariate(LAG_SHAPE, lag_scale)))
        if day + lag >= days:
            return
        # The answer comes near where the attack struck: degrees of about 100 km.
        dlon, dlat = rng.gauss(0, spread_km / 100), rng.gauss(0, spread_km / 100)
        attack(
            incident.target,
            day + lag,
            min(max(lon + dlon, REGION[0]), REGION[1]),
            min(max(lat + dlat, REGION[2]), REGION[3]),
            incident,
        )

    rates = {"a": start_rate, "b": start_rate / 5, "c": start_rate, "d": start_rate / 5}
    if not answers:
        rates = {side: rate / (1 - answer_probability) for side, rate in rates.items()}
    for side, rate in rates.items():
        for day in poisson_days(rate):
            attack(side, day, *place(), None)
    incidents.sort(key=lambda i: (i.day, i.key))
    return Planted(incidents, lag_scale, days, answers)


def near_repeats(
    seed: int,
    *,
    acts: int = 400,
    attacks: int = 2000,
    days: int = 480,
    answered: float = 0.5,
    within_km: float = 5.0,
    within_days: int = 3,
    region_km: float = 100.0,
    origin: tuple[float, float] = (44.0, 33.0),
) -> Planted:
    """A dense space-time file with a planted answer: side A's acts and side B's attacks (air strikes and rocket
    attacks, as KINDS says) scattered over a square of `region_km` around `origin` and over `days`, and `answered`
    of A's acts answered by a B attack within `within_km` (uniform over the disc) and 1 to `within_days` days
    later (uniform). Every other attack is independent of everything. With answered=0, independent streams."""
    rng = random.Random(seed)
    km_per_degree = 111.195
    scale_lon = km_per_degree * math.cos(math.radians(origin[1]))

    def place() -> tuple[float, float]:
        x, y = rng.uniform(0, region_km), rng.uniform(0, region_km)
        return origin[0] + x / scale_lon, origin[1] + y / km_per_degree

    incidents = []
    for k in range(acts):
        lon, lat = place()
        incidents.append(PlantedIncident(f"a{k}", rng.randrange(days), "a", lon, lat, 0))
    answers = 0
    for act in list(incidents):
        if rng.random() >= answered or act.day + within_days >= days:
            continue
        r, angle = within_km * math.sqrt(rng.random()), rng.uniform(0, 2 * math.pi)
        lon = act.lon + r * math.cos(angle) / (km_per_degree * math.cos(math.radians(act.lat)))
        lat = act.lat + r * math.sin(angle) / km_per_degree
        day = act.day + rng.randint(1, within_days)
        incidents.append(PlantedIncident(f"b{answers}", day, "b", lon, lat, 0, parent=act.key))
        answers += 1
    for k in range(answers, attacks):
        lon, lat = place()
        incidents.append(PlantedIncident(f"b{k}", rng.randrange(days), "b", lon, lat, 0))
    incidents.sort(key=lambda i: (i.day, i.key))
    return Planted(incidents, lag_scale=within_days / 2, days=days, answers=answered > 0)


def load(planted: Planted, *, dataset: str = DATASET) -> dict[str, int]:
    """Write the planted incidents into the current database, published, each side's attackers and targets
    an actor of a Side "planted-<x>", under `dataset` (several generations can sit side by side); returns
    incident key -> id. Sides come from the triggers, as for any write; suggestions are left to the caller
    (events.cycles.suggestions.refresh_suggestions)."""
    from django.contrib.gis.geos import Point
    from django.db import connection, transaction

    from events.models import Incident, Involvement
    from posture.models import Actor, Side, Source

    with transaction.atomic():
        actors = {}
        for side in "abcd":
            team, _ = Side.objects.get_or_create(slug=f"planted-{side}", defaults={"name": f"Planted side {side}"})
            actors[side], _ = Actor.objects.get_or_create(
                slug=f"planted-{side}", defaults={"name": f"Planted actor {side}", "kind": "armed_group", "side": team}
            )
        source, _ = Source.objects.get_or_create(publisher="Planted", title="Generated by bench/planted.py")
        rows = Incident.objects.bulk_create(
            [
                Incident(
                    occurred_on=i.occurred_on,
                    kind=KINDS[i.side],
                    title=f"Planted {i.key}",
                    location=Point(i.lon, i.lat, srid=4326),
                    casualties_best=i.casualties,
                    status=Incident.Status.PUBLISHED,
                    dataset=dataset,
                    external_id=i.key,
                )
                for i in planted.incidents
            ]
        )
        ids = {i.key: row.pk for i, row in zip(planted.incidents, rows, strict=True)}
        Involvement.objects.bulk_create(
            [
                Involvement(incident_id=ids[i.key], actor=actors[side], role=role)
                for i in planted.incidents
                for side, role in ((i.side, Involvement.Role.ATTACKER), (i.target, Involvement.Role.TARGET))
            ]
        )
        Incident.sources.through.objects.bulk_create(
            [Incident.sources.through(incident_id=pk, source_id=source.pk) for pk in ids.values()]
        )
    # As autovacuum would after a load. Inside a test's transaction it never does, and statistics that still
    # say the tables are empty turn the membership tests of analytics (id IN (...)) into nested loops over
    # every pair of rows: one test's twenty loads took over ten minutes.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE events_incident, events_involvement, events_incidentlink")
    return ids
