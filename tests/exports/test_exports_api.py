"""Exports over HTTP: the file, its headers, splits, sources, large exports as jobs, snapshots."""

from __future__ import annotations

import hashlib
import json
from email.message import Message

import pytest
import spacy
from spacy.tokens import DocBin

from exports.splits import split_of
from projects.actions.annotations import do_save_annotation
from projects.actions.documents import do_create_documents
from projects.actions.gold import do_adopt_gold, do_save_gold
from projects.models import Document
from projects.spans import RelationIn, SpanIn

pytestmark = pytest.mark.django_db


def span_ins(document, spans) -> list[SpanIn]:
    """[(word, label)] -> spans on the first occurrence of each word in the document's text."""
    text = document.text
    return [SpanIn(str(i), text.index(word), text.index(word) + len(word), label)
            for i, (word, label) in enumerate(spans)]


def annotate(document, user, spans, relations=(), *, gold=False, status="submitted"):
    return do_save_annotation(document, user, spans=span_ins(document, spans),
                              relations=[RelationIn(str(h), str(t), label) for h, t, label in relations],
                              status=status, version=0, is_gold=gold)


@pytest.fixture
def gold_project(project, people):
    docs = {d.meta["n"]: d for d in Document.objects.filter(project=project)}
    annotate(docs[1], people["annotator"], [("Aleppo", "GPE")])  # before the gold, which locks annotations
    annotate(docs[1], people["reviewer"], [("HTS", "ORG"), ("Aleppo", "GPE")], [(0, 1, "located_in")], gold=True)
    annotate(docs[2], people["reviewer"], [("Russia", "GPE"), ("Iran", "GPE")], gold=True)
    annotate(docs[3], people["reviewer"], [("Homs", "GPE"), ("Syria", "GPE")], gold=True)
    return project


def export(client, project, **params):
    return client.get(f"/api/v1/projects/{project.pk}/export/", params)


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def content_type(response) -> tuple[str, str | None]:
    """The media type and charset that ``Content-Type`` names, parsed as a client parses it."""
    header = Message()
    header["Content-Type"] = response["Content-Type"]
    return header.get_content_type(), header.get_content_charset()


def test_reviewer_can_export_gold_jsonl_with_filename_and_sha256(gold_project, people, client_for):
    response = export(client_for(people["reviewer"]), gold_project, format="jsonl")
    assert response.status_code == 200
    data = body(response)
    assert response["X-Content-SHA256"] == hashlib.sha256(data).hexdigest()
    assert 'filename="news-gold.jsonl"' in response["Content-Disposition"]
    lines = [json.loads(line) for line in data.decode().splitlines()]
    assert [line["meta"]["n"] for line in lines] == [1, 2, 3]
    first = lines[0]
    assert [(s["start"], s["end"], s["label"]) for s in first["spans"]] == [(14, 17, "ORG"), (25, 31, "GPE")]
    assert first["relations"] == [{"head": 0, "tail": 1, "label": "located_in"}]
    emoji = lines[1]
    assert [emoji["text"][s["start"]:s["end"]] for s in emoji["spans"]] == ["Russia", "Iran"]


@pytest.fixture
def provenance_project(project, people):
    """Gold of document 1 saved by the reviewer; of 2, annotator2's adopted by the reviewer; of 3,
    annotator's adopted by the admin and then edited by the reviewer."""
    docs = {d.meta["n"]: d for d in Document.objects.filter(project=project).select_related("project")}
    annotate(docs[2], people["annotator2"], [("Russia", "GPE"), ("Iran", "GPE")])
    annotate(docs[3], people["annotator"], [("Homs", "GPE")])
    do_save_gold(docs[1], acting_user=people["reviewer"], spans=span_ins(docs[1], [("Aleppo", "GPE")]),
                 relations=[], status="submitted", version=0)
    do_adopt_gold(docs[2], acting_user=people["reviewer"], from_user="annotator2")
    do_adopt_gold(docs[3], acting_user=people["admin"], from_user="annotator")
    do_save_gold(docs[3], acting_user=people["reviewer"],
                 spans=span_ins(docs[3], [("Homs", "GPE"), ("Syria", "GPE")]), relations=[], status="submitted",
                 version=1)
    return project


def test_gold_jsonl_says_who_saved_the_gold_and_whose_annotation_it_adopted(provenance_project, people, client_for):
    data = body(export(client_for(people["reviewer"]), provenance_project, format="jsonl")).decode()
    lines = [json.loads(line) for line in data.splitlines()]
    assert [(line["meta"]["n"], line["annotator"], line.get("adopted_from")) for line in lines] == [
        (1, "reviewer", None),  # saved by the reviewer
        (2, "reviewer", "annotator2"),  # annotator2's annotation, adopted by the reviewer
        (3, "reviewer", None),  # adopted from annotator, then edited: the gold is the reviewer's edit
    ]
    assert list(lines[1]) == ["id", "text", "meta", "spans", "relations", "annotator", "adopted_from"]
    assert list(lines[0]) == ["id", "text", "meta", "spans", "relations", "annotator"]
    submitted = body(export(client_for(people["reviewer"]), provenance_project, format="jsonl", source="submitted"))
    assert not any("adopted_from" in json.loads(line) for line in submitted.decode().splitlines())


