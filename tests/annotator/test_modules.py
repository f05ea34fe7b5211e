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
