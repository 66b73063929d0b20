"""The dashboard in a real browser: Debian's Chromium driven by Playwright, against a live server with the
seed data. Screenshots of the main views go to test-artifacts/ (git-ignored).

Waits are for states the page announces (aria-busy, data-* attributes, URL), never for a length of time.
"""

from __future__ import annotations

import datetime as dt
import http.server
import math
import struct
import threading
import zlib
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from events.models import Incident

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
FILTERS = ("start", "end", "kind", "actor", "country", "bbox")
LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}

# The page has settled: no request in flight, no map move waiting to be applied, the count current.
SETTLED = """() => {
  const body = document.body, count = document.querySelector('#incident-count');
  return body.getAttribute('aria-busy') === 'false' && body.dataset.settling !== 'true'
    && count.dataset.count !== '' && !count.closest('.count').classList.contains('is-stale')
    && document.querySelector('#map').dataset.loading === 'false';
}"""


@pytest.fixture
def seeded(transactional_db):
    call_command("load_seed", stdout=open("/dev/null", "w"))  # noqa: SIM115 - closed with the process


@pytest.fixture(autouse=True)
def offline_map(settings):
    """No tile layer unless a test sets one: the machine has no internet, and the page must not need it."""
    settings.MAP_TILE_URL = ""
    settings.MAP_TILE_ATTRIBUTION = ""


class Page:
    """A Playwright page that records console errors and every request's host."""

    def __init__(self, page, base_url: str):
        self.page = page
        self.base_url = base_url
        self.errors: list[str] = []
        self.hosts: set[str] = set()
        page.on("console", lambda message: message.type == "error" and self.errors.append(message.text))
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))
        page.on("request", lambda request: self.hosts.add(urlsplit(request.url).hostname or request.url))

    def open(self, path: str = "/"):
        self.page.goto(self.base_url + path)
        self.settle()

    def settle(self):
        self.page.wait_for_function(SETTLED)

    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.page.url).query)

    def count(self) -> int:
        return int(self.page.locator("#incident-count").get_attribute("data-count"))

    def api_matched(self) -> int:
        """numberMatched from the API for the filters in the page's URL."""
        params = [(key, value) for key, values in self.query().items() if key in FILTERS for value in values]
        response = self.page.request.get(f"{self.base_url}/api/v1/incidents/?{urlencode(params + [('limit', '1')])}")
        assert response.ok, response.text()
        return response.json()["numberMatched"]

    def pixel(self, lon: float, lat: float) -> tuple[float, float]:
        """Where a point is on screen, from the view's bbox in the URL (Web Mercator, as Leaflet draws it)."""
        west, south, east, north = (float(n) for n in self.query()["bbox"][0].split(","))
        box = self.page.locator("#map").bounding_box()

        def mercator(latitude: float) -> float:
            return math.log(math.tan(math.pi / 4 + math.radians(latitude) / 2))

        x = box["x"] + (lon - west) / (east - west) * box["width"]
        y = box["y"] + (mercator(north) - mercator(lat)) / (mercator(north) - mercator(south)) * box["height"]
        return x, y

    def screenshot(self, name: str, *, full_page: bool = False):
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=full_page)


@pytest.fixture
def dashboard(browser, live_server, seeded):
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = Page(context.new_page(), live_server.url)
    yield page
    # A route a test set may still be answering the page's last request: closing under it would raise in the
    # next test's first Playwright call.
    page.page.unroute_all(behavior="ignoreErrors")
    context.close()
    assert page.errors == [], "the page logged errors"


def incident(title_start: str) -> Incident:
    return Incident.objects.get(title__startswith=title_start)


def test_the_seed_is_on_the_map_and_the_count_is_the_apis(dashboard):
    dashboard.open()

    assert "bbox" in dashboard.query(), "the view is part of the URL"
    assert dashboard.count() == dashboard.api_matched()
    assert dashboard.count() >= 10
    map_ = dashboard.page.locator("#map")
    assert map_.get_attribute("data-borders") == "ready"
    assert map_.get_attribute("data-mode") == "points"
    located = Incident.objects.filter(location__isnull=False).count()
    assert int(map_.get_attribute("data-drawn")) == located
    bases = dashboard.page.locator(".base-icon")
    assert bases.count() == 5
    assert dashboard.page.locator('.base-icon[aria-label^="Ayn al-Asad Air Base"]').count() == 1
    assert dashboard.page.locator(".troop-label").count() == 2
    iraq = dashboard.page.locator('.troop-label[data-country="IRQ"]').inner_text()
    assert "US 2,500 · NATO 500 → 4,000+ planned" in iraq
    assert "as of 8 mar 2021" in iraq.lower()
    assert "US ~1,000" in dashboard.page.locator('.troop-label[data-country="SYR"]').inner_text()
    assert dashboard.page.locator("#incident-list .incident-item").count() == dashboard.count()
    dashboard.screenshot("dashboard-desktop")


