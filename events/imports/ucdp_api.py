"""The UCDP sync: UCDP GED's events from its API, version by version.

GET {UCDP_API_URL}/gedevents/{version}?pagesize=&page=0&Country=645,652&StartDate= with the header
x-ucdp-access-token answers {"TotalCount", "TotalPages", "PreviousPageUrl", "NextPageUrl", "Result": [...]}; the
sync follows NextPageUrl (empty on the last page; only ever to the same server, which gets the token). Each
result holds the GED file's columns as JSON members, numbers as numbers and dates as 2016-01-01T00:00:00.000:
they are written as the CSV has them and read by the UCDP file's parser (events.imports.ucdp), so the same event
gives the same incident whichever way it came, matched on dataset "ucdp-ged" and the event's id.

The version is UCDP_VERSION, or the one `manage.py sync ucdp --version` moved to, whichever is newer. A version
read in full is not read again; a newer one (a yearly 25.1 or a monthly Candidate 26.0.7) revises and removes
events of the older: its changed events are updated (their history names the version), and the incidents it
lacks, inside its dates (from its first to its last event, within UCDP_START) and countries, are retracted
("not in UCDP GED <version>"). A 401 names the token; a 429 or 5xx is asked again after a back-off, from the
page reached (events.imports.remote).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.db import transaction

from ..models import ImportJob, SyncState
from . import ucdp
from .records import ParsedIncident, Record, RowProblem
from .remote import MAX_PAGES, Http, SyncError, SyncRun, json_body, run_sync_body
from .retract import retract_missing

log = logging.getLogger(__name__)

NAME = "ucdp"
SOURCE = "UCDP"
VERSION = re.compile(r"\d+\.\d+(\.\d+)?")
# UCDP's (Gleditsch-Ward) country codes of the region, for the countries a newer version answers for.
COUNTRIES = {"630": "IRN", "640": "TUR", "645": "IRQ", "652": "SYR", "660": "LBN", "663": "JOR", "666": "ISR",
             "670": "SAU", "690": "KWT"}  # fmt: skip
_API_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})T[\d:.]+Z?")


def configured() -> bool:
    return bool(settings.UCDP_TOKEN)


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def check_version(version: str) -> str:
    if not VERSION.fullmatch(version):
        raise SyncError(f"{version!r} is not a UCDP GED version such as 25.1 or 26.0.8.")
    return version


def api_row(result: dict) -> dict:
    """A result of the API as the GED CSV has it: text, dates without their time."""
    row = {}
    for name, value in result.items():
        if value is None:
            row[name] = ""
        elif isinstance(value, str):
            match = _API_DATE.fullmatch(value.strip())
            row[name] = match[1] if match else value
        else:
            row[name] = str(value)
    return row


def _start() -> dt.date | None:
    if not settings.UCDP_START:
        return None
    try:
        return dt.date.fromisoformat(settings.UCDP_START)
    except ValueError:
        raise SyncError(f"UCDP_START must be a date such as 2016-01-01, not {settings.UCDP_START!r}.") from None


def _first_url(version: str, start: dt.date | None) -> str:
    query = {"pagesize": settings.UCDP_PAGE_SIZE, "page": 0, "Country": ",".join(settings.UCDP_COUNTRIES)}
    if start:
        query["StartDate"] = start.isoformat()
    return f"{settings.UCDP_API_URL.rstrip('/')}/gedevents/{version}?{urlencode(query)}"


def _read(http: Http, page_url: str, number: int) -> dict:
    what = f"page {number} of GED"
    response = http.request("GET", page_url, what=what, headers={"x-ucdp-access-token": settings.UCDP_TOKEN})
    if response.status_code in (401, 403):
        problem = "is missing" if not settings.UCDP_TOKEN else "was refused"
        raise SyncError(f"UCDP answered {what} with HTTP {response.status_code}: the token (UCDP_TOKEN) {problem}.")
    if response.status_code != 200:
        raise SyncError(f"UCDP answered {what} with HTTP {response.status_code}: {response.text[:300]}")
    body = json_body(response, SOURCE, what)
    if not isinstance(body.get("Result"), list) or not all(isinstance(r, dict) for r in body["Result"]):
        raise SyncError(f"UCDP's {what} has no list of events under 'Result'.")
    return body


def _same_server(next_url: str) -> str:
    """NextPageUrl carries the token to wherever it points: only ever to UCDP_API_URL's server."""
    ours, theirs = urlsplit(settings.UCDP_API_URL), urlsplit(next_url)
    if (theirs.scheme, theirs.netloc) != (ours.scheme, ours.netloc):
        raise SyncError(f"UCDP's NextPageUrl points to another server ({theirs.netloc}); not followed.")
    return next_url


def sync(run: SyncRun, version: str) -> dict:
    http = Http(SOURCE)
    start = _start()
    seen: set[str] = set()
    dates: list[dt.date] = []
    countries = {COUNTRIES[code] for code in settings.UCDP_COUNTRIES if code in COUNTRIES}
    page_url, number = _first_url(version, start), 0
    while page_url:
        if number >= MAX_PAGES:
            raise SyncError(f"UCDP sent {MAX_PAGES} pages of GED {version}; stopped.")
        body = _read(http, page_url, number)
        records: list[Record] = []
        for position, result in enumerate(body["Result"], start=run.job.rows_done + 1):
            row = api_row(result)
            key = row.get("id", "").removesuffix(".0")
            record = ucdp.parse_ucdp(row, position)
            if key in seen and isinstance(record, ParsedIncident):
                record = RowProblem(position, key, f"repeats an earlier event of GED {version}")
            if isinstance(record, ParsedIncident):
                dates.append(record.occurred_on)
                if record.country:
                    countries.add(record.country)
            if key:
                seen.add(key)
            records.append(record)
        run.import_page(records)
        page_url = _same_server(body["NextPageUrl"]) if body.get("NextPageUrl") else ""
        number += 1
    if dates:
        # What the version answers for: its countries, from its first event (or UCDP_START) to its last.
        with transaction.atomic():
            retracted = retract_missing(
                ucdp.DATASET,
                sorted(seen),
                start=max(min(dates), start) if start else min(dates),
                end=max(dates),
                countries=sorted(c for c in countries if c),
                reason=f"not in UCDP GED {version}",
                job_id=run.job.pk,
                history_reason=run.reason,
            )
            run.retracted(len(retracted))
    return {"version": version}


def run(version: str | None = None) -> ImportJob | None:
    """One run: `version` (the command line's, checked by the caller) or the newer of UCDP_VERSION and the version
    last read; None when there is none, or it has been read in full already (unless named on the command line)."""
    state, _ = SyncState.objects.get_or_create(name=NAME)
    if version is None:
        candidates = [v for v in (settings.UCDP_VERSION, state.version) if VERSION.fullmatch(v)]
        if not candidates:
            log.warning("UCDP sync: no GED version to read; set UCDP_VERSION (such as 25.1).")
            return None
        version = max(candidates, key=version_key)
        if version == state.version and state.last_success_at is not None:
            log.info("UCDP sync: GED %s has been read in full; nothing to do until a newer version.", version)
            return None
    sync_run = SyncRun(NAME, ImportJob.Format.UCDP_API, ucdp.DATASET, f"UCDP GED {version}")
    return run_sync_body(sync_run, lambda r: sync(r, version))
