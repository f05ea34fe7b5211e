"""Login lockout (django-axes, configured in the settings): the client address it counts and what it says.

A username, and separately an address, that failed ``AXES_FAILURE_LIMIT`` logins is refused until
``AXES_COOLOFF_TIME`` has passed without a further failure, whatever the password.
"""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import BaseThrottle


def client_address(request) -> str:
    """The client's address as DRF's throttles see it: ``REMOTE_ADDR``, or with ``NUM_PROXIES`` set that many
    entries from the right of ``X-Forwarded-For`` (never a header a client can choose)."""
    return BaseThrottle().get_ident(request)


def lockout_seconds() -> int:
    return int(settings.AXES_COOLOFF_TIME.total_seconds())


def lockout_detail() -> str:
    minutes = max(1, round(lockout_seconds() / 60))
    return (f"Too many failed logins for this username or from this address: try again in {minutes} minutes "
            f"(counted from the last failure).")
