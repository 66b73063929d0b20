import functools
from importlib import import_module

import pytest
from django.contrib.gis.geos import Point
from django.db import connection
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from .celery_worker import acled_server, celery_worker, wait_for_quiet_database  # noqa: F401 (fixtures)
from .chromium import CHROMIUM, CHROMIUM_ARGS
from .factories import BaseFactory, EditorFactory, UserFactory


@pytest.fixture
def editor(request, db):
    # Outside a transaction this is a transactional test (the worker's, the live server's), which may run
    # after another's flush: the Editors group the factory joins must be written again first.
    if not connection.in_atomic_block:
        request.getfixturevalue("editors_group")
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


@functools.cache
def _migration_apps():
    from django.db import connection
    from django.db.migrations.loader import MigrationLoader

    return MigrationLoader(connection).project_state().apps


def restore_migration_data() -> None:
    """Write again what the data migrations wrote (the Editors group, the beat schedules); idempotent."""
    apps = _migration_apps()
    import_module("events.migrations.0002_editors_group").create_editors_group(apps, None)
    import_module("events.migrations.0010_incident_sides").grant_editors(apps, None)
    import_module("events.migrations.0011_link_suggestions").grant_editors(apps, None)
    import_module("events.migrations.0005_background_jobs_setup").setup(apps, None)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """--reuse-db keeps the test database from run to run, and a transactional test's flush empties it of
    what migrations wrote; put that back so every run starts as a fresh database would."""
    with django_db_blocker.unblock():
        restore_migration_data()


@pytest.fixture
def editors_group(transactional_db):
    """For transactional tests, which run after another's flush."""
    restore_migration_data()


@pytest.fixture
def ayn_al_asad(editors_group):
    """A base whose name and place the import and notification tests use; those are transactional tests."""
    return BaseFactory(name="Ayn al-Asad", slug="ayn-al-asad", location=Point(42.4412, 33.7856, srid=4326))
