"""Every write endpoint, with optional members left out: a 2xx or a 400 naming the member, never a 5xx.

The operations and their members are read from the OpenAPI schema, so a new write endpoint or a new member is
swept without an edit here (a new endpoint needs only its objects in `World.path_ids`). Bodies are built from
the schema too; only what must point at real rows is given (`World.given`). Beside schemathesis
(tests/test_schema.py), which draws bodies at random, this leaves out each optional member on purpose.

Also here: an unexpected exception in an API view is a JSON 500 whether DEBUG is on or not.
"""

from __future__ import annotations

import functools
import itertools
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import OperationalError
from django.http import HttpResponse
from django.test import Client
from django.urls import path
from drf_spectacular.generators import SchemaGenerator
from rest_framework.permissions import AllowAny
from rest_framework.test import APIClient

from api.http import ApiView, GeoJSONRenderer
from api.ogc import OgcView
from config.urls import urlpatterns as site_urls
from events.models import ImportJob, Incident, IncidentLink
from posture.models import Source

from .factories import ActorFactory, BaseFactory, IncidentFactory, IncidentLinkFactory, SourceFactory

pytestmark = pytest.mark.django_db

BODY_METHODS = ("post", "put", "patch")
MISSING = object()


@functools.cache
def openapi() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def write_operations() -> list[tuple[str, str]]:
    return [
        (method, route)
        for route, operations in openapi()["paths"].items()
        for method, operation in operations.items()
        if method in BODY_METHODS and "requestBody" in operation
    ]


def resolve(schema: dict) -> dict:
    """Follow $ref, and take the first of allOf / oneOf / anyOf, keeping the member's own keywords."""
    while True:
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            schema = {**openapi()["components"]["schemas"][name], **{k: v for k, v in schema.items() if k != "$ref"}}
            continue
        for combinator in ("allOf", "oneOf", "anyOf"):
            if combinator in schema:
                first, rest = schema[combinator][0], {k: v for k, v in schema.items() if k != combinator}
                schema = {**rest, **first}
                break
        else:
            return schema


@dataclass(frozen=True)
class Member:
    path: str  # dotted, array items as 0: properties.casualties.0.low
    required: bool  # within its object (which may itself be optional)
    default: object = MISSING


@dataclass
class Body:
    """A generated body and what it holds: every member with the schema's word on it."""

    value: dict
    members: list[Member] = field(default_factory=list)
    objects: list[str] = field(default_factory=list)  # paths of the objects in it ("" is the body)


class World:
    """The rows a write must point at, and the values the schema cannot make up."""

    def __init__(self, as_editor: APIClient):
        self.source = SourceFactory()
        self.base = BaseFactory()
        self.actor = ActorFactory()
        self.incident = IncidentFactory()
        self.link = IncidentLinkFactory()
        self.prior, self.later = IncidentFactory(), IncidentFactory()
        export = as_editor.get("/api/v1/incidents/?format=geojson")
        assert export.status_code == 200
        self.export = b"".join(export.streaming_content) if export.streaming else export.content
        # The object a route's {id} names, by collection.
        self.path_ids = {"incidents": self.incident.pk, "links": self.link.pk}
        # By dotted path (* for any array item); callables are called for each body.
        self.given: dict[str, object] = {
            "geometry": {"type": "Point", "coordinates": [42.4412, 33.7856]},
            "properties.sources": [self.source.pk],
            "properties.base": self.base.pk,
            "properties.actors.*.slug": self.actor.slug,
            "incident": self.later.pk,
            "prior": self.prior.pk,
            "sources": [self.source.pk],
            "file": lambda: SimpleUploadedFile("sweep.geojson", self.export, content_type="application/geo+json"),
            "format": "geojson",
        }

    def url(self, route: str) -> str:
        if "{id}" not in route:
            return route
        collection = route.removeprefix("/api/v1/").split("/", 1)[0]
        assert collection in self.path_ids, f"The sweep needs an object for {route}: add it to World.path_ids."
        return route.replace("{id}", str(self.path_ids[collection]))


class Generator:
    def __init__(self, world: World):
        self.world = world
        self.counter = itertools.count(1)

    def body(self, schema: dict) -> Body:
        body = Body(value={})
        body.value = self.value(resolve(schema), "", body)
        return body

    def value(self, schema: dict, where: str, body: Body):
        given = self.given(where)
        if given is not MISSING:
            return given() if callable(given) else given
        kind = schema.get("type")
        if kind == "object" or "properties" in schema:
            body.objects.append(where)
            required = set(schema.get("required", []))
            out = {}
            for name, member in schema.get("properties", {}).items():
                member = resolve(member)
                if member.get("readOnly"):
                    continue
                here = f"{where}.{name}".lstrip(".")
                body.members.append(Member(here, name in required, member.get("default", MISSING)))
                out[name] = self.value(member, here, body)
            return out
        if kind == "array":
            return [
                self.value(resolve(schema["items"]), f"{where}.{i}", body) for i in range(schema.get("minItems", 1))
            ]
        if "enum" in schema:
            return next(v for v in schema["enum"] if v not in ("", None))
        if kind == "boolean":
            return True
        if kind in ("integer", "number"):
            return max(schema.get("minimum", 1), 1)
        return self.string(schema)

    def string(self, schema: dict) -> str:
        n = next(self.counter)
        fmt = schema.get("format")
        if fmt == "date":
            return "2021-03-03"
        if fmt == "date-time":
            return "2021-03-03T12:00:00Z"
        if fmt == "uri":
            return f"https://news.example.org/sweep-{n}"
        return f"sweep {n}"[: schema.get("maxLength", 100)]

    def given(self, where: str):
        pattern = ".".join("*" if part.isdigit() else part for part in where.split("."))
        return self.world.given.get(where, self.world.given.get(pattern, MISSING))


