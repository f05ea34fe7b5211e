"""Round trips through the database: what goes out comes back exactly."""

from __future__ import annotations

import json

import pytest
import spacy
from spacy.tokens import DocBin

from projects.actions.projects import do_create_project
from projects.models import Assignment, Document

pytestmark = pytest.mark.django_db

JSONL = [
    {"text": "Rebels led by HTS seized Aleppo.", "meta": {"n": 1, "tags": ["a", "b"]},
     "spans": [{"start": 14, "end": 17, "label": "ORG"}, {"start": 25, "end": 31, "label": "GPE"}],
     "relations": [{"head": 0, "tail": 1, "label": "located_in"}]},
    {"text": "Assad’s allies 🇷🇺 Russia and Iran helped.", "meta": {},
     "spans": [{"start": 0, "end": 5, "label": "PERSON"}, {"start": 18, "end": 24, "label": "GPE"}],
     "relations": []},
    {"text": "叙利亚 Homs is a city in Syria.", "meta": {"source": "cjk"},
     "spans": [{"start": 4, "end": 8, "label": "GPE"}, {"start": 22, "end": 27, "label": "GPE"}], "relations": []},
]


def upload(capture, client, project, name, data: bytes, fmt: str, **extra):
    from django.core.files.uploadedfile import SimpleUploadedFile

    with capture(execute=True):
        response = client.post(f"/api/v1/projects/{project.pk}/imports/",
                               {"file": SimpleUploadedFile(name, data), "format": fmt, "create_labels": "true",
                                **extra}, format="multipart")
    assert response.status_code == 202, response.json()
    job = client.get(f"/api/v1/jobs/{response.json()['job']['id']}/").json()
    assert job["status"] == "succeeded", job
    return job


def export(client, project, fmt, **params) -> bytes:
    response = client.get(f"/api/v1/projects/{project.pk}/export/", {"format": fmt, **params})
    assert response.status_code == 200
    return b"".join(response.streaming_content)


@pytest.fixture
def new_project(people):
    def make(name):
        return do_create_project(acting_user=people["admin"], name=name)
    return make


def without_ids(data: bytes) -> list[dict]:
    return [{k: v for k, v in json.loads(line).items() if k != "id"} for line in data.decode().splitlines()]


def test_jsonl_export_import_export_is_byte_identical_but_for_document_ids(
        people, client_for, new_project, django_capture_on_commit_callbacks):
    client = client_for(people["admin"])
    first, second = new_project("first"), new_project("second")
    source = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in JSONL).encode()
    upload(django_capture_on_commit_callbacks, client, first, "a.jsonl", source, "jsonl", annotations_as="gold")
    exported = export(client, first, "jsonl")
    assert without_ids(exported) == [{**line, "annotator": "admin"} for line in JSONL]  # the importer saved the gold
    upload(django_capture_on_commit_callbacks, client, second, "b.jsonl", exported, "jsonl", annotations_as="gold")
    again = export(client, second, "jsonl")
    # Document ids are each project's own; everything else is the same to the byte.
    ids_first = [json.loads(line)["id"] for line in exported.decode().splitlines()]
    ids_second = [json.loads(line)["id"] for line in again.decode().splitlines()]
    renumbered = exported.decode()
    for old, new in zip(ids_first, ids_second):
        renumbered = renumbered.replace(f'{{"id": {old}, ', f'{{"id": {new}, ', 1)
    assert again.decode() == renumbered
    assert set(Document.objects.filter(project=second).values_list("status", flat=True)) == {"reviewed"}


CONLL = """-DOCSTART- -X- O O

Officials O
met O
in O
Paris B-GPE
. O

Toyota B-ORG
's O
Paris B-GPE
- O
based O
unit O
grew O
. O

-DOCSTART- -X- O O

Wasim B-PERSON
Marouh I-PERSON
stayed O
in O
Homs B-GPE
. O

"""


def test_conll_import_then_export_is_identical_for_our_own_style(
        people, client_for, new_project, django_capture_on_commit_callbacks):
    client = client_for(people["admin"])
    project = new_project("conll")
    upload(django_capture_on_commit_callbacks, client, project, "a.conll", CONLL.encode(), "conll", annotations_as="gold")
    assert export(client, project, "conll").decode() == CONLL


