"""The review page in a real browser: agreed spans pre-accepted, conflicts with who said what, gold saved.

Same browser fixtures as the workspace tests (tests/annotator/conftest.py);
what the page stored is checked in the database, in code points, on a text
with a ZWJ emoji family, a flag and CJK. Relations: what one annotator drew is
a dashed arc with their name, accepted or rejected like a span suggestion, and
what is accepted reaches the gold and the spaCy export.
"""

from __future__ import annotations

import re

import pytest
import spacy
from playwright.sync_api import expect
from rest_framework.test import APIClient
from spacy.tokens import DocBin

from projects.actions.annotations import do_save_annotation
from projects.actions.documents import do_create_documents
from projects.actions.labels import do_create_label
from projects.actions.members import do_add_member
from projects.actions.projects import do_create_project
from projects.models import Annotation, Document, GoldRevision
from projects.spans import RelationIn, SpanIn
from tests.annotator.conftest import FAMILY_TEXT, SECOND_TEXT, log_in, wait_for_document

pytestmark = pytest.mark.postgres


def cp(text: str, word: str) -> tuple[int, int]:
    start = text.index(word)
    return start, start + len(word)


def submit(document, user, spans, relations=()):
    """spans: [(word, label)]; relations: [(head index, tail index, label)] into spans."""
    document.project.refresh_from_db()
    do_save_annotation(document, user, spans=[SpanIn(str(i + 1), *cp(document.text, w), label)
                                              for i, (w, label) in enumerate(spans)],
                       relations=[RelationIn(str(h + 1), str(t + 1), label) for h, t, label in relations],
                       status="submitted", version=0)


@pytest.fixture
def review_project(pg, django_user_model):
    admin = django_user_model.objects.create_user(username="boss", password="pw-boss")
    reviewer = django_user_model.objects.create_user(username="rev", password="pw-rev")
    ann = django_user_model.objects.create_user(username="ann", password="pw-ann")
    bob = django_user_model.objects.create_user(username="bob", password="pw-bob")
    project = do_create_project(acting_user=admin, name="Review test", annotators_per_document=2)
    do_add_member(project, "rev", "reviewer", acting_user=admin)
    for name in ("ann", "bob"):
        do_add_member(project, name, "annotator", acting_user=admin)
    for name, shortcut in (("PERSON", "p"), ("GPE", "g"), ("LOC", "l")):
        do_create_label(project, acting_user=admin, name=name, kind="entity", shortcut=shortcut)
    do_create_label(project, acting_user=admin, name="located_in", kind="relation")
    first, second = do_create_documents(project, [{"text": FAMILY_TEXT}, {"text": SECOND_TEXT}], acting_user=admin)
    first, second = (Document.objects.select_related("project").get(pk=d.pk) for d in (first, second))
    submit(first, ann, [("Maria Petrova", "PERSON"), ("Moscow", "GPE")])
    submit(first, bob, [("Maria Petrova", "PERSON"), ("Moscow", "LOC"), ("北京", "GPE")])
    submit(second, ann, [("Russia", "GPE")])
    submit(second, bob, [("Russia", "GPE"), ("Iran", "GPE")])
    return {"project": project, "reviewer": reviewer, "bob": bob, "first": first, "second": second}


def gold_of(document):
    gold = Annotation.objects.get(document=document, is_gold=True)
    return sorted((s.start, s.end, s.label.name) for s in gold.spans.select_related("label"))


