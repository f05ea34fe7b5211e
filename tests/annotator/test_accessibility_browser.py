"""Every page passes axe-core (no serious or critical violation) in a real browser, with data on it: labels of every
palette colour and some chosen ones, spans, suggestions and relations (so arcs are drawn), two annotators who
disagree (the review page), computed agreement (the dashboard). Spans and arcs have accessible names, focus is
visible, and label colours keep text readable (WCAG AA, 4.5:1) for every palette colour and chosen colour.
"""

from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from projects.actions.annotations import do_save_annotation
from projects.actions.documents import do_create_documents
from projects.actions.jobs import do_create_job, fail_job, finish_job
from projects.actions.labels import PALETTE, do_create_label, pick_color
from projects.actions.members import do_add_member
from projects.actions.projects import do_create_project
from projects.models import Document, Label, Suggestion
from projects.spans import RelationIn, SpanIn
from tests.annotator.conftest import log_in, wait_for_document

pytestmark = pytest.mark.postgres

BLOCKING = {"serious", "critical"}
# Chosen colours a palette does not offer: black, white, navy, pure yellow and the mid grey where neither
# dark nor white text reaches 4.5:1 on the colour itself.
CHOSEN = ["#000000", "#ffffff", "#0b1f8c", "#ffff00", "#808080"]
WORDS = ("Alpha Bravo Charlie Delta Echo Foxtrot Golf Hotel India Juliet Kilo Lima Mike November Oscar Papa Quebec "
         "Romeo Sierra Tango Uniform Victor").split()
TEXT = " ".join(WORDS) + " met in Paris."
REVIEW_TEXT = "Maria Petrova flew from Moscow to Beijing with Ivan."


def cp(text: str, word: str) -> tuple[int, int]:
    start = text.index(word)
    return start, start + len(word)


def save(document, user, spans, relations=(), status="submitted"):
    """spans: [(word, label)]; relations: [(head index, tail index, label)] into spans."""
    document.project.refresh_from_db()
    do_save_annotation(document, user, spans=[SpanIn(str(i + 1), *cp(document.text, w), label)
                                              for i, (w, label) in enumerate(spans)],
                       relations=[RelationIn(str(h + 1), str(t + 1), label) for h, t, label in relations],
                       status=status, version=0)


@pytest.fixture
def a11y_project(pg, django_user_model):
    admin = django_user_model.objects.create_user(username="boss", password="pw-boss", is_staff=True,
                                                  is_superuser=True)
    ann = django_user_model.objects.create_user(username="ann", password="pw-ann")
    bob = django_user_model.objects.create_user(username="bob", password="pw-bob")
    project = do_create_project(acting_user=admin, name="Colours", annotators_per_document=2,
                                guidelines="# Rules\n\nLabel **people** and [places](https://example.org).")
    for name in ("ann", "bob"):
        do_add_member(project, name, "annotator", acting_user=admin)
    # One entity label per palette colour (labels take the palette in order), then the chosen colours.
    names = [f"L{i:02d}" for i in range(len(PALETTE))]
    for i, name in enumerate(names):
        do_create_label(project, acting_user=admin, name=name, kind="entity", shortcut="pogldc"[i] if i < 6 else "")
    for i, color in enumerate(CHOSEN):
        names.append(f"C{i}")
        do_create_label(project, acting_user=admin, name=f"C{i}", kind="entity", color=color)
    do_create_label(project, acting_user=admin, name="located_in", kind="relation", color="#fdfd96")
    do_create_label(project, acting_user=admin, name="met", kind="relation", color="#0b1f8c")
    assert len(names) <= len(WORDS)
    review, workspace = do_create_documents(project, [{"text": REVIEW_TEXT}, {"text": TEXT}], acting_user=admin)
    review, workspace = (Document.objects.select_related("project").get(pk=d.pk) for d in (review, workspace))
    # Two annotators who disagree, relations included: the review page shows conflicts and dashed arcs.
    save(review, ann, [("Maria Petrova", "L00"), ("Moscow", "L02"), ("Beijing", "L02")], [(0, 1, "located_in")])
    save(review, bob, [("Maria Petrova", "L00"), ("Moscow", "L03"), ("Ivan", "L00")], [(0, 2, "met")])
    # The workspace: a span of every label, relations between them, and suggestions (one scored low).
    save(workspace, ann, [(w, name) for w, name in zip(WORDS, names)],
         [(0, 1, "located_in"), (2, 5, "met"), (3, 4, "located_in")], status="in_progress")
    for word, label, score in (("Paris", "L02", 0.9), ("met", "L04", 0.2)):
        Suggestion.objects.create(document=workspace, start=cp(TEXT, word)[0], end=cp(TEXT, word)[1],
                                  label=Label.objects.get(project=project, name=label), model="en_core_web_sm",
                                  model_version="3.8.0", score=score)
    # The dashboard's last jobs: one that worked, one that failed with its message.
    finish_job(do_create_job(project, "export", acting_user=admin, total=2), {"documents": 2})
    fail_job(do_create_job(project, "import", acting_user=admin), "line 3: no text field")
    return {"project": project, "review": review, "workspace": workspace, "names": names}


