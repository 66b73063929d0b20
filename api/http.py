"""What every API view shares: authentication order, the error envelope, strict JSON bodies, conditional GET."""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db import IntegrityError, InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from rest_framework import exceptions, status
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.metadata import SimpleMetadata
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView, exception_handler, set_rollback

from api.caching import Answer, data_version
from api.filters import QueryReader

JSON = "application/json"
GEOJSON = "application/geo+json"
CSV = "text/csv"
ATOM = "application/atom+xml"

# Django's own logger for failed requests, so a 500 answered here is logged (and mailed) as Django's are.
request_logger = logging.getLogger("django.request")


class GeoJSONRenderer(JSONRenderer):
    media_type = "application/geo+json"
    format = "geojson"


class FirstRenderer(DefaultContentNegotiation):
    """Every endpoint speaks exactly one format, so the Accept header never turns a request into a 406.

    GDAL asks for `application/geo+json, application/json`, browsers for text/html, curl for */*: all of
    them get the endpoint's one media type. (DRF's `?format=` override is left alone: `format` is ours.)
    Bodies are still matched to a parser by their Content-Type.
    """

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


def flatten_errors(detail, prefix: str = "") -> dict[str, list[str]]:
    """{"properties": {"casualties": [{"low": ["..."]}]}} -> {"properties.casualties.0.low": ["..."]}."""
    flat: dict[str, list[str]] = {}

    def add(name: str, messages) -> None:
        flat.setdefault(name or "body", []).extend(str(m) for m in messages)

    if isinstance(detail, dict):
        for key, value in detail.items():
            # Errors about an object as a whole are filed under the object's own name.
            name = prefix if key in ("non_field_errors", "__all__") else f"{prefix}.{key}".lstrip(".")
            for sub, messages in flatten_errors(value, name).items():
                add(sub, messages)
    elif isinstance(detail, list) and any(isinstance(item, (dict, list)) for item in detail):
        for index, item in enumerate(detail):
            if item:
                for sub, messages in flatten_errors(item, f"{prefix}.{index}".lstrip(".")).items():
                    add(sub, messages)
    elif isinstance(detail, list):
        add(prefix, detail)
    else:
        add(prefix, [detail])
    return flat


def api_exception_handler(exc, context):
    """400s carry {"errors": {"<param or field>": ["message"]}}; other errors keep DRF's {"detail": ...}."""
    if isinstance(exc, exceptions.UnsupportedMediaType):
        # Only JSON bodies are accepted; the issue asks for a 400 that names what is wrong.
        sent = (getattr(context.get("request"), "content_type", "") or "no content type").split(";")[0]
        exc = exceptions.ValidationError({"Content-Type": [f"Send the body as application/json, not {sent}."]})
    elif isinstance(exc, exceptions.ParseError):
        exc = exceptions.ValidationError({"body": [f"Not valid JSON: {exc.detail}"]})
    elif isinstance(exc, IntegrityError):
        exc = write_error(exc)
    elif isinstance(exc, RequestDataTooBig):
        exc = BodyTooLarge()
    elif isinstance(exc, SuspiciousOperation):
        # Django's own refusals of a malformed request (too many fields, a bad multipart boundary): a 400.
        exc = exceptions.ValidationError({"body": [str(exc)]})
    response = exception_handler(exc, context)
    if response is None:
        return unexpected_error(exc, context)
    if response.status_code == status.HTTP_400_BAD_REQUEST:
        response.data = {"errors": flatten_errors(response.data)}
    return response


class BodyTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "body_too_large"

    def __init__(self):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        super().__init__(f"The body is over {limit:,} bytes, the most a JSON body may hold (files: /api/v1/imports/).")


def write_error(error: IntegrityError) -> exceptions.ValidationError:
    """A constraint the validation could not see coming (a concurrent write): still a 400, never a 500."""
    return exceptions.ValidationError({"body": [f"The database refused the change: {str(error).splitlines()[0]}"]})


def unexpected_error(exc: Exception, context) -> Response | None:
    """A bug: logged with its traceback, and answered with a JSON 500 whether DEBUG is on or not.

    API clients parse JSON, so Django's debug page (HTML, and a traceback) is for the HTML views only.
    A lost database is re-raised for ops.middleware, which answers it with a 503 and Retry-After.
    """
    if isinstance(exc, OperationalError | InterfaceError):
        return None
    request = context.get("request")
    django_request = getattr(request, "_request", request)
    request_logger.error(
        "Internal Server Error: %s",
        getattr(django_request, "path", "?"),
        exc_info=exc,
        extra={"status_code": 500, "request": django_request},
    )
    set_rollback()
    response = Response({"detail": "Internal server error."}, status=status.HTTP_500_INTERNAL_SERVER_ERROR)
    response._has_been_logged = True  # Django would log the 500 again, without the traceback
    return response


