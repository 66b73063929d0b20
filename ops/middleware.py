"""Answers for a failing database and for oversized requests: short, clean, and with no traceback."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)

# PostgreSQL's SQLSTATE for a statement cancelled by statement_timeout.
QUERY_CANCELED = "57014"


def _sqlstate(exc: BaseException) -> str | None:
    cause = exc.__cause__
    return getattr(cause, "sqlstate", None)


def _wants_html(request: HttpRequest) -> bool:
    return not request.path_info.startswith(settings.API_PATH_PREFIXES) and request.accepts("text/html")


class DatabaseUnavailableMiddleware:
    """Turns a lost database, or a query stopped by statement_timeout, into a 503 with Retry-After.

    Without it the client gets Django's 500 page (or, with DEBUG, a traceback naming the server).
    Nothing needs restarting afterwards: Django drops the broken connection at the end of the
    request, and the connection pool opens fresh ones once PostgreSQL answers again.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        if _sqlstate(exception) == QUERY_CANCELED:
            logger.warning("Query stopped by statement_timeout: %s %s", request.method, request.path)
            reason, detail = "timeout", "The request took too long and was stopped. Narrow it down, or try again later."
        else:
            logger.error("Database unavailable: %s %s: %s", request.method, request.path, exception)
            reason, detail = "database", "The database is unavailable. Try again shortly."
        retry_after = str(settings.RETRY_AFTER_SECONDS)
        if _wants_html(request):
            html = render_to_string("ops/unavailable.html", {"detail": detail, "retry_after": retry_after})
            response = HttpResponse(html, status=503)
        else:
            response = JsonResponse({"detail": detail, "unavailable": reason}, status=503)
        response["Retry-After"] = retry_after
        response["Cache-Control"] = "no-store"
        return response


class RequestSizeLimitMiddleware:
    """Refuses a request body larger than MAX_UPLOAD_SIZE before anything reads it.

    Django caps form and JSON bodies (DATA_UPLOAD_MAX_MEMORY_SIZE) but streams uploaded files to disk
    with no upper bound, so this is the cap on uploads (import files are the largest thing we take).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return JsonResponse({"detail": "Invalid Content-Length header."}, status=400)
        if length > settings.MAX_UPLOAD_SIZE:
            return JsonResponse(
                {"detail": f"Request body too large: at most {settings.MAX_UPLOAD_SIZE} bytes."}, status=413
            )
        return self.get_response(request)
