"""Suggestions benchmark: one year's suggested links, ours against the hand-written SQL pairing the same rows.

    .venv/bin/python -m bench.suggestions_bench [--n 1000000] [--year 2021] [--runs 5]
    BENCH_N=100000 .venv/bin/python -m bench.suggestions_bench          # a quick run

Loads N synthetic incidents (bench/synthetic.py, default 1,000,000, or BENCH_N), then times, taking turns:

  ours  events.cycles.suggestions' refresh of every incident of the year (refresh_some): it also finds the later
        incidents the year's may be candidates for, upserts each incident's best ten and deletes the rest;
        timed from an empty table for the year ("cold") and again with nothing changed ("warm");
  hand  the SQL one would write for the same rows: delete the year's suggestions, then insert the year's
        incidents paired with those of the 30 days before them on the reversed dyad (the same (side, day)
        hash join), scored the same way, the best ten of each; timed cold and warm as ours.

Both run in a transaction that is rolled back, so every run starts from the same state. The two outputs are
compared first (the same pairs, scores and ranks). Prints medians and the ratios; the target is ours / hand
<= 1.3. Writes bench/results/suggestions-<time>.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time

from . import synthetic
from .api_bench import setup_django, summary

TARGET = 1.3

# The same candidates, scored as events.cycles.suggestions does, written out plainly.
HAND_DELETE = "DELETE FROM events_linksuggestion WHERE incident_id = ANY(%(ids)s)"


def hand_sql(cycles) -> str:
    """Written once Django is set up: the score and relation are events.cycles.suggestions' own."""
    return f"""
INSERT INTO events_linksuggestion (incident_id, prior_id, relation, lag_days, distance_km, score, rank, computed_at)
SELECT incident_id, prior_id, relation, lag_days, distance_km, round(score::numeric, 6)::float8 AS score, rank, now()
FROM (
    SELECT i.id AS incident_id, p.id AS prior_id, {cycles.RELATION} AS relation,
           i.occurred_on - p.occurred_on AS lag_days,
           round((ST_DistanceSphere(i.location, p.location) / 1000)::numeric, 3)::float8 AS distance_km,
           {cycles.SCORE} AS score,
           row_number() OVER (
               PARTITION BY i.id ORDER BY {cycles.SCORE} DESC, i.occurred_on - p.occurred_on, p.id DESC
           ) AS rank
    FROM (
        -- Pairs on (side, day): each incident's attacking sides on each of the 30 days before it. The
        -- MATERIALIZED fences keep the planner from a nested loop over the unnested sides.
        WITH probe AS MATERIALIZED (
            SELECT i.id, ik.key, i.occurred_on - g.lag AS day
            FROM events_incident AS i, unnest(i.attacking_sides) AS ik(key), generate_series(1, %(window)s) AS g(lag)
            WHERE i.id = ANY(%(ids)s)
              AND i.status = 'published' AND i.date_precision <= %(precision)s AND i.kind <> ALL(%(left_out)s)
        ),
        earlier AS MATERIALIZED (
            SELECT p.id, pk.key, p.occurred_on AS day
            FROM events_incident AS p, unnest(p.targeted_sides) AS pk(key)
            WHERE p.occurred_on BETWEEN %(first)s::date - %(window)s AND %(last)s::date
              AND p.status = 'published' AND p.date_precision <= %(precision)s AND p.kind <> ALL(%(left_out)s)
        )
        SELECT DISTINCT probe.id AS incident_id, earlier.id AS prior_id
        FROM probe JOIN earlier ON earlier.key = probe.key AND earlier.day = probe.day
    ) AS pair
    JOIN events_incident AS i ON i.id = pair.incident_id
    JOIN events_incident AS p ON p.id = pair.prior_id
    WHERE NOT EXISTS (SELECT 1 FROM events_incidentlink AS l WHERE l.incident_id = i.id AND l.prior_id = p.id)
      AND NOT EXISTS (SELECT 1 FROM events_suggestionrejection AS r WHERE r.incident_id = i.id AND r.prior_id = p.id)
) AS c
WHERE rank <= %(per_incident)s
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    synthetic.data_arguments(parser)
    parser.add_argument("--year", type=int, default=2021)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-check", action="store_true", help="skip comparing the outputs (minutes at 1M)")
    args = parser.parse_args()
    synthetic.load_for(args)
    database = args.database
    setup_django(database)
    from events.cycles import suggestions as cycles

    with synthetic.connect(database) as conn:
        if not conn.execute("SELECT 1 FROM events_incident WHERE attacking_sides <> '{}' LIMIT 1").fetchone():
            # Loaded before the sides existed: compute them once, as the load now does.
            conn.execute("SELECT events_incident_sides_rebuild()")
            conn.commit()
        conn.execute("DELETE FROM events_linksuggestion")
        conn.commit()
        ids = [
            row[0]
            for row in conn.execute(
                "SELECT id FROM events_incident WHERE occurred_on BETWEEN %s AND %s",
                (dt.date(args.year, 1, 1), dt.date(args.year, 12, 31)),
            )
        ]
        params = cycles._parameters(ids=ids, first=dt.date(args.year, 1, 1), last=dt.date(args.year, 12, 31))
        print(f"{args.year}: {len(ids):,} incidents")

        def ours() -> None:
            with conn.cursor() as cursor:
                cycles.refresh_some(cursor, ids)

        hand_insert = hand_sql(cycles)

        def hand() -> None:
            conn.execute(HAND_DELETE, params)
            conn.execute(hand_insert, params)

        # The same output: our table for the year's incidents, and the hand-written one's.
        def year_rows() -> set:
            return set(
                conn.execute(
                    "SELECT incident_id, prior_id, relation, lag_days, distance_km, score, rank"
                    " FROM events_linksuggestion WHERE incident_id = ANY(%s)",
                    (ids,),
                )
            )

        mine: set = set()
        if not args.no_check:
            ours()
            mine = year_rows()
            conn.rollback()
            hand()
            theirs = year_rows()
            conn.rollback()
            assert mine == theirs, (len(mine), len(theirs), len(mine ^ theirs))
            print(f"{len(mine):,} suggestions for {len({r[0] for r in mine}):,} incidents, identical in both")

        variants = {"ours cold": ours, "hand cold": hand, "ours warm": ours, "hand warm": hand}
        samples: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(args.runs):
            for name, run in variants.items():
                if name.endswith("warm"):
                    ours()  # the table holds the year: what a refresh after a small change meets
                started = time.perf_counter()
                run()
                samples[name].append((time.perf_counter() - started) * 1000)
                conn.rollback()

    results = {name: summary(values) for name, values in samples.items()}
    cold = results["ours cold"]["median"] / results["hand cold"]["median"]
    warm = results["ours warm"]["median"] / results["hand warm"]["median"]
    print()
    for name, r in results.items():
        print(f"{name:<12}{r['median']:>12,.0f} ms median{r['p95']:>12,.0f} ms p95  ({r['runs']} runs)")
    print(
        f"\nours / hand: cold {cold:.2f}, warm {warm:.2f}"
        f"  (target <= {TARGET} cold: {'PASS' if cold <= TARGET else 'FAIL'})"
    )
    synthetic.save_result(
        "suggestions",
        {
            "n": args.n,
            "year": args.year,
            "incidents": len(ids),
            "suggestions": len(mine),
            "results": results,
            "ratio_cold": cold,
            "ratio_warm": warm,
        },
    )


if __name__ == "__main__":
    main()
