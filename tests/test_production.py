"""The site as production runs it, and what it does when its dependencies fail.

One throwaway stack for the module (tests/servers.py): a fresh PostgreSQL cluster and a Redis on Unix
sockets in a temporary directory, migrated and seeded, and the site under a real gunicorn in production
mode (DJANGO_ENV=production, pooled connections, whitenoise, statement timeout). Tests stop and start
those servers; the team's shared services are never touched. Each test leaves the stack running.

Requests carry X-Forwarded-Proto: https, as the TLS-terminating proxy in front of gunicorn would.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import http.client
import http.server
import json
import re
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import hypothesis
import pytest
import schemathesis
from psycopg import sql
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from .bodies import admin_incident_form
from .servers import ROOT, VENV_BIN, Postgres, Redis, Session, WebServer, make_tempdir, wait_for

# The module's stack (a cluster, a Redis and gunicorn of its own) is built once, and its tests take minutes in all.
pytestmark = pytest.mark.heavy

EDITOR = ("prod-editor", "a long and unguessable passphrase")
API = "/api/v1/incidents/?limit=5"
# Public reads beyond the incident list, each from a different query builder.
PUBLIC_READS = [
    "/api/v1/bases/",
    "/api/v1/timeline/?bucket=month",
    "/api/v1/links/",
    "/api/v1/deployments/?latest=true",
    "/api/v1/actors/",
    "/api/v1/incidents/?format=csv",
    "/api/v1/incidents/?format=geojson",
    "/ogc/collections/incidents/items?limit=3",
    "/ogc/collections/incidents",
]


@dataclass
class Stack:
    directory: Path
    postgres: Postgres
    redis: Redis
    web: WebServer
    token: str

    def sql(self, query, params: tuple = (), database: str = "posture"):
        """The first column of the first row."""
        with self.postgres.connect(database) as connection:
            cursor = connection.execute(query, params)
            row = cursor.fetchone() if cursor.description else None
        return row[0] if row else None


# One of each way the API reaches the database (ORM, hand-written SQL, streaming exports, OGC), for the
# outage test, where each request waits out the pool's timeout.
OUTAGE_READS = [
    "/api/v1/actors/",
    "/api/v1/timeline/?bucket=month",
    "/api/v1/incidents/?format=csv",
    "/api/v1/incidents/?format=geojson",
    "/ogc/collections/incidents/items?limit=3",
]


@pytest.fixture(scope="module")
def stack():
    directory = make_tempdir("posture-prod-")
    (directory / "pg").mkdir()
    (directory / "redis").mkdir()
    (directory / "web").mkdir()
    postgres = Postgres(directory / "pg")
    redis = Redis(directory / "redis")
    web = None
    try:
        postgres.init()
        postgres.start()
        postgres.createdb("posture")
        redis.start()
        web = WebServer(
            directory / "web",
            {
                "DATABASE_URL": postgres.url("posture"),
                "REDIS_URL": redis.url(0),
                "WEB_CONCURRENCY": "2",
                # Short, so that the outage and timeout tests run in seconds.
                "DATABASE_STATEMENT_TIMEOUT": "1s",
                # Above the pool's one-second back-off after two failed checks (settings: max_size).
                "DATABASE_POOL_TIMEOUT": "2",
                "DATABASE_CONNECT_TIMEOUT": "2",
                # Behind one proxy: the rate limit test speaks for several client addresses.
                "NUM_PROXIES": "1",
                "MAX_UPLOAD_SIZE": str(4 * 1024 * 1024),
            },
        )
        # The site's one-second statement timeout is for its requests: on a busy machine a migration's statement
        # may take longer.
        setup = {"DATABASE_STATEMENT_TIMEOUT": ""}
        # collectstatic reads no database: it runs meanwhile. The rest is one process, since each start of
        # manage.py costs seconds of imports.
        with concurrent.futures.ThreadPoolExecutor(1) as beside:
            collected = beside.submit(web.manage, "collectstatic", "--no-input", env=setup)
            token = web.manage(
                "shell",
                "-c",
                "from django.contrib.auth.models import Group, User;"
                "from django.core.management import call_command;"
                "from rest_framework.authtoken.models import Token;"
                "call_command('migrate', interactive=False, verbosity=0);"
                "call_command('load_seed');"
                f"u = User.objects.create_user({EDITOR[0]!r}, password={EDITOR[1]!r}, is_staff=True);"
                "u.groups.add(Group.objects.get(name='Editors'));"
                "print(Token.objects.create(user=u).key)",
                env=setup,
            ).stdout.split()[-1]
            collected.result()  # its own deadline is run()'s
        web.start()
        yield Stack(directory, postgres, redis, web, token)
    finally:
        if web is not None:
            web.stop()
        redis.stop()
        if postgres.is_running():
            postgres.stop()
        # The servers' logs outlive the run, for a failure's post-mortem (test-artifacts/ is git-ignored).
        logs = ROOT / "test-artifacts" / "production"
        shutil.rmtree(logs, ignore_errors=True)
        for log in [*directory.glob("*/*.log"), *directory.glob("*/server.log")]:
            (logs / log.parent.name).mkdir(parents=True, exist_ok=True)
            shutil.copy(log, logs / log.parent.name / log.name)
        shutil.rmtree(directory, ignore_errors=True)


def no_traceback(body: str) -> None:
    assert "Traceback" not in body
    assert 'File "' not in body
    assert "psycopg" not in body.lower()
    assert "/work/" not in body
    assert "/tmp/" not in body  # noqa: S108 - looking for leaked paths, not using one


def test_the_probes_answer_and_readyz_names_every_dependency(stack):
    health = stack.web.get("/healthz")
    ready = stack.web.get("/readyz")

    assert health.status == 200
    assert health.json() == {"status": "ok"}
    assert ready.status == 200
    assert ready.json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}, "failed": []}


def test_probes_skip_the_https_redirect_and_the_host_check(stack):
    # A load balancer probes the instance by address, over plain HTTP.
    probe = stack.web.get("/readyz", headers={"X-Forwarded-Proto": "http", "Host": "10.0.3.7:8000"})

    assert probe.status == 200


def test_plain_http_is_redirected_to_https(stack):
    response = stack.web.get("/api/v1/kinds/", headers={"X-Forwarded-Proto": "http"})

    assert response.status == 301
    assert response.headers["Location"] == f"https://127.0.0.1:{stack.web.port}/api/v1/kinds/"


def test_pages_carry_the_security_headers(stack):
    page = stack.web.get("/")

    assert page.status == 200
    assert page.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert page.headers["X-Frame-Options"] == "DENY"
    csp = dict(part.strip().split(" ", 1) for part in page.headers["Content-Security-Policy"].split(";"))
    nonce = re.search(r"'nonce-([^']+)'", csp["script-src"]).group(1)
    assert csp["script-src"] == f"'self' 'nonce-{nonce}'"
    assert csp["object-src"] == "'none'"
    assert csp["frame-ancestors"] == "'none'"
    # The import map is the one inline script, and it carries this response's nonce.
    assert f'<script type="importmap" nonce="{nonce}">' in page.text
    inline_scripts = re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", page.text)
    assert inline_scripts
    assert all(f'nonce="{nonce}"' in tag for tag in inline_scripts)


def test_cookies_are_secure_and_the_session_cookie_is_httponly(stack):
    session = Session(stack.web)
    session.login(*EDITOR)

    assert session.request("GET", "/admin/").status == 200
    cookies = {header.split("=", 1)[0]: header for header in session.set_cookie_headers}
    assert "; Secure" in cookies["csrftoken"]
    assert "; Secure" in cookies["sessionid"]
    assert "; HttpOnly" in cookies["sessionid"]


def test_static_files_come_from_whitenoise_with_hashed_names_and_long_caching(stack):
    page = stack.web.get("/").text
    path = re.search(r'src="(/static/js/main\.[0-9a-f]{12}\.js)"', page).group(1)

    static = stack.web.get(path, headers={"Accept-Encoding": "gzip"})

    assert static.status == 200
    assert "immutable" in static.headers["Cache-Control"]
    assert "max-age=315360000" in static.headers["Cache-Control"]
    assert static.headers["Content-Type"].startswith("text/javascript")


@pytest.mark.browser
def test_the_dashboard_runs_under_the_production_policy_with_no_violations(stack, browser):
    context = browser.new_context(extra_http_headers={"X-Forwarded-Proto": "https"})
    page = context.new_page()
    problems = []
    page.on("console", lambda message: message.type in ("error", "warning") and problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
    try:
        page.goto(f"http://127.0.0.1:{stack.web.port}/")
        # The count is filled in from the API once the modules, the import map and the data all loaded.
        page.wait_for_function("() => document.querySelector('#incident-count').dataset.count !== ''")
        count = page.locator("#incident-count").get_attribute("data-count")
    finally:
        context.close()

    assert int(count) > 0
    assert [p for p in problems if "Content Security Policy" in p or "uncaught" in p] == []


@pytest.mark.browser
@pytest.mark.parametrize(
    ("path", "ready"),
    [
        # django-leaflet's map widget: inline scripts that carry the nonce.
        ("/admin/events/incident/add/", "() => document.querySelector('#id_location-map.leaflet-container') !== null"),
        # Swagger UI from drf-spectacular-sidecar's static files, its initialiser a separate script.
        ("/api/docs/", "() => document.querySelector('.swagger-ui .info') !== null"),
    ],
)
def test_the_admin_map_widget_and_the_api_docs_run_under_the_policy(stack, browser, path, ready):
    editor = Session(stack.web)
    editor.login(*EDITOR)
    context = browser.new_context(extra_http_headers={"X-Forwarded-Proto": "https"})
    origin = f"http://127.0.0.1:{stack.web.port}"
    context.add_cookies([{"name": k, "value": v, "url": origin} for k, v in editor.cookies.items()])
    page = context.new_page()
    problems = []
    page.on("console", lambda message: message.type in ("error", "warning") and problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
    try:
        page.goto(origin + path)
        page.wait_for_function(ready)
    finally:
        context.close()

    assert [p for p in problems if "Content Security Policy" in p or "uncaught" in p] == []


def test_a_burst_of_anonymous_reads_from_one_address_is_throttled(stack):
    burst = {"X-Forwarded-For": "198.51.100.7"}
    statuses = []
    refused = None
    for _ in range(400):
        response = stack.web.get("/api/v1/kinds/", headers=burst)
        statuses.append(response.status)
        if response.status == 429:
            refused = response

    # 300 a minute (API_ANON_RATE's default), so the last 100 of the burst are refused.
    assert statuses.count(200) == 300
    assert statuses.count(429) == 100
    assert int(refused.headers["Retry-After"]) > 0
    assert "throttled" in refused.json()["detail"].lower()
    # Another address, and an authenticated client, are not affected.
    assert stack.web.get("/api/v1/kinds/", headers={"X-Forwarded-For": "198.51.100.8"}).status == 200
    assert stack.web.get("/api/v1/kinds/", headers={**burst, "Authorization": f"Token {stack.token}"}).status == 200


def test_an_oversized_upload_is_refused_before_it_is_read(stack):
    connection = http.client.HTTPConnection("127.0.0.1", stack.web.port, timeout=30)
    connection.putrequest("POST", "/api/v1/imports/")
    connection.putheader("X-Forwarded-Proto", "https")
    connection.putheader("Authorization", f"Token {stack.token}")
    connection.putheader("Content-Type", "multipart/form-data; boundary=x")
    connection.putheader("Content-Length", str(5 * 1024 * 1024))
    connection.endheaders()
    response = connection.getresponse()
    body = response.read()
    connection.close()

    assert response.status == 413
    assert json.loads(body) == {"detail": f"Request body too large: at most {4 * 1024 * 1024} bytes."}


def test_an_oversized_json_body_gets_a_clean_error(stack):
    big = json.dumps({"type": "Feature", "properties": {"summary": "x" * 3_000_000}}).encode()

    response = stack.web.request(
        "POST",
        "/api/v1/incidents/",
        body=big,
        headers={"Authorization": f"Token {stack.token}", "Content-Type": "application/json"},
    )

    assert response.status in (400, 413)
    no_traceback(response.text)
    assert stack.sql("SELECT count(*) FROM events_incident WHERE length(summary) > 1000000") == 0


def test_a_query_stopped_by_the_statement_timeout_gets_a_clean_503(stack):
    # Hold a lock the incident list must wait for: its query then runs into statement_timeout (1s here). The
    # query string is this test's alone, so no answer an earlier test left in the response cache can serve it.
    with stack.postgres.connect("posture") as lock, lock.transaction():
        lock.execute("LOCK TABLE events_incident IN ACCESS EXCLUSIVE MODE")
        response = stack.web.get(API + "&q=timeout")

    assert response.status == 503
    assert response.json()["unavailable"] == "timeout"
    assert response.headers["Retry-After"] == "10"
    no_traceback(response.text)
    assert stack.web.get(API).status == 200


def test_with_postgresql_stopped_requests_get_503_and_recover_without_a_restart(stack):
    assert stack.web.get(API).status == 200
    gunicorn = stack.web.process.pid
    editor = Session(stack.web)
    editor.login(*EDITOR)

    stack.postgres.stop()
    try:
        api = stack.web.get(API)
        others = {path: stack.web.get(path) for path in OUTAGE_READS}
        # The session is cached in Redis, but loading the user needs the database.
        admin = editor.request("GET", "/admin/")
        ready = stack.web.get("/readyz")
        health = stack.web.get("/healthz")
    finally:
        stack.postgres.start()

    assert api.status == 503
    assert api.headers["Retry-After"] == "10"
    assert api.headers["Content-Type"] == "application/json"
    assert api.json() == {"detail": "The database is unavailable. Try again shortly.", "unavailable": "database"}
    no_traceback(api.text)
    assert {path: response.status for path, response in others.items()} == dict.fromkeys(OUTAGE_READS, 503)
    assert all(response.json()["unavailable"] == "database" for response in others.values())
    assert admin.status == 503
    assert "Temporarily unavailable" in admin.text
    no_traceback(admin.text)
    assert ready.status == 503
    assert ready.json()["failed"] == ["database"]
    assert health.status == 200
    # The pools reconnect by themselves: no restart, the same gunicorn, and every worker answers again.
    wait_for(lambda: stack.web.get(API).status == 200, "the API to answer again")
    wait_for(lambda: all(stack.web.get(API).status == 200 for _ in range(12)), "every worker to answer again")
    assert stack.web.get("/readyz").status == 200
    assert stack.web.process.pid == gunicorn
    assert stack.web.process.poll() is None


class Receiver(http.server.BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self):  # noqa: N802 - the http.server API
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook_receiver():
    Receiver.received = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook"
    server.shutdown()


def incident_form(token: str, source_id: str, title: str) -> dict:
    return admin_incident_form(source_id, csrfmiddlewaretoken=token, title=title, summary="Saved while Redis was down.",
                               _save="Save")  # fmt: skip


def test_with_redis_stopped_reads_answer_saves_commit_and_the_jobs_run_later(stack, webhook_receiver):
    stack.web.manage(
        "shell",
        "-c",
        f"from events.models import Subscription; Subscription.objects.create(name='hook', url={webhook_receiver!r})",
    )
    source_id = str(stack.sql("SELECT min(id) FROM posture_source"))
    title = f"Rockets while Redis was down {dt.datetime.now():%H%M%S%f}"
    session = Session(stack.web)
    session.login(*EDITOR)

    stack.redis.stop()
    try:
        api = stack.web.get(API)
        page = stack.web.get("/")
        ready = stack.web.get("/readyz")
        token = session.csrf_token("/admin/events/incident/add/")
        saved = session.request("POST", "/admin/events/incident/add/", incident_form(token, source_id, title))
        after = session.request("GET", saved.headers.get("Location", "/admin/"))
        pending = stack.sql(
            "SELECT d.status FROM events_delivery d JOIN events_incident i ON i.id = d.incident_id WHERE i.title = %s",
            (title,),
        )
    finally:
        stack.redis.start()

    assert api.status == 200
    assert api.json()["type"] == "FeatureCollection"
    assert page.status == 200
    assert ready.status == 503
    assert ready.json()["failed"] == ["redis"]
    assert saved.status == 302, saved.text[:2000]
    assert stack.sql("SELECT count(*) FROM events_incident WHERE title = %s", (title,)) == 1
    assert (
        stack.sql("SELECT count(*) FROM events_historicalincident WHERE title = %s AND history_type = '+'", (title,))
        == 1
    )
    assert "could not be" in after.text  # the editor is told the notification waits
    # The webhook delivery was kept in the outbox ...
    assert pending == "pending"
    # ... and once Redis is back, beat's drain (run here by hand) and a worker send it.
    worker = subprocess.Popen(
        [str(VENV_BIN / "celery"), "-A", "config", "worker", "--concurrency=1", "--pool=solo", "--loglevel=WARNING"],
        env=stack.web.env | {"DATABASE_STATEMENT_TIMEOUT": ""},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        stack.web.manage("shell", "-c", "from events.tasks import drain_outbox; drain_outbox()")
        wait_for(lambda: Receiver.received, "the webhook delivery", timeout=60)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    assert Receiver.received[0]["incident"]["title"] == title


@pytest.fixture(scope="module")
def replica(stack):
    """A streaming replica of the stack's database, and a second gunicorn with DATABASE_REPLICA_URL."""
    (stack.directory / "replica").mkdir()
    (stack.directory / "replica-web").mkdir()
    standby = Postgres(stack.directory / "replica", port=stack.postgres.port + 1)
    standby.init_standby_of(stack.postgres)
    standby.start()
    own = ("GUNICORN_BIND", "GUNICORN_ACCESS_LOG", "HOME")
    env = {k: v for k, v in stack.web.env.items() if k not in own} | {"DATABASE_REPLICA_URL": standby.url("posture")}
    web = WebServer(stack.directory / "replica-web", env)
    web.start()
    yield standby, web
    web.stop()
    standby.stop()