def blocking_violations(page, where: str, context: str | None = None, rules: list[str] | None = None) -> list[str]:
    options = {"resultTypes": ["violations"], **({"runOnly": rules} if rules else {})}
    results = Axe().run(page, context=context, options=options)
    return [f"{where}: {v['id']} ({v['impact']}) {v['help']}: "
            + "; ".join(" ".join(n["target"]) + " " + n["failureSummary"].replace("\n", " ") for n in v["nodes"][:4])
            for v in results.response["violations"] if v["impact"] in BLOCKING]


def open_workspace(page, base_url: str, data: dict) -> None:
    page.goto(f"{base_url}/projects/{data['project'].pk}/annotate/#document={data['workspace'].pk}")
    wait_for_document(page)
    page.wait_for_selector(".arcs .arc")


def open_review(page, base_url: str, data: dict) -> None:
    page.goto(f"{base_url}/projects/{data['project'].pk}/review/#document={data['review'].pk}")
    wait_for_document(page)
    page.wait_for_selector(".arcs .arc.sug")


def test_every_page_passes_axe(live_server, open_context, a11y_project):
    project = a11y_project["project"]
    page = open_context().new_page()
    found = []
    page.goto(f"{live_server.url}/accounts/login/")
    found += blocking_violations(page, "login")
    page.fill("#id_username", "ann")
    page.fill("#id_password", "wrong")
    page.click("form button[type=submit]")
    page.wait_for_selector(".error")
    found += blocking_violations(page, "login, wrong password")
    log_in(page, live_server.url, "ann", "pw-ann")
    found += blocking_violations(page, "home")
    open_workspace(page, live_server.url, a11y_project)
    found += blocking_violations(page, "workspace")
    # The arcs' layer lies over the text, so axe cannot tell the background of a span or a chip there and leaves
    # their contrast undecided: with the layer out of the way it decides it.
    page.locator(".arcs").evaluate("svg => { svg.style.display = 'none'; }")
    found += blocking_violations(page, "workspace text", context=".doc", rules=["color-contrast"])
    page.locator(".arcs").evaluate("svg => { svg.style.display = ''; }")
    # A sticky label on the mid grey, where the pressed label button and the toggle show its colour.
    page.locator('.label-bar button[data-label="C4"]').click(modifiers=["Shift"])
    expect(page.locator('[data-ws="sticky"]')).to_have_attribute("aria-pressed", "true")
    found += blocking_violations(page, "sticky label")
    page.keyboard.press("Escape")
    expect(page.locator('[data-ws="sticky"]')).to_have_attribute("aria-pressed", "false")
    page.locator('[data-command="guidelines"]').click()
    found += blocking_violations(page, "guidelines")
    page.keyboard.press("Escape")
    page.locator('[data-command="help"]').click()
    found += blocking_violations(page, "keys")
    page.keyboard.press("Escape")
    page.locator('[data-command="mine"]').click()
    page.wait_for_selector(".mine-row")
    found += blocking_violations(page, "my documents")
    page.keyboard.press("Escape")
    page.locator(".doc .chip[data-span]").first.click()
    found += blocking_violations(page, "workspace, a span picked")
    page.keyboard.press("r")  # a relation from the picked span: its tail, then the label chooser
    page.locator(".doc .chip[data-span]").nth(10).click()
    page.wait_for_selector('[data-ws="chooser"]:not([hidden])')
    found += blocking_violations(page, "relation label chooser")
    page.keyboard.press("Escape")
    page.locator(".doc .chip[data-span]").first.click()
    page.locator(".arcs").evaluate("svg => { svg.style.display = 'none'; }")
    found += blocking_violations(page, "workspace text, a span picked", context=".doc", rules=["color-contrast"])

    page.context.clear_cookies()
    log_in(page, live_server.url, "boss", "pw-boss")
    found += blocking_violations(page, "home (admin)")
    open_review(page, live_server.url, a11y_project)
    found += blocking_violations(page, "review")
    page.goto(f"{live_server.url}/projects/{project.pk}/dashboard/")
    page.wait_for_selector("svg.chart")
    page.wait_for_selector(".pill-failed")
    found += blocking_violations(page, "dashboard")
    page.goto(f"{live_server.url}/api/v1/docs/")
    page.wait_for_selector("h1")
    found += blocking_violations(page, "api docs")
    assert found == []


