"""Front-end benchmark of the dashboard (`/`) in headless Chromium, on this machine.

Starts the web tier (gunicorn, as `make serve` does) twice in the same run: once on the benchmark database
(the 1,000,000 synthetic incidents of bench/synthetic.py) and once on a baseline database (the small seed),
then drives Debian's Chromium through the same scenarios on both and prints each figure with its ratio to
the baseline:

  open        `/` in a new browser context: first map paint (borders, then incidents or clusters drawn),
              the count shown, main-thread blocking time (long tasks), API requests made; measured once
              with the server's cache emptied first (the first visitor after a data change), then warm;
  50k range   `/?start=..&end=..` with a range holding about 50,000 incidents in the default view;
  pan         a 200 px mouse drag of the map: frames per second during the drag, map-data requests it
              caused (should be none inside the loaded area), time until the page settled again;
  zoom        one zoom step: time until settled, map-data requests (clusters are per zoom level);
  select      clicking an incident in the list: time until its popup is open; worst input delay.
  analytics   `/?view=analytics` in a new browser context: first paint of the Analytics view (its survival
              curves, lag histogram and surges drawn), and the slowest of its API requests; with --only
              analytics also with the server's cache emptied (figures computed), emptied and then warmed as
              the worker does after a data change (events.tasks.warm_analytics), and each request computed
              alone over HTTP.

Usage:
  .venv/bin/python bench/dashboard.py --database posture_bench [--baseline-database posture] [--runs 3]
  .venv/bin/python bench/dashboard.py --database posture_bench --only analytics   # that scenario alone

DATABASE names are databases of the private cluster (var/run socket); a full DATABASE_URL also works.
Results are also written to bench/results/dashboard-<time>.json (git-ignored).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.chromium import CHROMIUM, CHROMIUM_ARGS  # noqa: E402 - after the path is set

VIEWPORT = {"width": 1440, "height": 900}
SETTLED = """() => {
  const body = document.body, count = document.querySelector('#incident-count');
  return body.getAttribute('aria-busy') === 'false' && body.dataset.settling !== 'true'
    && count && count.dataset.count !== '' && !count.closest('.count').classList.contains('is-stale')
    && document.querySelector('#map').dataset.loading === 'false'
    && performance.getEntriesByName('dashboard:first-incidents').length > 0;
}"""
# Installed before the page's own scripts: long tasks and slow input events, for blocking time and delay.
INSTRUMENT = """
window.__bench = { longTasks: [], events: [] };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) window.__bench.longTasks.push([e.startTime, e.duration]);
}).observe({ type: 'longtask', buffered: true });
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) window.__bench.events.push([e.name, e.duration, e.processingStart - e.startTime]);
}).observe({ type: 'event', durationThreshold: 16, buffered: true });
"""
TARGETS = {
    "open, server cache cold: first incidents painted (ms)": 2000,
    "open: first incidents painted (ms)": 2000,
    "50k range: first incidents painted (ms)": 2000,
    "analytics: first paint (ms)": 2000,
    "analytics, server cache cold: first paint (ms)": 2000,
    "analytics, server cache emptied then warmed: first paint (ms)": 2000,
}
DETERRENCE = "/api/v1/analytics/deterrence/"
ANALYTICS_PATHS = ("/analytics/deterrence/", "/analytics/response-lags/", "/analytics/surges/")


# The servers' cache: a Redis database of its own, emptied to measure a cold start.
REDIS_DB = os.environ.get("BENCH_REDIS_DB", "3")
REDIS_CLI = ["redis-cli", "-s", str(ROOT / "var" / "run" / "redis.sock"), "-n", REDIS_DB]


def database_url(name: str) -> str:
    if "://" in name:
        return name
    return f"postgis://posture@/{name}?host={ROOT / 'var' / 'run'}&port=54329"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env() -> dict[str, str]:
    return {
        "REDIS_URL": f"unix://{ROOT / 'var' / 'run' / 'redis.sock'}?db={REDIS_DB}",
        "MAP_TILE_URL": "",
        "API_ANON_RATE": "",
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
    }


@contextlib.contextmanager
def web_server(database: str):
    """gunicorn on a free loopback port, serving the given database; stopped on exit."""
    port = free_port()
    env = {**os.environ, **server_env(), "DATABASE_URL": database_url(database)}
    process = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "config.wsgi",
            "--no-control-socket",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "3",
            "--threads",
            "2",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(f"{url}/api/v1/kinds/", timeout=2).read()  # noqa: S310 - our loopback server
                break
            except OSError:
                if process.poll() is not None:
                    raise RuntimeError(f"gunicorn for {database} exited with {process.returncode}") from None
                time.sleep(0.1)
        else:
            raise RuntimeError(f"gunicorn for {database} did not answer")
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:  # a request still running (an analytics figure at 1M rows)
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)


def warm_analytics(database: str) -> None:
    """What the worker does after a data change: events.tasks.warm_analytics, run here against the servers'
    database and cache."""
    env = {**os.environ, "DATABASE_URL": database_url(database), "REDIS_URL": server_env()["REDIS_URL"]}
    code = "from events.tasks import warm_analytics; warm_analytics()"
    subprocess.run(
        [str(ROOT / ".venv/bin/python"), "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def computed_one_by_one(url: str) -> dict:
    """Each of the Analytics view's requests alone, computed (the cache emptied first), as the browser asks."""
    figures = {}
    for path in ANALYTICS_PATHS:
        subprocess.run([*REDIS_CLI, "flushdb"], check=True, capture_output=True)
        request = urllib.request.Request(f"{url}/api/v1{path}", headers={"Accept-Encoding": "gzip"})  # noqa: S310
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=300) as response:  # noqa: S310 - our loopback server
            size = len(response.read())
        figures[f"analytics: {path.split('/')[2]} computed alone (ms)"] = (time.perf_counter() - started) * 1000
        figures[f"analytics: {path.split('/')[2]} body, gzip (kB)"] = size / 1000
    return figures


