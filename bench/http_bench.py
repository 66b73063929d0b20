"""The API over HTTP, as production serves it: one incident's detail against a bare Django view, and a page of
10,000 incidents against the raw SQL that builds the same page.

    .venv/bin/python -m bench.http_bench [--n 1000000] [--runs 300] [--page-runs 9]

Serves the benchmark database (bench/synthetic.py, as bench/api_bench.py loads it) with the production
gunicorn (config/gunicorn.py, DJANGO_ENV=production, its default workers and threads) on 127.0.0.1, and
asks over one kept-alive connection, taking turns:

  1. GET /healthz (answered by Django's first middleware: the floor of any request served this way) and
     GET /api/v1/incidents/{id}/ (an incident with actors, casualties, sources and links both ways);
     target: the detail within 1.5x of /healthz;
  2. the first page of 10,000 incidents in a bounding box and one year (GET /api/v1/incidents/?bbox=...)
     and the raw SQL that yields the same page, run by psycopg in this process; target: <= 1.1x.

The shared response cache is turned off (RESPONSE_CACHE=false) and every request is unconditional, so each
answer is built again: this measures building, not the cache (bench/cache_bench.py measures that). The
anonymous rate limit is lifted, as in bench/load.py: all requests come from one address.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from . import synthetic
from .api_bench import BBOX, PAGE, YEAR, interleaved, raw_detail_sql, raw_pages, setup_django
from .load import ROOT, SOCKETS, free_port, production_env, serve

TARGETS = {"detail/healthz": 1.5, "page/raw": 1.1}


def detailed_incident(conn) -> int:
    """A published incident with casualties and links in and out (as bench/api_bench.py's scenario 3)."""
    return conn.execute(
        """SELECT l.prior_id FROM events_incidentlink l JOIN events_incident i ON i.id = l.prior_id
           WHERE i.status = 'published' AND i.casualties_best > 0
             AND EXISTS (SELECT 1 FROM events_incidentlink o JOIN events_incident p ON p.id = o.prior_id
                         WHERE o.incident_id = l.prior_id AND p.status = 'published')
           ORDER BY l.prior_id LIMIT 1"""
    ).fetchone()[0]


class Client:
    """GETs over one kept-alive HTTP/1.1 connection, as a script or a browser tab would make them."""

    def __init__(self, bind: str):
        host, port = bind.split(":")
        self.connection = http.client.HTTPConnection(host, int(port), timeout=120)

    def get(self, path: str) -> bytes:
        # As the TLS-ending proxy in front of production says it (else the site redirects to https).
        headers = {"Accept-Encoding": "identity", "X-Forwarded-Proto": "https"}
        self.connection.request("GET", path, headers=headers)
        response = self.connection.getresponse()
        body = response.read()
        if response.status != 200:
            sys.exit(f"GET {path}: {response.status}\n{body[:500]!r}")
        return body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    synthetic.data_arguments(parser)
    parser.add_argument("--runs", type=int, default=300, help="detail and /healthz requests (default 300)")
    parser.add_argument("--page-runs", type=int, default=9, help="pages of 10,000 (default 9)")
    args = parser.parse_args()

    synthetic.load_for(args)
    setup_django(args.database)  # the raw SQL names the kinds' labels from the models
    raw = synthetic.connect(args.database, autocommit=True)
    pk = detailed_incident(raw)
    start, end = dt.date(YEAR, 1, 1), dt.date(YEAR, 12, 31)

    workdir = Path(tempfile.mkdtemp(prefix="posture-http-bench-"))
    port = free_port()
    bind = f"127.0.0.1:{port}"
    env = production_env(
        args.database,
        workdir,
        port,
        REDIS_URL=f"unix://{SOCKETS}/redis.sock?db=9",
        RESPONSE_CACHE="false",
        API_ANON_RATE="",
    )
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"], env=env, cwd=ROOT, check=True
    )
    server = serve(env, workdir / "gunicorn.log")
    try:
        client = Client(bind)
        detail_sql = raw_detail_sql()
        bbox = ",".join(str(v) for v in BBOX)
        page_url = f"/api/v1/incidents/?bbox={bbox}&start={start}&end={end}&limit={PAGE}"
        ours = json.loads(client.get(page_url))
        (raw_first,) = raw_pages(raw, start, end, pages=1)
        assert ours["features"] == json.loads(raw_first)["features"], "the page and the raw SQL differ"
        print(f"page: {ours['numberReturned']:,} of {ours['numberMatched']:,} features; detail: incident {pk}")
        results = {
            "1": interleaved(
                {
                    "healthz": (lambda: client.get("/healthz"), args.runs),
                    "detail": (lambda: client.get(f"/api/v1/incidents/{pk}/"), args.runs),
                    "detail_sql": (lambda: raw.execute(detail_sql, (pk,)).fetchone(), args.runs),
                },
                warmup=20,
            ),
            "2": interleaved(
                {
                    "page": (lambda: client.get(page_url), args.page_runs),
                    "raw": (lambda: raw_pages(raw, start, end, pages=1), args.page_runs),
                },
                warmup=1,
            ),
        }
    finally:
        server.terminate()
        server.wait(timeout=30)
    report(results, args)


def report(results: dict, args) -> None:
    one, two = results["1"], results["2"]
    # What HTTP, Django and the middleware add to the detail's own SQL, against the floor of any request.
    overhead = one["detail"]["median"] - one["detail_sql"]["median"]
    ratios = {
        "detail/healthz": one["detail"]["median"] / one["healthz"]["median"],
        "(detail - its SQL)/healthz": overhead / one["healthz"]["median"],
        "page/raw": two["page"]["median"] / two["raw"]["median"],
    }
    print()
    print(f"{'request':<52}{'median':>10}{'p95':>10}")
    rows = [
        ("GET /healthz", one["healthz"]),
        ("GET /api/v1/incidents/{id}/", one["detail"]),
        ("raw SQL of the same detail (psycopg, no HTTP)", one["detail_sql"]),
        (f"GET a page of {PAGE:,} (bbox + {YEAR})", two["page"]),
        ("raw SQL for the same page (psycopg, no HTTP)", two["raw"]),
    ]
    for name, row in rows:
        print(f"{name:<52}{row['median']:>9.1f} {row['p95']:>9.1f}")
    print("(milliseconds over HTTP to the production gunicorn on loopback, one kept-alive connection)")
    print()
    for name, value in ratios.items():
        if name in TARGETS:
            ok = value <= TARGETS[name]
            print(f"  {'PASS' if ok else 'FAIL'}  {name}: {value:.2f}x (target <= {TARGETS[name]}x)")
        else:
            print(f"        {name}: {value:.2f}x ({overhead:.1f} ms beyond the SQL)")
    print()
    synthetic.save_result("http", {"n": args.n, "results": results, "ratios": ratios})


if __name__ == "__main__":
    main()
