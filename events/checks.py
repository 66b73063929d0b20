"""What the settings ask for that starts nothing, and why: said once at start-up by each kind of process.

ACLED_API_KEY alone (the retired key-based API's) starts no ACLED sync: the sync logs in with an ACLED account,
ACLED_EMAIL and ACLED_PASSWORD (events.imports.acled_api). Where it is said:
- `migrate`, `runserver`, `check`: the system check events.W001 (events.imports.sync), which Django prints;
- the Celery worker and beat: their worker_init and beat_init signals (config/celery.py), which Celery sends once
  per start (a worker's pool processes, and an embedded beat, are forked after it, and say nothing again);
- the web tier: gunicorn's master, once it listens (config/gunicorn.py's when_ready), not each of its workers
  (which import the site one by one, and again when recycled).

Settings only, no models: gunicorn's master reads it without setting up Django.
"""

from __future__ import annotations

import logging

from django.conf import settings

log = logging.getLogger(__name__)

RETIRED_ACLED_KEY = (
    "ACLED_API_KEY is set but starts nothing: ACLED's key-based API is gone, and the sync now logs in with an "
    "ACLED account (OAuth)."
)
RETIRED_ACLED_KEY_HINT = (
    "Set ACLED_EMAIL and ACLED_PASSWORD to the account's e-mail and password, and remove ACLED_API_KEY "
    "(docs/imports.md, 'Sync from ACLED')."
)

_said = False  # in this process, or in the one it was forked from


def acled_account() -> bool:
    """Whether an ACLED account is set, which the sync logs in with (events.imports.acled_api)."""
    return bool(settings.ACLED_EMAIL and settings.ACLED_PASSWORD)


def retired_acled_key() -> bool:
    """Whether ACLED_API_KEY is set without an ACLED account."""
    return bool(settings.ACLED_API_KEY) and not acled_account()


def start_up_warnings() -> list[str]:
    """Each thing the settings ask for that starts nothing, with what to do instead."""
    return [f"(events.W001) {RETIRED_ACLED_KEY} {RETIRED_ACLED_KEY_HINT}"] if retired_acled_key() else []


def warn_at_start_up(logger: logging.Logger | None = None) -> list[str]:
    """Log start_up_warnings() once in this process (and those it forks): what it logged, or [] the second
    time."""
    global _said
    if _said:
        return []
    _said = True
    messages = start_up_warnings()
    for message in messages:
        (logger or log).warning(message)
    return messages