def test_clicking_an_incident_opens_its_popup_with_sources(dashboard):
    dashboard.open()
    strike = incident("US strike on militia facilities at Abu Kamal")

    dashboard.page.mouse.click(*dashboard.pixel(strike.location.x, strike.location.y))

    popup = dashboard.page.locator(".leaflet-popup .incident-card")
    popup.wait_for()
    assert popup.locator(".card-title").inner_text() == strike.title
    assert "2021-02-25" in popup.inner_text()
    links = popup.locator(".sources a")
    hrefs = {links.nth(i).get_attribute("href") for i in range(links.count())}
    assert set(strike.sources.exclude(url="").values_list("url", flat=True)) == hrefs
    assert "Strategic assessment, TSC, March 2021" in popup.locator(".sources").inner_text()
    assert dashboard.query()["incident"] == [str(strike.pk)]
    # Related incidents are one click away.
    popup.get_by_role("button", name="Rocket attack on Erbil airport", exact=False).click()
    dashboard.page.locator(".leaflet-popup .card-title", has_text="Rocket attack on Erbil airport").wait_for()
    dashboard.settle()
    dashboard.screenshot("dashboard-popup")


def test_changing_the_range_changes_the_count_and_the_url(dashboard):
    dashboard.open()
    before = dashboard.count()
    histogram = dashboard.page.locator("#timeline .timeline-svg").bounding_box()
    y = histogram["y"] + histogram["height"] * 0.6

    dashboard.page.mouse.move(histogram["x"] + histogram["width"] * 0.55, y)
    dashboard.page.mouse.down()
    dashboard.page.mouse.move(histogram["x"] + histogram["width"] * 0.75, y, steps=8)
    dashboard.page.mouse.move(histogram["x"] + histogram["width"] * 0.97, y, steps=8)
    dashboard.page.mouse.up()
    dashboard.page.wait_for_url("**start=*")
    dashboard.settle()

    query = dashboard.query()
    start, end = dt.date.fromisoformat(query["start"][0]), dt.date.fromisoformat(query["end"][0])
    assert start < end
    assert dashboard.count() == dashboard.api_matched()
    assert dashboard.count() != before
    assert dashboard.page.locator("input[name=start]").input_value() == query["start"][0]

    # The range's edges are keyboard sliders: Page Down moves the end back by 30 days, Enter applies.
    handle = dashboard.page.get_by_role("slider", name="Range end")
    handle.focus()
    handle.press("PageDown")
    handle.press("Enter")
    dashboard.page.wait_for_url(f"**end={end - dt.timedelta(days=30)}*")
    dashboard.settle()
    assert dashboard.count() == dashboard.api_matched()


def test_the_url_restores_the_view_on_reload_and_back(dashboard):
    dashboard.open("/?start=2021-01-01&end=2021-12-31")
    in_2021 = dashboard.count()
    url = dashboard.page.url

    assert dashboard.query()["start"] == ["2021-01-01"]
    assert in_2021 == dashboard.api_matched()
    assert in_2021 == Incident.objects.filter(occurred_on__year=2021, location__isnull=False).count()
    assert dashboard.page.locator("#range-caption").inner_text().startswith("1 Jan 2021 – 31 Dec 2021")

    dashboard.page.reload()
    dashboard.settle()
    assert dashboard.page.url == url
    assert dashboard.count() == in_2021
    assert dashboard.page.locator("input[name=end]").input_value() == "2021-12-31"

    dashboard.page.locator("input[name=start]").fill("2021-03-01")
    dashboard.page.locator("input[name=start]").dispatch_event("change")
    dashboard.page.wait_for_url("**start=2021-03-01*")
    dashboard.settle()
    assert dashboard.count() < in_2021

    dashboard.page.go_back()
    dashboard.page.wait_for_url(url)
    dashboard.settle()
    assert dashboard.count() == in_2021
    assert dashboard.page.locator("input[name=start]").input_value() == "2021-01-01"
    dashboard.screenshot("dashboard-2021")


def test_the_chain_of_the_march_3_attack_is_shown(dashboard):
    rockets = incident("Ten rockets hit Ayn al-Asad")

    dashboard.open(f"/?incident={rockets.pk}")

    chain = dashboard.page.locator(".chain.is-selected")
    chain.wait_for()
    text = chain.inner_text()
    assert chain.locator(".node").count() == 6
    assert chain.locator('.node[aria-current="true"]').inner_text().count("Ten rockets hit Ayn al-Asad") == 1
    for expected in (
        "15 Feb 2021",  # Erbil rockets
        "+10 days",  # -> the 25 February US strike, retaliation for
        "retaliation for",
        "6 days after 25 Feb",  # the March 3 rockets, response to the strike
        "4 days after 3 Mar",  # the B-52 overflight, deterrence signal after the rockets
        "7 Mar 2021",
    ):
        assert expected in text
    # The chain is drawn on the map as arrows with the lag, and as arcs over the histogram.
    assert dashboard.page.locator(".chain-lag").count() >= 2
    assert dashboard.page.locator("#timeline .arc-group").count() >= 5
    # The January 2020 sequence is in the list of chains too.
    assert dashboard.page.locator(".chain", has_text="8 Jan 2020").count() == 1
    dashboard.page.locator(".leaflet-popup .incident-card").wait_for()
    dashboard.screenshot("dashboard-chain")


def test_a_chain_cut_at_the_apis_limit_says_it_goes_on(dashboard, monkeypatch):
    monkeypatch.setattr("api.incidents.CHAIN_LIMIT", 3)  # the live server runs in this process
    rockets = incident("Ten rockets hit Ayn al-Asad")

    dashboard.open(f"/?incident={rockets.pk}")

    # The selected incident's chain comes first; the range's own, whole chain may follow it.
    chain = dashboard.page.locator(".chain.is-selected").first
    chain.wait_for()
    assert chain.locator(".node").count() == 3
    assert "the chain goes on" in chain.locator(".chain-head").inner_text()