def test_public_reads_are_served_by_the_replica_even_with_the_primary_stopped(stack, replica):
    standby, web = replica
    incident = stack.sql("SELECT min(id) FROM events_incident WHERE status = 'published'")
    assert web.get("/readyz").json()["checks"] == {"database": "ok", "database:replica": "ok", "redis": "ok"}

    stack.postgres.stop()
    try:
        listed = web.get(API)
        detail = web.get(f"/api/v1/incidents/{incident}/")
        others = {path: web.get(path) for path in PUBLIC_READS}
        ready = web.get("/readyz")
        # A write needs the primary, replica or not.
        write = web.request(
            "PATCH",
            f"/api/v1/incidents/{incident}/",
            body=json.dumps({"properties": {"weapon": "rockets"}}).encode(),
            headers={"Authorization": f"Token {stack.token}", "Content-Type": "application/json"},
        )
    finally:
        stack.postgres.start()

    assert listed.status == 200
    assert listed.json()["numberReturned"] == 5
    assert detail.status == 200
    assert detail.json()["id"] == incident
    assert {path: response.status for path, response in others.items()} == dict.fromkeys(PUBLIC_READS, 200)
    assert others["/api/v1/incidents/?format=csv"].text.startswith("event_id_cnty,")
    assert ready.status == 503
    assert ready.json()["failed"] == ["database"]
    assert write.status == 503
    wait_for(lambda: web.get("/readyz").status == 200, "the primary to be back")


