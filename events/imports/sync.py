"""The syncs of remote sources, by name: "acled" (events.imports.acled_api: OAuth, new and changed events, and
ACLED's deletions) and "ucdp" (events.imports.ucdp_api: UCDP GED's API, version by version). Beat runs them
(events.tasks.sync_acled, sync_ucdp), an editor from the admin's Sync states page, and `manage.py sync <name>`
in the foreground. Each run is an ImportJob (format acled_api or ucdp_api, via "sync") whose counts, bad rows
and retractions the admin shows, and its SyncState says where the next one starts.

The `events.W001` check says, once at start-up (`migrate`, `runserver`, `check`), that ACLED_API_KEY alone, the
retired key-based API's, starts nothing; the worker, beat and gunicorn say it in their logs (events.checks). A
run of the ACLED sync without an account starts nothing either: no ImportJob, no request.
"""

from __future__ import annotations

import logging

from django.core import checks

from ..checks import RETIRED_ACLED_KEY, RETIRED_ACLED_KEY_HINT, retired_acled_key
from ..models import ImportJob
from . import acled_api, ucdp_api
from .remote import SyncError, locked

log = logging.getLogger(__name__)

SOURCES = {acled_api.NAME: acled_api, ucdp_api.NAME: ucdp_api}

__all__ = ["SOURCES", "SyncError", "run_sync"]


def run_sync(name: str = acled_api.NAME, *, version: str | None = None) -> ImportJob | None:
    """One run of the sync `name`; None when it is not configured, has nothing to do, or another run of it holds
    the lock. `version` (UCDP only) moves to that GED version; SyncError if it is not one."""
    source = SOURCES[name]
    if not source.configured():
        log.info("The %s sync is off: %s.", name, _missing(name))
        return None
    if version is not None:
        ucdp_api.check_version(version)
        return locked(name, lambda: ucdp_api.run(version))
    return locked(name, source.run)


def _missing(name: str) -> str:
    if name == ucdp_api.NAME:
        return "UCDP_TOKEN is not set"
    if retired_acled_key():
        return "ACLED_EMAIL and ACLED_PASSWORD are not set (ACLED_API_KEY, the retired key, logs in to nothing)"
    return "ACLED_EMAIL and ACLED_PASSWORD are not set"


@checks.register(checks.Tags.compatibility)
def check_retired_acled_key(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    if retired_acled_key():
        return [checks.Warning(RETIRED_ACLED_KEY, hint=RETIRED_ACLED_KEY_HINT, id="events.W001")]
    return []