def api(url: str, path: str, params: dict | list) -> dict:
    with urllib.request.urlopen(f"{url}{path}?{urlencode(params)}", timeout=120) as response:  # noqa: S310
        return json.loads(response.read())


class Session:
    def __init__(self, browser, url: str):
        self.context = browser.new_context(viewport=VIEWPORT)
        self.context.add_init_script(INSTRUMENT)
        self.page = self.context.new_page()
        self.url = url
        self.requests: list[str] = []
        self.page.on("request", lambda request: self.requests.append(request.url))

    def close(self):
        self.context.close()

    def settle(self, timeout: float = 120_000):
        self.page.wait_for_function(SETTLED, timeout=timeout)

    def api_requests(self, since: int = 0) -> list[str]:
        return [urlsplit(u).path for u in self.requests[since:] if "/api/" in u]

    def marks(self) -> dict:
        return self.page.evaluate(
            """() => Object.fromEntries(['dashboard:start', 'dashboard:borders', 'dashboard:first-incidents',
                'dashboard:count'].map((n) => [n, performance.getEntriesByName(n)[0]?.startTime ?? null]))"""
        )

    def blocking_ms(self, after: float = 0) -> float:
        tasks = self.page.evaluate("() => window.__bench.longTasks")
        return sum(max(duration - 50, 0) for start, duration in tasks if start >= after)


def open_page(browser, url: str, path: str) -> tuple[Session, dict]:
    session = Session(browser, url)
    session.page.goto(url + path)
    session.settle()
    marks = session.marks()
    figures = {
        "borders painted (ms)": marks["dashboard:borders"],
        "first incidents painted (ms)": marks["dashboard:first-incidents"],
        "count shown (ms)": marks["dashboard:count"],
        "blocking time while loading (ms)": session.blocking_ms(),
        "API requests to load": len(session.api_requests()),
        "map mode": session.page.locator("#map").get_attribute("data-mode"),
        "map markers drawn": int(session.page.locator("#map").get_attribute("data-drawn") or 0),
        "DOM nodes in the map": session.page.evaluate("() => document.querySelectorAll('#map *').length"),
        "incidents in view": int(session.page.locator("#incident-count").get_attribute("data-count")),
    }
    return session, figures