def test_with_no_tile_url_no_request_leaves_localhost(dashboard):
    dashboard.open()
    dashboard.page.locator("#map").focus()
    dashboard.page.keyboard.press("Equal")  # zoom in
    dashboard.page.keyboard.press("ArrowLeft")
    dashboard.settle()

    assert dashboard.hosts <= LOCAL_HOSTS
    assert dashboard.page.locator(".leaflet-tile").count() == 0


def png_1x1() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)  # 1×1, 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xdd\xdd\xdd"))
        + chunk(b"IEND", b"")
    )


class TileHandler(http.server.BaseHTTPRequestHandler):
    """Stands in for the internet's tile server: a grey tile for every path."""

    PNG = png_1x1()
    paths: list[str] = []

    def do_GET(self):  # noqa: N802 - the http.server API
        TileHandler.paths.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(self.PNG)))
        self.end_headers()
        self.wfile.write(self.PNG)

    def log_message(self, *args):
        pass


@pytest.fixture
def tile_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), TileHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    TileHandler.paths = []
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_a_tile_url_puts_online_tiles_on_top(dashboard, settings, tile_server):
    settings.MAP_TILE_URL = tile_server + "/{z}/{x}/{y}.png"
    settings.MAP_TILE_ATTRIBUTION = "Local test tiles"
    policy = {**settings.CONTENT_SECURITY_POLICY, "DIRECTIVES": dict(settings.CONTENT_SECURITY_POLICY["DIRECTIVES"])}
    policy["DIRECTIVES"]["img-src"] = [*policy["DIRECTIVES"]["img-src"], tile_server]
    settings.CONTENT_SECURITY_POLICY = policy

    dashboard.open()
    dashboard.page.locator(".leaflet-tile-loaded").first.wait_for()

    assert any(path.endswith(".png") and path.startswith("/5/") for path in TileHandler.paths)
    assert "Local test tiles" in dashboard.page.locator(".leaflet-control-attribution").inner_text()
    # The offline borders stay underneath, for when tiles fail.
    assert dashboard.page.locator("#map").get_attribute("data-borders") == "ready"


def test_the_list_is_keyboard_operable_and_controls_are_labelled(dashboard):
    dashboard.open()

    unlabelled = dashboard.page.evaluate(
        """() => [...document.querySelectorAll('button, input, select, [role=slider], summary, a[href]')]
            .filter((el) => el.offsetParent !== null || el.closest('svg'))
            .filter((el) => {
              const labelled = el.getAttribute('aria-label') || el.getAttribute('aria-labelledby')
                || (el.labels && el.labels.length) || el.textContent.trim() || el.getAttribute('title');
              return !labelled;
            })
            .map((el) => el.outerHTML.slice(0, 120))"""
    )
    assert unlabelled == []

    item = dashboard.page.locator(".incident-item", has_text="Rocket attack on Erbil airport")
    item.focus()
    dashboard.page.keyboard.press("Enter")
    popup = dashboard.page.locator(".leaflet-popup .incident-card")
    popup.wait_for()
    assert "Rocket attack on Erbil airport" in popup.inner_text()
    dashboard.settle()  # the map flew there, so the list reloaded for the new view
    assert item.get_attribute("aria-current") == "true"
    assert dashboard.page.evaluate("document.activeElement.textContent").count("Rocket attack on Erbil airport") == 1


def test_an_api_error_is_shown_to_the_user(browser, live_server, seeded):
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = Page(context.new_page(), live_server.url)
    page.page.goto(live_server.url + "/?start=not-a-date")

    banner = page.page.get_by_role("alert")
    banner.wait_for()
    assert "start" in banner.inner_text()
    assert "YYYY-MM-DD" in banner.inner_text()
    expect(page.page.locator("#incident-count")).to_have_text("—", timeout=30_000)
    context.close()


def test_it_works_on_a_phone(browser, live_server, seeded):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = Page(context.new_page(), live_server.url)
    page.open()

    assert page.count() == page.api_matched()
    assert page.page.evaluate("document.documentElement.scrollWidth") <= 390
    assert page.page.locator("#incident-count").is_visible()
    assert page.page.locator("#map").bounding_box()["height"] >= 300
    page.screenshot("dashboard-phone", full_page=True)
    # The Analytics view takes the map's place, first on the page, no wider than the screen.
    page.page.get_by_role("tab", name="Analytics").click()
    page.page.wait_for_function("() => document.querySelector('#analytics-body').ariaBusy === 'false'")
    assert page.page.evaluate("document.documentElement.scrollWidth") <= 390
    top = page.page.locator(".analytics-block").first.bounding_box()["y"]
    assert top < page.page.locator("#timeline").bounding_box()["y"]
    page.screenshot("dashboard-phone-analytics", full_page=True)
    assert page.errors == []
    context.close()


