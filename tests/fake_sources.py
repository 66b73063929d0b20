"""Local stand-ins for ACLED's and UCDP's APIs: http.server on loopback, speaking their protocols (issue 20).

AcledServer: POST /oauth/token (the password grant and the refresh grant, client_id=acled, tokens that expire
after `token_lifetime` seconds or after `expire_after` data requests), GET /api/acled/read (`_format=json`,
paging by `limit` and `page`, `timestamp` with `timestamp_where`) and GET /api/deleted/read (`deleted_timestamp`
with `deleted_timestamp_where`), each asking for `Authorization: Bearer <access token>`.

UcdpServer: GET /api/gedevents/{version} with the header x-ucdp-access-token, `pagesize` and `page` (from 0),
`Country`, `StartDate` and `EndDate`, answering {"TotalCount", "TotalPages", "PreviousPageUrl", "NextPageUrl",
"Result"}, NextPageUrl empty on the last page.

Both answer the statuses in `failures`, one a request, once `fail_after` requests were answered, to test the
back-off. The ACLED one is
session-scoped, shared with the Celery worker (tests/celery_worker.py): a test calls reset() first.
"""

from __future__ import annotations

import csv
import itertools
import json
import math
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest


class LoopbackServer:
    """A ThreadingHTTPServer on a free loopback port, serving from a daemon thread until close()."""

    handler: type[BaseHTTPRequestHandler]

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: list[dict] = []
        self.failures: list[int] = []
        self.fail_after = 0  # requests answered before the failures begin
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self.handler)
        self.httpd.owner = self
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class JsonHandler(BaseHTTPRequestHandler):
    def log_message(self, format, *args):  # no access log in the test output
        pass

    def answer(self, status: int, body) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def query(self) -> dict[str, str]:
        return {key: values[-1] for key, values in parse_qs(urlsplit(self.path).query).items()}

    def injected_failure(self) -> bool:
        """Answer the next status of `failures`, if any (a 429 or a 5xx), instead of the request."""
        server = self.server.owner
        with server.lock:
            if server.fail_after:
                server.fail_after -= 1
                return False
            status = server.failures.pop(0) if server.failures else None
        if status is not None:
            self.answer(status, {"error": "injected by the test"})
        return status is not None


# --- ACLED ---------------------------------------------------------------------------------------------------


def _since(rows, params: dict[str, str], field: str) -> list[dict]:
    """ACLED's filter on a field: equality, unless `<field>_where` says otherwise (only >= is needed here)."""
    if field not in params:
        return list(rows)
    where, value = params.get(f"{field}_where", "="), int(params[field])
    if where == ">=":
        return [row for row in rows if int(row[field]) >= value]
    return [row for row in rows if int(row[field]) == value]


class _AcledHandler(JsonHandler):
    def do_POST(self):
        server: AcledServer = self.server.owner
        length = int(self.headers.get("Content-Length", 0))
        form = {key: values[-1] for key, values in parse_qs(self.rfile.read(length).decode()).items()}
        grant = form.get("grant_type")
        path = urlsplit(self.path).path
        server.requests.append({"path": path, "grant_type": grant, "client_id": form.get("client_id")})
        if path != "/oauth/token":
            return self.answer(404, {"error": "not found"})
        if form.get("client_id") != "acled":
            return self.answer(400, {"error": "invalid_client", "error_description": "Unknown client."})
        if grant == "password":
            if (form.get("username"), form.get("password")) != (server.email, server.password):
                return self.answer(
                    400, {"error": "invalid_grant", "error_description": "The user credentials were incorrect."}
                )
        elif grant == "refresh_token":
            with server.lock:
                known = form.get("refresh_token") in server.refresh_tokens
                server.refresh_tokens.discard(form.get("refresh_token"))
            if not known:
                return self.answer(400, {"error": "invalid_grant", "error_description": "Invalid refresh token."})
        else:
            return self.answer(400, {"error": "unsupported_grant_type"})
        self.answer(200, server.issue())

    def do_GET(self):
        server: AcledServer = self.server.owner
        path, params = urlsplit(self.path).path, self.query()
        server.requests.append({"path": path, "authorization": self.headers["Authorization"], **params})
        if self.injected_failure():
            return None
        if path not in ("/api/acled/read", "/api/deleted/read"):
            return self.answer(404, {"error": "not found"})
        if not server.accepts(self.headers["Authorization"] or ""):
            return self.answer(401, {"error": "invalid_token", "message": "The access token is invalid or expired."})
        if params.get("_format") != "json":
            return self.answer(400, {"success": False, "error": "Give _format=json."})
        if path == "/api/acled/read":
            # The rows changed at or after `timestamp`, newest event first, a page at a time.
            rows = sorted(
                _since(server.rows, params, "timestamp"),
                key=lambda row: (row["event_date"], row["event_id_cnty"]),
                reverse=True,
            )
        else:
            rows = sorted(_since(server.deleted, params, "deleted_timestamp"), key=lambda row: row["event_id_cnty"])
        limit, page = int(params.get("limit", 5000)), int(params.get("page", 1))
        data = rows[(page - 1) * limit : page * limit]
        self.answer(200, {"status": 200, "success": True, "count": len(data), "data": data})


