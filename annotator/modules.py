"""The pages' ES modules: each entry module's static import graph, read from the static files.

A page loads an entry module (``{% module_script "annotator/workspace/main.js" %}``, templatetags/modules.py;
optionally an ``early`` one too, run as soon as it arrives). On its own the browser learns of a module's
imports only once that module has arrived, so a graph N deep costs N round trips before any code runs. The tag
also emits ``<link rel="modulepreload">`` for every module the entries import, directly or not, so all of them
are requested at once with the page; the list comes from the files themselves, so it cannot drift from the code. ``StaticFilesStorage`` (storage.py) rewrites the same
imports to hashed names at ``collectstatic``, so the URLs preloaded and the URLs imported are the same ones.

Followed: static ``import ... from "./x.js"``, ``export ... from "./x.js"`` and ``import "./x.js"`` with a
relative specifier, at the start of a line (also JSON modules: ``with { type: "json" }``). Not followed:
``import()`` (no page uses it) and bare or absolute specifiers (no page uses them: there is no import map).
"""

from __future__ import annotations

import posixpath
import re
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders

# One import or re-export with a relative specifier; `head` is everything before the quoted specifier (the
# storage puts the hashed name in its place: REWRITE). Multi-line import lists are matched: [^;"'`] spans lines.
IMPORT_RE = re.compile(
    r"""^(?P<matched>(?P<head>[ \t]*(?:import|export)(?:[\s{*][^;"'`]*?\bfrom)?\s*)"""
    r"""(?P<quote>["'])(?P<url>\.{1,2}/[^"'\s]+)(?P=quote))""",
    re.MULTILINE,
)
REWRITE = "%(head)s%(quote)s%(url)s%(quote)s"


class ModuleNotFound(LookupError):
    pass


def imports_of(source: str) -> list[str]:
    """The relative specifiers ``source`` imports, in order (``"./api.js"``, ``"../state/history.js"``)."""
    return [match["url"] for match in IMPORT_RE.finditer(source)]


def resolve(importer: str, specifier: str) -> str:
    """The static name a relative specifier of module ``importer`` (a static name) points to."""
    return posixpath.normpath(posixpath.join(posixpath.dirname(importer), specifier))


def _walk(entry: str) -> tuple[str, ...]:
    order, seen, pending = [], set(), [entry]
    while pending:
        name = pending.pop(0)
        if name in seen:
            continue
        seen.add(name)
        order.append(name)
        if not name.endswith(".js"):
            continue  # a JSON module imports nothing
        path = finders.find(name)
        if path is None:
            raise ModuleNotFound(f"the static module {name!r} is imported but not found")
        pending.extend(resolve(name, specifier) for specifier in imports_of(Path(path).read_text(encoding="utf-8")))
    return tuple(order)


_cached_walk = lru_cache(maxsize=None)(_walk)


def module_graph(entry: str) -> tuple[str, ...]:
    """``entry`` and every module it imports, directly or not (static names, breadth first, each once).

    Read once per process; with DEBUG on, on every call, so edits show at once on a development server."""
    return _walk(entry) if settings.DEBUG else _cached_walk(entry)