@pytest.fixture
def cycle_data(seeded):
    """The seed, and a year of planted cycles between two sides (bench/planted.py) in the same region: half
    the planted answers linked by an editor, the other half left for the suggestions to find."""
    from bench import planted
    from events.cycles import suggestions as cycles
    from events.models import IncidentLink
    from posture.models import Source

    generated = planted.generate(seed=7, days=360)
    ids = planted.load(generated)
    source = Source.objects.get(publisher="Planted")
    answers = sorted(generated.parents)[::2]
    links = IncidentLink.objects.bulk_create(
        IncidentLink(incident_id=ids[c], prior_id=ids[generated.parents[c]], relation="response_to", asserted_by="me")
        for c in answers
    )
    IncidentLink.sources.through.objects.bulk_create(
        IncidentLink.sources.through(incidentlink_id=link.pk, source_id=source.pk) for link in links
    )
    cycles.refresh_suggestions()
    return generated, ids


def api_json(dashboard: Page, path: str) -> dict:
    response = dashboard.page.request.get(f"{dashboard.base_url}/api/v1/{path}")
    assert response.ok, response.text()
    return response.json()


def open_analytics(dashboard: Page, path: str = "/?view=analytics"):
    dashboard.open(path)
    dashboard.page.wait_for_function("() => document.querySelector('#analytics-body').ariaBusy === 'false'")


def test_the_analytics_view_draws_the_cycle_with_figures_in_text(dashboard, cycle_data):
    open_analytics(dashboard)
    page = dashboard.page

    assert page.get_by_role("tab", name="Analytics").get_attribute("aria-selected") == "true"
    assert page.locator("#analytics").is_visible()
    assert page.evaluate("document.querySelector('#map-pane').inert")
    # Deterrence: a curve for the air strikes, and its median in words, as the API has it.
    deterrence = api_json(dashboard, "analytics/deterrence/")
    strikes = next(kind for kind in deterrence["summary"] if kind["kind"] == "air_strike")
    assert strikes["status"] == "ok"
    assert page.locator('.survival[data-kind="air_strike"] .survival-line').count() == 1
    summary = page.locator('.analytics-summary li[data-kind="air_strike"]').inner_text()
    assert f"(n = {strikes['n']})" in summary
    median = strikes["median_days"]
    assert f"median {median['value']:g} days (95% CI {median['low']:g}–" in summary
    rows = page.locator("#analytics .plot-table").first.locator("tbody tr")
    assert rows.count() == len(deterrence["summary"])
    # Response lags: confirmed links as bars, suggestions outlined, chance as a band.
    assert page.locator(".lag-bars .bar-confirmed").count() > 0
    assert page.locator(".lag-bars .bar-suggested").count() > 0
    assert page.locator(".chance-band").count() == 1
    # Surges: listed, and marked on the timeline.
    surges = api_json(dashboard, "analytics/surges/")["surges"]
    assert surges, "the planted year has surge weeks"
    assert page.locator(".surge-list li").count() == len(surges)
    assert page.locator("#timeline .surge").count() == len({s["week"] for s in surges})
    dashboard.screenshot("dashboard-analytics")


def test_the_analytics_plots_are_read_out_from_the_keyboard(dashboard, cycle_data):
    open_analytics(dashboard)
    page = dashboard.page
    live = page.locator("#analytics-body > [aria-live]")

    survival = page.get_by_role("group", name="Deterrence", exact=False)
    survival.focus()
    assert live.inner_text().startswith("Air strike, day 0: 100% of windows still holding")
    page.keyboard.press("End")
    assert "Air strike, day " in live.inner_text()
    assert "at risk" in live.inner_text()
    lags = page.get_by_role("group", name="Response lags", exact=False)
    lags.focus()
    page.keyboard.press("ArrowRight")
    assert live.inner_text().startswith("3 to 5 days:")
    assert "confirmed" in live.inner_text()
    assert "chance" in live.inner_text()


def test_the_analytics_view_follows_the_filters_and_the_url(dashboard, cycle_data):
    open_analytics(dashboard, "/?view=analytics&kind=air_strike")
    page = dashboard.page

    assert page.locator(".analytics-summary li[data-kind]").all_inner_texts()[0].startswith("Air strike")
    assert page.locator(".analytics-summary li[data-kind]").count() == 1
    # Tabs: arrow keys move between them, and the view is a history entry.
    page.get_by_role("tab", name="Analytics").focus()
    page.keyboard.press("ArrowLeft")
    page.wait_for_function("() => !new URLSearchParams(location.search).has('view')")
    assert page.locator("#analytics").is_hidden()
    assert not page.evaluate("document.querySelector('#map-pane').inert")
    assert dashboard.query()["kind"] == ["air_strike"]
    page.go_back()
    page.wait_for_function("() => new URLSearchParams(location.search).get('view') === 'analytics'")
    assert page.locator("#analytics").is_visible()


def test_a_card_says_what_came_before_and_after(dashboard):
    strike = incident("US strike on militia facilities at Abu Kamal")

    dashboard.open(f"/?incident={strike.pk}")

    line = dashboard.page.locator(".leaflet-popup .before-after[data-state=ready]")
    line.wait_for()
    # The data end on 7 March, so the window after is cut to 10 days; it holds the Ayn al-Asad rockets.
    assert line.inner_text().startswith(
        "10 days after: 1 attack by Iran and aligned groups on United States and partners; "
        "1 in the 14 days before; rate ratio: insufficient data (n = 2)."
    )
    assert "cut to 10" in line.inner_text()


