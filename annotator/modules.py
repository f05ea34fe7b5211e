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

import json
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


# One file per page ------------------------------------------------------------------------------------------------
#
# After collectstatic a page loads one module, its entry's bundle, instead of the entry and every module it imports:
# a browser spends main-thread time on each file it asks for (some 3 ms each on the 2-core machine, before the
# parser reaches the page's first script), and the server answers each. The bundle is built here, in Python,
# from the same files and the same import pattern as the graph above, so no JavaScript toolchain is needed:
# each module becomes a function run once, in the order the browser itself would evaluate them (depth first,
# imports before importers), returning its exports; an import becomes a destructuring of the imported module's.
# Only the forms the pages use are taken; any other fails collectstatic, naming the module.

# The pages' entry modules that get a bundle (templates name them in {% module_script %}).
BUNDLED_ENTRIES = ("annotator/workspace/main.js", "curation/review.js")

# An import or re-export with a relative specifier, to its end: import attributes and semicolon included.
STATEMENT_RE = re.compile(
    r"""^[ \t]*(?P<keyword>import|export)(?P<clause>(?:[\s{*][^;"'`]*?\bfrom)?)\s*(?P<quote>["'])"""
    r"""(?P<url>\.{1,2}/[^"'\s]+)(?P=quote)(?:\s*with\s*\{[^}]*\})?[ \t]*;?""",
    re.MULTILINE,
)
DECLARED_EXPORT_RE = re.compile(r"^export[ \t]+(?=(?:async[ \t]+)?function\b|class\b|const\b)", re.MULTILINE)
DECLARED_NAME_RE = re.compile(r"(?:async[ \t]+)?(?:function\*?|class|const)[ \t]+([A-Za-z_$][\w$]*)")
EXPORT_LIST_RE = re.compile(r"^export[ \t]*\{(?P<names>[^}]*)\}[ \t]*;?[ \t]*$", re.MULTILINE)
OTHER_EXPORT_RE = re.compile(r"^export\b", re.MULTILINE)
NAME_RE = re.compile(r"^[A-Za-z_$][\w$]*$")


class UnbundledSyntax(ValueError):
    pass


def bundle_name(entry: str) -> str:
    """The static name of ``entry``'s bundle: ``annotator/workspace/main.js`` -> ``.../main.bundle.js``."""
    return entry.removesuffix(".js") + ".bundle.js"


def evaluation_order(entry: str, read) -> list[str]:
    """``entry``'s modules in the order the browser evaluates them: each after what it imports, in import order.
    ``read(name)`` gives a module's source."""
    order, state = [], {}

    def visit(name: str, path: tuple[str, ...]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "open":
            raise UnbundledSyntax(f"circular import: {' -> '.join((*path, name))}")
        state[name] = "open"
        if name.endswith(".js"):
            for specifier in imports_of(read(name)):
                visit(resolve(name, specifier), (*path, name))
        state[name] = "done"
        order.append(name)

    visit(entry, ())
    return order


def _names(listed: str, module: str) -> list[tuple[str, str]]:
    """``a, b as c`` as [(a, a), (b, c)]: (name in the exporting module, name here)."""
    pairs = []
    for item in filter(None, (part.strip() for part in listed.split(","))):
        outer, _, inner = item.partition(" as ")
        outer, inner = outer.strip(), (inner or outer).strip()
        if not (NAME_RE.match(outer) and NAME_RE.match(inner)):
            raise UnbundledSyntax(f"{module}: cannot bundle the import or export list item {item!r}")
        pairs.append((outer, inner))
    return pairs


def bundle_source(entry: str, read) -> str:
    """One ES module that runs ``entry`` and every module it imports, as loading them apart would."""
    order = evaluation_order(entry, read)
    var = {name: f"$module{i}" for i, name in enumerate(order)}
    parts = [f"// {entry} and the modules it imports, bundled at collectstatic (annotator/modules.py)."]
    for name in order:
        source = read(name)
        if name.endswith(".json"):
            json.loads(source)  # a JSON module is a JSON value; a broken one fails here, as the browser would
            parts.append(f"// {name}\nconst {var[name]} = {source.strip()};")
            continue

        def imported(match: re.Match) -> str:
            target = var[resolve(name, match["url"])]
            clause = match["clause"].strip()
            if match["keyword"] == "export" or clause.startswith("*"):
                raise UnbundledSyntax(f"{name}: cannot bundle {match[0].strip()!r}")
            if not clause:
                return ""  # imported for its effects: already run, earlier in the bundle
            clause = clause.removesuffix("from").strip()
            if clause.startswith("{"):
                pairs = _names(clause.strip("{}"), name)
                return "const { " + ", ".join(o if o == i else f"{o}: {i}" for o, i in pairs) + f" }} = {target};"
            if NAME_RE.match(clause) and resolve(name, match["url"]).endswith(".json"):
                return f"const {clause} = {target};"  # a JSON module's default export: its value
            raise UnbundledSyntax(f"{name}: cannot bundle {match[0].strip()!r}")

        body = STATEMENT_RE.sub(imported, source)
        exports = [(found, found) for found in
                   (DECLARED_NAME_RE.match(body, m.end())[1] for m in DECLARED_EXPORT_RE.finditer(body))]
        body = DECLARED_EXPORT_RE.sub("", body)
        for m in EXPORT_LIST_RE.finditer(body):
            exports += [(inner, outer) for outer, inner in _names(m["names"], name)]  # (exported, local)
        body = EXPORT_LIST_RE.sub("", body)
        if OTHER_EXPORT_RE.search(body) or re.search(r"\bimport\s*\(|\bimport\.meta\b", body):
            raise UnbundledSyntax(f"{name}: an export, import() or import.meta the bundler does not take")
        returned = ", ".join(local if exported == local else f"{exported}: {local}" for exported, local in exports)
        parts.append(f"// {name}\nconst {var[name]} = (() => {{\n{body.rstrip()}\nreturn {{ {returned} }};\n}})();")
    return "\n".join(parts) + "\n"
