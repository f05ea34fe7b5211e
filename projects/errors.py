"""The project's exceptions, each with a stable code, and their HTTP form."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from rest_framework import status
from rest_framework.response import Response


class AnnotatorError(Exception):
    code = "error"
    status_code = status.HTTP_400_BAD_REQUEST

    def __init__(self, detail: str, *, code: str | None = None, extra: dict | None = None):
        super().__init__(detail)
        self.detail = detail
        if code:
            self.code = code
        self.extra = extra or {}


class InvalidInput(AnnotatorError):
    code = "invalid"


class Conflict(AnnotatorError):
    code = "conflict"
    status_code = status.HTTP_409_CONFLICT


class TooLarge(AnnotatorError):
    """More than a size limit allows (README, "Security"); ``extra`` names the setting and its value."""

    code = "too_large"
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE


def over_limit(setting: str, what: str, *, code: str = "too_large", error=None, value=None) -> AnnotatorError:
    """The error for ``what`` being over the limit that setting ``setting`` sets (a TooLarge by default):
    its message and body name the setting and its value (``{"limit": setting, "max": value}``); ``value``
    when the setting was read elsewhere (an import's worker process has the importing process's)."""
    value = getattr(settings, setting) if value is None else value
    return (error or TooLarge)(f"{what}: the limit is {value:,} ({setting})", code=code,
                               extra={"limit": setting, "max": value})


class LockedOut(AnnotatorError):
    """Too many failed logins for this username or address (projects/lockout.py)."""

    code = "locked_out"
    status_code = status.HTTP_429_TOO_MANY_REQUESTS

    def __init__(self, detail: str, *, retry_after: int):
        super().__init__(detail)
        self.headers = {"Retry-After": str(retry_after)}


class QueueUnavailable(AnnotatorError):
    """The task queue (the broker) could not be reached: try again later."""

    code = "queue_unavailable"
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE


def exception_handler(exc, context):
    if isinstance(exc, AnnotatorError):
        body = {**exc.extra, "detail": exc.detail, "code": exc.code}
        return Response(body, status=exc.status_code, headers=getattr(exc, "headers", None))
    if isinstance(exc, RequestDataTooBig):  # Django's, raised when a view reads a body over the limit
        return exception_handler(over_limit("DATA_UPLOAD_MAX_MEMORY_SIZE", "the request body is too large (bytes)",
                                            code="body_too_large"), context)
    from rest_framework.views import exception_handler as drf_exception_handler  # here: an import cycle

    return drf_exception_handler(exc, context)