# WCAG 2 contrast, computed here independently of the page's own colors.js.
def luminance(rgb: tuple[int, int, int]) -> float:
    def linear(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def rgb_of(css: str) -> tuple[int, int, int]:
    """"#rrggbb" or a computed "rgb(r, g, b)" (opaque)."""
    if css.startswith("#"):
        return int(css[1:3], 16), int(css[3:5], 16), int(css[5:7], 16)
    numbers = re.findall(r"[\d.]+", css)
    assert css.startswith("rgb(") and len(numbers) == 3, css  # an opaque colour, not rgba()
    return tuple(round(float(n)) for n in numbers)


def contrast(a: str, b: str) -> float:
    x, y = sorted((luminance(rgb_of(a)), luminance(rgb_of(b))), reverse=True)
    return (x + 0.05) / (y + 0.05)


def test_contrast_is_wcag_2():
    assert contrast("#000000", "#ffffff") == pytest.approx(21)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)  # the classic just-fails grey
    assert contrast("rgb(31, 35, 40)", "#ffffff") == pytest.approx(15.8, abs=0.1)


def candidate_colors() -> list[str]:
    """Every palette colour, the next 40 the labels get after it, colours a person might choose: the web-safe cube
    (pure yellow, navy, black, white...) and greys in steps of 8."""
    used = set(PALETTE)
    after = []
    for _ in range(40):
        after.append(pick_color(used))
        used.add(after[-1])
    steps = ("00", "33", "66", "99", "cc", "ff")
    cube = [f"#{r}{g}{b}" for r in steps for g in steps for b in steps]
    greys = [f"#{v:02x}{v:02x}{v:02x}" for v in range(0, 256, 8)]
    return list(dict.fromkeys(PALETTE + after + CHOSEN + cube + greys))


PALETTE_OF = """async (colors) => {
    const main = document.querySelector('script[type="module"]').src;
    const { palette, TEXT } = await import(new URL("./colors.js", main).href);
    return { text: TEXT, entries: colors.map((hex) => ({ hex, ...palette(hex) })) };
}"""


def test_every_label_colour_keeps_chip_span_and_arc_text_readable(live_server, open_context, a11y_project):
    """colors.js for every palette colour and chosen colour: chip text on the label's colour, the page's text on
    the span's tint, arc text (ink) on an arc's white or pale yellow tag, and white on an ink tag (a picked arc)."""
    page = open_context().new_page()
    log_in(page, live_server.url, "ann", "pw-ann")
    open_workspace(page, live_server.url, a11y_project)
    colors = candidate_colors()
    got = page.evaluate(PALETTE_OF, colors)
    assert len(got["entries"]) == len(colors) > 250
    text = got["text"]
    assert contrast(text, page.locator(".doc").evaluate("el => getComputedStyle(el).color")) == 1  # the page's text
    low = []
    for entry in got["entries"]:
        assert entry["color"] == entry["hex"]  # the label keeps its own colour: only the derived ones move
        for what, fg, bg in (("chip", entry["text"], entry["color"]), ("span", text, entry["tint"]),
                             ("arc", entry["ink"], "#ffffff"), ("picked arc", "#ffffff", entry["ink"]),
                             ("picked suggested arc", entry["ink"], "#fff8c5")):
            if contrast(fg, bg) < 4.5:
                low.append((entry["hex"], what, fg, bg, round(contrast(fg, bg), 2)))
    assert low == []
    # The pale palette colours keep a light tint and a chip with the page's dark text, as before.
    yellow = next(e for e in got["entries"] if e["hex"] == "#fdfd96")
    assert yellow["text"] == text and luminance(rgb_of(yellow["tint"])) > 0.8