def test_reviewer_resolves_conflicts_and_adopts_a_version(live_server, open_context, review_project):
    project, first, second = review_project["project"], review_project["first"], review_project["second"]
    page = open_context().new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page, live_server.url, "rev", "pw-rev")
    page.get_by_role("link", name="Review Review test").click()
    wait_for_document(page)

    # The most disagreed document first; what both said is accepted, the rest shown with who said it.
    expect(page.locator('[data-ws="title"]')).to_have_text(f"Document {first.pk}")
    expect(page.locator(".doc .chip[data-span]")).to_have_text(["PERSON"])
    conflicts = page.locator(".chip.sgc")
    expect(conflicts).to_have_count(3)
    expect(conflicts.filter(has_text="LOC")).to_contain_text("bob")
    assert "by ann" in conflicts.filter(has_text=re.compile("GPE ann")).get_attribute("title")
    panel = page.locator('[data-rv="panel"]')
    expect(panel.locator("[data-region]")).to_have_count(2)
    expect(panel.locator("[data-region]").first).to_contain_text("“Moscow”: ann GPE · bob LOC")
    expect(panel.locator("[data-region]").nth(1)).to_contain_text("ann nothing · bob GPE")
    expect(page.locator('[data-ws="save"]')).to_have_attribute("data-status", "new")  # no gold yet, nothing edited
    # Skipping and coming back save nothing: only Save gold does.
    page.keyboard.press("s")
    expect(page.locator('[data-ws="title"]')).to_have_text(f"Document {second.pk}")
    page.keyboard.press("b")
    expect(page.locator('[data-ws="title"]')).to_have_text(f"Document {first.pk}")
    assert not Annotation.objects.filter(is_gold=True).exists()

    # Accept ann's GPE on Moscow, reject bob's LOC, accept 北京 with the keyboard, save with Enter.
    conflicts.filter(has_text=re.compile("GPE ann")).locator("[data-accept]").click()
    # Skipping with unsaved gold edits asks first; staying keeps them.
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.get_by_role("button", name="Skip").click()
    expect(page.locator('[data-ws="live"]')).to_have_text("Still on this document, with your edits.")
    assert asked and "not saved" in asked[0]
    expect(page.locator('[data-ws="title"]')).to_have_text(f"Document {first.pk}")
    expect(page.locator(".doc .chip[data-span]")).to_have_count(2)
    page.locator(".chip.sgc", has_text="LOC").locator("[data-reject]").click()
    page.locator(".chip.sgc", has_text="GPE").click()
    page.keyboard.press("a")
    expect(page.locator(".chip.sgc")).to_have_count(0)
    page.keyboard.press("Enter")
    expect(page.locator('[data-ws="title"]')).to_have_text(f"Document {second.pk}")
    assert gold_of(first) == sorted([(*cp(FAMILY_TEXT, "Maria Petrova"), "PERSON"),
                                     (*cp(FAMILY_TEXT, "Moscow"), "GPE"), (*cp(FAMILY_TEXT, "北京"), "GPE")])
    revision = GoldRevision.objects.get(document=first)
    assert (revision.version, revision.editor.username, revision.action) == (1, "rev", "edit")

    # Take bob's version whole and save: the gold is adopted from bob.
    panel.locator('[data-rv-take="bob"]').click()
    expect(page.locator(".doc .chip[data-span]")).to_have_count(2)
    page.get_by_role("button", name=re.compile("Save gold")).click()
    expect(page.locator('[data-ws="done"]')).to_contain_text("Nothing waits for review")
    assert gold_of(second) == sorted([(*cp(SECOND_TEXT, "Russia"), "GPE"), (*cp(SECOND_TEXT, "Iran"), "GPE")])
    adopted = GoldRevision.objects.get(document=second)
    assert (adopted.action, adopted.from_user.username) == ("adopt", "bob")
    assert set(Document.objects.filter(project=project).values_list("status", flat=True)) == {"reviewed"}
    assert errors == []


def test_annotator_cannot_open_the_review_page_or_the_dashboard(client, review_project):
    client.force_login(review_project["bob"])
    project = review_project["project"]
    assert client.get(f"/projects/{project.pk}/review/").status_code == 403
    assert client.get(f"/projects/{project.pk}/dashboard/").status_code == 403