def pan(session: Session) -> dict:
    page = session.page
    box = page.locator("#map").bounding_box()
    x, y = box["x"] + box["width"] * 0.45, box["y"] + box["height"] * 0.55
    before = len(session.requests)
    url_before = page.url
    page.evaluate(
        """() => { window.__frames = 0; window.__counting = true;
            const tick = () => { if (!window.__counting) return; window.__frames++; requestAnimationFrame(tick); };
            requestAnimationFrame(tick); }"""
    )
    started = time.perf_counter()
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 200, y + 40, steps=40)
    page.mouse.up()
    drag_s = time.perf_counter() - started
    frames = page.evaluate("() => { window.__counting = false; return window.__frames; }")
    # The map glides on (inertia) before it reports the new view: wait for the URL to take it.
    page.wait_for_function("(before) => window.location.href !== before", arg=url_before)
    session.settle()
    settled_ms = (time.perf_counter() - started) * 1000
    requests = session.api_requests(before)
    return {
        "frames per second while dragging": frames / drag_s,
        "map-data requests caused by the pan": sum(1 for p in requests if p.endswith("/clusters/"))
        + sum(1 for u in session.requests[before:] if "/incidents/?" in u and "limit=2500" in u),
        "API requests caused by the pan": len(requests),
        "pan until settled (ms)": settled_ms,
    }


def zoom(session: Session) -> dict:
    page = session.page
    url_before = page.url
    before = len(session.requests)
    started = time.perf_counter()
    page.locator(".leaflet-control-zoom-in").click()
    # The zoom animates before the map reports its new view: wait for the URL to take it.
    page.wait_for_function("(before) => window.location.href !== before", arg=url_before)
    session.settle()
    return {
        "zoom in until settled (ms)": (time.perf_counter() - started) * 1000,
        "map-data requests caused by the zoom": sum(1 for p in session.api_requests(before) if p.endswith("/clusters/"))
        + sum(1 for u in session.requests[before:] if "/incidents/?" in u and "limit=2500" in u),
    }


def select(session: Session) -> dict:
    page = session.page
    started = time.perf_counter()
    page.locator(".incident-item").first.click()
    page.locator(".leaflet-popup .incident-card, .detail-card:not([hidden]) .incident-card").first.wait_for()
    opened_ms = (time.perf_counter() - started) * 1000
    session.settle()
    delays = page.evaluate("() => window.__bench.events.map((e) => e[2])")
    return {"select until popup open (ms)": opened_ms, "worst input delay (ms)": max(delays, default=0.0)}


def open_analytics(browser, url: str) -> dict:
    session = Session(browser, url)
    session.page.goto(url + "/?view=analytics")
    mark = "performance.getEntriesByName('dashboard:analytics')"
    session.page.wait_for_function(f"() => {mark}.length > 0", timeout=120_000)
    painted = session.page.evaluate(f"() => {mark}[0].startTime")
    timings = session.page.evaluate(
        """(paths) => performance.getEntriesByType('resource')
            .filter((e) => paths.some((p) => e.name.includes(p))).map((e) => e.duration)""",
        list(ANALYTICS_PATHS),
    )
    session.settle()
    figures = {
        "analytics: first paint (ms)": painted,
        "analytics: slowest of its API requests (ms)": max(timings, default=0.0),
        "analytics: blocking time while loading (ms)": session.blocking_ms(),
    }
    session.close()
    return figures


def range_of(url: str, bbox: str, wanted: int) -> tuple[str, str, int]:
    """The latest date range holding about `wanted` incidents in the view, from the timeline."""
    timeline = api(url, "/api/v1/timeline/", {"bucket": "day", "bbox": bbox})
    total = 0
    end = timeline["buckets"][-1]["start"]
    start = end
    for bucket in reversed(timeline["buckets"]):
        total += bucket["total"]
        start = bucket["start"]
        if total >= wanted:
            break
    return start, end, total


def scenario(browser, url: str, wanted: int) -> dict:
    figures: dict[str, object] = {}
    session, opened = open_page(browser, url, "/")
    figures.update({f"open: {k}": v for k, v in opened.items()})
    bbox = parse_qs(urlsplit(session.page.url).query)["bbox"][0]
    figures.update(pan(session))
    figures.update(zoom(session))
    figures.update(select(session))
    session.close()

    start, end, expected = range_of(url, bbox, wanted)
    session, ranged = open_page(browser, url, f"/?{urlencode({'start': start, 'end': end, 'bbox': bbox})}")
    figures.update({f"50k range: {k}": v for k, v in ranged.items()})
    figures["50k range: range"] = f"{start} to {end}"
    figures.update({f"50k range: {k}": v for k, v in pan(session).items()})
    session.close()
    figures.update(open_analytics(browser, url))
    return figures