def no_such_endpoint(request, *args, **kwargs) -> JsonResponse:
    """An unknown path under /api/ or /ogc/: the JSON 404 a client can parse, under DEBUG too, where Django
    would answer its HTML page (handler404 is not consulted then)."""
    if request.path.startswith("/ogc/"):  # OGC's own exception form
        body = {"code": "NotFound", "description": f"There is nothing at {request.path}; see /ogc/."}
    else:
        body = {"detail": f"No endpoint at {request.path}; the API is described at /api/schema/."}
    return JsonResponse(body, status=404)


class DescriptionOnly(SimpleMetadata):
    """OPTIONS says what a view is and speaks, without building serializers (several views have none)."""

    def determine_metadata(self, request, view):
        return {
            "name": view.get_view_name(),
            "description": view.get_view_description(),
            "renders": [renderer.media_type for renderer in view.renderer_classes],
            "parses": [parser.media_type for parser in view.parser_classes],
        }


class ApiMixin:
    """Token before session, so an anonymous write gets 401 with `WWW-Authenticate: Token`, not 403."""

    authentication_classes = [TokenAuthentication, SessionAuthentication]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = FirstRenderer
    metadata_class = DescriptionOnly
    # Query parameters the view accepts (others are a 400); None lets DRF's own filters decide.
    query_parameters: set[str] | None = None
    # GETs answered by version: ETag and Last-Modified from the data version, 304s and the shared response
    # cache before any query for the body (api/caching.py).
    versioned = False

    def get_exception_handler(self):
        return api_exception_handler

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # PostgreSQL cannot store NUL, and a NUL in a filter would reach it: refuse it at the door.
        QueryReader(request.GET).check()

    def reader(self, request) -> QueryReader:
        return QueryReader(request.GET, allowed=self.query_parameters)

    def answer(self, request) -> Answer | None:
        if not hasattr(self, "_answer"):
            versioned = self.versioned and request.method in ("GET", "HEAD")
            version = data_version() if versioned else None
            self._answer = Answer(request, version) if version is not None else None
        return self._answer

    def last_modified(self) -> dt.datetime | None:
        """For a view that keys a cache of its own on it: when the data last changed, or now inside a
        transaction that has written (its reads see what others do not, so such a key must never match)."""
        answer = self.answer(self.request)
        if answer is None:
            return None
        return answer.last_modified if answer.committed else timezone.now()

    def not_modified(self, request) -> HttpResponse | None:
        """Call in a GET once its parameters are checked, before any work: a 304 when the client's copy is
        current, the shared answer when one is stored, else None (and the body is built)."""
        answer = self.answer(request)
        return answer.early(request) if answer is not None else None

    def list(self, request, *args, **kwargs):
        # The generic lists (actors, sources, deployments): their filters are checked (that runs no query)
        # before a stored answer or a 304 can stand in for the body.
        self.filter_queryset(self.get_queryset())
        return self.not_modified(request) or super().list(request, *args, **kwargs)

    def retrieve(self, request, *args, **kwargs):
        return self.not_modified(request) or super().retrieve(request, *args, **kwargs)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if getattr(response, "exception", False) and getattr(response, "accepted_media_type", JSON) != JSON:
            # Errors are plain JSON even where the success is GeoJSON.
            response.accepted_renderer = JSONRenderer()
            response.accepted_media_type = JSON
        if (
            response.status_code == status.HTTP_200_OK
            and not response.streaming
            and not getattr(response, "from_response_cache", False)
            and (answer := self.answer(request)) is not None
        ):
            if hasattr(response, "render"):
                response.render()
            response = answer.finish(response)
        if getattr(self, "_answer", None) is not None:
            self._answer.release()  # an error, a 404: the requests waiting for this answer build their own
        return response


class ApiView(ApiMixin, APIView):
    pass


def json_body(request) -> dict:
    """The request body as a JSON object, refusing anything PostgreSQL or the serializers would choke on."""
    try:
        data = request.data  # raises UnsupportedMediaType / ParseError, answered as 400 above
        nul = _find_nul(data)
    except RecursionError:  # thousands of nested arrays: no incident looks like that
        raise exceptions.ValidationError({"body": ["The JSON is nested too deeply."]}) from None
    if not isinstance(data, dict):
        raise exceptions.ValidationError({"body": ["Send a JSON object."]})
    if nul is not None:
        raise exceptions.ValidationError({nul or "body": ["NUL bytes are not allowed."]})
    return data


def _find_nul(value, path: str = "") -> str | None:
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}".strip(".")
            if "\x00" in key:
                return here.replace("\x00", "\\x00")
            found = _find_nul(item, here)
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _find_nul(item, f"{path}.{index}".strip("."))
            if found is not None:
                return found
    return None


def bytes_response(content: bytes, content_type: str, *, status_code: int = 200) -> HttpResponse:
    return HttpResponse(content, content_type=content_type, status=status_code)
