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
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
from pathlib import Path

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
    args = parser.parse_args()

    loaded = synthetic.load(args.n)
    database = loaded["database"]
    setup_django(database)
    from events.cycles import analytics
    from events.models import Category, Incident, Kind

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
    out.write_text(json.dumps({"n": args.n, "database": database, "runs": args.runs, **results}, indent=2))
    print(f"  written to {out.relative_to(Path.cwd()) if out.is_relative_to(Path.cwd()) else out}")


if __name__ == "__main__":
    main()