def test_reviewer_reopens_a_reviewed_document_for_its_annotators(live_server, open_context, review_project):
    from projects.actions.gold import do_adopt_gold
    from projects.models import Reopening

    first, reviewer = review_project["first"], review_project["reviewer"]
    do_adopt_gold(first, acting_user=reviewer, from_user="ann")
    page = open_context().new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page, live_server.url, "rev", "pw-rev")
    page.goto(f"{live_server.url}/projects/{review_project['project'].pk}/review/#document={first.pk}")
    wait_for_document(page)
    state = page.locator('[data-rv="lock-state"]')
    expect(state).to_contain_text("Locked")
    page.get_by_role("button", name="Reopen").click()
    expect(state).to_contain_text("Reopened by rev")
    expect(state).to_contain_text("annotators can change their annotations")
    expect(page.get_by_role("button", name="Reopen")).to_have_count(0)
    expect(page.locator('[data-ws="meta"]')).to_contain_text("reopened")
    reopening = Reopening.objects.get(document=first)
    assert (reopening.reopened_by.username, reopening.closed_at) == ("rev", None)
    # The gold is untouched, and ann may change their annotation again.
    assert gold_of(first) == sorted([(*cp(FAMILY_TEXT, "Maria Petrova"), "PERSON"), (*cp(FAMILY_TEXT, "Moscow"), "GPE")])
    ann = Annotation.objects.get(document=first, annotator__username="ann")
    do_save_annotation(first, ann.annotator, spans=[], relations=[], status="submitted", version=ann.version)
    assert errors == []


# Relations in review ---------------------------------------------------------------------------

@pytest.fixture
def relation_project(pg, django_user_model):
    """Two annotators who agree on every span; only one of them drew each relation."""
    admin = django_user_model.objects.create_user(username="boss", password="pw-boss")
    reviewer = django_user_model.objects.create_user(username="rev", password="pw-rev")
    ann = django_user_model.objects.create_user(username="ann", password="pw-ann")
    bob = django_user_model.objects.create_user(username="bob", password="pw-bob")
    project = do_create_project(acting_user=admin, name="Relations", annotators_per_document=2)
    do_add_member(project, "rev", "reviewer", acting_user=admin)
    for name in ("ann", "bob"):
        do_add_member(project, name, "annotator", acting_user=admin)
    for name, shortcut in (("PERSON", "p"), ("GPE", "g"), ("LOC", "l")):
        do_create_label(project, acting_user=admin, name=name, kind="entity", shortcut=shortcut)
    do_create_label(project, acting_user=admin, name="located_in", kind="relation")
    agreed, drawn, rejected = (Document.objects.select_related("project").get(pk=d.pk) for d in do_create_documents(
        project, [{"text": "Iran and Russia agree."}, {"text": FAMILY_TEXT}, {"text": SECOND_TEXT}], acting_user=admin))
    both = [("Iran", "GPE"), ("Russia", "GPE")]
    submit(agreed, ann, both)
    submit(agreed, bob, both)
    # ann drew located_in from Maria Petrova to Moscow; bob did not.
    spans = [("Maria Petrova", "PERSON"), ("Moscow", "GPE"), ("北京", "GPE")]
    submit(drawn, ann, spans, [(0, 1, "located_in")])
    submit(drawn, bob, spans)
    # bob drew located_in from Russia to Iran; ann did not (the reviewer rejects it). As many spans as above:
    # the same disagreement, so the queue takes the older document first.
    spans = [("Assad", "PERSON"), ("Russia", "GPE"), ("Iran", "GPE")]
    submit(rejected, ann, spans)
    submit(rejected, bob, spans, [(1, 2, "located_in")])
    return {"project": project, "reviewer": reviewer, "agreed": agreed, "drawn": drawn, "rejected": rejected}


def gold_relations(reviewer, document):
    """The gold's relations through the API, as (head text, tail text, label)."""
    client = APIClient()
    client.force_authenticate(reviewer)
    gold = client.get(f"/api/v1/documents/{document.pk}/gold/").json()
    spans = {s["id"]: document.text[s["start"]:s["end"]] for s in gold["spans"]}
    return [(spans[r["head"]], spans[r["tail"]], r["label"]) for r in gold["relations"]]


