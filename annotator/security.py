"""Security headers and the login lockout's answer (settings: "Security"; README: "Security").

The Content-Security-Policy comes from django-csp, Referrer-Policy from Django's SecurityMiddleware;
Django has no Permissions-Policy of its own, so this module adds it.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import JsonResponse
from django.shortcuts import render

from projects.errors import LockedOut
from projects.lockout import lockout_detail, lockout_seconds


NO_SECRET_KEY = (
    "DJANGO_SECRET_KEY is not set. With DEBUG off (DJANGO_DEBUG unset or false) Annotator needs a secret key: set "
    "DJANGO_SECRET_KEY to a long random string (python3 -c 'import secrets; print(secrets.token_urlsafe(50))'), "
    "the same in every web and worker process, or set DJANGO_DEBUG=true on a development machine (make run does).")


def check_secret_key() -> None:
    """Refuse to start with DEBUG off and no secret key (the settings leave SECRET_KEY empty then)."""
    try:
        key = settings.SECRET_KEY
    except ImproperlyConfigured:  # Django's own complaint about an empty key, on first use
        key = ""
    if not key and not settings.DEBUG:
        raise ImproperlyConfigured(NO_SECRET_KEY)


class PermissionsPolicyMiddleware:
    """``Permissions-Policy: settings.PERMISSIONS_POLICY`` on every response."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response


def lockout_response(request, original_response=None, credentials=None):
    """django-axes' answer to a locked-out login (AXES_LOCKOUT_CALLABLE): 429, as JSON in the API's error shape
    under /api/ and as a page elsewhere (the login page, Django admin's login)."""
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": lockout_detail(), "code": LockedOut.code}, status=LockedOut.status_code)
    else:
        response = render(request, "registration/locked_out.html", {"detail": lockout_detail()},
                          status=LockedOut.status_code)
    response["Retry-After"] = str(lockout_seconds())
    return response
