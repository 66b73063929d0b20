"""Revalidation and the shared response cache against a cold request, on the page of 10,000 incidents.

    .venv/bin/python -m bench.cache_bench [--n 1000000] [--runs 15] [--fast-runs 300]

On the API benchmark's data (bench/synthetic.py; BENCH_N or --n incidents), in-process as bench/api_bench.py
measures (Django's test client through the whole middleware stack, DEBUG off, pooled connections), the first
page of scenario 1 there (a bbox and one year, limit=10000), four ways, in turns:

  cold        the body built, the response cache off (RESPONSE_CACHE=false): what every request cost before;
  304         a revalidation with the ETag the cold answer gave (If-None-Match), as browsers send it;
  304 (IMS)   a revalidation with If-Modified-Since only;
  shared      another visitor's request with no validator, answered from the shared cache.

Prints median and p95 of each and cold / each, checks the target (a revalidation at least 100x cheaper than
the cold request), and writes bench/results/cache-<time>.json. The raw cost of the version read alone (psycopg,
no Django) is measured too, as the floor of a revalidation.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys

from . import synthetic
from .api_bench import BBOX, PAGE, YEAR, interleaved, setup_django

TARGET = 100.0  # cold / revalidation, at least
REDIS_DB = 5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    synthetic.data_arguments(parser)
    parser.add_argument("--runs", type=int, default=15, help="cold requests (default 15)")
    parser.add_argument("--fast-runs", type=int, default=300, help="revalidations and shared hits (default 300)")
    args = parser.parse_args()

    synthetic.load_for(args)
    os.environ.setdefault("REDIS_URL", f"unix://{synthetic.ROOT / 'var' / 'run' / 'redis.sock'}?db={REDIS_DB}")
    setup_django(args.database)

    from django.conf import settings
    from django.test import Client

    client = Client(HTTP_HOST="localhost")
    start, end = dt.date(YEAR, 1, 1), dt.date(YEAR, 12, 31)
    url = f"/api/v1/incidents/?bbox={','.join(str(v) for v in BBOX)}&start={start}&end={end}&limit={PAGE}"

    def get(cache: bool, **headers):
        settings.RESPONSE_CACHE = cache
        response = client.get(url, **headers)
        assert response.status_code in (200, 304), (response.status_code, response.content[:300])
        return response

    first = get(False)
    features = len(json.loads(first.content)["features"])
    etag, last_modified = first["ETag"], first["Last-Modified"]
    assert get(False, HTTP_IF_NONE_MATCH=etag).status_code == 304
    assert get(False, HTTP_IF_MODIFIED_SINCE=last_modified).status_code == 304
    get(True)  # stores it
    shared = get(True)
    assert shared.status_code == 200
    assert (shared.content, shared["ETag"]) == (first.content, etag)
    print(f"page of {features:,} features, {len(first.content) / 1e6:.1f} MB")

    raw = synthetic.connect(args.database, autocommit=True)
    from api.caching import VERSION_SQL

    results = interleaved(
        {
            "cold": (lambda: get(False), args.runs),
            "304": (lambda: get(True, HTTP_IF_NONE_MATCH=etag), args.fast_runs),
            "304 (IMS)": (lambda: get(True, HTTP_IF_MODIFIED_SINCE=last_modified), args.fast_runs),
            "shared": (lambda: get(True), args.fast_runs),
            "version read (raw SQL)": (lambda: raw.execute(VERSION_SQL).fetchone(), args.fast_runs),
        }
    )
    cold = results["cold"]["median"]
    ratios = {name: round(cold / r["median"], 1) for name, r in results.items() if name != "cold"}

    print(f"\n{'':24} {'median ms':>10} {'p95 ms':>10} {'cold / this':>12}")
    for name, r in results.items():
        ratio = f"{ratios[name]:,.0f}x" if name in ratios else ""
        print(f"{name:24} {r['median']:10.2f} {r['p95']:10.2f} {ratio:>12}")
    met = ratios["304"] >= TARGET
    print(f"\ntarget: a revalidation >= {TARGET:.0f}x cheaper than the cold request: {'met' if met else 'NOT met'}")

    synthetic.save_result(
        "cache",
        {
            "n": args.n,
            "database": args.database,
            "url": url,
            "features": features,
            "bytes": len(first.content),
            "results": results,
            "cold_over": ratios,
            "target": TARGET,
            "met": met,
            "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        },
    )
    if not met:
        sys.exit(1)


if __name__ == "__main__":
    main()
