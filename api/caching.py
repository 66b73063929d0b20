"""Version ETags and the shared response cache of the API's reads (README: "Conditional GET").

An answer is named by what it is made of: the data version (ops/migrations/0001_data_version.py: a number
that changes at the commit of any write an answer could show), today's date (bases show today's status),
who may see drafts, the URL and the content coding. Its ETag is a hash of those, so a revalidation costs
one single-row query and no body, and a public answer is kept in Redis under the same hash for the next
visitor asking the same. Editors' answers, which can hold drafts, are never stored.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from django.conf import settings
from django.core.cache import caches
from django.http import HttpRequest, HttpResponse
from django.utils.cache import get_conditional_response, patch_vary_headers
from django.utils.http import http_date

from events.models import sees_drafts
from ops.routers import read_connection

logger = logging.getLogger(__name__)

# current_date is the session's date, UTC on Django's connections. ops.data_writes is set only inside a
# transaction that has written to a tracked table: its reads see data nobody else does.
VERSION_SQL = (
    "SELECT epoch::text, version, GREATEST(changed_at, current_date::timestamptz), current_date, "
    "nullif(current_setting('ops.data_writes', true), ''), txid_current_if_assigned() FROM ops_dataversion"
)

# Bodies smaller than this are sent as they are: gzip would save a few bytes at the cost of a header.
GZIP_MIN_BYTES = 1024

CREDENTIAL_HEADERS = ["Authorization", "Cookie"]

# How long the others wait for the one request building an answer; above the web tier's statement timeout.
BUILD_SECONDS = 20
BUILD_POLL_SECONDS = 0.02

# The packages whose code writes the bodies.
BODY_PACKAGES = ("api", "events", "posture")


@cache
def code_version() -> str:
    """A hash of the code that builds answers, so that a release that changes a body never serves (or
    revalidates) one the previous release built."""
    digest = hashlib.blake2b(digest_size=8)
    root = Path(settings.BASE_DIR)
    for package in BODY_PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class DataVersion:
    tag: str
    last_modified: dt.datetime
    # False inside a transaction with uncommitted writes of its own.
    committed: bool


def data_version() -> DataVersion | None:
    """One indexed single-row read, on the connection the body would be read from (the replica's version
    goes with the replica's data)."""
    with read_connection().cursor() as cursor:
        cursor.execute(VERSION_SQL)
        row = cursor.fetchone()
    if row is None:
        return None
    epoch, version, last_modified, today, own_writes, txid = row
    tag = f"{epoch}:{version}:{today.isoformat()}"
    if own_writes:
        tag += f":{txid}:{own_writes}"
    return DataVersion(tag=tag, last_modified=last_modified, committed=not own_writes)


def accepts_gzip(request: HttpRequest) -> bool:
    """Whether Accept-Encoding allows gzip (q > 0, named or through `*`)."""
    accepted: dict[str, float] = {}
    for part in request.META.get("HTTP_ACCEPT_ENCODING", "").split(","):
        coding, _, params = part.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if coding:
            accepted[coding.strip().lower()] = q
    if "gzip" in accepted:
        return accepted["gzip"] > 0
    return accepted.get("*", 0.0) > 0


class LocalEntries:
    """This process's copies of the answers it served last, least recently used out first, up to `limit` bytes.

    A name never changes meaning (the data version is in it), so a copy is never stale and needs no
    invalidation; it saves fetching a megabyte from Redis for each hit on a big page.
    """

    def __init__(self) -> None:
        self._entries: OrderedDict[str, dict] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: str) -> dict | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def put(self, key: str, entry: dict) -> None:
        limit = settings.RESPONSE_CACHE_LOCAL_BYTES
        size = len(entry["content"])
        if size > limit:
            return
        with self._lock:
            if key in self._entries:
                return
            self._entries[key] = entry
            self._bytes += size
            while self._bytes > limit:
                _, dropped = self._entries.popitem(last=False)
                self._bytes -= len(dropped["content"])

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0


LOCAL = LocalEntries()


