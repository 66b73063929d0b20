"""The OpenAPI schema is valid, and the API keeps to it under generated input (schemathesis).

The schemathesis run is bounded (a fixed number of examples per operation, derandomized) so it stays well
inside `make test`'s budget and fails the same way twice.
"""

import datetime as dt
import json

import pytest
import schemathesis
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from events.models import Incident, Involvement

from .factories import (
    ActorFactory,
    BaseFactory,
    CasualtyFactory,
    IncidentFactory,
    IncidentLinkFactory,
    InvolvementFactory,
    TroopLevelFactory,
)

# Minutes in all (every case of the coverage phase): handed out among the first (tests/conftest.py).
pytestmark = pytest.mark.heavy


def test_the_schema_passes_spectacular_validation_with_no_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))

    assert "/api/v1/incidents/" in (tmp_path / "schema.yaml").read_text()


def test_the_schema_is_served_as_json_and_documented_in_a_page(client, db):
    schema = client.get("/api/schema/?format=json")
    docs = client.get("/api/docs/")

    assert schema.status_code == 200
    assert schema.json()["openapi"].startswith("3.")
    assert "/ogc/collections/{collection_id}/items" in schema.json()["paths"]
    assert docs.status_code == 200
    # Swagger UI from our own static files (drf-spectacular-sidecar), so no CDN and no inline script.
    assert b"/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in docs.content


@pytest.fixture
def in_process_wsgi(db):
    """Serve schemathesis's WSGI requests inside the test's transaction.

    Django closes the database connection when a request finishes; its own test client switches that off
    around each request, and so must we around the plain WSGI application.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def seeded(db):
    """Something for every endpoint to find: the generated ids are small, and so are these."""
    base = BaseFactory()
    militia = ActorFactory(slug="militia")
    earlier = IncidentFactory(occurred_on=dt.date(2021, 2, 25), base=base)
    later = IncidentFactory(occurred_on=dt.date(2021, 3, 3), status=Incident.Status.DRAFT)
    IncidentLinkFactory(incident=later, prior=earlier)
    InvolvementFactory(incident=earlier, actor=militia, role=Involvement.Role.ATTACKER)
    CasualtyFactory(incident=earlier)
    TroopLevelFactory(base=base)
    IncidentFactory(location=None)


@pytest.fixture
def editor_token(editor):
    return Token.objects.create(user=editor).key


def load_schema():
    """The schema as /api/schema/ serves it, generated at collection time (no request, so no database)."""
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    from config.wsgi import application

    document = json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))
    loaded = schemathesis.openapi.from_dict(document)
    loaded.app = application  # requests go to the WSGI application in-process
    return loaded


schema = load_schema()


@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_keeps_to_its_schema(case, in_process_wsgi, seeded, editor_token):
    # As an editor, so writes get past the permission check and their validation is exercised too.
    # Identity: the API gzips for clients that take it, as schemathesis says it does, and its in-process
    # transport does not undo it.
    case.call_and_validate(
        headers={"Authorization": f"Token {editor_token}", "Accept-Encoding": "identity"},
        checks=[not_a_server_error, response_schema_conformance],
    )
