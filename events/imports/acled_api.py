"""The ACLED sync: new and changed events from ACLED's API, and the events ACLED deleted.

ACLED's API (since 2025) takes OAuth: POST {ACLED_BASE_URL}/oauth/token with the account's e-mail and password
(grant_type=password, client_id=acled) answers an access token that expires (expires_in, a day) and a refresh
token (grant_type=refresh_token). The sync keeps both in its SyncState (never logged, never shown by the admin),
refreshes the access token when it has expired or a request is answered 401, and logs in again when the refresh
is refused. A refused login fails the run saying so; each request re-authenticates at most once, so a run never
loops on a refusal.

Each run:

1. GET /api/acled/read?_format=json&<ACLED_QUERY>&timestamp=<last>&timestamp_where=>=&limit=&page=: the rows
   changed at or after the largest `timestamp` the previous successful run saw, page by page until a short
   page, each page imported as a chunk of one ImportJob (format "acled_api") through the ACLED file's parser.
   The boundary timestamp is asked for again on purpose: rows that share it but arrived later are not missed,
   and the ones already imported come back unchanged and cost nothing. A row of an incident retracted earlier
   restores it.
2. GET /api/deleted/read?_format=json&deleted_timestamp=<last>&deleted_timestamp_where=>=: the events ACLED
   deleted since the last deletion seen, each {event_id_cnty, deleted_timestamp}; the matching incidents are
   retracted ("deleted by ACLED on <date>"), unless the row we hold changed after the deletion.

Only a run that got through both moves the SyncState's timestamps on; a failed one is asked again whole.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qsl

import requests
from django.conf import settings
from django.utils import timezone

from ..checks import acled_account
from ..models import ImportJob, SyncState
from . import acled
from .records import ParsedIncident, Record, RowProblem
from .remote import MAX_PAGES, Http, SyncError, SyncRun, json_body, run_sync_body
from .retract import retract_deleted

NAME = "acled"
SOURCE = "ACLED"
CLIENT_ID = "acled"
# An access token this close to its expiry is refreshed before use rather than sent to be refused.
EXPIRY_MARGIN = dt.timedelta(seconds=60)


# Every source's module answers configured(): ACLED's is an account, a condition events.checks owns, since
# gunicorn's master reads it there without Django's models.
configured = acled_account


def url(path: str) -> str:
    return settings.ACLED_BASE_URL.rstrip("/") + path


class AcledAuth:
    """The account's tokens, kept in the SyncState row `state`."""

    def __init__(self, state: SyncState, http: Http) -> None:
        self.state = state
        self.http = http

    def token(self) -> str:
        expires = self.state.token_expires_at
        if self.state.access_token and expires is not None and expires - EXPIRY_MARGIN > timezone.now():
            return self.state.access_token
        self.renew()
        return self.state.access_token

    def renew(self) -> None:
        """A new access token: by the refresh token when there is one and ACLED takes it, else by logging in."""
        if self.state.refresh_token:
            response = self._ask({"grant_type": "refresh_token", "refresh_token": self.state.refresh_token})
            if response.status_code == 200:
                self._keep(response)
                return
            if response.status_code not in (400, 401, 403):
                raise SyncError(f"ACLED answered the token refresh with HTTP {response.status_code}.")
        self._login()

    def _login(self) -> None:
        response = self._ask(
            {"grant_type": "password", "username": settings.ACLED_EMAIL, "password": settings.ACLED_PASSWORD}
        )
        if response.status_code in (400, 401, 403):
            raise SyncError(
                f"ACLED refused the login of {settings.ACLED_EMAIL}: the e-mail or the password is wrong "
                f"(ACLED_EMAIL, ACLED_PASSWORD){_oauth_error(response)}."
            )
        if response.status_code != 200:
            raise SyncError(f"ACLED answered the login with HTTP {response.status_code}.")
        self._keep(response)

    def _ask(self, form: dict) -> requests.Response:
        return self.http.request(
            "POST", url("/oauth/token"), what="the token request", data={**form, "client_id": CLIENT_ID}
        )

    def _keep(self, response: requests.Response) -> None:
        body = json_body(response, SOURCE, "the token request")
        access, lifetime = body.get("access_token"), body.get("expires_in")
        if not isinstance(access, str) or not access or not isinstance(lifetime, int | float):
            raise SyncError("ACLED's token answer has no access_token and expires_in.")
        self.state.access_token = access
        self.state.refresh_token = body.get("refresh_token") or self.state.refresh_token
        self.state.token_expires_at = timezone.now() + dt.timedelta(seconds=lifetime)
        # Kept at once, outside the run's transactions: a token is good whatever becomes of the run.
        SyncState.objects.filter(pk=self.state.pk).update(
            access_token=self.state.access_token,
            refresh_token=self.state.refresh_token,
            token_expires_at=self.state.token_expires_at,
        )