def test_gold_docbin_carries_the_same_provenance_in_user_data(provenance_project, people, client_for):
    data = body(export(client_for(people["reviewer"]), provenance_project, format="spacy"))
    docs = list(DocBin().from_bytes(data).get_docs(spacy.blank("en").vocab))
    assert [(d.user_data["meta"]["n"], d.user_data["annotator"], d.user_data.get("adopted_from")) for d in docs] == [
        (1, "reviewer", None), (2, "reviewer", "annotator2"), (3, "reviewer", None)]


def test_submitted_source_exports_each_annotators_work(gold_project, people, client_for):
    lines = body(export(client_for(people["admin"]), gold_project, format="jsonl", source="submitted")).decode()
    records = [json.loads(line) for line in lines.splitlines()]
    assert [(r["annotator"], [s["label"] for s in r["spans"]]) for r in records] == [("annotator", ["GPE"])]


def test_spacy_export_loads_as_docbin_with_entities_relations_and_ids(gold_project, people, client_for):
    response = export(client_for(people["reviewer"]), gold_project, format="spacy")
    assert response.status_code == 200
    docs = list(DocBin().from_bytes(body(response)).get_docs(spacy.blank("en").vocab))
    assert [[(e.text, e.label_) for e in doc.ents] for doc in docs] == [
        [("HTS", "ORG"), ("Aleppo", "GPE")], [("Russia", "GPE"), ("Iran", "GPE")], [("Homs", "GPE"), ("Syria", "GPE")]
    ]
    first = docs[0]
    # DocBin reads msgpack arrays back as tuples.
    relations = [{k: list(v) if isinstance(v, tuple) else v for k, v in r.items()} for r in first.user_data["relations"]]
    assert relations == [{"head": [14, 17], "tail": [25, 31], "label": "located_in"}]
    assert first.user_data["meta"] == {"n": 1}
    assert first.user_data["id"] == Document.objects.get(project=gold_project, meta__n=1).pk


def test_conll_export_has_docstart_and_iob2_tags(gold_project, people, client_for):
    response = export(client_for(people["reviewer"]), gold_project, format="conll")
    assert response.status_code == 200
    text = body(response).decode()
    assert text.startswith("-DOCSTART- -X- O O\n\nRebels O\nled O\nby O\nHTS B-ORG\nseized O\nAleppo B-GPE\n. O\n\n")
    assert response["X-Dropped-Overlapping-Spans"] == "0"
    biluo = body(export(client_for(people["reviewer"]), gold_project, format="conll", scheme="biluo")).decode()
    assert "HTS U-ORG" in biluo


def test_split_parameter_partitions_documents_deterministically(gold_project, people, client_for):
    client = client_for(people["reviewer"])
    gold_project.split_train, gold_project.split_dev, gold_project.split_test = 0.34, 0.33, 0.33
    gold_project.save()
    seen = []
    for split in ("train", "dev", "test"):
        lines = body(export(client, gold_project, format="jsonl", split=split)).decode().splitlines()
        ids = [json.loads(line)["id"] for line in lines]
        assert all(split_of(i, gold_project.split_seed, 0.34, 0.33) == split for i in ids)
        seen += ids
    assert sorted(seen) == sorted(Document.objects.filter(project=gold_project).values_list("id", flat=True))


@pytest.mark.parametrize("params, field", [
    ({"format": "xml"}, "format"), ({"source": "everything"}, "source"), ({"split": "holdout"}, "split"),
    ({"format": "conll", "scheme": "iobes"}, "scheme"),
])
def test_bad_export_parameters_get_400_naming_them(gold_project, people, client_for, params, field):
    response = export(client_for(people["reviewer"]), gold_project, **params)
    assert response.status_code == 400
    assert response.json()["detail"].startswith(field)


@pytest.mark.parametrize("who, expected", [("annotator", 403), ("outsider", 404), ("reviewer", 200), ("admin", 200)])
def test_export_permissions(gold_project, people, client_for, who, expected):
    assert export(client_for(people[who]), gold_project, format="jsonl").status_code == expected


def test_large_export_runs_as_a_job_with_a_download(gold_project, people, client_for, settings,
                                                     django_capture_on_commit_callbacks):
    settings.EXPORT_SYNC_MAX_DOCUMENTS = 1
    client = client_for(people["reviewer"])
    with django_capture_on_commit_callbacks(execute=True):
        response = export(client, gold_project, format="conll")
    assert response.status_code == 202
    job = client.get(f"/api/v1/jobs/{response.json()['job']['id']}/").json()
    assert job["status"] == "succeeded", job
    assert job["progress"] == {"done": 3, "total": 3}
    download = client.get(job["result"]["url"])
    assert download.status_code == 200
    data = body(download)
    assert hashlib.sha256(data).hexdigest() == job["result"]["sha256"] == download["X-Content-SHA256"]
    settings.EXPORT_SYNC_MAX_DOCUMENTS = 100
    assert body(export(client, gold_project, format="conll")) == data
    assert client_for(people["annotator"]).get(job["result"]["url"]).status_code == 404