def test_editors_write_to_the_primary_and_the_replica_follows(stack, replica):
    standby, web = replica
    title = f"Written through the replica-enabled site {dt.datetime.now():%H%M%S%f}"
    session = Session(web)
    session.login(*EDITOR)
    token = session.csrf_token("/admin/events/incident/add/")
    source_id = str(stack.sql("SELECT min(id) FROM posture_source"))

    saved = session.request("POST", "/admin/events/incident/add/", incident_form(token, source_id, title))

    assert saved.status == 302
    assert stack.sql("SELECT count(*) FROM events_incident WHERE title = %s", (title,)) == 1
    with standby.connect("posture") as connection:
        assert connection.execute("SELECT pg_is_in_recovery()").fetchone()[0] is True
    new_id = stack.sql("SELECT id FROM events_incident WHERE title = %s", (title,))
    wait_for(lambda: web.get(f"/api/v1/incidents/{new_id}/").status == 200, "the replica to catch up")


COUNTED_TABLES = (
    "SELECT string_agg(table_name, ',' ORDER BY table_name) FROM information_schema.tables "
    "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
)
# Which bases lie within 150 km of Baghdad, and the nearest base to each located incident (GiST KNN).
SPATIAL = """
SELECT (SELECT string_agg(name, '|' ORDER BY name) FROM posture_base
        WHERE ST_DWithin(location::geography, ST_SetSRID(ST_MakePoint(44.3661, 33.3152), 4326)::geography, 150000))
    || ' / ' ||
       (SELECT string_agg(i.id || ':' || nearest.name, '|' ORDER BY i.id)
        FROM events_incident i
        CROSS JOIN LATERAL (SELECT name FROM posture_base b ORDER BY b.location <-> i.location LIMIT 1) AS nearest
        WHERE i.location IS NOT NULL)
"""


