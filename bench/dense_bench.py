"""Dense data: the suggestions' refresh after a dense import, against the import's own time.

    .venv/bin/python -m bench.dense_bench [--rows 70000] [--file PATH]

A synthetic file of the density of the 2007-08 Iraq file that issue 19 was found on (dense_rows: two sides, one
country, 16 months, 70,000 rows, about 145 a day, one in sixteen an air strike or show of force, the rest
insurgent attacks, clustered around towns), written in this project's CSV import format, is imported into an
empty database of its own (posture_bench_dense; BENCH_DENSE_DATABASE overrides) as the worker imports it, and
then the suggestions are refreshed as the task after an import refreshes them (events.tasks). Prints both times
and their ratio (the target: the refresh within 3x the import), and the suggestions made. --file imports a file
of the same format instead (the geocausal file of ../shared/data/real/, say). Then every analytics answer on those
data, cold (its cache emptied before each request), over HTTP from a production gunicorn (as bench/http_bench.py
serves): each endpoint unfiltered, with within_km=10 where it takes it, and the space-time table of the two
sides. Writes bench/results/dense-<time>.json.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import random
import tempfile
import time
from pathlib import Path

from . import synthetic
from .real_files import time_import

DATABASE = os.environ.get("BENCH_DENSE_DATABASE", "posture_bench_dense")
TARGET = 3.0
START = dt.date(2007, 1, 1)
DAYS = 486  # 16 months
HEADER = ["dataset", "external_id", "event_date", "kind", "title", "actor1", "actor2", "latitude", "longitude",
          "geo_precision", "country_iso3", "source", "status"]  # fmt: skip
COALITION, INSURGENTS = "Coalition Forces (Iraq)", "Insurgents (Iraq)"
# Towns and their weight: most attacks in and around Baghdad, as in the real files.
TOWNS = [
    (44.366, 33.315, 40),  # Baghdad
    (43.130, 36.340, 12),  # Mosul
    (43.680, 34.600, 8),  # Tikrit / Samarra
    (43.300, 33.420, 10),  # Ramadi / Fallujah
    (44.640, 33.750, 8),  # Baqubah
    (44.390, 35.470, 5),  # Kirkuk
    (47.780, 30.510, 5),  # Basra
    (44.330, 32.480, 6),  # Hillah / Karbala
    (42.000, 34.400, 6),  # Anbar's west
]
ACTIONS = [("air_strike", 4), ("show_of_force", 6)]  # of every 100 rows
ATTACKS = [("ied", 42), ("unknown", 32), ("armed_clash", 16)]


def dense_rows(n: int, seed: int = 2007):
    """`n` rows in the import format: a coalition action or an insurgent attack, each day about n / DAYS."""
    rng = random.Random(seed)
    kinds = [kind for kind, weight in ACTIONS + ATTACKS for _ in range(weight)]
    towns = [town for town in TOWNS for _ in range(town[2])]
    for k in range(n):
        kind = rng.choice(kinds)
        lon, lat, _ = rng.choice(towns)
        # About 15 km around the town's centre, a few much farther out.
        spread = 0.15 if rng.random() < 0.9 else 0.8
        lon, lat = lon + rng.gauss(0, spread), lat + rng.gauss(0, spread)
        acting = kind in dict(ACTIONS)
        yield [
            "dense", f"d{k}", (START + dt.timedelta(days=int(k * DAYS / n))).isoformat(), kind,
            kind.replace("_", " ").capitalize(), COALITION if acting else INSURGENTS,
            INSURGENTS if acting else COALITION, f"{lat:.4f}", f"{lon:.4f}", 1, "IRQ", "bench/dense_bench.py",
            "published",
        ]  # fmt: skip


def write_file(rows: int, folder: Path) -> Path:
    path = folder / f"dense-{rows}.csv"
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        writer.writerows(dense_rows(rows))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=70_000)
    parser.add_argument("--file", type=Path, help="import this file (the import format) instead of a dense one")
    parser.add_argument("--no-http", action="store_true", help="skip timing the analytics answers over HTTP")
    args = parser.parse_args()
    synthetic.ensure_database(DATABASE)
    synthetic.migrate(DATABASE)
    synthetic.setup_django(DATABASE)
    from events import tasks
    from events.models import LinkSuggestion

    with tempfile.TemporaryDirectory() as folder:
        path = args.file or write_file(args.rows, Path(folder))
        synthetic.empty_incidents()
        imported, job = time_import(path)  # as the worker imports it
    started = time.perf_counter()
    tasks.refresh_suggestions_after_import(job.pk)  # what the worker runs after the import's commit
    refreshed = time.perf_counter() - started
    ratio = refreshed / imported
    suggestions = LinkSuggestion.objects.count()
    answers = time_answers() if not args.no_http else {}
    print(f"{path.name}: {job.created_count:,} incidents imported in {imported:.1f} s ({job.status})")
    print(f"suggestions refreshed in {refreshed:.1f} s: {suggestions:,} suggestions")
    print(f"refresh / import: {ratio:.2f}x  (target <= {TARGET:g}x: {'PASS' if ratio <= TARGET else 'FAIL'})")
    synthetic.save_result(
        "dense",
        {
            "file": path.name,
            "rows": job.rows_total,
            "created": job.created_count,
            "import_seconds": round(imported, 2),
            "refresh_seconds": round(refreshed, 2),
            "ratio": round(ratio, 3),
            "suggestions": suggestions,
            "days": DAYS,
            "per_day": None if args.file else round(job.created_count / DAYS, 1),
            "answers_seconds": answers,
        },
    )


def time_answers() -> dict[str, float | str]:
    """Seconds of each analytics answer, cold, over HTTP from a production gunicorn on these data."""
    import json
    import subprocess
    import sys

    import redis

    from events.models import Incident

    from .http_bench import Client
    from .load import ROOT, SOCKETS, free_port, production_env, serve

    strike = Incident.objects.published().filter(kind="air_strike").order_by("id").first()
    workdir = Path(tempfile.mkdtemp(prefix="posture-dense-bench-"))
    port = free_port()
    redis_db = 11
    env = production_env(DATABASE, workdir, port, REDIS_URL=f"unix://{SOCKETS}/redis.sock?db={redis_db}",
                         RESPONSE_CACHE="false", API_ANON_RATE="")  # fmt: skip
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"], env=env, cwd=ROOT,
                   check=True)  # fmt: skip
    server = serve(env, workdir / "gunicorn.log")
    cache = redis.Redis(unix_socket_path=str(SOCKETS / "redis.sock"), db=redis_db)
    timed = {}
    try:
        client = Client(f"127.0.0.1:{port}")
        api = "/api/v1/analytics"
        pairs = json.loads(client.get(f"{api}/response-lags/?window=30"))["pairs"]
        first, answering = pairs[0]["first"]["key"], pairs[0]["answering"]["key"]
        paths = [
            "deterrence/", "deterrence/?within_km=10", "response-lags/", "response-lags/?within_km=10",
            f"before-after/?incident={strike.pk}", f"before-after/?incident={strike.pk}&within_km=10",
            f"escalation/?incident={strike.pk}", "surges/", f"space-time/?first={first}&answering={answering}",
        ]  # fmt: skip
        for path in paths:
            cache.flushdb()  # cold: no answer kept
            started = time.perf_counter()
            try:
                client.get(f"{api}/{path}")
            except (SystemExit, OSError) as failed:  # past gunicorn's timeout its worker is killed
                timed[path] = f"failed after {time.perf_counter() - started:.1f} s: {failed}"
                client = Client(f"127.0.0.1:{port}")
            else:
                timed[path] = round(time.perf_counter() - started, 2)
            print(f"  GET {api}/{path}: {timed[path]}")
    finally:
        server.terminate()
        server.wait(timeout=30)
    return timed


if __name__ == "__main__":
    main()