COMPUTED = """(selector) => [...document.querySelectorAll(selector)].map((el) => {
    const style = getComputedStyle(el);
    return { what: el.getAttribute("aria-label") || el.textContent, fg: style.color, bg: style.backgroundColor };
})"""


def unreadable(page, selector: str) -> list:
    seen = page.evaluate(COMPUTED, selector)
    assert seen, selector
    return [(s["what"], s["fg"], s["bg"], round(contrast(s["fg"], s["bg"]), 2)) for s in seen
            if contrast(s["fg"], s["bg"]) < 4.5]


def test_chips_spans_and_arcs_on_the_page_read_at_aa(live_server, open_context, a11y_project):
    """The computed styles the browser draws with: every chip, every highlighted token (each span picked in turn,
    when it shows the label's full colour), every arc's tag, and the review panel's label chips."""
    names = a11y_project["names"]
    page = open_context().new_page()
    log_in(page, live_server.url, "ann", "pw-ann")
    open_workspace(page, live_server.url, a11y_project)
    chips = page.locator(".doc .chip[data-span]")
    expect(chips).to_have_count(len(names))
    assert unreadable(page, ".doc .chip") == []
    assert unreadable(page, ".doc .u[style*=background]") == []
    for k in range(len(names)):
        chips.nth(k).click()
        expect(page.locator(".doc .u.pk")).to_have_count(1)
        assert unreadable(page, ".doc .u.pk") == [], names[k]
    arc_text = page.evaluate("""() => [...document.querySelectorAll(".arcs .arc")].map((arc) => ({
        fg: getComputedStyle(arc.querySelector("text")).fill,
        bg: getComputedStyle(arc.querySelector(".tag")).fill,
    }))""")
    assert len(arc_text) == 3 and all(contrast(a["fg"], a["bg"]) >= 4.5 for a in arc_text), arc_text

    page.context.clear_cookies()
    log_in(page, live_server.url, "boss", "pw-boss")
    open_review(page, live_server.url, a11y_project)
    assert unreadable(page, ".review-panel .said") == []


FOCUSED = """() => {
    const el = document.activeElement;
    if (!el || el === document.body) return null;
    const style = getComputedStyle(el);
    return {
        what: el.getAttribute("aria-label") || el.textContent.trim().slice(0, 40) || el.tagName,
        visible: el.matches(":focus-visible"), outline: style.outlineStyle, width: parseFloat(style.outlineWidth),
    };
}"""


def tab_through(page, limit: int = 150) -> list[dict]:
    """Tab once round the page (past the browser's own stop, where nothing in the page has focus), back to where it
    started: what got focus, and how it looks."""
    seen = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if focused is None:
            continue
        if seen and focused == seen[0]:
            return seen
        seen.append(focused)
    raise AssertionError(f"Tab did not come round in {limit} presses: {seen}")


def outline_missing(stops: list[dict]) -> list[dict]:
    return [s for s in stops if not (s["visible"] and s["outline"] != "none" and s["width"] >= 2)]