def test_docbin_export_import_export_keeps_every_span(people, client_for, new_project,
                                                      django_capture_on_commit_callbacks):
    client = client_for(people["admin"])
    first, second = new_project("first"), new_project("second")
    first.allow_overlapping_spans = second.allow_overlapping_spans = True
    first.save(), second.save()
    lines = JSONL + [{"text": "The United Nations office in Homs", "meta": {},
                      "spans": [{"start": 4, "end": 18, "label": "ORG"}, {"start": 4, "end": 25, "label": "FAC"},
                                {"start": 29, "end": 33, "label": "GPE"}], "relations": []}]
    source = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines).encode()
    upload(django_capture_on_commit_callbacks, client, first, "a.jsonl", source, "jsonl", annotations_as="gold")
    docbin = export(client, first, "spacy")
    upload(django_capture_on_commit_callbacks, client, second, "b.spacy", docbin, "spacy", annotations_as="gold")
    docs = list(DocBin().from_bytes(export(client, second, "spacy")).get_docs(spacy.blank("en").vocab))
    got = [sorted((s.start_char, s.end_char, s.label_) for s in doc.spans["sc"]) for doc in docs]
    assert got == [sorted((s["start"], s["end"], s["label"]) for s in line["spans"]) for line in lines]
    # The DocBin's tokens and sentences are now the documents' own, and the JSONL carries them.
    second_lines = without_ids(export(client, second, "jsonl"))
    for line in second_lines:
        tokens = line.pop("tokens")
        assert [(t["start"], t["end"]) for t in tokens] == [(t.idx, t.idx + len(t)) for t in
                                                            spacy.blank("en").make_doc(line["text"])]
        assert line.pop("sentence_starts")[0] == 0
    assert second_lines == without_ids(export(client, first, "jsonl"))


def test_submitted_import_gives_the_importer_one_of_the_documents_places(
        people, client_for, new_project, django_capture_on_commit_callbacks):
    client = client_for(people["admin"])
    project = new_project("k")
    project.annotators_per_document = 2
    project.save()
    source = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in JSONL).encode()
    upload(django_capture_on_commit_callbacks, client, project, "a.jsonl", source, "jsonl")
    documents = Document.objects.filter(project=project)
    assert set(documents.values_list("assignee_count", "status")) == {(1, "in_progress")}
    assert Assignment.objects.filter(project=project, annotator=people["admin"],
                                     submitted_at__isnull=False).count() == 3


def test_exports_from_stored_tokens_are_the_bytes_of_tokenizing_again(
        people, client_for, new_project, django_capture_on_commit_callbacks):
    """Imported documents keep their tokens; the CoNLL export reads them and gives exactly
    what tokenizing again gives (so does the DocBin export, which tokenizes: a Doc built from words
    lacks the norms the tokenizer sets, which would change its string table): with the column
    emptied, and with tokens some other spaCy packed."""
    from projects import token_columns

    client = client_for(people["admin"])
    project = new_project("stored tokens")
    data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in JSONL).encode()
    upload(django_capture_on_commit_callbacks, client, project, "in.jsonl", data, "jsonl", annotations_as="gold")
    documents = Document.objects.filter(project=project)
    key = token_columns.tokenizer_key("en")
    for document in documents:
        columns = token_columns.unpack(document.tokens, key, document.text)
        assert columns is not None and len(columns) == len(spacy.blank("en").tokenizer(document.text))
    stored = {fmt: export(client, project, fmt) for fmt in ("conll", "spacy")}

    documents.update(tokens=None)
    assert {fmt: export(client, project, fmt) for fmt in ("conll", "spacy")} == stored
    # Tokens packed by another spaCy version (here: one token per text) are not used.
    for document in documents:
        one_token = token_columns.pack(spacy.blank("en").make_doc(document.text), key)
        Document.objects.filter(pk=document.pk).update(tokens=one_token.replace(key.encode(), b"en/0.0.1"))
    assert {fmt: export(client, project, fmt) for fmt in ("conll", "spacy")} == stored


def test_documents_created_through_the_api_store_their_tokens(people, client_for, new_project):
    from projects import token_columns
    from projects.tokens import tokenize

    client = client_for(people["admin"])
    project = new_project("api tokens")
    text = "Zoë 👩‍👩‍👧 met 叙利亚 officials in Paris-based U.S. offices."
    response = client.post(f"/api/v1/projects/{project.pk}/documents/", {"text": text}, format="json")
    assert response.status_code == 201, response.json()
    document = Document.objects.get(project=project)
    columns = token_columns.unpack(document.tokens, token_columns.tokenizer_key("en"), text)
    expected = tokenize(text, "en")
    assert (tuple(columns.starts), tuple(columns.ends)) == (expected.starts, expected.ends)
    tokens = client.get(f"/api/v1/projects/{project.pk}/documents/{document.pk}/tokens/").json()["tokens"]
    assert [t["text"] for t in tokens] == [text[s:e] for s, e in zip(expected.starts, expected.ends)]
