"""The space-time table (Knox test): a planted near-repeat effect found, independent streams left alone, the counts
pointpats' Knox gives on the same points, and the endpoint end to end through PostgreSQL and HTTP."""

from __future__ import annotations

import numpy as np
import pytest

from bench import planted as planting
from events.cycles import analytics
from events.cycles.analytics import spacetime, stats

API = "/api/v1/analytics/space-time/"
KM, DAYS = (1, 5, 10, 25), (1, 3, 7, 14, 30)


def arrays(planted) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Days, sphere points, and the indexes of side A's acts and side B's attacks."""
    incidents = planted.incidents
    days = np.asarray([i.day for i in incidents])
    points = stats.sphere_points(np.asarray([[i.lon, i.lat] for i in incidents]))
    acts = np.flatnonzero([i.side == "a" for i in incidents])
    attacks = np.flatnonzero([i.side == "b" for i in incidents])
    return days, points, acts, attacks


def table(planted, *, km=KM, days=DAYS, permutations=199, seed=1) -> list[dict]:
    dates, points, acts, attacks = arrays(planted)
    i, j, distance = stats.pairs_within(points[acts], points[attacks], km[-1])
    return stats.knox_cells(dates, acts[i], attacks[j], distance, km, days, permutations=permutations, seed=seed)[
        "cells"
    ]


def test_half_of_the_acts_answered_within_5_km_and_3_days_is_the_cell_that_stands_out():
    planted = planting.near_repeats(seed=3, acts=400, attacks=2000, answered=0.5, within_km=5, within_days=3)

    cells = table(planted, km=(5, 10, 25), days=(3, 7, 14, 30))

    planted_cell = cells[0]
    assert (planted_cell["km_from"], planted_cell["km_to"], planted_cell["days_from"], planted_cell["days_to"]) == (
        0.0,
        5.0,
        1,
        3,
    )
    assert planted_cell["ratio"] > 1
    assert planted_cell["p_value"] < 0.05
    # Half of the 400 acts answered: at least the planted answers are observed, over what the shuffles give.
    assert planted_cell["observed"] >= sum(1 for i in planted.incidents if i.parent) > 150
    # The default bands split it: the cells within 5 km and 3 days that hold enough pairs stand out too.
    for cell in table(planted):
        if cell["km_to"] <= 5 and cell["days_to"] <= 3 and cell["status"] == "ok":
            assert cell["ratio"] > 1, cell
            assert cell["p_value"] < 0.05, cell


def test_on_independent_streams_no_cell_is_significant_at_1_percent_in_nine_seeds_of_ten():
    clean = 0
    for seed in range(100):
        planted = planting.near_repeats(seed=seed, acts=150, attacks=600, answered=0)
        cells = table(planted, seed=seed)
        clean += not any(c["p_value"] is not None and c["p_value"] < 0.01 for c in cells)

    assert clean >= 90


def test_the_observed_counts_are_pointpats_knox_counts_on_the_same_points():
    spacetime = pytest.importorskip("pointpats.spacetime", reason="pointpats is a test dependency")
    planted = planting.near_repeats(seed=5, acts=120, attacks=400, answered=0.5)
    dates, points, acts, attacks = arrays(planted)

    def knox(members: np.ndarray, km: float, days: int) -> int:
        """pointpats' count of unordered pairs at most km apart (the chord of that arc) and days apart."""
        chord = 2 * stats.EARTH_KM * np.sin(km / (2 * stats.EARTH_KM))
        return spacetime.Knox(points[members], dates[members, None], delta=chord, tau=days, permutations=0).nst

    def ours(first: np.ndarray, answering: np.ndarray, km: float, days: int) -> int:
        i, j, distance = stats.pairs_within(points[first], points[answering], km)
        cells = stats.knox_cells(dates, first[i], answering[j], distance, [km], [days], permutations=1, seed=0)
        return cells["cells"][0]["observed"]

    both = np.concatenate([acts, attacks])
    for km, days in [(1, 1), (5, 3), (10, 7), (25, 30)]:
        # pointpats counts every pair of one set: the pairs of an act and an attack are those of both sets less
        # those within each, and the pairs 1 to `days` apart those within `days` less the same-day ones.
        def cross(tau: int, km=km) -> int:
            return knox(both, km, tau) - knox(acts, km, tau) - knox(attacks, km, tau)

        expected = cross(days) - cross(0)
        # Ours is directed (the attack after the act); both directions together are pointpats' pairs.
        assert ours(acts, attacks, km, days) + ours(attacks, acts, km, days) == expected, (km, days)


def test_the_table_names_its_bands_and_says_insufficient_data_below_its_n():
    few = planting.near_repeats(seed=1, acts=5, attacks=5, answered=0)
    dates, points, acts, attacks = arrays(few)
    i, j, distance = stats.pairs_within(points[acts], points[attacks], 25)

    cells = stats.knox_cells(dates, acts[i], attacks[j], distance, KM, DAYS, permutations=19, seed=1)["cells"]

    assert [(c["km_from"], c["km_to"]) for c in cells[:: len(DAYS)]] == [(0, 1), (1, 5), (5, 10), (10, 25)]
    assert [(c["days_from"], c["days_to"]) for c in cells[: len(DAYS)]] == [(1, 1), (2, 3), (4, 7), (8, 14), (15, 30)]
    assert all(c["status"] == "insufficient data" and c["ratio"] is None for c in cells if c["observed"] < 1)


