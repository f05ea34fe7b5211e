"""A document imported with its own tokens (Prodigy's ``tokens``, a DocBin, CoNLL) keeps them: span
checks, the tokens endpoint, pre-labelling, training and every export use them, and nothing
tokenizes the text again (a new project language or spaCy version included)."""

from __future__ import annotations

import io
import json

import pytest
import spacy
from django.core.management import call_command
from spacy.tokens import DocBin

from exports.records import DocumentRecord, SpanRecord
from pipelines.actions import do_save_pipeline_settings
from pipelines.training import ExampleStats, make_examples
from projects import token_columns
from projects.actions.projects import do_create_project, do_update_project
from projects.models import Document, Suggestion
from tests.exports.test_round_trips import export, upload

pytestmark = pytest.mark.django_db

# A Chinese segmenter's tokens: spaCy's English tokenizer keeps 叙利亚霍姆斯 as one token and splits
# Paris-based in three; the file does the opposite.
TEXT = "叙利亚霍姆斯 fell 😀. Paris-based AFP said so.\n\nNext paragraph."
WORDS = ["叙利亚", "霍姆斯", "fell", "😀", ".", "Paris-based", "AFP", "said", "so", ".", "\n\n", "Next", "paragraph",
         "."]


def prodigy_tokens(text: str, words: list[str]) -> list[dict]:
    tokens, at = [], 0
    for i, word in enumerate(words):
        start = text.index(word, at)
        at = start + len(word)
        tokens.append({"text": word, "start": start, "end": at, "id": i, "ws": text[at:at + 1] == " "})
    return tokens


def span_of(part: str, label: str) -> dict:
    start = TEXT.index(part)
    return {"start": start, "end": start + len(part), "label": label}


TASK = {"text": TEXT, "tokens": prodigy_tokens(TEXT, WORDS), "answer": "accept", "_view_id": "ner_manual",
        "spans": [{**span_of("霍姆斯", "GPE"), "token_start": 1, "token_end": 1},
                  {**span_of("AFP", "ORG"), "token_start": 6, "token_end": 6}]}


@pytest.fixture
def imported(project, people, client_for, django_capture_on_commit_callbacks):
    upload(django_capture_on_commit_callbacks, client_for(people["admin"]), project, "p.jsonl",
           (json.dumps(TASK, ensure_ascii=False) + "\n").encode(), "prodigy")
    return Document.objects.get(project=project, text=TEXT)


def test_the_files_tokens_are_the_documents_tokens(imported, project, people, client_for):
    client = client_for(people["annotator"])
    body = client.get(f"/api/v1/projects/{project.pk}/documents/{imported.pk}/tokens/").json()
    assert [t["text"] for t in body["tokens"]] == WORDS
    assert [(t["start"], t["end"], t["ws"]) for t in body["tokens"]] == [
        (t["start"], t["end"], t["ws"]) for t in TASK["tokens"]]
    assert token_columns.file_columns(imported.tokens, TEXT) is not None