def test_a_relation_one_annotator_drew_is_a_suggestion_that_shift_a_accepts_into_gold_and_export(
        live_server, open_context, relation_project):
    project, reviewer = relation_project["project"], relation_project["reviewer"]
    drawn, rejected, agreed = relation_project["drawn"], relation_project["rejected"], relation_project["agreed"]
    for document in (drawn, rejected, agreed):
        document.refresh_from_db()
    # Spans agree, a relation does not: the document disagrees, and comes before the one that agrees.
    assert drawn.disagreement == rejected.disagreement > 0 and agreed.disagreement == 0
    page = open_context().new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page, live_server.url, "rev", "pw-rev")
    page.goto(f"{live_server.url}/projects/{project.pk}/review/")
    wait_for_document(page)
    expect(page.locator('[data-ws="title"]')).to_have_text(f"Document {drawn.pk}")
    expect(page.locator('[data-ws="meta"]')).to_contain_text(f"disagreement {drawn.disagreement:.2f}")
    # Every span is agreed (accepted); ann's relation is a dashed arc saying who drew it, and the only suggestion.
    expect(page.locator(".doc .chip[data-span]")).to_have_count(3)
    expect(page.locator(".chip.sgc")).to_have_count(0)
    arc = page.locator(".arc.sug")
    expect(arc).to_have_count(1)
    expect(arc).to_contain_text("located_in · ann")
    assert "Suggested relation located_in by ann" in arc.get_attribute("aria-label")
    assert arc.locator(".line").first.evaluate("el => getComputedStyle(el).strokeDasharray") not in ("", "none")
    expect(page.locator('[data-ws="live"]')).to_have_text(f"Document {drawn.pk} loaded, 1 relation suggestion.")
    expect(page.locator('[data-ws="suggestion-count"]')).to_have_text("1")
    region = page.locator('[data-rv="panel"] [data-region]')
    expect(region).to_have_count(1)
    expect(region).to_contain_text("relations ann located_in “Maria Petrova” → “Moscow” · bob nothing")
    save = page.locator('[data-ws="save"]')
    expect(save).to_have_attribute("data-status", "new")
    expect(save).to_have_text("No gold yet")

    # Shift + A accepts it (a solid arc now), and Save gold keeps it in the gold.
    page.locator(".doc").focus()
    page.keyboard.press("Shift+A")
    expect(page.locator(".arc.sug")).to_have_count(0)
    expect(page.locator(".arc")).to_have_count(1)
    expect(page.locator('[data-ws="live"]')).to_have_text("Accepted 1 relation suggestion")
    expect(save).to_have_text("Unsaved changes…")
    page.keyboard.press("Enter")
    expect(page.locator('[data-ws="title"]')).to_have_text(f"Document {rejected.pk}")
    assert gold_relations(reviewer, drawn) == [("Maria Petrova", "Moscow", "located_in")]

    # bob's relation: picked with ] (after the spans before it and the one it starts on), rejected with x;
    # Shift + A then leaves it out.
    expect(page.locator(".arc.sug")).to_contain_text("located_in · bob")
    for _ in range(3):
        page.keyboard.press("]")
    expect(page.locator(".arc.sug.picked")).to_have_count(1)
    expect(page.locator('[data-ws="live"]')).to_contain_text("Suggested relation located_in “Russia” → “Iran” from bob")
    page.keyboard.press("x")
    expect(page.locator(".arc")).to_have_count(0)
    page.keyboard.press("Shift+A")
    expect(page.locator('[data-ws="live"]')).to_have_text("No suggestions to accept.")
    page.keyboard.press("Enter")
    expect(page.locator('[data-ws="title"]')).to_have_text(f"Document {agreed.pk}")
    assert gold_relations(reviewer, rejected) == []
    assert errors == []

    # The spaCy export has the accepted relation in user_data, and nothing for the rejected one.
    client = APIClient()
    client.force_authenticate(reviewer)
    response = client.get(f"/api/v1/projects/{project.pk}/export/", {"format": "spacy"})
    assert response.status_code == 200
    docs = {d.user_data["id"]: d for d in DocBin().from_bytes(b"".join(response.streaming_content))
            .get_docs(spacy.blank("en").vocab)}
    relations = [{k: list(v) if isinstance(v, tuple) else v for k, v in r.items()}
                 for r in docs[drawn.pk].user_data["relations"]]
    assert relations == [{"head": list(cp(FAMILY_TEXT, "Maria Petrova")), "tail": list(cp(FAMILY_TEXT, "Moscow")),
                          "label": "located_in"}]
    assert list(docs[rejected.pk].user_data["relations"]) == []