@pytest.mark.django_db
def test_the_endpoint_counts_the_planted_pairs_from_postgresql_and_answers_the_same_twice(client):
    planted = planting.near_repeats(seed=11, acts=60, attacks=240, answered=0.6, region_km=40)
    planting.load(planted)

    response = client.get(API, {"first": "planted-a", "answering": "planted-b", "permutations": 99})

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["n_first"], body["n_answering"], body["unplaced"]) == (60, 240, 0)
    assert body["status"] == "ok"
    assert body["permutations"] == 99
    assert len(body["cells"]) == len(KM) * len(DAYS)
    # The counts are the arrays' on the same points, so PostgreSQL's reading of the events changed nothing.
    direct = table(planted, permutations=1)
    assert [c["observed"] for c in body["cells"]] == [c["observed"] for c in direct]
    within = [c for c in body["cells"] if c["km_to"] <= 5 and c["days_to"] <= 3 and c["status"] == "ok"]
    assert within
    assert all(c["ratio"] > 1 for c in within)
    assert body["reading"].startswith("Within ")
    # Seeded by the data: the same answer, and the same ETag, again.
    again = client.get(API, {"first": "planted-a", "answering": "planted-b", "permutations": 99})
    assert again.json() == body
    assert again["ETag"] == response["ETag"]


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"answering": "planted-b"}, "first"),
        ({"first": "planted-a"}, "answering"),
        ({"first": "planted-a", "answering": "planted-a"}, "answering"),
        ({"first": "nobody", "answering": "planted-b"}, "first"),
        ({"first": "planted-a", "answering": "planted-b", "km": "5,1"}, "km"),
        ({"first": "planted-a", "answering": "planted-b", "km": "1,2,3,4,5,6,7,8,9"}, "km"),
        ({"first": "planted-a", "answering": "planted-b", "km": "501"}, "km"),
        ({"first": "planted-a", "answering": "planted-b", "days": "0,3"}, "days"),
        ({"first": "planted-a", "answering": "planted-b", "days": "366"}, "days"),
        ({"first": "planted-a", "answering": "planted-b", "days": "1.5"}, "days"),
        ({"first": "planted-a", "answering": "planted-b", "permutations": "1000"}, "permutations"),
    ],
)
@pytest.mark.django_db
def test_bad_input_is_a_400_naming_the_parameter(client, params, parameter):
    planting.load(planting.near_repeats(seed=1, acts=3, attacks=3))

    response = client.get(API, params)

    assert response.status_code == 400, response.content
    assert list(response.json()["errors"]) == [parameter]


@pytest.mark.django_db
def test_a_table_with_more_pairs_than_a_worker_can_hold_is_a_400_naming_km_and_its_count(client, monkeypatch):
    planted = planting.near_repeats(seed=11, acts=60, attacks=240, answered=0.6, region_km=40)
    planting.load(planted)
    _, points, acts, attacks = arrays(planted)
    i, _, _ = stats.pairs_within(points[acts], points[attacks], 25)
    # The bound one pair below what the default bands list: refused, and the count named.
    monkeypatch.setattr(spacetime, "MAX_SPACETIME_PAIRS", len(i) - 1)

    response = client.get(API, {"first": "planted-a", "answering": "planted-b", "permutations": 9})

    assert response.status_code == 400, response.content
    (message,) = response.json()["errors"]["km"]
    assert f"{len(i):,} pairs" in message
    assert "smaller `km` edges" in message
    # Within 10 km the pairs are fewer: the same request with smaller edges is counted.
    fewer = client.get(API, {"first": "planted-a", "answering": "planted-b", "permutations": 9, "km": "1,5,10"})
    assert fewer.status_code == 200, fewer.content
    assert sum(c["observed"] for c in fewer.json()["cells"]) > 0


def test_the_pairs_are_counted_before_they_are_listed_and_the_count_is_theirs():
    rng = np.random.default_rng(4)
    a = stats.sphere_points(np.column_stack([rng.uniform(43, 44, 300), rng.uniform(33, 34, 300)]))
    b = stats.sphere_points(np.column_stack([rng.uniform(43, 44, 900), rng.uniform(33, 34, 900)]))
    for km in (0.5, 5, 25, 150):
        assert stats.count_within(a, b, km) == len(stats.pairs_within(a, b, km)[0])
    assert stats.count_within(a[:0], b, 25) == 0


@pytest.mark.django_db
def test_the_worker_leaves_a_table_too_large_to_warm_to_the_visitors_400(client, monkeypatch, caplog):
    planting.load(planting.near_repeats(seed=11, acts=60, attacks=240, answered=0.6, region_km=40))
    first, answering = analytics.default_pair(analytics.response_lags(analytics.published()))
    monkeypatch.setattr(spacetime, "MAX_SPACETIME_PAIRS", 10)

    computed = analytics.warm_default_answers()

    assert "space-time" not in computed
    assert "response-lags" in computed
    assert "space-time table not warmed" in caplog.text
    assert client.get(API, {"first": first, "answering": answering}).status_code == 400
