"""gzip for the API's JSON (settings.MIDDLEWARE), when the client accepts it.

Only JSON bodies of the API and its schema are compressed: the workspace's tokens, bundles and lists shrink
five- to twenty-fold. Pages, static files (WhiteNoise serves them precompressed after ``collectstatic``, and
answers before this middleware runs) and file downloads (exports, jobs' files: streamed with their own
digests) are left as they are.

BREACH (compression as a length oracle over TLS) needs a secret and text an attacker chooses in the same
compressed body, and requests the attacker can make the victim's browser send, many times over:

- The one API body that holds a secret, the token endpoint's ``{"token"}``, is never compressed.
- The session and CSRF cookies travel in headers, which gzip does not touch; API JSON holds no CSRF token
  (pages do, masked afresh on every response by Django, and pages are not compressed here anyway).
- What else a body holds (document texts, annotations) is data the same user can read in full, and a
  cross-site page cannot make the browser send authenticated API requests: the session cookie is
  ``SameSite=Lax`` and API writes need the CSRF header. Django's GZipMiddleware also pads each
  response with random bytes (its "Heal the BREACH" mitigation), which blurs the length it shows.
"""

from __future__ import annotations

from django.middleware.gzip import GZipMiddleware

# Responses that carry a credential: left uncompressed (see above).
NEVER_COMPRESSED = frozenset({"auth-token"})


def is_json(content_type: str) -> bool:
    kind = content_type.split(";", 1)[0].strip().lower()
    return kind == "application/json" or kind.endswith("+json") or kind == "application/vnd.oai.openapi"


class ApiGZipMiddleware(GZipMiddleware):
    """Django's GZipMiddleware (Accept-Encoding, Vary, ETag, at least 200 bytes, streaming too), for the API's
    JSON only."""

    def process_response(self, request, response):
        match = getattr(request, "resolver_match", None)
        if (not request.path.startswith("/api/") or not is_json(response.get("Content-Type", ""))
                or (match is not None and match.url_name in NEVER_COMPRESSED)):
            return response
        return super().process_response(request, response)
