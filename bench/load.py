"""Load test on loopback: N users for D seconds against the map page and the API (`make load`).

    .venv/bin/python -m bench.load [--users 16] [--seconds 60] [--database posture] [--rate 300/min]

Serves the site as production does (gunicorn with config/gunicorn.py, DJANGO_ENV=production, whitenoise,
pooled connections, the web statement timeout) on 127.0.0.1 against the private database and Redis that
scripts/dev runs, and drives it with wrk (Debian package): every connection is a user going round the
requests one dashboard view makes (bench/load.lua), with no think time. Prints requests/s, latency
percentiles, the status counts and the error rate, and writes bench/results/load-<time>.json.

All the load comes from one address, so the anonymous rate limit (API_ANON_RATE, per address) is lifted
unless --rate gives one: the run measures the site below the limit, where every answer must be a 2xx.
--database posture_bench runs against the API benchmark's 1,000,000 synthetic incidents.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote

import psycopg

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
SOCKETS = ROOT / "var" / "run"
PG_PORT = 54329


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pick_targets(database: str) -> tuple[str, int]:
    """The busiest year (for the date window the dashboard opens on) and a linked published incident."""
    with psycopg.connect(host=str(SOCKETS), port=PG_PORT, user="posture", dbname=database) as db:
        year = db.execute(
            "SELECT extract(year FROM occurred_on)::int FROM events_incident WHERE status = 'published' "
            "GROUP BY 1 ORDER BY count(*) DESC, 1 DESC LIMIT 1"
        ).fetchone()[0]
        incident = db.execute(
            "SELECT i.id FROM events_incident i LEFT JOIN events_incidentlink l ON l.incident_id = i.id "
            "WHERE i.status = 'published' GROUP BY i.id ORDER BY count(l.id) DESC, i.id LIMIT 1"
        ).fetchone()[0]
    return str(year), incident


def production_env(database: str, workdir: Path, port: int, **overrides: str) -> dict[str, str]:
    """The environment of a production gunicorn on 127.0.0.1:`port` against `database` of the private
    cluster, with its home and static files in `workdir`."""
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(workdir),
        "DJANGO_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": f"postgis://posture@{quote(str(SOCKETS), safe='')}:{PG_PORT}/{database}",
        "STATIC_ROOT": str(workdir / "static"),
        "MAP_TILE_URL": "",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_ACCESS_LOG": "",
        "LOG_LEVEL": "WARNING",
        **overrides,
    }


def serve(env: dict[str, str], log: Path) -> subprocess.Popen:
    with open(log, "wb") as out:
        server = subprocess.Popen(
            [
                str(ROOT / ".venv" / "bin" / "gunicorn"),
                "--config",
                "config/gunicorn.py",
                "--no-control-socket",
                "config.wsgi",
            ],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"gunicorn exited:\n{log.read_text()[-3000:]}")
        try:
            urllib.request.urlopen(f"http://{env['GUNICORN_BIND']}/readyz", timeout=2)  # noqa: S310 - loopback
            return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    sys.exit("gunicorn did not become ready")


def wrk(url: str, users: int, seconds: int, year: str, incident: int) -> dict:
    command = [
        "wrk", "--threads", "2", "--connections", str(users), "--duration", f"{seconds}s", "--timeout", "30s",
        "--script", str(ROOT / "bench" / "load.lua"), url, "--", year, str(incident),
    ]  # fmt: skip
    run = subprocess.run(command, capture_output=True, text=True)  # noqa: S603 - a fixed argument list
    if run.returncode != 0:
        sys.exit(f"wrk failed:\n{run.stdout}{run.stderr}")
    output = run.stdout
    return json.loads(next(line for line in output.splitlines() if line.startswith("{")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=16, help="concurrent connections (default 16)")
    parser.add_argument("--seconds", type=int, default=60, help="length of the measured run (default 60)")
    parser.add_argument("--database", default="posture", help="database in the private cluster (default posture)")
    parser.add_argument("--rate", default="", help="API_ANON_RATE for the run (default: no limit)")
    parser.add_argument("--workers", type=int, help="gunicorn workers (default: config/gunicorn.py's, 2 per core)")
    args = parser.parse_args()

    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk")
    if not (SOCKETS / f".s.PGSQL.{PG_PORT}").exists():
        sys.exit("The private PostgreSQL is not running: make services")

    year, incident = pick_targets(args.database)
    workdir = Path(tempfile.mkdtemp(prefix="posture-load-"))
    port = free_port()
    env = production_env(
        args.database,
        workdir,
        port,
        REDIS_URL=os.environ.get("LOAD_REDIS_URL", f"unix://{SOCKETS}/redis.sock?db=6"),
        API_ANON_RATE=args.rate,
    )
    if args.workers:
        env["WEB_CONCURRENCY"] = str(args.workers)
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"], env=env, cwd=ROOT, check=True
    )
    server = serve(env, workdir / "gunicorn.log")
    try:
        url = f"http://127.0.0.1:{port}"
        wrk(url, args.users, 5, year, incident)  # warm-up: pools, caches, the OS page cache
        result = wrk(url, args.users, args.seconds, year, incident)
    finally:
        server.terminate()
        server.wait(timeout=40)
        log = (workdir / "gunicorn.log").read_text(errors="replace")
        shutil.rmtree(workdir, ignore_errors=True)

    ok = sum(n for status, n in result["statuses"].items() if status.startswith(("2", "3")))
    errors = result["requests"] - ok + result["socket_errors"]
    result |= {
        "users": args.users,
        "seconds": args.seconds,
        "database": args.database,
        "rate_limit": args.rate or None,
        "requests_per_s": round(result["requests"] / result["duration_s"], 1),
        "errors": errors,
        "error_rate": round(errors / max(result["requests"], 1), 6),
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"load-{dt.datetime.now():%Y%m%d-%H%M%S}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")

    print(f"{args.users} users for {args.seconds} s against the map page and the API ({args.database}, {year})")
    print(f"  requests      {result['requests']}  ({result['requests_per_s']}/s)")
    latency = "  ".join(f"{p} {result[f'{p}_ms']}" for p in ("p50", "p90", "p95", "p99"))
    print(f"  latency (ms)  {latency}")
    print(f"  statuses      {dict(sorted(result['statuses'].items()))}")
    print(f"  errors        {errors} ({result['error_rate']:.4%})")
    print(f"  written to    {out.relative_to(ROOT)}")
    if errors and not args.rate:
        # What the server logged about them (tracebacks of 500s), so that a failed run says why.
        print(log[-4000:])
        sys.exit("errors below the rate limit")


if __name__ == "__main__":
    main()
