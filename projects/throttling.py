"""Throttles for the API: anonymous calls per client address, counted in the cache (Redis when configured)."""

from __future__ import annotations

from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle


class AnonymousThrottle(AnonRateThrottle):
    """DRF's anonymous throttle (scope ``anon``), with the rate read from the settings at each request.

    DRF's own reads ``DEFAULT_THROTTLE_RATES`` once, when the class is defined; reading it per request lets a
    changed setting (a test's, say) apply.
    """

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