def test_spans_are_checked_against_the_files_tokens(imported, project, people, client_for):
    project.annotators_per_document = 2  # the importer holds one place
    project.save()
    client = client_for(people["annotator"])
    url = f"/api/v1/documents/{imported.pk}/annotation/"
    paris = span_of("Paris", "GPE")  # a token for spaCy, not for this file
    response = client.put(url, {"spans": [{"id": 1, **paris}], "relations": [], "status": "in_progress",
                                "version": 0}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "span_not_aligned"
    whole = span_of("Paris-based", "GPE")
    response = client.put(url, {"spans": [{"id": 1, **whole}, {"id": 2, **span_of("叙利亚", "GPE")}],
                                "relations": [], "status": "submitted", "version": 0}, format="json")
    assert response.status_code == 200, response.content


def test_every_export_writes_the_files_tokens(imported, project, people, client_for,
                                              django_capture_on_commit_callbacks):
    client = client_for(people["admin"])
    conll = export(client, project, "conll", source="submitted").decode().splitlines()
    # Prodigy gave no sentences: CoNLL needs some, so the sentencizer's rule cuts them.
    assert conll[2:] == ["叙利亚 O", "霍姆斯 B-GPE", "fell O", "😀 O", ". O", "", "Paris-based O", "AFP B-ORG",
                         "said O", "so O", ". O", "", "Next O", "paragraph O", ". O", ""]
    [doc] = DocBin().from_bytes(export(client, project, "spacy", source="submitted")).get_docs(spacy.blank("en").vocab)
    assert [t.text for t in doc] == WORDS and doc.text == TEXT
    assert [(e.text, e.label_) for e in doc.ents] == [("霍姆斯", "GPE"), ("AFP", "ORG")]
    assert not doc.has_annotation("SENT_START")  # while a DocBin can say it has none
    [line] = export(client, project, "jsonl", source="submitted").decode().splitlines()
    line = json.loads(line)
    assert line["tokens"] == TASK["tokens"]
    assert "sentence_starts" not in line
    # Our JSONL brings the same tokens into another project, byte for byte.
    other = do_create_project(acting_user=people["admin"], name="again")
    upload(django_capture_on_commit_callbacks, client, other, "again.jsonl",
           (json.dumps(line, ensure_ascii=False) + "\n").encode(), "jsonl")
    assert bytes(Document.objects.get(project=other).tokens) == bytes(Document.objects.get(project=project, text=TEXT).tokens)


def test_a_new_language_and_store_tokens_leave_the_files_tokens_alone(
        project, people, client_for, django_capture_on_commit_callbacks):
    # No spans yet: a project's language can change only then.
    upload(django_capture_on_commit_callbacks, client_for(people["admin"]), project, "p.jsonl",
           (json.dumps({**TASK, "spans": []}, ensure_ascii=False) + "\n").encode(), "prodigy")
    imported = Document.objects.get(project=project, text=TEXT)
    stored = bytes(imported.tokens)
    do_update_project(project, acting_user=people["admin"], language="de")
    call_command("store_tokens", project=[project.pk], stdout=io.StringIO())
    imported.refresh_from_db()
    assert bytes(imported.tokens) == stored
    # The project's other documents were tokenized by the old language: their tokens were dropped,
    # then stored again by the new one.
    others = Document.objects.filter(project=project).exclude(pk=imported.pk)
    assert all(bytes(d.tokens).startswith(b"de/") for d in others)


def test_rules_prelabel_on_the_files_tokens(imported, project, people, client_for,
                                            django_capture_on_commit_callbacks):
    do_save_pipeline_settings(project, patterns='{"label": "GPE", "pattern": "霍姆斯"}\n', label_map=None,
                              acting_user=people["admin"])
    client = client_for(people["admin"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/v1/projects/{project.pk}/prelabel/", {"model": "rules"}, format="json")
    job = client.get(f"/api/v1/jobs/{response.json()['job']['id']}/").json()
    assert job["status"] == "succeeded", job
    # Run on spaCy's tokens, 叙利亚霍姆斯 is one token and the pattern never matches.
    assert [(s.start, s.end) for s in Suggestion.objects.filter(document=imported)] == [
        (TEXT.index("霍姆斯"), TEXT.index("霍姆斯") + 3)]
    assert job["result"]["dropped"]["misaligned"] == 0


def test_training_examples_are_made_on_the_files_tokens():
    tokens = token_columns.pack_words(TEXT, [(t["start"], t["end"]) for t in TASK["tokens"]])
    start = TEXT.index("霍姆斯")
    record = DocumentRecord(text=TEXT, spans=[SpanRecord(start, start + 3, "GPE")], tokens=tokens)
    stats = ExampleStats()
    [example] = make_examples(spacy.blank("en"), [record], stats)
    assert [t.text for t in example.reference] == WORDS
    assert [(e.text, e.label_) for e in example.reference.ents] == [("霍姆斯", "GPE")]
    assert stats.misaligned == 0


def test_a_files_token_that_conll_cannot_hold_gets_a_clear_409_not_a_500(
        project, people, client_for, django_capture_on_commit_callbacks):
    doc = spacy.tokens.Doc(spacy.blank("en").vocab, words=["New York", "is", "big"], ents=["B-GPE", "O", "O"])
    client = client_for(people["admin"])
    upload(django_capture_on_commit_callbacks, client, project, "d.spacy", DocBin(docs=[doc]).to_bytes(), "spacy")
    response = client.get(f"/api/v1/projects/{project.pk}/export/", {"format": "conll", "source": "submitted"})
    assert response.status_code == 409
    assert response.json()["code"] == "not_exportable"
    assert "token 'New York' contains whitespace" in response.json()["detail"]
    [back] = DocBin().from_bytes(export(client, project, "spacy", source="submitted")).get_docs(spacy.blank("en").vocab)
    assert [t.text for t in back] == ["New York", "is", "big"] and back.ents[0].text == "New York"
