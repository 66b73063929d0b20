"""Analytics benchmark: the deterrence windows of every strike and show of force, and the surge weeks, ours
against hand-written SQL producing the same rows, measured in the same run.

    .venv/bin/python -m bench.analytics_bench [--n 1000000] [--runs 5]
    BENCH_N=100000 .venv/bin/python -m bench.analytics_bench          # a quick run

Loads N synthetic incidents (bench/synthetic.py, default 1,000,000, or BENCH_N), then times, taking turns:

  deterrence  ours: events.cycles.analytics.deterrence_windows over every published incident (the statement built
              from the incident QuerySet, rows turned into the API's dicts); hand: the same dyad-by-dyad
              window written plainly against the table, rows fetched by psycopg (a LATERAL lookup of each
              action's next attack is no baseline: it scans to the end of the data for every action whose
              targets never answer, and takes minutes at 100,000);
  surges      ours: events.cycles.analytics.surges (weekly counts per side and per base, zero-filled series, a window
              over the previous four weeks, labels, and the ratio's exact CI in Python); hand: the weekly
              counts with the previous four weeks summed by a window over the dates (a week with no incident
              needs no row: it cannot surge), no labels, no intervals.

The outputs are compared first (the same windows; the same surge weeks and counts). Both sides run with JIT
off, as events.cycles.analytics does. Prints medians and the ratios, and writes bench/results/analytics-<time>.json.

Then the space-time table on the dense file of bench/dense_bench.py (--dense-rows, default 70,000; no database):
its 199 permutations (events.cycles.analytics.stats.knox_cells) against a hand-written numpy reference doing the
same counting cell by cell (target: within 1.3x), and against pointpats' Knox on the same points for its one
cell, the widest (25 km, 30 days), timed over a few permutations and scaled to 199 (its permutations are a
Python loop over every event). --only-spacetime runs this part alone.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
from pathlib import Path

import numpy as np

from . import synthetic
from .api_bench import interleaved, setup_django

RESULTS = Path(__file__).resolve().parent / "results"

# The same windows, written plainly: every action and attack spread over its dyads in one sort, the next
# attack found as the least (day, id), packed into one bigint (ids stay below 10^10 here).
HAND_DETERRENCE = """
WITH dyads AS (
    SELECT a.id, a.occurred_on - DATE '1900-01-01' AS day, t.key AS attacker, s.key AS target, false AS is_attack
    FROM events_incident AS a, unnest(a.targeted_sides) AS t(key), unnest(a.attacking_sides) AS s(key)
    WHERE a.status = 'published' AND a.kind = ANY (%(deterrent)s)
    UNION ALL
    SELECT b.id, b.occurred_on - DATE '1900-01-01', x.key, y.key, true
    FROM events_incident AS b, unnest(b.attacking_sides) AS x(key), unnest(b.targeted_sides) AS y(key)
    WHERE b.status = 'published' AND b.kind = ANY (%(attacks)s)
),
ahead AS (
    SELECT id, is_attack, min(day * 10000000000::bigint + id) FILTER (WHERE is_attack) OVER (
        PARTITION BY attacker, target ORDER BY day DESC RANGE BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS next
    FROM dyads
),
per_action AS (SELECT id, min(next) AS next FROM ahead WHERE NOT is_attack GROUP BY id)
SELECT a.id, p.next %% 10000000000,
       coalesce(DATE '1900-01-01' + (p.next / 10000000000)::int,
                (SELECT max(occurred_on) FROM events_incident WHERE status = 'published')) - a.occurred_on,
       p.next IS NULL
FROM per_action AS p JOIN events_incident AS a ON a.id = p.id
ORDER BY a.occurred_on, a.id
"""

HAND_SURGES = """
WITH weekly AS MATERIALIZED (
    SELECT 'side' AS scope, k.key, date_trunc('week', i.occurred_on::timestamp)::date AS week, count(*) AS n
    FROM events_incident AS i, unnest(i.attacking_sides) AS k(key)
    WHERE i.status = 'published' AND i.kind = ANY (%(force)s)
    GROUP BY 1, 2, 3
    UNION ALL
    SELECT 'base', i.base_id::text, date_trunc('week', i.occurred_on::timestamp)::date, count(*)
    FROM events_incident AS i
    WHERE i.status = 'published' AND i.kind = ANY (%(force)s) AND i.base_id IS NOT NULL
    GROUP BY 1, 2, 3
)
SELECT c.scope, c.key, c.week, c.n, coalesce(c.previous, 0)
FROM (
    SELECT w.*, sum(w.n) OVER (PARTITION BY w.scope, w.key ORDER BY w.week
                               RANGE BETWEEN interval '28 days' PRECEDING AND interval '7 days' PRECEDING) AS previous
    FROM weekly AS w
) AS c
CROSS JOIN (SELECT min(week) AS first FROM weekly) AS f
WHERE c.week >= f.first + 28 AND c.n >= %(minimum)s AND c.n * 4 >= %(factor)s * coalesce(c.previous, 0)
ORDER BY c.week, c.scope, c.key
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=int(os.environ.get("BENCH_N", 1_000_000)))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--dense-rows", type=int, default=70_000)
    parser.add_argument("--only-spacetime", action="store_true")
    args = parser.parse_args()
    if args.only_spacetime:
        setup_django(synthetic.BENCH_DATABASE)  # only for the code's imports: nothing is read from it
        synthetic.save_result("spacetime", spacetime_bench(args.dense_rows))
        return

    loaded = synthetic.load(args.n)
    database = loaded["database"]
    setup_django(database)
    from events.cycles import analytics
    from events.models import Category, Incident, Kind

    spacetime = spacetime_bench(args.dense_rows)
    published = Incident.objects.published()
    conn = synthetic.connect(database, autocommit=True)
    # As ours runs them (events.cycles.analytics.queries.fetch): compiling these statements costs more than it saves.
    conn.execute("SET jit = off")
    params = {
        "attacks": Category.ATTACK.kinds,
        "deterrent": Kind.deterrent(),
        "force": Kind.force(),
        "minimum": analytics.SURGE_MIN_COUNT,
        "factor": analytics.SURGE_FACTOR,
    }

    def ours_deterrence():
        return analytics.deterrence_windows(published)[0]

    def hand_deterrence():
        return conn.execute(HAND_DETERRENCE, params).fetchall()

    def ours_surges():
        return analytics.surge_dicts(analytics.surges(published))

    def hand_surges():
        return conn.execute(HAND_SURGES, params).fetchall()

    # The same answers first.
    ours = [(w["incident"], w["next_attack"], w["days"], w["censored"]) for w in ours_deterrence()]
    hand = [tuple(row) for row in hand_deterrence()]
    assert ours == hand, "deterrence windows differ"
    ours_weeks = [(s["scope"], s["key"], s["week"], s["count"], s["previous_mean"]) for s in ours_surges()]
    hand_weeks = [(r[0], r[1], r[2].isoformat(), r[3], round(r[4] / 4, 3)) for r in hand_surges()]
    assert ours_weeks == hand_weeks, "surge weeks differ"

    results = {}
    for name, pair in {
        "deterrence": (ours_deterrence, hand_deterrence),
        "surges": (ours_surges, hand_surges),
    }.items():
        timed = interleaved({"ours": (pair[0], args.runs), "hand": (pair[1], args.runs)})
        timed["ratio"] = round(timed["ours"]["median"] / timed["hand"]["median"], 2)
        results[name] = timed
    results["rows"] = {"deterrence windows": len(ours), "surge weeks": len(ours_weeks)}

    print(f"{args.n:,} incidents ({database}); medians of {args.runs} runs, ms")
    for name in ("deterrence", "surges"):
        r = results[name]
        ours, hand = r["ours"]["median"], r["hand"]["median"]
        print(f"  {name:<11} ours {ours:>9.1f}  hand {hand:>9.1f}  ours/hand {r['ratio']:.2f}x")
    print(f"  rows: {results['rows']}")
    RESULTS.mkdir(exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS / f"analytics-{stamp}.json"
    payload = {"n": args.n, "database": database, "runs": args.runs, **results, "spacetime": spacetime}
    out.write_text(json.dumps(payload, indent=2))
    print(f"  written to {out.relative_to(Path.cwd()) if out.is_relative_to(Path.cwd()) else out}")


TARGET_SPACETIME = 1.3
POINTPATS_SAMPLE = 5_000


def reference_counts(days, act, attack, km, km_edges, day_edges):
    """The same counting written plainly, in numpy: each pair's cell (its km band, and its day band looked up
    from its difference of days), counted with np.bincount."""
    n_km, n_days, last = len(km_edges), len(day_edges), day_edges[-1]
    band_of = np.full(last + 2, n_days)  # a difference of days -> its band; outside every band -> n_days
    band_of[1 : last + 1] = np.searchsorted(day_edges, np.arange(1, last + 1), side="left")
    lag = np.clip(days[attack] - days[act], 0, last + 1)
    cell = np.searchsorted(km_edges, km, side="left") * (n_days + 1) + band_of[lag]
    return np.bincount(cell, minlength=n_km * (n_days + 1)).reshape(n_km, n_days + 1)[:, :n_days]


def spacetime_bench(rows: int, permutations: int = 199, pointpats_permutations: int = 5) -> dict:
    """Times (s) of the space-time table's permutations: ours, the numpy reference, pointpats' Knox."""
    import time

    from events.cycles.analytics import spacetime, stats

    from .dense_bench import ACTIONS, dense_rows

    table = list(dense_rows(rows))
    days = np.asarray([(dt.date.fromisoformat(r[2]) - dt.date(1900, 1, 1)).days for r in table])
    points = stats.sphere_points(np.asarray([[float(r[8]), float(r[7])] for r in table]))
    acts = np.flatnonzero([r[3] in dict(ACTIONS) for r in table])
    attacks = np.flatnonzero([r[3] not in dict(ACTIONS) for r in table])
    km_edges, day_edges = spacetime.KM_EDGES, spacetime.DAY_EDGES
    started = time.perf_counter()
    i, j, km = stats.pairs_within(points[acts], points[attacks], km_edges[-1])
    pairs_seconds = time.perf_counter() - started
    act, attack = acts[i], attacks[j]

    started = time.perf_counter()
    ours = stats.knox_cells(days, act, attack, km, km_edges, day_edges, permutations=permutations, seed=1)
    ours_seconds = time.perf_counter() - started
    rng = np.random.default_rng(1)
    started = time.perf_counter()
    observed = reference_counts(days, act, attack, km, np.asarray(km_edges), np.asarray(day_edges))
    for _ in range(permutations):
        reference_counts(days[rng.permutation(len(days))], act, attack, km, np.asarray(km_edges), np.asarray(day_edges))
    reference_seconds = time.perf_counter() - started
    assert (observed == ours["observed"]).all(), "the reference counts differ"

    result = {
        "rows": rows,
        "acts": len(acts),
        "attacks": len(attacks),
        "pairs": len(act),
        "permutations": permutations,
        "pairs_seconds": round(pairs_seconds, 3),
        "ours_seconds": round(ours_seconds, 3),
        "reference_seconds": round(reference_seconds, 3),
        "ratio": round(ours_seconds / reference_seconds, 3),
    }
    print(f"space-time table, {rows:,} dense rows ({len(acts):,} acts, {len(attacks):,} attacks, {len(act):,} pairs "
          f"within {km_edges[-1]} km), {permutations} permutations:")  # fmt: skip
    print(f"  ours {ours_seconds:.2f} s, numpy reference {reference_seconds:.2f} s: {result['ratio']:.2f}x "
          f"(target <= {TARGET_SPACETIME}: {'PASS' if result['ratio'] <= TARGET_SPACETIME else 'FAIL'}); "
          f"the pairs found in {pairs_seconds:.2f} s")  # fmt: skip
    try:
        from pointpats.spacetime import Knox
    except ImportError:  # a test dependency: without it, that comparison is left out
        return result
    # pointpats keeps every event's neighbour set in Python and loops over them per permutation: on all the
    # rows it runs out of memory, so both run on the same sample, its one cell (the widest) against our table.
    sample = np.sort(np.random.default_rng(2).choice(len(days), POINTPATS_SAMPLE, replace=False))
    in_sample = np.isin(np.arange(len(days)), sample)
    s_acts, s_attacks = np.flatnonzero(in_sample[acts]), np.flatnonzero(in_sample[attacks])
    started = time.perf_counter()
    si, sj, skm = stats.pairs_within(points[acts[s_acts]], points[attacks[s_attacks]], km_edges[-1])
    stats.knox_cells(days, acts[s_acts][si], attacks[s_attacks][sj], skm, km_edges, day_edges,
                     permutations=permutations, seed=1)  # fmt: skip
    ours_sample = time.perf_counter() - started
    chord = 2 * stats.EARTH_KM * np.sin(km_edges[-1] / (2 * stats.EARTH_KM))
    timed = {}
    for perms in (0, pointpats_permutations):
        # The fastest of three: on a shared machine one slow run of the setup alone made the scaled time negative.
        runs = []
        for _ in range(3):
            started = time.perf_counter()
            Knox(points[sample], days[sample, None].astype(float), delta=chord, tau=day_edges[-1], permutations=perms)
            runs.append(time.perf_counter() - started)
        timed[perms] = min(runs)
    scaled = timed[0] + (timed[pointpats_permutations] - timed[0]) / pointpats_permutations * permutations
    result |= {"pointpats_sample": POINTPATS_SAMPLE, "ours_sample_seconds": round(ours_sample, 3),
               "pointpats_seconds_scaled": round(scaled, 1)}  # fmt: skip
    print(f"  on {POINTPATS_SAMPLE:,} of the events: ours (pairs and {permutations} permutations) {ours_sample:.2f} s, "
          f"pointpats' Knox for one cell {scaled:.1f} s (timed over {pointpats_permutations}, scaled)")  # fmt: skip
    return result


if __name__ == "__main__":
    main()