def table_counts(stack: Stack, database: str) -> dict[str, int]:
    counts = {}
    with stack.postgres.connect(database) as connection:
        for table in stack.sql(COUNTED_TABLES, database=database).split(","):
            query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
            counts[table] = connection.execute(query).fetchone()[0]
    return counts


def test_backup_and_restore_round_trip_into_an_empty_database(stack):
    dump = stack.directory / "web" / "posture.dump"
    stack.postgres.createdb("restored")
    restored = stack.web.env | {"DATABASE_URL": stack.postgres.url("restored")}

    backup = stack.web.manage("backup", "--output", str(dump))
    restore = stack.web.manage("restore", str(dump), env=restored)

    assert f"Backed up to {dump}" in backup.stdout
    assert f"Restored {dump}" in restore.stdout
    before, after = table_counts(stack, "posture"), table_counts(stack, "restored")
    assert before == after
    assert before["events_incident"] > 5
    assert before["posture_base"] > 3
    assert before["events_historicalincident"] > 5
    spatial = stack.sql(SPATIAL)
    assert spatial == stack.sql(SPATIAL, database="restored")
    assert "Ayn al-Asad" in spatial
    # The restored copy is a working database for the site, migrations and all.
    check = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--check"],
        env=restored,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_a_failed_restore_changes_nothing(stack):
    stack.postgres.createdb("not_empty")
    target = stack.web.env | {"DATABASE_URL": stack.postgres.url("not_empty")}
    stack.sql("CREATE TABLE posture_base (id int)", database="not_empty")
    dump = stack.directory / "web" / "posture.dump"
    if not dump.exists():
        stack.web.manage("backup", "--output", str(dump))

    with pytest.raises(subprocess.CalledProcessError):
        stack.web.manage("restore", str(dump), env=target)

    # One transaction: nothing of the dump was left behind.
    assert stack.sql(COUNTED_TABLES, database="not_empty") == "posture_base"