def test_accepting_a_relation_takes_its_span_or_says_why_not_and_a_region_row_selects_it(
        live_server, open_context, relation_project):
    """A long document: the disagreement is far down. Its row selects it and scrolls there; the relation
    needs ann's GPE on Moscow, which bob's accepted LOC blocks until undone."""
    project = relation_project["project"]
    ann, bob = (Annotation.objects.filter(annotator__username=name).first().annotator for name in ("ann", "bob"))
    text = "".join(f"Filler sentence number {n} says nothing at all. " for n in range(150))
    text += "Maria Petrova met officials in Moscow today."
    [long] = do_create_documents(project, [{"text": text}], acting_user=relation_project["reviewer"])
    long = Document.objects.select_related("project").get(pk=long.pk)
    submit(long, ann, [("Maria Petrova", "PERSON"), ("Moscow", "GPE")], [(0, 1, "located_in")])
    submit(long, bob, [("Maria Petrova", "PERSON"), ("Moscow", "LOC")])
    page = open_context().new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page, live_server.url, "rev", "pw-rev")
    page.goto(f"{live_server.url}/projects/{project.pk}/review/#document={long.pk}")
    wait_for_document(page)
    expect(page.locator('[data-ws="title"]')).to_have_text(f"Document {long.pk}")
    row = page.locator('[data-rv="panel"] [data-region]')
    expect(row).to_have_count(1)
    expect(row).to_contain_text("ann PERSON “Maria Petrova” GPE “Moscow” · bob PERSON “Maria Petrova” LOC “Moscow”")
    expect(row).to_contain_text("relations ann located_in “Maria Petrova” → “Moscow” · bob nothing")
    maria = page.locator(".doc .u", has_text="Maria")
    expect(maria).not_to_be_in_viewport()

    # The row selects the region's first suggestion (the relation, from Maria) and scrolls to it.
    row.click()
    expect(maria).to_be_in_viewport()
    expect(page.locator(".arc.sug.picked")).to_contain_text("located_in · ann")
    expect(row).to_have_attribute("aria-current", "true")
    assert page.evaluate("window.annotator.ui.picked.type") == "relationSuggestion"

    # Shift + A leaves everything there: GPE and LOC contradict each other, and the relation needs GPE.
    page.keyboard.press("Shift+A")
    expect(page.locator('[data-ws="live"]')).to_have_text(
        "No suggestion accepted; 3 left: 2 contradict another suggestion, 1 relation needs a span not accepted.")
    # With bob's LOC accepted, the relation cannot be: it says why.
    page.locator(".chip.sgc", has_text="LOC").locator("[data-accept]").click()
    page.locator(".arc.sug .tag").first.click()
    page.keyboard.press("a")
    expect(page.locator('[data-ws="live"]')).to_have_text(
        "Relation located_in “Maria Petrova” → “Moscow” not accepted: its tail GPE “Moscow” overlaps LOC “Moscow”;"
        " accept that span suggestion first (it replaces LOC).")
    # Undone, its ✓ accepts it with the GPE span it needs.
    page.keyboard.press("Control+z")
    page.get_by_role("button", name=re.compile(r"^Accept relation located_in: PERSON “Maria Petrova” → GPE")).click()
    expect(page.locator('[data-ws="live"]')).to_have_text(
        "Accepted relation located_in “Maria Petrova” → “Moscow”, with its span GPE “Moscow”")
    expect(page.locator(".arc.sug")).to_have_count(0)
    expect(page.locator(".doc .chip[data-span]")).to_have_text(["PERSON", "GPE"])
    page.keyboard.press("Enter")
    expect(page.locator('[data-ws="title"]')).not_to_have_text(f"Document {long.pk}")
    assert gold_of(long) == sorted([(*cp(text, "Maria Petrova"), "PERSON"), (*cp(text, "Moscow"), "GPE")])
    assert gold_relations(relation_project["reviewer"], long) == [("Maria Petrova", "Moscow", "located_in")]
    assert errors == []