def test_snapshot_returns_the_same_bytes_whatever_happens_later(gold_project, people, client_for):
    admin = client_for(people["admin"])
    response = admin.post(f"/api/v1/projects/{gold_project.pk}/snapshots/", {"note": "first"}, format="json")
    assert response.status_code == 201, response.json()
    snapshot = response.json()
    assert snapshot["number"] == 1 and snapshot["documents"] == 3 and snapshot["note"] == "first"
    assert set(snapshot["sha256"]) == {"spacy", "conll", "jsonl"}
    before = {fmt: body(admin.get(f"/api/v1/snapshots/{snapshot['id']}/export/", {"format": fmt}))
              for fmt in snapshot["sha256"]}
    assert all(hashlib.sha256(data).hexdigest() == snapshot["sha256"][fmt] for fmt, data in before.items())
    # The project moves on: a new gold document, a label renamed.
    new = do_create_documents(gold_project, [{"text": "Homs fell.", "meta": {"n": 4}}])[0]
    annotate(new, people["reviewer"], [("Homs", "GPE")], gold=True)
    gold_project.labels.filter(name="GPE").update(name="PLACE")
    after = {fmt: body(admin.get(f"/api/v1/snapshots/{snapshot['id']}/export/", {"format": fmt}))
             for fmt in snapshot["sha256"]}
    assert after == before
    second = admin.post(f"/api/v1/projects/{gold_project.pk}/snapshots/", {}, format="json").json()
    assert second["number"] == 2 and second["documents"] == 4
    listed = admin.get(f"/api/v1/projects/{gold_project.pk}/snapshots/").json()
    assert [s["number"] for s in listed] == [1, 2]


def test_only_admins_create_snapshots_and_outsiders_cannot_see_them(gold_project, people, client_for):
    assert client_for(people["reviewer"]).post(
        f"/api/v1/projects/{gold_project.pk}/snapshots/", {}, format="json").status_code == 403
    snapshot = client_for(people["admin"]).post(
        f"/api/v1/projects/{gold_project.pk}/snapshots/", {}, format="json").json()
    assert client_for(people["outsider"]).get(f"/api/v1/snapshots/{snapshot['id']}/export/").status_code == 404
    assert client_for(people["annotator"]).get(f"/api/v1/snapshots/{snapshot['id']}/export/").status_code == 403


def download_each_way(client, admin, project, fmt, settings, capture) -> dict:
    """The same export as a direct download, a large export's job download and a snapshot download."""
    responses = {"export": export(client, project, format=fmt)}
    settings.EXPORT_SYNC_MAX_DOCUMENTS = 1
    with capture(execute=True):
        started = export(client, project, format=fmt)
    assert started.status_code == 202
    job = client.get(f"/api/v1/jobs/{started.json()['job']['id']}/").json()
    assert job["status"] == "succeeded", job
    responses["job"] = client.get(job["result"]["url"])
    settings.EXPORT_SYNC_MAX_DOCUMENTS = 100
    snapshot = admin.post(f"/api/v1/projects/{project.pk}/snapshots/", {}, format="json").json()
    responses["snapshot"] = admin.get(f"/api/v1/snapshots/{snapshot['id']}/export/", {"format": fmt})
    assert {way: r.status_code for way, r in responses.items()} == {"export": 200, "job": 200, "snapshot": 200}
    return responses


@pytest.mark.parametrize("fmt, media_type, expected", [
    ("conll", "text/plain", ["Assad O\n’s O\n", "🇷 O\n🇺 O\nRussia B-GPE\n"]),  # spaCy splits the flag in two
    ("jsonl", "application/jsonl", ['"text": "Assad’s allies 🇷🇺 Russia and Iran helped."']),
])
def test_text_downloads_name_their_charset_and_decode_with_it(gold_project, people, client_for, settings,
                                                             django_capture_on_commit_callbacks, fmt, media_type,
                                                             expected):
    """A curly quote and an emoji come out right in a client that decodes with the charset the
    response names (requests reads text/plain with none as ISO-8859-1)."""
    responses = download_each_way(client_for(people["reviewer"]), client_for(people["admin"]), gold_project, fmt,
                                  settings, django_capture_on_commit_callbacks)
    texts = {}
    for way, response in responses.items():
        assert content_type(response) == (media_type, "utf-8"), (way, response["Content-Type"])
        texts[way] = body(response).decode(content_type(response)[1])
        assert all(piece in texts[way] for piece in expected), (way, texts[way])
    assert texts["job"] == texts["export"]


def test_spacy_downloads_stay_binary_without_a_charset(gold_project, people, client_for, settings,
                                                      django_capture_on_commit_callbacks):
    responses = download_each_way(client_for(people["reviewer"]), client_for(people["admin"]), gold_project, "spacy",
                                  settings, django_capture_on_commit_callbacks)
    assert {way: content_type(r) for way, r in responses.items()} == {
        way: ("application/octet-stream", None) for way in responses}
