"""The API's JSON parser: DRF's, refusing what the database cannot store or Python cannot walk.

Every JSON body of every endpoint (the anonymous token endpoint included) goes through it
(``REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"]``): NUL, lone surrogates and nesting deeper than
``projects.inputs.MAX_JSON_DEPTH`` are a 400 naming the field (``{"detail", "code": "invalid_input",
"field"}``), never a 500 from PostgreSQL, psycopg or a RecursionError.
"""

from __future__ import annotations

from rest_framework import parsers

from projects.errors import InvalidInput
from projects.inputs import MAX_JSON_DEPTH, check_input


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:  # the decoder itself gives up long before a thousand levels
            raise InvalidInput(f"body is nested deeper than {MAX_JSON_DEPTH} levels",
                               code="invalid_input", extra={"field": "body"}) from None
        check_input(data, "")
        return data
