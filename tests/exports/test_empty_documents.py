"""A document annotated with no entity is an annotation like any other: imported from any format,
submitted in the workspace or saved as gold, it counts in status, the queue, k, agreement, review,
gold adoption, splits and all three exports. An absent ``spans`` key is not an annotation."""

from __future__ import annotations

import json

import pytest
import spacy
from spacy.tokens import Doc, DocBin

from exports.splits import split_of
from projects.actions.labels import do_create_label
from projects.actions.members import do_add_member
from projects.models import Annotation, Document, GoldRevision
from tests.exports.test_round_trips import export, upload

pytestmark = pytest.mark.django_db

NOTHING = "Nothing of note happened in the village today."
SOMETHING = "Rebels entered Homs at dawn."
UNTOUCHED = "This line was never annotated."


@pytest.fixture
def k2_project(project, people):
    project.annotators_per_document = 2
    project.save()
    return project


def jsonl(*objects) -> bytes:
    return "".join(json.dumps(obj, ensure_ascii=False) + "\n" for obj in objects).encode()


def by_text(project) -> dict[str, Document]:
    return {d.text: d for d in Document.objects.filter(project=project)}


def put(client, document, spans, status="submitted", version=0, kind="annotation"):
    response = client.put(f"/api/v1/documents/{document.pk}/{kind}/",
                          {"spans": spans, "relations": [], "status": status, "version": version}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def test_an_empty_spans_list_is_an_annotation_everywhere_and_a_missing_one_is_not(
        k2_project, people, client_for, django_capture_on_commit_callbacks):
    project = k2_project
    admin, annotator, reviewer = (client_for(people[name]) for name in ("admin", "annotator", "reviewer"))
    job = upload(django_capture_on_commit_callbacks, admin, project, "a.jsonl", jsonl(
        {"text": NOTHING, "spans": []},
        {"text": SOMETHING, "spans": [{"start": 15, "end": 19, "label": "GPE"}]},
        {"text": UNTOUCHED},
    ), "jsonl")
    assert job["result"]["annotations"] == 2
    docs = by_text(project)
    nothing, something, untouched = docs[NOTHING], docs[SOMETHING], docs[UNTOUCHED]
    # k = 2: the importer's annotation is one of two; the line without "spans" is unlabelled.
    assert (nothing.status, nothing.assignee_count) == ("in_progress", 1)
    assert (untouched.status, untouched.assignee_count) == ("unlabelled", 0)
    assert Annotation.objects.get(document=nothing).status == "submitted"

    # The queue hands the half-done documents out first (fullest first) and never again to the importer.
    first = annotator.get(f"/api/v1/projects/{project.pk}/next/").json()
    assert first["document"]["id"] in (nothing.pk, something.pk)
    assert admin.get(f"/api/v1/projects/{project.pk}/next/").json()["document"]["id"] not in (nothing.pk,
                                                                                                something.pk)
    # The second annotator submits the empty document with no spans too: k reached, they agree.
    put(annotator, nothing, [])
    nothing.refresh_from_db()
    assert (nothing.status, nothing.assignee_count, nothing.disagreement) == ("submitted", 2, 0.0)

    # Agreement counts it (two people said "no entity": full agreement on its tokens).
    body = reviewer.get(f"/api/v1/projects/{project.pk}/agreement/").json()
    assert body["documents"] == 1
    (pair,) = body["kappa"]
    assert pair["tokens"] == 9  # the nine words and the full stop: all O for both

    # The review queue lists it; a reviewer adopts the (empty) annotation as gold.
    queue = reviewer.get(f"/api/v1/projects/{project.pk}/review/").json()
    assert [row["id"] for row in queue["results"]] == [nothing.pk]
    response = reviewer.post(f"/api/v1/documents/{nothing.pk}/gold/", {"from_user": "annotator"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["spans"] == []
    nothing.refresh_from_db()
    assert nothing.status == "reviewed"
    assert GoldRevision.objects.get(document=nothing).action == "adopt"

    # Every export has it: gold and submitted, in all three formats, in exactly one split.
    gold_lines = [json.loads(line) for line in export(admin, project, "jsonl").decode().splitlines()]
    assert gold_lines == [{"id": nothing.pk, "text": NOTHING, "meta": {}, "spans": [], "relations": [],
                           "annotator": "reviewer", "adopted_from": "annotator"}]
    submitted = [json.loads(line) for line in export(admin, project, "jsonl", source="submitted").decode().splitlines()]
    assert sorted((line["text"], line["annotator"], len(line["spans"])) for line in submitted) == [
        (NOTHING, "admin", 0), (NOTHING, "annotator", 0), (SOMETHING, "admin", 1)]
    conll = export(admin, project, "conll").decode()
    assert conll == ("-DOCSTART- -X- O O\n\n" + "".join(f"{word} O\n" for word in NOTHING[:-1].split())
                     + ". O\n\n")
    [doc] = DocBin().from_bytes(export(admin, project, "spacy")).get_docs(spacy.blank("en").vocab)
    assert doc.text == NOTHING and not doc.ents
    assert [token.ent_iob_ for token in doc] == ["O"] * 9  # annotated: outside, not missing
    split = split_of(nothing.pk, project.split_seed, project.split_train, project.split_dev)
    for name in ("train", "dev", "test"):
        lines = export(admin, project, "jsonl", split=name).decode().splitlines()
        assert len(lines) == (1 if name == split else 0)


def test_an_annotator_submits_and_a_reviewer_saves_gold_with_no_spans(project, people, client_for, doc_texts):
    annotator, reviewer = client_for(people["annotator"]), client_for(people["reviewer"])
    document = doc_texts["叙利亚 Homs is a city in Syria."]
    put(annotator, document, [])
    document.refresh_from_db()
    assert document.status == "submitted"
    [line] = export(reviewer, project, "jsonl", source="submitted").decode().splitlines()
    assert json.loads(line)["spans"] == []
    other = doc_texts["Rebels led by HTS seized Aleppo."]
    stored = put(reviewer, other, [], kind="gold")
    assert stored["spans"] == [] and stored["version"] == 1
    other.refresh_from_db()
    assert other.status == "reviewed"
    assert GoldRevision.objects.get(document=other).spans == []
    conll = export(reviewer, project, "conll").decode()
    assert conll.splitlines()[2:] == ["Rebels O", "led O", "by O", "HTS O", "seized O", "Aleppo O", ". O", ""]


@pytest.fixture
def doc_texts(project):
    return {d.text: d for d in Document.objects.filter(project=project)}


def test_gold_imported_with_no_spans_is_reviewed_with_its_revision(
        project, people, client_for, django_capture_on_commit_callbacks):
    admin = client_for(people["admin"])
    job = upload(django_capture_on_commit_callbacks, admin, project, "g.jsonl", jsonl(
        {"text": NOTHING, "spans": []},
        {"text": SOMETHING, "spans": [{"start": 0, "end": 6, "label": "ORG"}, {"start": 15, "end": 19, "label": "GPE"}],
         "relations": [{"head": 1, "tail": 0, "label": "located_in"}]},
    ), "jsonl", annotations_as="gold")
    assert job["result"]["annotations"] == 2
    docs = by_text(project)
    assert {docs[NOTHING].status, docs[SOMETHING].status} == {"reviewed"}
    revisions = {r.document_id: r for r in GoldRevision.objects.filter(document__in=docs.values())}
    empty, full = revisions[docs[NOTHING].pk], revisions[docs[SOMETHING].pk]
    assert (empty.version, empty.action, empty.editor, empty.spans, empty.added, empty.removed) == (
        1, "import", people["admin"], [], [], [])
    assert full.spans == [{"id": 0, "start": 0, "end": 6, "label": "ORG"}, {"id": 1, "start": 15, "end": 19, "label": "GPE"}]
    assert full.relations == [{"head": 1, "tail": 0, "label": "located_in"}]
    assert full.added == [[0, 6, "ORG"], [15, 19, "GPE"]]
    # The revision is what the gold endpoint serves.
    gold = admin.get(f"/api/v1/documents/{docs[SOMETHING].pk}/gold/").json()
    assert (gold["spans"], gold["relations"], gold["version"]) == (full.spans, full.relations, full.version)


@pytest.mark.parametrize("fmt, content, annotated", [
    ("doccano", jsonl({"text": NOTHING, "label": []}), True),
    ("doccano", jsonl({"text": NOTHING, "entities": [], "relations": []}), True),
    ("doccano", jsonl({"text": NOTHING}), False),
    ("prodigy", jsonl({"text": NOTHING, "spans": [], "answer": "accept"}), True),
    ("prodigy", jsonl({"text": NOTHING, "answer": "accept", "_input_hash": 1}), True),  # as ner_drugs has them
    ("prodigy", jsonl({"text": NOTHING, "_input_hash": 1}), False),  # an input task, not an answer
    ("jsonl", jsonl({"text": NOTHING, "spans": None}), False),
    ("conll", "".join(f"{word}\tO\n" for word in NOTHING.split()).encode(), True),
    ("conll", "".join(f"{word}\n" for word in NOTHING.split()).encode(), False),  # tokens only: no tags at all
])
def test_each_format_says_annotated_with_nothing_or_not_annotated(
        project, people, client_for, django_capture_on_commit_callbacks, fmt, content, annotated):
    upload(django_capture_on_commit_callbacks, client_for(people["admin"]), project, "f", content, fmt)
    [document] = Document.objects.filter(project=project, text__startswith="Nothing")
    assert document.status == ("submitted" if annotated else "unlabelled")
    assert Annotation.objects.filter(document=document).exists() == annotated


def test_a_docbin_doc_is_annotated_when_its_tokens_are_o_and_not_when_they_are_missing(
        project, people, client_for, django_capture_on_commit_callbacks):
    vocab = spacy.blank("en").vocab
    words = ["No", "entity", "here", "."]
    spaces = [True, True, True, False]
    outside = Doc(vocab, words=words, spaces=spaces, ents=["O"] * 4)
    missing = Doc(vocab, words=["Never", "looked", "at", "."], spaces=spaces)
    partly = Doc(vocab, words=["Half", "done", "Homs", "."], spaces=spaces, ents=["O", "O", "B-GPE", ""])
    job = upload(django_capture_on_commit_callbacks, client_for(people["admin"]), project, "d.spacy",
                 DocBin(docs=[outside, missing, partly]).to_bytes(), "spacy")
    docs = by_text(project)
    assert docs["No entity here ."].status == "submitted"
    assert docs["Never looked at ."].status == "unlabelled"
    assert docs["Half done Homs ."].status == "submitted"
    assert job["result"]["warnings"] == [{"line": 3, "message": "1 of its 4 tokens have no entity annotation "
                                          "(ENT_IOB missing); they are stored as outside any entity"}]


def test_a_k_of_two_document_needs_a_second_person_even_when_the_first_found_nothing(
        k2_project, people, client_for, django_capture_on_commit_callbacks, make_user):
    project = k2_project
    third_user = make_user("third")
    do_add_member(project, "third", "annotator", acting_user=people["admin"])
    do_create_label(project, acting_user=people["admin"], name="EVENT", kind="entity")
    admin = client_for(people["admin"])
    upload(django_capture_on_commit_callbacks, admin, project, "a.jsonl", jsonl({"text": NOTHING, "spans": []}),
           "jsonl")
    document = by_text(project)[NOTHING]
    taken = {client_for(people[name]).get(f"/api/v1/projects/{project.pk}/next/").json()["document"]["id"]
             for name in ("annotator", "annotator2")}
    assert document.pk in taken  # one of them takes its second place
    document.refresh_from_db()
    assert document.assignee_count == 2  # full: nobody else gets it
    third = client_for(third_user).get(f"/api/v1/projects/{project.pk}/next/").json()
    assert third["document"]["id"] != document.pk
