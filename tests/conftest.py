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
