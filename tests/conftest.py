import functools
import os
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
from django.contrib.gis.geos import Point
from django.db import connection
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from .celery_worker import acled_server, celery_worker, wait_for_quiet_database  # noqa: F401 (fixtures)
from .chromium import CHROMIUM, CHROMIUM_ARGS
from .factories import BaseFactory, EditorFactory, UserFactory


def _own_redis_database() -> None:
    """Under pytest-xdist each test process has a PostgreSQL database of its own (pytest-django names it
    test_posture_gw0, test_posture_gw1, ...); it gets a Redis database of its own too, the run's plus its
    index, so that its Celery worker takes only its own tasks and no process is answered from the cache with
    what the other one's data gave. Django is set up but has connected to nothing yet."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw"):
        return
    from django.conf import settings

    from config.celery import app
    from config.settings import celery_broker_url

    shared = settings.REDIS_URL
    parts = urlsplit(shared)
    if parts.scheme == "unix":
        query = parse_qs(parts.query)
        db = int(query.get("db", ["0"])[0]) + int(worker[2:])
        # urlunsplit() would drop the empty host's "//", which redis-py then refuses.
        own = f"unix://{parts.path}?{urlencode({**query, 'db': db}, doseq=True)}"
    else:
        db = int(parts.path.strip("/") or 0) + int(worker[2:])
        own = urlunsplit(parts._replace(path=f"/{db}"))
    settings.REDIS_URL = own
    for cache in settings.CACHES.values():
        if cache.get("LOCATION") == shared:
            cache["LOCATION"] = own
    settings.CELERY_BROKER_URL = celery_broker_url(own)
    app.conf.broker_url = settings.CELERY_BROKER_URL
    os.environ["REDIS_URL"] = own  # for the processes tests start with this environment


_own_redis_database()


def _patient_caches() -> None:
    """The caches fail open after a second without an answer from Redis (production's choice: answer uncached
    rather than keep a visitor waiting). A machine busy with two test processes, their workers and browsers can
    take that long, and a write dropped in silence then fails a test that looks for it. The tests of failing open
    point a cache at a socket nobody listens on, which fails at once."""
    from django.conf import settings

    for cache in settings.CACHES.values():
        if "socket_timeout" in cache.get("OPTIONS", {}):
            cache["OPTIONS"]["socket_timeout"] = 10


_patient_caches()


def _fast_password_hasher() -> None:
    """Django's advice for tests: PBKDF2's million rounds cost half a second a password on the development
    machine, and every editor a test makes, and every login, paid it (24 s of one schemathesis run). The
    production stack (tests/test_production.py) runs its own processes with the real hashers."""
    from django.conf import settings

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


_fast_password_hasher()


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """A file runs whole in one test process (--dist loadfile), and pytest-xdist hands files out in this order
    (scripts/dev passes --no-loadscope-reorder; by default it would order them by their number of tests). The
    longest go first, so that the short ones even out the end: the modules marked heavy (minutes each), then
    the files of browser tests, then the rest. Within each, the random order stays (this runs after
    pytest-randomly)."""

    def rank(item: pytest.Item) -> int:
        if item.get_closest_marker("heavy"):
            return 0
        return 1 if item.get_closest_marker("browser") else 2

    items.sort(key=rank)


@pytest.fixture
def editor(db):
    # The Editors group the factory joins is there even after another test's flush (pytest_runtest_teardown).
    return EditorFactory()


@pytest.fixture
def editor_api(editor):
    """The API as the editor, by token."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=editor).key}")
    return client


@pytest.fixture
def outsider(db):
    """Logged in, but without any model permission."""
    return UserFactory(is_staff=True)


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture(autouse=True)
def _no_anonymous_rate_limit(settings):
    """Tests fire bursts of anonymous requests from one address (schemathesis, the browser tests),
    and the throttle's counts outlive a test in Redis. tests/test_production.py tests the limit."""
    settings.API_ANON_RATE = ""


@pytest.fixture(autouse=True)
def _quiet_before_flush(request):
    """A transactional test ends with a flush (TRUNCATE of every table, taking their locks one by one), and
    the session's Celery worker may still be running what the test's writes queued (suggestions, then the
    analytics warming), or the live server a request: their reads deadlock with the flush. Wait for both."""
    if "_django_db_helper" not in request.fixturenames:
        yield
        return
    request.getfixturevalue("_django_db_helper")  # set up first, so it is torn down (flushed) after this
    yield
    if not connection.in_atomic_block:
        wait_for_quiet_database()


@pytest.fixture(scope="session")
def browser():
    """One real Chromium for the session; tests open their own contexts (fresh storage, own viewport)."""
    import os

    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; Django would otherwise refuse ORM calls here.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session", autouse=True)
def _media_root(tmp_path_factory):
    """Uploaded files (import jobs) go to a throwaway directory, not var/media; the test worker shares it."""
    from django.conf import settings

    settings.MEDIA_ROOT = str(tmp_path_factory.mktemp("media"))


PROJECT_APPS = {"posture", "events", "ops"}


@functools.cache
def _data_migrations():
    """The project's data migrations' forward functions, in the order migrate runs them, and the apps (the
    models as the last migration leaves them) to run them with."""
    from django.db import connection
    from django.db.migrations import RunPython
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(connection)
    plan = []
    for leaf in loader.graph.leaf_nodes():
        plan += [key for key in loader.graph.forwards_plan(leaf) if key not in plan]
    functions = [
        operation.code
        for app, name in plan
        if app in PROJECT_APPS
        for operation in loader.graph.nodes[app, name].operations
        if isinstance(operation, RunPython)
    ]
    return functions, loader.project_state().apps


def restore_migration_data() -> None:
    """Write again what the data migrations wrote (the Editors group and its permissions, the beat schedules,
    the sync states): every one is idempotent, so a database that has them is left as it is."""
    functions, apps = _data_migrations()
    for function in functions:
        function(apps, None)


def _flushes(item: pytest.Item) -> bool:
    """Whether the test ran outside a transaction, so that pytest-django empties every table after it."""
    if {"transactional_db", "live_server", "django_db_reset_sequences"} & set(getattr(item, "fixturenames", ())):
        return True
    marker = item.get_closest_marker("django_db")
    return bool(marker and (marker.kwargs.get("transaction") or (marker.args and marker.args[0])))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """After a transactional test's flush (its fixtures' teardown), the database is made again what a fresh one
    is: in a random order the next test may be one that reads the Editors group inside its own transaction."""
    yield
    if _flushes(item):
        from pytest_django.plugin import blocking_manager_key

        with item.config.stash[blocking_manager_key].unblock():
            restore_migration_data()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """--reuse-db keeps the test database from run to run, and a transactional test's flush empties it of
    what migrations wrote; put that back so every run starts as a fresh database would."""
    with django_db_blocker.unblock():
        restore_migration_data()


@pytest.fixture
def ayn_al_asad(transactional_db):
    """A base whose name and place the import and notification tests use; those are transactional tests."""
    return BaseFactory(name="Ayn al-Asad", slug="ayn-al-asad", location=Point(42.4412, 33.7856, srid=4326))
