"""The API's rate limit for anonymous clients, configurable by API_ANON_RATE ("300/min"; empty turns it off)."""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import AnonRateThrottle


class AnonymousRateThrottle(AnonRateThrottle):
    """DRF's AnonRateThrottle, reading its rate from settings when it runs rather than when DRF is
    imported, so that a deployment (or a test) can change it without touching REST_FRAMEWORK.

    Clients are told apart by address; NUM_PROXIES (REST_FRAMEWORK) says how many trusted proxies
    append to X-Forwarded-For, so that a client cannot dodge the limit by sending that header itself.
    The counts live in the cache; while Redis is down the cache fails open and so does the limit.
    """

    def get_rate(self) -> str | None:
        return settings.API_ANON_RATE or None