def grant_review(user):
    from django.contrib.auth.models import Permission

    codenames = ["view_linksuggestion", "change_linksuggestion", "add_incidentlink", "add_suggestionrejection"]
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))


def test_suggested_links_are_dashed_and_an_editor_accepts_and_rejects_them(browser, live_server, cycle_data, editor):
    from django.test import Client

    from events.models import IncidentLink, LinkSuggestion, SuggestionRejection

    accepted, rejected = LinkSuggestion.objects.filter(rank=1, incident__location__isnull=False).order_by("-score")[:2]
    for anonymous in (True, False):
        context = browser.new_context(viewport={"width": 1440, "height": 900})
        if not anonymous:
            grant_review(editor)
            client = Client()
            client.force_login(editor)
            session = client.cookies["sessionid"].value
            context.add_cookies([{"name": "sessionid", "value": session, "url": live_server.url}])
        dashboard = Page(context.new_page(), live_server.url)
        dashboard.open(f"/?incident={accepted.incident_id}")
        page = dashboard.page

        row = page.locator(f'#suggestions .suggestion[data-prior="{accepted.prior_id}"]')
        row.wait_for()
        assert row.locator(".suggested-tag").text_content() == "suggested"
        assert page.locator(".leaflet-pane path.chain-suggested").count() >= 1
        assert page.locator(".chain-lag.is-suggested").first.inner_text().startswith("suggested +")
        assert page.locator("#timeline .arc.is-suggested").count() > 0
        if anonymous:
            assert row.locator("button[data-verdict]").count() == 0
            context.close()
            continue
        row.get_by_role("button", name="Accept").click()
        row.wait_for(state="detached")
        dashboard.settle()
        link = IncidentLink.objects.get(incident_id=accepted.incident_id, prior_id=accepted.prior_id)
        assert link.asserted_by.endswith("(confirmed from a suggestion)")
        assert page.locator(f'.chain.is-selected .node[data-incident="{accepted.prior_id}"]').count() == 1

        dashboard.open(f"/?incident={rejected.incident_id}")
        row = page.locator(f'#suggestions .suggestion[data-prior="{rejected.prior_id}"]')
        row.get_by_role("button", name="Reject").click()
        row.wait_for(state="detached")
        dashboard.settle()
        rejection = SuggestionRejection.objects.get(incident_id=rejected.incident_id, prior_id=rejected.prior_id)
        assert rejection.rejected_by == editor
        assert not IncidentLink.objects.filter(incident_id=rejected.incident_id, prior_id=rejected.prior_id).exists()
        assert dashboard.errors == []
        context.close()


# Where the timeline's bars, its plot and its overview strip are on screen.
TIMELINE_BOXES = """() => {
  const box = (el) => { const r = el.getBoundingClientRect(); return {left: r.left, right: r.right}; };
  const all = (selector) => [...document.querySelectorAll(selector)].map(box);
  const one = (selector) => box(document.querySelector(selector));
  const svg = document.querySelector('#timeline .timeline-svg');
  return {
    start: svg.dataset.detailStart, end: svg.dataset.detailEnd, bucket: svg.dataset.bucket,
    plot: one('#timeline .axis .baseline'), bars: all('#timeline .bars .bucket rect'),
    strip: one('#timeline .overview-frame'), overview: all('#timeline .overview-bar'),
    selection: one('#timeline .overview-selection'),
    pane: box(svg),
    labels: [...svg.querySelectorAll('text')].filter((t) => t.textContent).map((t) => [t.textContent, box(t)]),
  };
}"""


def labels_cut(boxes: dict) -> list:
    """The timeline's labels that its pane's edges cut."""
    left, right = boxes["pane"]["left"] - 0.5, boxes["pane"]["right"] + 0.5
    return [text for text, box in boxes["labels"] if not left <= box["left"] <= box["right"] <= right]


