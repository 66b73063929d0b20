"""The suggestions' bounded refresh on dense data: a candidate that cannot enter an incident's best ten is never
scored, and the suggestions are those of scoring every candidate, to the bit."""

from __future__ import annotations

import pytest
from django.db import connection

from bench import planted as planting
from events.cycles import suggestions as cycles
from events.models import LinkSuggestion

pytestmark = pytest.mark.django_db

FIELDS = ("incident_id", "prior_id", "relation", "lag_days", "distance_km", "score", "rank")


def test_on_dense_data_the_bounded_refresh_keeps_exactly_the_best_ten_of_every_candidate():
    # Nearly one act a day and five attacks: the acts have their floor within three days, the attacks not.
    planting.load(planting.near_repeats(seed=4, acts=300, attacks=2000, days=360))

    cycles.refresh_suggestions()

    with connection.cursor() as cursor:
        # Every candidate of the 30-day window scored and ranked, as before the bound.
        cursor.execute(
            f"SELECT {', '.join(FIELDS[:-2])}, round(score::numeric, 6)::float8, rank"  # noqa: S608
            f" FROM ({cycles.ranked('events_incident')}) AS r WHERE r.rank <= %(per_incident)s",
            cycles._parameters(),
        )
        unbounded = set(cursor.fetchall())
    bounded = set(LinkSuggestion.objects.values_list(*FIELDS))
    assert len(unbounded) > 10_000
    assert bounded == unbounded


def test_the_estimate_pairs_as_the_sql_does_and_is_within_its_margin_of_the_score():
    # What the bound rests on: numpy finds every candidate PAIRS finds, and no other, and its estimate of each
    # score is within MARGIN of PostgreSQL's, relatively. Some incidents unplaced, to estimate those too.
    planting.load(planting.near_repeats(seed=5, acts=200, attacks=1000, days=200))
    with connection.cursor() as cursor:
        cursor.execute("UPDATE events_incident SET location = NULL WHERE id % 7 = 0")
        parameters = cycles._parameters()
        cursor.execute(
            f"SELECT incident_id, prior_id, score FROM ({cycles.ranked('events_incident')}) AS r",  # noqa: S608
            parameters,
        )
        scores = {(i, p): score for i, p, score in cursor.fetchall()}
        found = cycles.estimate(cursor, cycles.ALL, parameters)
    estimated = {}
    for lag in range(1, cycles.WINDOW_DAYS + 1):
        incident, prior = found.pairs(lag)
        pairs = zip(found.ids[incident].tolist(), found.ids[prior].tolist(), strict=True)
        estimated.update(zip(pairs, found.score(lag, incident, prior).tolist(), strict=True))
    assert len(scores) > 10_000
    assert estimated.keys() == scores.keys()
    error = max(abs(estimated[pair] / score - 1) for pair, score in scores.items())
    assert error < cycles.MARGIN / 1000, error