@pytest.fixture
def production_schema(stack):
    loaded = schemathesis.openapi.from_url(
        f"http://127.0.0.1:{stack.web.port}/api/schema/?format=json", headers={"X-Forwarded-Proto": "https"}
    )
    # The coverage phase's cases (every boundary and negative value the schema defines, 3,400 of them, the
    # same every run) go through the same views in tests/test_schema.py, in-process; here the generated
    # examples go through what production adds around those views.
    loaded.config.phases.update(phases=["examples", "fuzzing"])
    return loaded


production_api = schemathesis.pytest.from_fixture("production_schema")


@pytest.fixture
def schemathesis_node_id(request):
    """schemathesis 4.32 relabels the test node through Node._nodeid, which pytest 9.2 only has once
    something set it; give it the id to start from."""
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid


@production_api.parametrize()
@hypothesis.settings(
    max_examples=10, deadline=None, derandomize=True, suppress_health_check=list(hypothesis.HealthCheck)
)
@pytest.mark.usefixtures("schemathesis_node_id")
def test_the_api_keeps_to_its_schema_in_production_as_an_editor(case, stack):
    """Over HTTP through gunicorn and the production middleware (HTTPS, CSP, size limits, throttling,
    pooled connections, statement timeout), with the editor's token so that writes get past the
    permission check. Last in the module: it writes and deletes at random."""
    case.call_and_validate(
        base_url=f"http://127.0.0.1:{stack.web.port}",
        headers={"X-Forwarded-Proto": "https", "Authorization": f"Token {stack.token}"},
        checks=[not_a_server_error, response_schema_conformance],
    )