def test_the_timeline_zooms_to_the_range_over_an_overview_of_the_whole_span(dashboard):
    from .factories import IncidentFactory

    for day in ("2007-01-02", "2007-07-10", "2008-02-20", "2008-12-24"):
        IncidentFactory(occurred_on=dt.date.fromisoformat(day), title=f"Rockets of {day}")

    dashboard.open("/?start=2007-01-01&end=2008-12-31")
    page = dashboard.page
    page.wait_for_function("() => document.querySelector('#timeline').ariaBusy === 'false'")

    assert dashboard.count() == 4 == dashboard.api_matched()
    boxes = page.evaluate(TIMELINE_BOXES)
    # The detail is the range, at a bucket for two years: its bars span the plot, not its leftmost tenth.
    assert (boxes["start"], boxes["end"], boxes["bucket"]) == ("2007-01-01", "2008-12-31", "week")
    assert page.locator("#timeline-unit").inner_text() == "per week"
    plot, width = boxes["plot"], boxes["plot"]["right"] - boxes["plot"]["left"]
    assert min(bar["left"] for bar in boxes["bars"]) <= plot["left"] + 0.01 * width
    assert max(bar["right"] for bar in boxes["bars"]) >= plot["right"] - 0.02 * width
    # The overview strip is the whole span, 2007 to the seed's 2021, with the range on its left.
    strip, span = boxes["strip"], boxes["strip"]["right"] - boxes["strip"]["left"]
    assert min(bar["left"] for bar in boxes["overview"]) <= strip["left"] + 0.01 * span
    assert max(bar["right"] for bar in boxes["overview"]) >= strip["right"] - 0.01 * span
    assert boxes["selection"]["left"] <= strip["left"] + 1
    assert boxes["selection"]["right"] < strip["left"] + 0.2 * span
    assert labels_cut(boxes) == []
    dashboard.screenshot("dashboard-timeline-range")

    # Dragging across the detail zooms in further, to days.
    svg = page.locator("#timeline .timeline-svg").bounding_box()
    y = svg["y"] + svg["height"] * 0.4
    page.mouse.move(plot["left"] + 0.5 * width, y)
    page.mouse.down()
    page.mouse.move(plot["left"] + 0.6 * width, y, steps=6)
    page.mouse.up()
    page.wait_for_url("**start=2008-*")
    dashboard.settle()
    page.wait_for_function("() => document.querySelector('#timeline').ariaBusy === 'false'")
    zoomed = page.evaluate(TIMELINE_BOXES)
    assert (zoomed["start"], zoomed["end"]) == (dashboard.query()["start"][0], dashboard.query()["end"][0])
    assert zoomed["bucket"] == "day"
    assert zoomed["start"] < "2008-02-20" < zoomed["end"], "the February 2008 rockets are in the half dragged over"
    assert dashboard.count() == 1

    # All dates again: the detail is the whole span, by month.
    page.get_by_role("button", name="Show all dates").click()
    page.wait_for_function("() => document.querySelector('#timeline .timeline-svg').dataset.bucket === 'month'")
    dashboard.settle()
    whole = page.evaluate(TIMELINE_BOXES)
    assert whole["start"] == "2007-01-01"
    assert labels_cut(whole) == []
    assert labels_cut(zoomed) == []
    dashboard.screenshot("dashboard-timeline-zoomed")


@pytest.fixture
def near_repeats(seeded):
    """The seed, and a dense planted space-time file (bench/planted.py): 1,200 strikes and IEDs in a 100 km square
    over 240 days, half the strikes answered by an IED within 5 km and 3 days. So dense that nearly every
    strike's window closes the next day, somewhere in the square."""
    from bench import planted

    generated = planted.near_repeats(seed=5, acts=200, attacks=1000, days=240)
    planted.load(generated)
    return generated


DENSE = f"/?view=analytics&start={dt.date(2022, 1, 1)}"


def analytics_requests(dashboard: Page) -> dict[str, list[dict[str, list[str]]]]:
    """The Analytics panels' requests the page makes, by endpoint, from now on: their query strings."""
    seen: dict[str, list[dict[str, list[str]]]] = {}

    def record(request):
        url = urlsplit(request.url)
        if "/api/v1/analytics/" in url.path:
            seen.setdefault(url.path.rstrip("/").rsplit("/", 1)[-1], []).append(parse_qs(url.query))

    dashboard.page.on("request", record)
    return seen


def wait_for_analytics(dashboard: Page):
    dashboard.page.wait_for_function("() => document.querySelector('#analytics-body').ariaBusy === 'false'")
    dashboard.settle()


def test_the_radius_drives_every_panel_and_the_url_and_degenerate_figures_propose_one(dashboard, near_repeats):
    requests = analytics_requests(dashboard)
    open_analytics(dashboard, DENSE)
    page = dashboard.page
    checkbox, km = page.get_by_label("Pair only incidents within"), page.get_by_label("Radius in km")
    deterrence = page.locator(".analytics-block").first

    # Off by default: no panel sends a radius.
    assert not checkbox.is_checked()
    assert km.is_disabled()
    assert "within_km" not in dashboard.query()
    assert all("within_km" not in query for queries in requests.values() for query in queries)
    # Nearly every window closes the next day: the panel says so in words, and proposes a radius.
    windows = api_json(dashboard, f"analytics/deterrence/?start={dt.date(2022, 1, 1)}")["windows"]
    within_a_day = sum(1 for w in windows if not w["censored"] and w["days"] <= 1) / len(windows)
    assert within_a_day > 0.9
    assert deterrence.get_attribute("data-degenerate") == "true"
    note = deterrence.locator(".degenerate").inner_text()
    share = round(within_a_day * 100)
    assert f"Degenerate figures: {share}% of the {len(windows):,} windows closed within a day" in note
    assert "within 50 km of each other may tell more" in note

    requests.clear()
    deterrence.get_by_role("button", name="Use within 50 km").click()
    page.wait_for_url("**within_km=50*")
    wait_for_analytics(dashboard)
    assert checkbox.is_checked()
    assert km.input_value() == "50"
    for endpoint in ("deterrence", "response-lags"):
        assert [query["within_km"] for query in requests[endpoint]] == [["50"]], endpoint
    assert [query["km"] for query in requests["space-time"]] == [["1,5,10,25,50"]], "the bands stop at the radius"
    assert all("within_km" not in query for query in requests["surges"]), "surges count incidents, not pairs"
    # Within 50 km of the strike, the next attack mostly comes later than the next day.
    assert deterrence.get_attribute("data-degenerate") == "false"
    assert deterrence.locator(".degenerate").count() == 0

    # Typed in: 25 km, a history entry.
    requests.clear()
    km.fill("25")
    km.press("Enter")
    page.wait_for_url("**within_km=25*")
    wait_for_analytics(dashboard)
    assert requests["deterrence"][-1]["within_km"] == ["25"]
    assert requests["space-time"][-1]["km"] == ["1,5,10,25"]

    # The URL restores it.
    requests.clear()
    page.reload()
    wait_for_analytics(dashboard)
    assert checkbox.is_checked()
    assert km.input_value() == "25"
    assert requests["response-lags"][-1]["within_km"] == ["25"]
    # Back: 50 km again; off: no radius anywhere.
    page.go_back()
    page.wait_for_url("**within_km=50*")
    wait_for_analytics(dashboard)
    assert km.input_value() == "50"
    requests.clear()
    checkbox.uncheck()
    page.wait_for_function("() => !new URLSearchParams(location.search).has('within_km')")
    wait_for_analytics(dashboard)
    assert km.is_disabled()
    assert all("within_km" not in query for queries in requests.values() for query in queries)
    assert requests["space-time"][-1]["km"] == ["1,5,10,25"]