class AcledServer(LoopbackServer):
    """ACLED's API: `rows` (as its API has them), `deleted` ({event_id_cnty, deleted_timestamp}), one account."""

    handler = _AcledHandler
    EMAIL = "analyst@example.org"
    PASSWORD = "correct horse battery staple"

    def __init__(self) -> None:
        super().__init__()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.rows: list[dict] = []
            self.deleted: list[dict] = []
            self.requests.clear()
            self.failures.clear()
            self.fail_after = 0
            self.email, self.password = self.EMAIL, self.PASSWORD
            self.token_lifetime = 86400  # seconds, as ACLED's expires_in
            self.expire_after: int | None = None  # data requests an access token answers before it expires
            self.tokens: dict[str, dict] = {}
            self.refresh_tokens: set[str] = set()
            self.counter = itertools.count(1)

    def issue(self) -> dict:
        with self.lock:
            n = next(self.counter)
            access, refresh = f"access-{n}", f"refresh-{n}"
            self.tokens[access] = {"expires": time.monotonic() + self.token_lifetime, "uses": 0}
            self.refresh_tokens.add(refresh)
        return {"token_type": "Bearer", "expires_in": self.token_lifetime, "access_token": access,
                "refresh_token": refresh}  # fmt: skip

    def accepts(self, authorization: str) -> bool:
        with self.lock:
            token = self.tokens.get(authorization.removeprefix("Bearer "))
            if token is None or time.monotonic() >= token["expires"]:
                return False
            if self.expire_after is not None and token["uses"] >= self.expire_after:
                return False
            token["uses"] += 1
            return True

    def grants(self) -> list[str]:
        return [r["grant_type"] for r in self.requests if r["path"] == "/oauth/token"]

    def data_requests(self, path: str = "/api/acled/read") -> list[dict]:
        return [r for r in self.requests if r["path"] == path]


@pytest.fixture(scope="session")
def acled_server() -> Iterator[AcledServer]:
    server = AcledServer()
    yield server
    server.close()


# --- UCDP ----------------------------------------------------------------------------------------------------

UCDP_TOKEN = "ucdp-test-token"


class _UcdpHandler(JsonHandler):
    def do_GET(self):
        server: UcdpServer = self.server.owner
        path, params = urlsplit(self.path).path, self.query()
        server.requests.append({"path": path, "token": self.headers["x-ucdp-access-token"], **params})
        if self.injected_failure():
            return None
        version = path.removeprefix("/api/gedevents/")
        if not path.startswith("/api/gedevents/") or version not in server.versions:
            return self.answer(404, {"error": f"No such resource: {path}"})
        if self.headers["x-ucdp-access-token"] != server.token:
            return self.answer(401, {"error": "Unauthorized: a valid x-ucdp-access-token is required."})
        rows = sorted(server.versions[version], key=lambda row: row["id"])
        if "Country" in params:
            countries = {int(code) for code in params["Country"].split(",")}
            rows = [row for row in rows if row["country_id"] in countries]
        if "StartDate" in params:
            rows = [row for row in rows if row["date_start"][:10] >= params["StartDate"]]
        if "EndDate" in params:
            rows = [row for row in rows if row["date_start"][:10] <= params["EndDate"]]
        size, page = int(params.get("pagesize", 100)), int(params.get("page", 0))
        pages = max(1, math.ceil(len(rows) / size))

        def page_url(n: int) -> str:
            return "" if not 0 <= n < pages else f"{server.url.rstrip('/')}{path}?{urlencode({**params, 'page': n})}"

        result = rows[page * size : (page + 1) * size]
        self.answer(200, {"TotalCount": len(rows), "TotalPages": pages, "PreviousPageUrl": page_url(page - 1),
                          "NextPageUrl": page_url(page + 1), "Result": result})  # fmt: skip


class UcdpServer(LoopbackServer):
    """UCDP's API: `versions` maps a GED version to its events, as the API has them (ged_results)."""

    handler = _UcdpHandler

    def __init__(self) -> None:
        super().__init__()
        self.versions: dict[str, list[dict]] = {}
        self.token = UCDP_TOKEN

    @property
    def api_url(self) -> str:
        return self.url + "api"


@pytest.fixture(scope="session")
def ucdp_server() -> Iterator[UcdpServer]:
    server = UcdpServer()
    yield server
    server.close()


def ged_results(path: Path) -> list[dict]:
    """A GED CSV's events as UCDP's API answers them: numbers as numbers, dates as 2016-01-01T00:00:00.000, and
    no iso3 (the API has only the country's name and UCDP code)."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = [row for row in csv.DictReader(f) if not row["id"].startswith("#") and row["id"]]
    results = []
    for row in rows:
        result = {}
        for name, value in row.items():
            if name == "iso3":
                continue
            if name in ("date_start", "date_end") and value:
                result[name] = f"{value}T00:00:00.000"
                continue
            try:
                result[name] = int(value)
            except ValueError:
                try:
                    result[name] = float(value)
                except ValueError:
                    result[name] = value
        results.append(result)
    return results
