"""A suggestion the annotator decided against (rejected, or replaced by a span of their own) stays gone:
after the edit, after undo and redo, after a reload; the count and Accept all say only what can be accepted."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from projects.models import Label, Suggestion
from tests.annotator.conftest import FAMILY_TEXT, log_in, wait_for_document
from tests.annotator.test_workspace import chip, cp, drag, spans_of, stored, unit, wait_saved

pytestmark = pytest.mark.postgres


def test_a_rejected_or_replaced_suggestion_does_not_come_back(live_server, open_context, workspace_project):
    project, annotator = workspace_project["project"], workspace_project["annotator"]
    first = workspace_project["documents"][0]
    label = {name: Label.objects.get(project=project, name=name) for name in ("GPE", "PERSON", "DATE")}

    def suggest(word, name):
        return Suggestion.objects.create(document=first, start=cp(FAMILY_TEXT, word)[0],
                                         end=cp(FAMILY_TEXT, word)[1], label=label[name], model="ruler")

    moscow = suggest("Moscow", "GPE")
    beijing = suggest("Beijing", "GPE")
    maria = Suggestion.objects.create(document=first, start=cp(FAMILY_TEXT, "Maria")[0],
                                      end=cp(FAMILY_TEXT, "Petrova")[1], label=label["PERSON"], model="ruler")
    today = suggest("today", "DATE")
    page = open_context().new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page, live_server.url, "ann", "pw-ann")
    page.goto(f"{live_server.url}/projects/{project.pk}/annotate/#document={first.pk}")
    wait_for_document(page)
    pending = page.locator(".doc .chip.sgc")
    count = page.locator('[data-ws="suggestion-count"]')
    accept_all = page.locator('[data-command="acceptAll"]')
    live = page.locator('[data-ws="live"]')
    expect(pending).to_have_count(4)
    expect(count).to_have_text("4")

    def shows(*suggestions):
        expect(pending).to_have_count(len(suggestions))
        assert sorted(pending.evaluate_all("els => els.map(e => e.dataset.sug)")) == sorted(
            str(s.pk) for s in suggestions)
        expect(count).to_have_text(str(len(suggestions)) if suggestions else "")
        (expect(accept_all).to_be_enabled if suggestions else expect(accept_all).to_be_disabled)()

    # The same word labelled LOC: the GPE suggestion is replaced, not drawn inside the LOC span.
    unit(page, 8).dblclick()
    page.keyboard.press("l")
    expect(chip(page, "LOC")).to_be_visible()
    shows(beijing, maria, today)
    # Rejected, then an overlapping range (Beijing 北京) labelled ORG: it stays rejected.
    page.locator(f'.chip.sgc[data-sug="{beijing.pk}"] [data-reject]').click()
    shows(maria, today)
    drag(page, 10, 11)
    page.keyboard.press("o")
    expect(chip(page, "ORG")).to_be_visible()
    shows(maria, today)
    # Accepted, then relabelled: the PERSON suggestion does not come back inside the ORG span.
    page.locator(f'.chip.sgc[data-sug="{maria.pk}"] [data-accept]').click()
    shows(today)
    chip(page, "PERSON").click()
    page.keyboard.press("o")
    expect(page.locator(".doc .chip[data-span]")).to_have_text(["ORG", "LOC", "ORG"])
    shows(today)

    # Undo and redo: what each state says, never a chip inside a span that replaced it.
    page.keyboard.press("Control+z")  # the relabel
    shows(today)
    page.keyboard.press("Control+z")  # the accept
    shows(maria, today)
    page.keyboard.press("Control+z")  # the ORG span
    shows(maria, today)
    page.keyboard.press("Control+z")  # the rejection
    shows(beijing, maria, today)
    page.keyboard.press("Control+z")  # the LOC span
    shows(moscow, beijing, maria, today)
    for _ in range(5):
        page.keyboard.press("Control+Shift+z")
    expect(page.locator(".doc .chip[data-span]")).to_have_text(["ORG", "LOC", "ORG"])
    shows(today)

    # Shift + A takes only what can be accepted, and changes no span.
    page.keyboard.press("Shift+A")
    expect(live).to_have_text("Accepted 1 suggestion")
    shows()
    page.keyboard.press("Shift+A")
    expect(live).to_have_text("No suggestions to accept.")
    wait_saved(page)
    expected = [(*cp(FAMILY_TEXT, "Maria")[:1], cp(FAMILY_TEXT, "Petrova")[1], "ORG"),
                (*cp(FAMILY_TEXT, "Moscow"), "LOC"),
                (cp(FAMILY_TEXT, "Beijing")[0], cp(FAMILY_TEXT, "北京")[1], "ORG"),
                (*cp(FAMILY_TEXT, "today"), "DATE")]
    assert spans_of(stored(first, annotator)) == sorted(expected)

    # After a reload: nothing pending, nothing to accept, the spans as they were.
    page.reload()
    wait_for_document(page)
    expect(page.locator(".doc .chip[data-span]")).to_have_count(4)
    shows()
    page.keyboard.press("Shift+A")
    expect(live).to_have_text("No suggestions to accept.")
    assert spans_of(stored(first, annotator)) == sorted(expected)
    assert errors == []