# The label boxes of the response-lags plot, to find any that run into another.
LAG_LABELS = """() => {
  const plot = document.querySelector('.lag-bars').closest('svg');
  const box = (el) => { const r = el.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  return {
    scale: plot.dataset.scale,
    y: [...plot.querySelectorAll('.y-tick')].map((t) => [t.textContent, box(t)]),
    x: [...plot.querySelectorAll('.x-tick')].map((t) => [t.textContent, box(t)]),
    titles: [...plot.querySelectorAll('.axis-title')].map((t) => [t.textContent, box(t)]),
  };
}"""


def overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_large_counts_have_thousands_separators_a_log_axis_and_no_label_on_another(dashboard, near_repeats):
    """At 68,420 lags in one bin (seen on a million incidents) the y labels ran into the axis title and the other
    bins were flat: the response-lags answer is the API's, with 68,420 in its first bin."""
    import json

    def large(route):
        response = route.fetch()
        body = response.json()
        for pair in body["pairs"]:
            pair["baseline"]["observed"]["bins"][0]["count"] = 68420
        route.fulfill(response=response, body=json.dumps(body))

    dashboard.page.route("**/api/v1/analytics/response-lags/**", large)
    open_analytics(dashboard, DENSE)

    labels = dashboard.page.evaluate(LAG_LABELS)
    assert labels["scale"] == "log", "one bin dwarfs the rest"
    assert [text for text, _ in labels["y"]][-1] == "100,000"
    assert all("," in text for text, _ in labels["y"] if len(text) > 3)
    boxes = [box for _, box in labels["y"] + labels["x"] + labels["titles"]]
    assert not [(a, b) for k, a in enumerate(boxes) for b in boxes[k + 1 :] if overlap(a, b)]
    table = dashboard.page.locator(".plot-table").nth(1).locator("tbody tr").first.text_content()
    assert "68,420" in table
    dashboard.page.locator(".analytics-block").nth(1).screenshot(path=ARTIFACTS / "analytics-large-counts.png")


def test_the_space_time_grid_marks_p_below_005_with_tooltips_and_a_table(dashboard, near_repeats):
    requests = analytics_requests(dashboard)
    open_analytics(dashboard, DENSE + "&within_km=25")
    page = dashboard.page
    block = page.locator(".analytics-space-time")

    # The answer the page drew, asked again of the API: the planted pair, the radius's bands.
    (query,) = requests["space-time"]
    assert query["km"] == ["1,5,10,25"]
    assert (query["first"], query["answering"]) == (["planted-a"], ["planted-b"])
    assert block.get_attribute("data-pair") == "planted-a>planted-b"
    answer = api_json(dashboard, f"analytics/space-time/?{urlencode(query, doseq=True)}")
    cells = answer["cells"]
    assert len(cells) == 4 * 5
    # One cell per band pair, p < 0.05 marked: the planted answers (within 5 km, 1 to 3 days) among them.
    assert block.locator(".knox-cell").count() == len(cells)
    significant = [c for c in cells if c["status"] == "ok" and c["p_value"] < 0.05]
    marked = block.locator(".knox-cell.is-significant")
    assert marked.count() == len(significant) > 0
    assert {
        (marked.nth(k).get_attribute("data-km"), marked.nth(k).get_attribute("data-days"))
        for k in range(marked.count())
    } == {(f"{c['km_from']:g}-{c['km_to']:g}", f"{c['days_from']}-{c['days_to']}") for c in significant}
    near = next(c for c in cells if c["km_to"] == 5 and c["days_from"] == 2)
    assert near in significant
    # Plot draws a cell's square and its ratio in two marks: each carries the cell's bands.
    cell = block.locator('.knox-cell[data-km="1-5"][data-days="2-3"]')
    ratio = block.locator('.knox-ratio[data-km="1-5"][data-days="2-3"]').text_content().removesuffix("*")
    assert ratio.endswith("×")
    assert abs(float(ratio.rstrip("×")) - near["ratio"]) < 0.05
    tooltip = cell.locator("title").text_content()
    observed, expected, p = f"{near['observed']:,}", f"{near['expected']:.1f}", f"{near['p_value']:.3f}"
    assert (
        tooltip
        == f"1–5 km and 2–3 days apart: {observed} observed, {expected} expected, ratio {ratio}, p = {p} (below 0.05)."
    )
    # The one-line reading, and the figures as a table for screen readers.
    assert block.locator(".reading").inner_text() == answer["reading"]
    rows = block.locator(".plot-table tbody tr")
    assert rows.count() == len(cells)
    row = rows.nth(cells.index(near)).locator("th, td")
    assert row.all_text_contents() == [
        "1–5 km",
        "2–3 days",
        observed,
        expected,
        ratio,
        f"{near['p_value']:.3f} (below 0.05)",
    ]
    # From the keyboard: the arrow keys walk the cells and the live region reads them out.
    block.get_by_role("group", name="Space and time", exact=False).focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowRight")
    assert page.locator("#analytics-body > [aria-live]").inner_text() == tooltip
    # Another pair of sides: its own request.
    block.get_by_label("Pair of sides for space and time").select_option("planted-b>planted-a")
    page.wait_for_function("() => document.querySelector('.analytics-space-time').ariaBusy === 'false'")
    assert requests["space-time"][-1]["first"] == ["planted-b"]

    # The docs' screenshot: the view on the dense file, the radius set, the grid drawn.
    block.get_by_label("Pair of sides for space and time").select_option("planted-a>planted-b")
    page.wait_for_function("() => document.querySelector('.analytics-space-time').ariaBusy === 'false'")
    # docs/analytics-space-time.png is this file, its colours reduced (docs/analytics.md says how).
    page.set_viewport_size({"width": 1280, "height": 1750})
    page.evaluate("document.activeElement.blur(); document.querySelector('#analytics-body').scrollTop = 0")
    dashboard.settle()
    page.locator("#analytics").screenshot(path=ARTIFACTS / "analytics-space-time.png")