class Answer:
    """How one GET of a versioned view is answered: its validators, and whether and where it is shared."""

    def __init__(self, request: HttpRequest, version: DataVersion) -> None:
        editor = sees_drafts(request.user)
        self.gzip = accepts_gzip(request)
        self.committed = version.committed
        self.shared = version.committed and not editor and settings.RESPONSE_CACHE
        # Inside a transaction that has written, an answer is named by that transaction and its count of
        # writes: it may be kept in this process for the transaction's own next reads, never in Redis.
        self.private = not version.committed and not editor and settings.RESPONSE_CACHE
        self.last_modified = version.last_modified
        # The host and scheme are in it because page links are absolute URLs.
        material = json.dumps(
            [
                code_version(),
                version.tag,
                "editor" if editor else "public",
                request.build_absolute_uri(request.path),
                sorted(request.GET.lists()),
                "gzip" if self.gzip else "identity",
            ]
        )
        digest = hashlib.blake2b(material.encode(), digest_size=16).hexdigest()
        self.etag = f'"{digest}"'
        self.key = f"api-response:{digest}"
        self.building: str | None = None

    def early(self, request: HttpRequest) -> HttpResponse | None:
        """A 304 when the client's copy is current, else the stored answer when there is one, else None."""
        not_modified = get_conditional_response(
            request, etag=self.etag, last_modified=int(self.last_modified.timestamp())
        )
        if not_modified is not None:
            return self._headers(not_modified)
        if not (self.shared or self.private):
            return None
        stored = LOCAL.get(self.key)
        if stored is None and self.private:
            return None
        if stored is None:
            stored = _cache_call("get", self.key) or self._wait_for_builder()
            if not isinstance(stored, dict):
                return None
            LOCAL.put(self.key, stored)
        response = HttpResponse(stored["content"], content_type=stored["content_type"])
        if stored["encoding"]:
            response["Content-Encoding"] = stored["encoding"]
        response.from_response_cache = True
        return self._headers(response)

    def finish(self, response: HttpResponse) -> HttpResponse:
        """Compress a freshly built 200 if the client takes gzip, keep it when it may be shared, add headers."""
        content = response.content
        if self.gzip and len(content) >= GZIP_MIN_BYTES and not response.has_header("Content-Encoding"):
            content = gzip.compress(content, compresslevel=6, mtime=0)
            response.content = content
            response["Content-Encoding"] = "gzip"
        if (self.shared or self.private) and len(content) <= settings.RESPONSE_CACHE_MAX_BYTES:
            stored = {
                "content": content,
                "content_type": response["Content-Type"],
                "encoding": response.get("Content-Encoding"),
            }
            if self.shared:
                _cache_set(self.key, stored, settings.RESPONSE_CACHE_SECONDS)
            LOCAL.put(self.key, stored)
        self.release()
        return self._headers(response)

    def _wait_for_builder(self):
        """After a write every visitor asks for answers nobody has stored yet, all at once: one request builds
        each, and the others wait for it to be stored rather than each running the same queries."""
        lock = self.key + ":building"
        if _cache_call("add", lock, 1, BUILD_SECONDS):
            self.building = lock
            return None
        deadline = time.monotonic() + BUILD_SECONDS
        # With Redis unreachable there is no lock to see, and the answer is built here at once.
        while time.monotonic() < deadline and _cache_call("has_key", lock):
            time.sleep(BUILD_POLL_SECONDS)
        # None if the builder stored nothing (an error, an answer over the size limit): then built here too.
        return _cache_call("get", self.key)

    def release(self) -> None:
        """Let the waiting requests go: called once the answer is stored, or when building it failed."""
        if self.building is not None:
            _cache_call("delete", self.building)
            self.building = None

    def _headers(self, response: HttpResponse) -> HttpResponse:
        response["ETag"] = self.etag
        response["Last-Modified"] = http_date(int(self.last_modified.timestamp()))
        # Drafts make the body depend on who asks, and the coding on what the client takes.
        patch_vary_headers(response, [*CREDENTIAL_HEADERS, "Accept-Encoding"])
        return response


def _cache_call(method: str, *args):
    # The backend fails open when Redis is unreachable; this also covers what it lets through (an
    # out-of-memory refusal, a value that no longer unpickles): the answer is then computed as if uncached.
    try:
        return getattr(caches[settings.RESPONSE_CACHE_ALIAS], method)(*args)
    except Exception:
        logger.warning("Response cache %s failed; answering uncached", method, exc_info=True)
        return None


def _cache_set(key: str, value: dict, timeout: int) -> None:
    """Store, unless this period's budget is spent: the cache may share its Redis with Celery's queues, which
    must never be evicted, so what it stores per `timeout` seconds is capped, whatever the URLs asked for."""
    try:
        cache = caches[settings.RESPONSE_CACHE_ALIAS]
        budget = f"api-response-bytes:{int(time.time() // timeout)}"
        cache.add(budget, 0, timeout * 2)
        if cache.incr(budget, len(value["content"])) > settings.RESPONSE_CACHE_BUDGET_BYTES:
            return
        cache.set(key, value, timeout)
    except Exception:
        logger.warning("Response cache write failed; the answer is sent uncached", exc_info=True)
