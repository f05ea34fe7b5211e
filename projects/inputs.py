"""Checks of input that the database cannot store or Python cannot walk, before it gets that far.

PostgreSQL refuses NUL (``\\x00``) in ``text`` and ``jsonb``, psycopg refuses to encode a lone
surrogate (``\\ud800``: JSON's ``"\\ud800"`` escape decodes to one), and JSON nested a thousand deep
overflows Python's stack in any recursive code that meets it. Each used to be a 500; these say
what is wrong and where, so callers can answer 400 naming the field (the API's JSON parser,
``projects.parsers``), or fail an import naming the line (``exports.imports``).

No database: pure checks, and ``check_input`` which raises the API's ``InvalidInput``.

    >>> problem_in({"meta": {"note": "a\\x00b"}})
    ('meta.note', 'contains a NUL character (\\\\u0000), which cannot be stored')
    >>> problem_in([{"text": "ok"}, {"text": "\\ud800"}])
    ('[1].text', 'contains a lone surrogate (\\\\ud800), which is not a character')
"""

from __future__ import annotations

import re

from projects.errors import InvalidInput

# JSON deeper than this is refused: meta and the API's bodies are a few levels deep, and Python's
# recursive json, copy and psycopg code overflow far below a thousand.
MAX_JSON_DEPTH = 64

MAX_PATH_SHOWN = 100

_SURROGATE = re.compile("[\ud800-\udfff]")
_SCALARS = frozenset({str, int, float, bool, type(None)})


def text_problem(value: str) -> str | None:
    """What makes ``value`` unstorable, or None."""
    if "\x00" in value:
        return "contains a NUL character (\\u0000), which cannot be stored"
    found = _SURROGATE.search(value)
    if found:
        return f"contains a lone surrogate (\\u{ord(found.group()):04x}), which is not a character"
    return None


def problem_in(value: object, *, path: str = "", max_depth: int = MAX_JSON_DEPTH) -> tuple[str, str] | None:
    """The first ``(path, what is wrong)`` in decoded JSON ``value`` (keys and strings with NUL or a
    lone surrogate, nesting deeper than ``max_depth``), or None. Iterative, so any depth is safe."""
    if isinstance(value, str) or (isinstance(value, list) and all(isinstance(item, str) for item in value)):
        # A text, or a list of labels: one scan of them all finds nothing, almost always (an import's every line).
        if text_problem(value if isinstance(value, str) else "".join(value)) is None:
            return None
    elif isinstance(value, dict) and max_depth > 0 and all(type(key) is str for key in value) \
            and all(type(item) in _SCALARS for item in value.values()):
        # A flat object (an import's meta, most often): its keys and strings in one scan, no path made.
        if text_problem("".join(value) + "".join(item for item in value.values() if type(item) is str)) is None:
            return None
    stack: list[tuple[object, str, int]] = [(value, path, 0)]
    while stack:
        item, where, depth = stack.pop()
        if isinstance(item, str):
            problem = text_problem(item)
            if problem:
                return where or "body", problem
        elif isinstance(item, (dict, list)):
            if depth >= max_depth:
                return where or "body", f"is nested deeper than {max_depth} levels"
            if isinstance(item, dict):
                children = []
                for key, child in item.items():
                    problem = text_problem(key) if isinstance(key, str) else None
                    if problem:  # the path leaves the key out: it cannot be shown
                        return where or "body", f"has a key that {problem}"
                    children.append((child, f"{where}.{key}" if where else str(key), depth + 1))
            else:
                children = [(child, f"{where}[{i}]", depth + 1) for i, child in enumerate(item)]
            stack.extend(reversed(children))
    return None


def check_input(value: object, field: str, *, max_depth: int = MAX_JSON_DEPTH) -> None:
    """InvalidInput (400, code ``invalid_input``, ``field`` the path) if ``value`` (a string or decoded
    JSON given as ``field``) has what ``problem_in`` finds."""
    found = problem_in(value, path=field, max_depth=max_depth)
    if found:
        where, problem = found
        if len(where) > MAX_PATH_SHOWN:  # deep nesting makes a long path: its start says where
            where = where[:MAX_PATH_SHOWN] + "..."
        raise InvalidInput(f"{where} {problem}", code="invalid_input", extra={"field": where})
