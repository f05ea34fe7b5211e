"""The project's exceptions, each with a stable code, and their HTTP form."""

from __future__ import annotations

from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


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
    return drf_exception_handler(exc, context)