def record_change(incident: Incident, reason: str, **fields) -> None:
    """A change with its history row, as an import, a sync or an editor writes one."""
    for name, value in fields.items():
        setattr(incident, name, value)
    incident._change_reason = reason
    incident.save()


def test_a_card_says_how_often_it_was_updated_and_opens_its_history(dashboard):
    strike = incident("US strike on militia facilities at Abu Kamal")
    old_weapon = strike.weapon
    record_change(strike, "ACLED sync #123", weapon="Precision-guided bombs")
    today = dt.datetime.now(dt.UTC).date()

    dashboard.open(f"/?incident={strike.pk}")

    history = dashboard.page.locator(".leaflet-popup .card-history[data-state=ready]")
    history.wait_for()
    summary = history.locator("summary")
    assert summary.inner_text() == f"updated once, last on {today.day} {today:%b %Y} (ACLED sync)"
    assert not history.locator(".history-list").is_visible()
    summary.click()
    newest = history.locator(".history-change").first
    assert "Updated by ACLED sync #123" in newest.inner_text()
    assert f"weapon: {old_weapon or '(none)'} → Precision-guided bombs" in newest.inner_text()
    assert history.locator(".history-change").last.get_attribute("data-change") == "published"
    dashboard.screenshot("dashboard-card-history")


def test_a_permalink_to_a_retracted_incident_shows_it_retracted_with_the_reason(dashboard):
    strike = incident("US strike on militia facilities at Abu Kamal")
    record_change(
        strike,
        "ACLED sync #124",
        status="retracted",
        retracted_reason="deleted by ACLED on 2026-12-01",
        retracted_at=dt.datetime(2026, 12, 2, 8, tzinfo=dt.UTC),
    )

    dashboard.open(f"/?incident={strike.pk}")

    notice = dashboard.page.locator(".detail-card .retracted-notice")
    notice.wait_for()
    assert notice.locator(".card-title").inner_text() == "Retracted: deleted by ACLED on 2026-12-01"
    assert "Retracted on 2 Dec 2026" in notice.inner_text()
    notice.locator(".card-history[data-state=ready] summary").click()
    assert "Retracted by ACLED sync #124" in notice.locator(".history-change").first.inner_text()
    assert "Reason: deleted by ACLED on 2026-12-01" in notice.locator(".history-change").first.inner_text()
    assert dashboard.page.get_by_role("alert").is_hidden()
    assert dashboard.query()["incident"] == [str(strike.pk)]
    # Chromium logs the 410s it was answered (the incident's and its chain's); the page itself logged nothing.
    dashboard.errors[:] = [error for error in dashboard.errors if "status of 410" not in error]


def test_the_count_says_how_fresh_each_dataset_is(dashboard):
    from django.utils import timezone

    from events.models import ImportJob, SyncState

    from .factories import IncidentFactory

    IncidentFactory(dataset="acled", occurred_on=dt.date(2021, 3, 6))
    job = ImportJob.objects.create(format=ImportJob.Format.ACLED_API, dataset="acled", status="done")
    synced = timezone.now() - dt.timedelta(hours=2)
    SyncState.objects.update_or_create(name="acled", defaults={"last_job": job, "last_success_at": synced})

    dashboard.open()

    line = dashboard.page.locator(".count .count-freshness")
    dashboard.page.wait_for_function("() => document.querySelector('.count-freshness')?.textContent !== ''")
    # The seed's own incidents are dataset "seed", with no sync.
    assert line.inner_text() == "ACLED: synced 2 h ago, events to 6 Mar 2021 · SEED: events to 7 Mar 2021"
