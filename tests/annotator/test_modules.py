"""The pages' module graph (annotator/modules.py): which imports it follows, and the graph of the real pages."""

from __future__ import annotations

import re

from annotator.modules import imports_of, module_graph, resolve

SOURCE = '''// import { nothing } from "./commented.js";
import { a, b } from "./a.js";
import {
  c,
  d,
} from "../up/c.js";
import * as e from './e.js';
import "./side-effect.js";
import KEYS from "../../keys.json" with { type: "json" };
export { f } from "./f.js";
export * from "./g.js";
export function fromApi({ x }) { return "./not-an-import.js"; }
const text = "import { h } from './h.js'";
import { remote } from "https://cdn.example.org/x.js";
'''


def test_imports_of_follows_static_relative_imports_and_re_exports_only():
    assert imports_of(SOURCE) == ["./a.js", "../up/c.js", "./e.js", "./side-effect.js", "../../keys.json", "./f.js",
                                  "./g.js"]


def test_resolve_gives_the_static_name():
    assert resolve("annotator/workspace/keys.js", "../../projects/workspace_keys.json") == "projects/workspace_keys.json"
    assert resolve("curation/review.js", "../annotator/workspace/api.js") == "annotator/workspace/api.js"


def test_the_pages_graphs_hold_every_module_their_entries_reach():
    workspace = module_graph("annotator/workspace/main.js")
    review = module_graph("curation/review.js")
    assert workspace[0] == "annotator/workspace/main.js" and review[0] == "curation/review.js"
    assert len(set(workspace)) == len(workspace) and len(set(review)) == len(review)
    assert {"annotator/workspace/state/history.js", "annotator/workspace/offsets.js",
            "projects/workspace_keys.json"} <= set(workspace) & set(review)
    assert "annotator/workspace/main.js" not in review
    # Every import of every module in the graph is in the graph (it is closed).
    from django.contrib.staticfiles import finders

    for name in workspace:
        if name.endswith(".js"):
            source = open(finders.find(name), encoding="utf-8").read()
            assert {resolve(name, url) for url in imports_of(source)} <= set(workspace), name
            assert not re.search(r"\bimport\s*\(", source), f"{name}: import() is not preloaded"


# Bundles (collectstatic): one file per page ------------------------------------------------------------------------

BUNDLED_MODULES = {
    "app/main.js": 'import { greet, ORDER } from "./lib/greet.js";\nimport "./effects.js";\n'
                   'import { shout as loud } from "./lib/greet.js";\n'
                   'window.result = { greeting: greet("Zoë 😀"), loud: loud("叙利亚"), order: ORDER.slice() };\n',
    "app/effects.js": 'import { ORDER } from "./lib/greet.js";\nORDER.push("effects");\n',
    "app/lib/greet.js": 'import KEYS from "../keys.json" with { type: "json" };\nimport {\n  Base,\n} from "./base.js";\n'
                        'export const ORDER = ["greet"];\n'
                        'export function greet(name) { return `${KEYS.hello}, ${name}`; }\n'
                        'function shoutInside(text) { return new Base().upper(text); }\nexport { shoutInside as shout };\n',
    "app/lib/base.js": 'export class Base { upper(text) { return text.toUpperCase() + "!"; } }\n'
                       'export async function later() { return 1; }\n',
    "app/keys.json": '{"hello": "Hello"}',
}


def test_a_bundle_runs_its_modules_in_the_browsers_order_with_their_imports_and_exports(browser):
    from annotator.modules import bundle_source, evaluation_order

    read = BUNDLED_MODULES.__getitem__
    # Each module after what it imports, in import order: as the browser evaluates the separate files.
    assert evaluation_order("app/main.js", read) == ["app/keys.json", "app/lib/base.js", "app/lib/greet.js",
                                                     "app/effects.js", "app/main.js"]
    source = bundle_source("app/main.js", read)
    assert not re.search(r"^\s*(import|export)\b", source, re.MULTILINE), source
    page = browser.new_page()
    try:
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.set_content("<!doctype html><title>bundle</title>")
        page.add_script_tag(content=source, type="module")
        page.wait_for_function("window.result !== undefined")
        assert page.evaluate("window.result") == {"greeting": "Hello, Zoë 😀", "loud": "叙利亚!",
                                                  "order": ["greet", "effects"]}
        assert errors == []
    finally:
        page.close()


def test_a_bundle_refuses_what_it_cannot_take_naming_the_module():
    import pytest

    from annotator.modules import UnbundledSyntax, bundle_source

    cases = {
        'export default function f() {}\n': "export",
        'import * as all from "./b.js";\n': "cannot bundle",
        'export { x } from "./b.js";\n': "cannot bundle",
        'import B from "./b.js";\n': "cannot bundle",  # a default import of a JavaScript module
        'const m = await import("./b.js");\n': "import()",
    }
    for source, message in cases.items():
        modules = {"a.js": source, "b.js": "export const x = 1;\nexport const y = 2;\n"}
        with pytest.raises(UnbundledSyntax, match=message) as raised:
            bundle_source("a.js", modules.__getitem__)
        assert str(raised.value).startswith("a.js:"), source
    cycle = {"a.js": 'import { b } from "./b.js";\nexport const a = 1;\n',
             "b.js": 'import { a } from "./a.js";\nexport const b = 2;\n'}
    with pytest.raises(UnbundledSyntax, match=r"circular import: a\.js -> b\.js -> a\.js"):
        bundle_source("a.js", cycle.__getitem__)


def test_every_page_entry_is_bundled_and_its_bundle_holds_its_whole_graph():
    from pathlib import Path

    from django.conf import settings
    from django.contrib.staticfiles import finders

    from annotator.modules import BUNDLED_ENTRIES, bundle_source

    used = set()
    for template in Path(settings.BASE_DIR).glob("*/templates/**/*.html"):
        used |= set(re.findall(r'{% module_script "([^"]+)"', template.read_text(encoding="utf-8")))
    assert used and used == set(BUNDLED_ENTRIES), used
    for entry in BUNDLED_ENTRIES:
        source = bundle_source(entry, lambda name: Path(finders.find(name)).read_text(encoding="utf-8"))
        bundled = [line[3:] for line in source.splitlines() if line.startswith("// ") and " " not in line[3:]]
        assert sorted(bundled) == sorted(module_graph(entry)) and bundled[-1] == entry, bundled