def test_spans_and_arcs_are_named_and_focus_is_always_visible(live_server, open_context, a11y_project):
    page = open_context().new_page()
    log_in(page, live_server.url, "ann", "pw-ann")
    stops = tab_through(page)
    assert "Start annotating Colours" in {s["what"] for s in stops} and outline_missing(stops) == []
    open_workspace(page, live_server.url, a11y_project)
    # Names: a span by its label and text, an arc by its label and ends, a suggestion by what it says.
    expect(page.get_by_role("button", name="L00: Alpha", exact=True)).to_have_text("L00")
    expect(page.get_by_role("button", name="C4: Uniform", exact=True)).to_have_count(1)
    expect(page.get_by_role("button", name="located_in: “Alpha” → “Bravo”", exact=True)).to_have_count(1)
    expect(page.get_by_role("button", name="met: “Charlie” → “Foxtrot”", exact=True)).to_have_count(1)
    suggestion = page.get_by_role("group", name="Suggested L02: Paris", exact=True)
    expect(suggestion.get_by_role("button", name="Accept L02 suggestion “Paris”")).to_have_count(1)

    # Colour is not the only signal: suggestions are dashed (a low score dotted), spans are not; chips name labels.
    border = "el => getComputedStyle(el).borderTopStyle"
    paris, met = page.locator(".doc .u.sg").nth(1), page.locator(".doc .u.sg").nth(0)
    assert (met.evaluate(border), paris.evaluate(border)) == ("dotted", "dashed")
    assert page.locator(".doc .u[style*=background]").first.evaluate(border) == "none"
    assert page.locator(".doc .chip[data-span]").all_text_contents() == a11y_project["names"]

    # Every stop of the keyboard's Tab shows an outline: links, label buttons, tools, the text, each arc, ✓ and ✕.
    stops = tab_through(page)
    kinds = {s["what"] for s in stops}
    assert {"Document text. Arrow keys move, a label's key labels, ? lists every key.",
            "located_in: “Alpha” → “Bravo”", "Accept L02 suggestion “Paris”"} <= kinds, kinds
    assert len(stops) > 30
    # The arcs in reading order, and the layer that holds them is no stop of its own.
    assert [s["what"] for s in stops if "→" in s["what"]] == [
        "located_in: “Alpha” → “Bravo”", "met: “Charlie” → “Foxtrot”", "located_in: “Delta” → “Echo”"]
    assert "Relations" not in kinds
    assert outline_missing(stops) == []

    # The review page: dashed arcs whose ✓ and ✕ are buttons of their own, named after the relation.
    page.context.clear_cookies()
    log_in(page, live_server.url, "boss", "pw-boss")
    open_review(page, live_server.url, a11y_project)
    arc = page.get_by_role("button", name=re.compile(r"^Suggested relation located_in by ann: L00 “Maria Petrova” → "))
    expect(arc).to_have_count(1)
    expect(arc.get_by_role("button")).to_have_count(0)  # a button holds no other button
    reject = page.get_by_role("button", name=re.compile(r"^Reject relation located_in: L00 “Maria Petrova”"))
    expect(reject).to_have_count(1)
    stops = tab_through(page)
    assert any(s["what"].startswith("Suggested relation met by bob") for s in stops), stops
    assert outline_missing(stops) == []
    page.goto(f"{live_server.url}/projects/{a11y_project['project'].pk}/dashboard/")
    stops = tab_through(page)
    assert "Review" in {s["what"] for s in stops} and outline_missing(stops) == []


def test_a_drawn_learning_curve_passes_axe(browser):
    """The dashboard's learning-curve chart with models in it (the page test above sees it empty): six models,
    one per line colour, their points named, on the page's own style sheet."""
    from pathlib import Path

    from django.contrib.staticfiles import finders

    from annotator.pages import learning_curve_chart

    curves = {f"model-{i}": [{"documents": 50 * (k + 1), "f": min(1.0, 0.3 + 0.1 * k + 0.02 * i), "version": str(k + 1)}
                             for k in range(4)] for i in range(6)}
    curves["model-0"][1]["f"] = None  # a version without a dev score: left out of its line
    chart = learning_curve_chart(curves)
    assert chart.count("<circle") == 6 * 4 - 1 and chart.count("<polyline") == 6
    page = browser.new_page()
    try:
        page.set_content(f'<!doctype html><html lang="en"><head><title>Dashboard</title></head><body><main>'
                         f'<h1>Dashboard</h1><section data-chart="learning-curve">{chart}</section></main></body></html>')
        page.add_style_tag(content=Path(finders.find("annotator/base.css")).read_text(encoding="utf-8"))
        assert blocking_violations(page, "learning curve") == []
        names = page.eval_on_selector_all("svg.chart circle title", "titles => titles.map((t) => t.textContent)")
        assert "model-0 v1: 0.300 at 50" in names and len(names) == 23
    finally:
        page.close()
