"""Error pages: under ``/api/`` an error is JSON, as the API's own errors are (and as its schema says)."""

from __future__ import annotations

from django.http import JsonResponse
from django.views import defaults


def not_found(request, exception):
    """404 for a path no URL matches: ``/api/v1/projects/-1/`` gets ``{"detail"}``, a page gets Django's page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)