def test_a_document_with_one_annotator_has_nothing_to_compare(live_server, open_context, pg, django_user_model):
    admin = django_user_model.objects.create_user(username="boss", password="pw-boss")
    django_user_model.objects.create_user(username="rev", password="pw-rev")
    ann = django_user_model.objects.create_user(username="ann", password="pw-ann")
    project = do_create_project(acting_user=admin, name="Single", annotators_per_document=1)
    do_add_member(project, "rev", "reviewer", acting_user=admin)
    do_add_member(project, "ann", "annotator", acting_user=admin)
    do_create_label(project, acting_user=admin, name="PERSON", kind="entity", shortcut="p")
    do_create_label(project, acting_user=admin, name="GPE", kind="entity", shortcut="g")
    do_create_label(project, acting_user=admin, name="located_in", kind="relation")
    [document] = do_create_documents(project, [{"text": FAMILY_TEXT}], acting_user=admin)
    document = Document.objects.select_related("project").get(pk=document.pk)
    submit(document, ann, [("Maria Petrova", "PERSON"), ("Moscow", "GPE")], [(0, 1, "located_in")])
    page = open_context().new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page, live_server.url, "rev", "pw-rev")
    page.goto(f"{live_server.url}/projects/{project.pk}/review/")
    wait_for_document(page)
    meta = page.locator('[data-ws="meta"]')
    expect(meta).to_have_text("1 annotator submitted · nothing to compare · no gold yet")
    panel = page.locator('[data-rv="panel"]')
    expect(panel.locator('[data-rv="no-conflicts"]')).to_have_text("Nothing to compare: only ann submitted.")
    expect(panel).not_to_contain_text("annotators agree")
    expect(panel).not_to_contain_text("everyone agrees")
    expect(panel.locator(".agreed-note")).to_have_text(
        "ann's 2 spans and 1 relation are accepted: the only submitted version.")
    expect(page.locator('[data-ws="live"]')).to_have_text(f"Document {document.pk} loaded.")
    expect(page.locator(".arc")).to_have_count(1)
    expect(page.locator(".arc.sug")).to_have_count(0)
    # Nothing is unsaved until something is edited; undoing the edit says so again.
    save = page.locator('[data-ws="save"]')
    expect(save).to_have_text("No gold yet")
    page.locator(".doc .chip[data-span]", has_text="GPE").click()
    page.keyboard.press("Delete")
    expect(save).to_have_text("Unsaved changes…")
    # The span and its relation went; what ann said comes back as suggestions.
    expect(page.locator(".chip.sgc")).to_have_count(1)
    expect(page.locator(".arc.sug")).to_have_count(1)
    page.keyboard.press("Control+z")
    expect(save).to_have_text("No gold yet")
    page.keyboard.press("Enter")
    expect(page.locator('[data-ws="done"]')).to_contain_text("Nothing waits for review")
    assert gold_of(document) == sorted([(*cp(FAMILY_TEXT, "Maria Petrova"), "PERSON"),
                                        (*cp(FAMILY_TEXT, "Moscow"), "GPE")])
    assert errors == []