def summarize(runs: list[dict]) -> dict:
    out = {}
    for key in runs[0]:
        values = [run[key] for run in runs]
        out[key] = statistics.median(values) if all(isinstance(v, int | float) for v in values) else values[-1]
    return out


def fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 10 else f"{value:.1f}"
    return str(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", required=True, help="the benchmark database (1,000,000 incidents)")
    parser.add_argument("--baseline-database", default="posture", help="the baseline database (the seed)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--incidents-in-range", type=int, default=50_000)
    parser.add_argument("--only", choices=["analytics"], help="run this scenario alone (after one warm-up)")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    results = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for label, database in (("baseline", args.baseline_database), ("benchmark", args.database)):
            with web_server(database) as url:
                for _ in range(6):  # every worker process up and its imports done
                    urllib.request.urlopen(f"{url}/api/v1/kinds/", timeout=30).read()  # noqa: S310
                if args.only == "analytics":
                    # The first visitor of freshly started workers: they import the statistics libraries.
                    subprocess.run([*REDIS_CLI, "flushdb"], check=True, capture_output=True)
                    fresh = open_analytics(browser, url)
                    # Every worker has computed the figures once: requests side by side reach them all.
                    with ThreadPoolExecutor(max_workers=6) as pool:
                        list(pool.map(lambda n: api(url, DETERRENCE, {"min_casualties": n}), range(18)))
                    # Then with the server's cache emptied: the figures are computed, not read back.
                    subprocess.run([*REDIS_CLI, "flushdb"], check=True, capture_output=True)
                    cold = open_analytics(browser, url)
                    # The first visitor after a data change, once the worker's warm_analytics task has run.
                    subprocess.run([*REDIS_CLI, "flushdb"], check=True, capture_output=True)
                    warm_analytics(database)
                    warmed = open_analytics(browser, url)
                    results[label] = {
                        "analytics, fresh server processes: first paint (ms)": fresh["analytics: first paint (ms)"],
                        "analytics, server cache cold: first paint (ms)": cold["analytics: first paint (ms)"],
                        "analytics, server cache emptied then warmed: first paint (ms)": warmed[
                            "analytics: first paint (ms)"
                        ],
                        **computed_one_by_one(url),
                        **summarize([open_analytics(browser, url) for _ in range(args.runs)]),
                    }
                    print(f"{label}: {database}, median of {args.runs} runs", file=sys.stderr)
                    continue
                # The first visitor after a data change finds no clusters in the server's cache.
                subprocess.run([*REDIS_CLI, "flushdb"], check=True, capture_output=True)
                session, cold = open_page(browser, url, "/")
                session.close()
                scenario(browser, url, args.incidents_in_range)  # warm-up: database caches
                runs = [scenario(browser, url, args.incidents_in_range) for _ in range(args.runs)]
            results[label] = {
                "open, server cache cold: first incidents painted (ms)": cold["first incidents painted (ms)"],
                **summarize(runs),
            }
            print(f"{label}: {database}, median of {args.runs} runs", file=sys.stderr)
        browser.close()

    base, bench = results["baseline"], results["benchmark"]
    width = max(len(k) for k in bench)
    print(f"{'figure':<{width}}  {'baseline':>12}  {'benchmark':>12}  {'ratio':>7}  target")
    for key, value in bench.items():
        reference = base.get(key)
        ratio = ""
        if isinstance(value, int | float) and isinstance(reference, int | float) and reference:
            ratio = f"{value / reference:.2f}"
        target = TARGETS.get(key)
        verdict = "" if target is None else f"< {target} ms {'ok' if value < target else 'FAILED'}"
        print(f"{key:<{width}}  {fmt(reference):>12}  {fmt(value):>12}  {ratio:>7}  {verdict}")

    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"dashboard-{dt.datetime.now():%Y%m%d-%H%M%S}.json"
    path.write_text(json.dumps({"args": vars(args), "results": results}, indent=2, default=str))
    print(f"written to {path.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