def without(value, dotted: str):
    """A copy of `value` with the member at `dotted` removed (a no-op when it is not there)."""
    head, _, rest = dotted.partition(".")
    if isinstance(value, list):
        return [without(item, rest) if str(i) == head else item for i, item in enumerate(value)]
    if not isinstance(value, dict) or head not in value:
        return value
    if not rest:
        return {k: v for k, v in value.items() if k != head}
    return {k: (without(v, rest) if k == head else v) for k, v in value.items()}


def at(value, dotted: str):
    for part in dotted.split("."):
        if isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        elif isinstance(value, dict) and part in value:
            value = value[part]
        else:
            return MISSING
    return value


def names(error: str, path: str) -> bool:
    """Whether an error filed under `error` names the member at `path`: itself, or the field that holds it
    (a GeoJSON geometry is one field), but not the body as a whole."""
    return error != "body" and (path == error or path.startswith(error + "."))


@dataclass
class Variant:
    name: str
    left_out: list[Member]
    must_refuse: Member | None = None  # a required member left out: the answer is a 400 naming it


def variants(body: Body, *, partial: bool) -> Iterator[Variant]:
    """The whole body; without each member; each object with only its required members; and the least a client
    may send (every optional member left out, at every depth). On PATCH every member is optional."""

    def below(*tops: Member) -> list[Member]:
        return [m for m in body.members if any(m.path == t.path or m.path.startswith(t.path + ".") for t in tops)]

    def parent(member: Member) -> str:
        return member.path.rpartition(".")[0]

    optional = [m for m in body.members if partial or not m.required]
    yield Variant("everything", [])
    for member in body.members:
        if member in optional:
            yield Variant(f"without {member.path}", below(member))
        else:
            yield Variant(f"without required {member.path}", below(member), member)
    for obj in body.objects:
        cut = [m for m in optional if parent(m) == obj]
        if cut:
            yield Variant(f"{obj or 'the body'} with only its required members", below(*cut))
    least = [m for m in optional if not any(names(o.path, m.path) and o is not m for o in optional)]
    yield Variant("the least it may send", below(*least))


def check(variant: Variant, response, before: dict | None) -> list[str]:
    """What is wrong with the answer to one variant (nothing, ideally)."""
    status = response.status_code
    if status >= 500:
        return [f"{variant.name}: {status} {response.content[:300]!r}"]
    try:
        answer = json.loads(response.content)
    except ValueError:
        return [f"{variant.name}: {status} and not JSON: {response.content[:200]!r}"]
    errors = answer.get("errors", {}) if status == 400 else {}
    if variant.must_refuse is not None:
        if not any(names(error, variant.must_refuse.path) for error in errors):
            return [f"{variant.name}: {status} {answer}, not a 400 naming {variant.must_refuse.path}"]
        return []
    if status == 400:
        unnamed = [e for e in errors if not any(names(e, m.path) for m in variant.left_out)]
        return [f"{variant.name}: a 400 that names no member left out: {answer}"] if unnamed or not errors else []
    if not 200 <= status < 300:
        return [f"{variant.name}: {status} {answer}"]
    problems = []
    for member in variant.left_out:
        echoed = at(answer, member.path)
        if echoed is MISSING or isinstance(echoed, dict | list):
            continue  # not echoed, or echoed in another shape (ids sent, objects answered)
        if before is None and member.default is not MISSING and echoed != member.default:
            problems.append(f"{variant.name}: {member.path} is {echoed!r}, not its default {member.default!r}")
        # A list is replaced whole (actors, casualties), so only members outside lists must stay as they were.
        in_list = any(part.isdigit() for part in member.path.split("."))
        if before is not None and not in_list and at(before, member.path) not in (MISSING, echoed):
            problems.append(f"{variant.name}: {member.path} became {echoed!r} though it was not sent")
    return problems


def row_counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in (Incident, IncidentLink, Source, ImportJob)}


def test_the_sweep_covers_the_write_endpoints_of_the_readme():
    assert set(write_operations()) >= {
        ("post", "/api/v1/incidents/"),
        ("patch", "/api/v1/incidents/{id}/"),
        ("post", "/api/v1/links/"),
        ("patch", "/api/v1/links/{id}/"),
        ("post", "/api/v1/sources/"),
        ("post", "/api/v1/imports/"),
    }


