"""The OpenAPI schema's error responses, declared once for every operation from what it can meet.

Errors reach clients in two shapes (``projects.errors.exception_handler`` and DRF's own handler):

- ``Error``: ``{"detail": "...", "code": "..."}``; ``detail`` is always there, ``code`` is the stable code of the
  product's own errors (``version_conflict``, ``document_full``, ``not_exportable``, ``queue_unavailable``, ...),
  and some carry more (a conflicting save carries the stored annotation; ``queue_unavailable`` the ``job_id``).
- ``ValidationError`` (400 only): an ``Error``, or DRF's per-field dict (``{"name": ["This field is
  required."]}``), or for a list of items (several documents in one POST) a list of per-item dicts.

Which statuses an operation declares follows from its shape:

- 400 when the client sends something the view reads: a request body, query parameters or a text path parameter
  (integer ones are checked by the URL itself);
- 401 and 403 when it needs credentials (403: the role is not enough, or a session without its CSRF token);
- 404 when its path names an object (a missing object and one the user may not see look the same) or it lists
  in pages (``?page=`` past the end);
- 409 when the view says so in ``conflicts`` (method -> the codes it can give);
- any other status a view names in ``error_statuses`` (method -> statuses: the token endpoint's 401, say);
- 413 and 415 when it takes a request body (a body over the size limits; a Content-Type it does not parse);
- 429 when a throttle applies to it (its view's throttles);
- 503 when it can start a job (it may answer 202 with one): ``queue_unavailable``, the job failed with that code.
"""

from __future__ import annotations

from drf_spectacular import openapi
from drf_spectacular.plumbing import ResolvedComponent

ERROR = {
    "type": "object",
    "description": "An error: what went wrong for a person (`detail`) and, for the product's own errors, a stable "
                   "`code` for programs. Some errors carry more fields (a conflicting save: the stored annotation; "
                   "`queue_unavailable`: the failed `job_id`).",
    "properties": {
        "detail": {"type": "string"},
        "code": {"type": "string", "description": "Stable: `version_conflict`, `document_full`, `label_in_use`, "
                                                  "`not_exportable`, `queue_unavailable`, `unknown_label`, ..."},
    },
    "required": ["detail"],
}
FIELD_ERRORS = {
    "type": "object",
    "description": "DRF's per-field errors: each field (or `non_field_errors`) with a list of messages, or for a "
                   "nested field its own errors.",
    "additionalProperties": {"anyOf": [{"type": "array"}, {"type": "object"}]},
    "minProperties": 1,
}

WHY = {
    400: "Bad input: the body, a query parameter or a path parameter is not acceptable (`detail` and `code`, or "
         "DRF's per-field errors).",
    401: "No credentials, or wrong ones.",
    403: "Not allowed: the role in this project is not enough (or a session request without its CSRF token).",
    404: "Not found, or not visible to you.",
    409: "Conflict with what is stored",
    413: "The request body is larger than the server accepts.",
    415: "The request body's Content-Type is not one this operation takes.",
    429: "Too many requests (or too many failed logins): wait, then try again.",
    503: "The task queue cannot be reached (`queue_unavailable`): the job is failed already; try again later.",
}


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's AutoSchema, plus the error responses each operation can give (the module says which)."""

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        responses = operation["responses"]
        for status in self.error_statuses(operation):
            if str(status) not in responses:
                responses[str(status)] = self.error_response(status)
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _get_paginator(self):
        # Only GET lists come in pages: a POST that answers with a list (assignments) answers with all of it.
        return super()._get_paginator() if self.method == "GET" else None

    def error_statuses(self, operation: dict) -> list[int]:
        parameters = operation.get("parameters", [])
        in_query = any(p["in"] == "query" for p in parameters)
        text_in_path = any(p["in"] == "path" and p.get("schema", {}).get("type") != "integer" for p in parameters)
        has_body = "requestBody" in operation
        authenticated = {} not in operation.get("security", [{}])
        statuses = []
        if has_body or in_query or text_in_path:
            statuses.append(400)
        if authenticated:
            statuses += [401, 403]
        if any(p["in"] == "path" for p in parameters) or any(p["name"] == "page" for p in parameters):
            statuses.append(404)
        if self.conflict_codes():
            statuses.append(409)
        if has_body:
            statuses += [413, 415]
        if self.view.get_throttles():
            statuses.append(429)
        if "202" in operation["responses"]:
            statuses.append(503)
        statuses += getattr(self.view, "error_statuses", {}).get(self.method, ())
        return statuses

    def conflict_codes(self) -> tuple[str, ...]:
        return tuple(getattr(self.view, "conflicts", {}).get(self.method, ()))

    def error_response(self, status: int) -> dict:
        if status == 400:
            schema = {"anyOf": [self.component("Error", ERROR), self.component("FieldErrors", FIELD_ERRORS),
                                {"type": "array", "items": {"anyOf": [self.component("FieldErrors", FIELD_ERRORS),
                                                                      {"type": "object", "maxProperties": 0},
                                                                      {"type": "string"}]}}]}
        else:
            schema = self.component("Error", ERROR)
        description = WHY[status]
        if status == 409:
            description += ": " + ", ".join(f"`{code}`" for code in self.conflict_codes()) + "."
        return {"content": {"application/json": {"schema": schema}}, "description": description}

    def component(self, name: str, schema: dict) -> dict:
        component = ResolvedComponent(name=name, type=ResolvedComponent.SCHEMA, schema=schema,
                                      object=f"projects.schema.{name}")
        self.registry.register_on_missing(component)
        return component.ref
