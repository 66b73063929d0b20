import pytest
from rest_framework.test import APIClient

from .celery_worker import acled_server, celery_worker, editors_group  # noqa: F401 (fixtures)
from .chromium import CHROMIUM, CHROMIUM_ARGS
from .factories import EditorFactory, UserFactory


@pytest.fixture
def editor(db):
    return EditorFactory()


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