@pytest.mark.parametrize(("method", "route"), write_operations())
def test_every_write_leaves_out_what_it_may_and_names_what_it_may_not(editor_api, method, route):
    world = World(editor_api)
    operation = openapi()["paths"][route][method]
    (content_type, media), *_ = operation["requestBody"]["content"].items()
    generator = Generator(world)
    body = generator.body(media["schema"])
    url = world.url(route)
    partial = method == "patch"
    sweep = list(variants(body, partial=partial))
    problems, answered = [], []

    for variant in sweep:
        # A fresh body for each: an upload is read once, and free text stays unique (no clash with earlier rows).
        value = generator.body(media["schema"]).value
        for member in variant.left_out:
            value = without(value, member.path)
        before = json.loads(editor_api.get(url).content) if partial else None
        counts = row_counts()
        if content_type == "application/json":
            response = getattr(editor_api, method)(url, json.dumps(value), content_type=content_type)
        else:
            response = getattr(editor_api, method)(url, value, format="multipart")
        problems += check(variant, response, before)
        if response.status_code == 400 and row_counts() != counts:
            problems.append(f"{variant.name}: refused, yet rows changed: {counts} -> {row_counts()}")
        answered.append((variant.name, response.status_code))

    assert not problems, "\n".join(problems)
    assert answered[0][1] < 300, f"The whole generated body is refused: fix World.given. {answered}"
    # Every optional member was left out at least once, and alone: the sweep really swept.
    alone = {v.left_out[0].path for v in sweep if v.name.startswith("without ") and v.must_refuse is None}
    assert alone == {m.path for m in body.members if partial or not m.required}


# An unexpected exception: JSON for the API, DEBUG or not; the debug page only where HTML is the answer.


class Broken(ApiView):
    permission_classes = [AllowAny]
    renderer_classes = [GeoJSONRenderer]  # errors are plain JSON even where the success is GeoJSON

    def get(self, request):
        raise TypeError("a bug in a view")


class BrokenOgc(OgcView):
    def get(self, request):
        raise TypeError("a bug in an OGC view")


class DatabaseGone(ApiView):
    permission_classes = [AllowAny]

    def get(self, request):
        raise OperationalError("connection to server was lost")


def broken_page(request) -> HttpResponse:
    raise TypeError("a bug in a page")


urlpatterns = [
    path("api/v1/broken/", Broken.as_view()),
    path("ogc/broken", BrokenOgc.as_view()),
    path("api/v1/database-gone/", DatabaseGone.as_view()),
    path("broken/", broken_page),
    *site_urls,
]


@pytest.mark.urls(__name__)
@pytest.mark.parametrize("debug", [True, False])
class TestUnexpectedExceptions:
    def test_the_api_answers_json_with_the_traceback_in_the_log(self, client, settings, caplog, debug):
        settings.DEBUG = debug

        # The test client re-raises an exception that escapes the view: none does.
        with caplog.at_level(logging.ERROR, logger="django.request"):
            response = client.get("/api/v1/broken/", HTTP_ACCEPT="text/html")

        assert response.status_code == 500
        assert response["Content-Type"] == "application/json"
        assert response.json() == {"detail": "Internal server error."}
        (record,) = [r for r in caplog.records if r.name == "django.request"]
        assert record.exc_info[0] is TypeError
        assert record.status_code == 500

    def test_ogc_answers_in_its_own_form(self, client, settings, debug):
        settings.DEBUG = debug

        response = client.get("/ogc/broken")

        assert response.status_code == 500
        assert response.json() == {"code": "ServerError", "description": "Internal server error."}

    def test_a_lost_database_is_still_a_503_from_the_middleware(self, client, settings, debug):
        settings.DEBUG = debug

        response = client.get("/api/v1/database-gone/")

        assert response.status_code == 503
        assert response["Retry-After"]
        assert response.json()["unavailable"] == "database"

    @pytest.mark.urls("config.urls")
    def test_an_unknown_path_is_a_json_404(self, client, settings, debug):
        settings.DEBUG = debug

        api = client.get("/api/v1/no-such-thing/", HTTP_ACCEPT="text/html")
        ogc = client.get("/ogc/collections/incidents/nothing/here")

        assert (api.status_code, api["Content-Type"]) == (404, "application/json")
        assert api.json()["detail"].startswith("No endpoint at /api/v1/no-such-thing/")
        assert ogc.status_code == 404
        assert ogc.json()["code"] == "NotFound"
        # A known path without its slash is still redirected to it.
        assert client.get("/api/v1/incidents")["Location"] == "/api/v1/incidents/"

    def test_html_views_keep_the_debug_page(self, settings, debug):
        settings.DEBUG = debug

        response = Client(raise_request_exception=False).get("/broken/", HTTP_ACCEPT="text/html")

        assert response.status_code == 500
        assert response["Content-Type"].startswith("text/html")
        assert (b"a bug in a page" in response.content) is debug
