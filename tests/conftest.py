import pytest
from rest_framework.test import APIClient

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