def _oauth_error(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    said = body.get("error_description") or body.get("message") or body.get("error")
    return f': ACLED says "{str(said)[:200]}"' if said else ""


def read_rows(auth: AcledAuth, path: str, params: list[tuple[str, str]], what: str) -> list[dict]:
    """One page of an ACLED endpoint, with the token; a 401 renews the token once and asks again."""
    params = [("_format", "json"), *params]
    for renewed in (False, True):
        response = auth.http.request(
            "GET", url(path), what=what, params=params, headers={"Authorization": f"Bearer {auth.token()}"}
        )
        if response.status_code != 401:
            break
        if renewed:
            raise SyncError(f"ACLED refused a token it had just issued ({what}, HTTP 401).")
        auth.renew()
    if response.status_code != 200:
        raise SyncError(f"ACLED answered {what} with HTTP {response.status_code}: {response.text[:300]}")
    body = json_body(response, SOURCE, what)
    if body.get("success") is False or "error" in body:
        raise SyncError(f"ACLED refused {what}: {str(body.get('error') or body.get('message'))[:300]}")
    rows = body.get("data") or []
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise SyncError(f"ACLED's answer to {what} has no list of rows under 'data'.")
    return rows


def _pages(since_name: str, since: int | None) -> list[tuple[str, str]]:
    params = [("limit", str(settings.ACLED_PAGE_SIZE))]
    if since is not None:
        params += [(since_name, str(since)), (f"{since_name}_where", ">=")]
    return params


def _import_changes(run: SyncRun, auth: AcledAuth) -> int | None:
    since = newest = run.state.last_timestamp
    query = parse_qsl(settings.ACLED_QUERY, keep_blank_values=True) + _pages("timestamp", since)
    first_row: dict[str, int] = {}
    for page in range(1, MAX_PAGES + 1):
        rows = read_rows(auth, "/api/acled/read", [*query, ("page", str(page))], f"page {page} of the events")
        records: list[Record] = []
        for number, row in enumerate(rows, start=run.job.rows_done + 1):
            record = acled.parse_acled(row, number)
            if isinstance(record, ParsedIncident):
                first = first_row.setdefault(record.external_id, number)
                if first != number:
                    record = RowProblem(number, record.external_id, f"repeats row {first} of this sync")
                elif record.source_timestamp is not None:
                    newest = max(newest or 0, record.source_timestamp)
            records.append(record)
        run.import_page(records)
        if len(rows) < settings.ACLED_PAGE_SIZE:
            return newest
    raise SyncError(f"ACLED sent {MAX_PAGES} full pages of events; the next run goes on from what was imported.")


def _retract_deletions(run: SyncRun, auth: AcledAuth) -> int | None:
    since = newest = run.state.last_deleted_timestamp
    query = _pages("deleted_timestamp", since)
    for page in range(1, MAX_PAGES + 1):
        what = f"page {page} of the deleted events"
        rows = read_rows(auth, "/api/deleted/read", [*query, ("page", str(page))], what)
        deletions = []
        for row in rows:
            external_id, deleted = str(row.get("event_id_cnty") or "").strip(), row.get("deleted_timestamp")
            try:
                deleted = int(deleted)
            except (TypeError, ValueError):
                raise SyncError(f"ACLED's {what} holds a row without event_id_cnty and deleted_timestamp.") from None
            if not external_id:
                raise SyncError(f"ACLED's {what} holds a row without event_id_cnty and deleted_timestamp.")
            deletions.append((external_id, deleted))
            newest = max(newest or 0, deleted)
        retracted = retract_deleted(acled.DATASET, deletions, job_id=run.job.pk, history_reason=run.reason)
        run.retracted(len(retracted))
        if len(rows) < settings.ACLED_PAGE_SIZE:
            return newest
    raise SyncError(f"ACLED sent {MAX_PAGES} full pages of deleted events.")


def sync(run: SyncRun) -> dict:
    auth = AcledAuth(run.state, Http(SOURCE))
    newest = _import_changes(run, auth)
    newest_deleted = _retract_deletions(run, auth)
    return {"last_timestamp": newest, "last_deleted_timestamp": newest_deleted}


def run() -> ImportJob:
    return run_sync_body(SyncRun(NAME, ImportJob.Format.ACLED_API, acled.DATASET, SOURCE), sync)
