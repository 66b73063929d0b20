"""The public history at scale: pages of /api/v1/changes/ and an incident's history, over a history of imports,
syncs, retractions and restorations.

    .venv/bin/python -m bench.changes_bench [--n 1000000] [--runs 15]

On the synthetic incidents (bench/synthetic.py; BENCH_N or --n) in a database of their own (the history it adds
is this benchmark's alone), each incident gets the history an ACLED file import and a year of its sync would
leave: a published row, a correction for one in four (title and casualties), a retraction for one in a
thousand and a restoration for a third of those. Then, in-process through the whole middleware stack with the
response cache off, in turns: the first page of 100, the next, a page filtered by country and by kind, the
rare kinds (retracted, restored), a page since a recent day, the Atom feed and one incident's history. Prints
median and p95 of each, and writes bench/results/changes-<time>.json.
"""

from __future__ import annotations

import argparse
import json

from . import synthetic
from .api_bench import interleaved, setup_django

# Rows of the history, as the file import and the sync write them (api/changes.py reads their reasons).
HISTORY_COLUMNS = (
    "id, occurred_on, date_precision, kind, title, summary, attribution, location, geo_precision, place_name, "
    "country, admin1, weapon, munitions, status, dataset, external_id, casualties_best, fatalities_best, "
    "nearest_base_km, created_at, base_id, created_by_id, nearest_base_id, retracted_at, retracted_reason"
)
HISTORY = f"""
INSERT INTO events_historicalincident ({HISTORY_COLUMNS}, history_date, history_change_reason, history_type)
SELECT {HISTORY_COLUMNS}, timestamptz '2026-01-01' + (id % 1000) * interval '1 minute', 'Import #1', '+'
FROM events_incident;
INSERT INTO events_historicalincident ({HISTORY_COLUMNS}, history_date, history_change_reason, history_type)
SELECT {HISTORY_COLUMNS.replace("title", "title || ' (corrected)'").replace("casualties_best", "casualties_best + 1")},
    timestamptz '2026-02-01' + id * interval '30 seconds', 'ACLED sync #' || (2 + id / 5000), '~'
FROM events_incident WHERE id % 4 = 0;
UPDATE events_incident SET status = 'retracted', retracted_reason = 'deleted by ACLED', retracted_at = now()
WHERE id % 1000 = 1 AND status = 'published';
INSERT INTO events_historicalincident ({HISTORY_COLUMNS}, history_date, history_change_reason, history_type)
SELECT {HISTORY_COLUMNS}, timestamptz '2026-03-01' + id * interval '30 seconds', 'ACLED sync #' || (2 + id / 5000), '~'
FROM events_incident WHERE status = 'retracted';
UPDATE events_incident SET status = 'published', retracted_reason = '', retracted_at = NULL
WHERE id % 3000 = 1 AND status = 'retracted';
INSERT INTO events_historicalincident ({HISTORY_COLUMNS}, history_date, history_change_reason, history_type)
SELECT {HISTORY_COLUMNS}, timestamptz '2026-04-01' + id * interval '30 seconds', 'ACLED sync #' || (2 + id / 5000), '~'
FROM events_incident WHERE id % 3000 = 1 AND status = 'published';
"""


def add_history(database: str) -> bool:
    """The history above, once; whether it was added now."""
    with synthetic.connect(database) as conn:
        if conn.execute("SELECT EXISTS (SELECT 1 FROM events_historicalincident)").fetchone()[0]:
            return False
        conn.execute("SET session_replication_role = replica")  # the cell and side triggers: no column changes
        conn.execute(HISTORY)
        conn.commit()
    with synthetic.connect(database, autocommit=True) as conn:
        conn.execute("ANALYZE events_incident")
        conn.execute("ANALYZE events_historicalincident")
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    synthetic.data_arguments(parser)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    args.database = args.database or f"{synthetic.database_for(args.n)}_changes"
    synthetic.load_for(args)
    added = add_history(args.database)
    setup_django(args.database)

    from django.conf import settings
    from django.test import Client

    from events.models import Incident

    settings.RESPONSE_CACHE = False
    client = Client(HTTP_HOST="localhost")
    rows = Incident.history.count()
    print(f"{rows:,} history rows ({'added' if added else 'already there'})")

    def get(url: str):
        def fetch():
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code, response.content[:300])
            return response

        return fetch

    first = json.loads(get("/api/v1/changes/")().content)
    next_url = next(link["href"] for link in first["links"] if link["rel"] == "next")
    one = Incident.objects.filter(pk__in=Incident.history.filter(history_type="~").values("id")).first().pk
    urls = {
        "first page": "/api/v1/changes/",
        "next page": next_url.removeprefix("http://localhost"),
        "country=SYR": "/api/v1/changes/?country=SYR",
        "kind=drone_strike": "/api/v1/changes/?kind=drone_strike",
        "change=retracted": "/api/v1/changes/?change=retracted",
        "change=restored": "/api/v1/changes/?change=restored",
        "since 2026-03-01": "/api/v1/changes/?since=2026-03-01",
        "atom": "/feeds/changes.atom",
        "one incident's history": f"/api/v1/incidents/{one}/history/",
    }
    times = interleaved({name: (get(url), args.runs) for name, url in urls.items()})
    for name, figures in times.items():
        print(f"{name:>24}: median {figures['median']:7.1f} ms, p95 {figures['p95']:7.1f} ms")
    synthetic.save_result("changes", {"n": args.n, "history_rows": rows, "urls": urls, "ms": times})


if __name__ == "__main__":
    main()
