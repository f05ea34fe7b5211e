"""Imports: through the API with tasks run eagerly (formats, annotations, errors by line, duplicates,
permissions), all-or-nothing and cancelling on PostgreSQL with real commits, and memory that does not grow
with the file. tests/exports/test_import_worker.py runs them on a real worker."""

from __future__ import annotations

import json
import time
import tracemalloc

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from exports.imports import import_records, read_records
from projects import token_columns
from projects.bulk import CopyDocumentWriter
from projects.models import Annotation, Document, Job, Label, Relation, Span
from projects.tokens import BulkTokenizer, Tokens, blank_pipeline, tokenize

pytestmark = pytest.mark.django_db

JOB_KEYS = {"id", "kind", "status", "progress", "error", "result", "project", "created_at", "started_at",
            "heartbeat_at", "finished_at"}
NO_WARNINGS = {"blank_skipped": 0, "warnings": [], "warnings_total": 0}
FIXTURE_TEXTS = ["Rebels led by HTS seized Aleppo.", "Assad’s allies 🇷🇺 Russia and Iran helped.",
                 "叙利亚 Homs is a city in Syria."]


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Job progress and cancel flags live in the cache, keyed by job id; ids can repeat between tests."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def jsonl(*objects) -> str:
    return "".join(json.dumps(obj, ensure_ascii=False) + "\n" for obj in objects)


def span(text: str, part: str, label: str) -> dict:
    """The span of ``part``'s first occurrence in ``text``, in code points."""
    start = text.index(part)
    return {"start": start, "end": start + len(part), "label": label}


@pytest.fixture
def post_import(project, people, client_for, django_capture_on_commit_callbacks):
    """POST a file to the project's import endpoint; the task runs (eagerly) once the request commits."""

    def post(content: str | bytes, fmt: str = "jsonl", user: str = "admin", **fields):
        data = content.encode("utf-8") if isinstance(content, str) else content
        body = {"file": SimpleUploadedFile(f"upload.{fmt}", data), "format": fmt, **fields}
        with django_capture_on_commit_callbacks(execute=True):
            return client_for(people[user]).post(f"/api/v1/projects/{project.pk}/imports/", body, format="multipart")

    return post


@pytest.fixture
def import_file(post_import, people, client_for):
    """Import a file and answer the finished job as GET /api/v1/jobs/{id}/ shows it."""

    def run(content, fmt="jsonl", **fields) -> dict:
        response = post_import(content, fmt, **fields)
        assert response.status_code == 202, response.content
        return client_for(people["admin"]).get(f"/api/v1/jobs/{response.json()['job']['id']}/").json()

    return run


def imported(project) -> list[Document]:
    return list(Document.objects.filter(project=project).exclude(text__in=FIXTURE_TEXTS).order_by("id"))


def annotations_of(client, document) -> list[dict]:
    response = client.get(f"/api/v1/documents/{document.pk}/annotations/")
    assert response.status_code == 200
    return response.json()


# ------------------------------------------------------------------------------------------ success


def test_admin_can_import_text_one_document_per_non_empty_line(project, post_import, people, client_for):
    content = "Thousands flee as rebels advance on Homs\n\n   \n  Indented, kept as is.\r\nLast line, no newline"
    response = post_import(content, "text")
    assert response.status_code == 202
    job = response.json()["job"]
    assert set(job) == JOB_KEYS
    assert (job["kind"], job["status"], job["project"]) == ("import", "pending", project.pk)

    job = client_for(people["admin"]).get(f"/api/v1/jobs/{job['id']}/").json()
    assert job["status"] == "succeeded", job["error"]
    assert job["error"] == ""
    assert job["result"] == {"documents": 3, "annotations": 0, "spans": 0, "relations": 0,
                             "duplicates_skipped": 0, "labels_created": [], **NO_WARNINGS}
    assert job["progress"] == {"done": 5, "total": 5}
    documents = imported(project)
    assert [d.text for d in documents] == ["Thousands flee as rebels advance on Homs", "  Indented, kept as is.",
                                           "Last line, no newline"]
    assert {d.status for d in documents} == {Document.Status.UNLABELLED}
    assert [d.meta for d in documents] == [{}, {}, {}]
    assert not Annotation.objects.filter(document__in=documents).exists()


def test_jsonl_spans_and_relations_become_the_importers_submitted_annotation(project, import_file, people,
                                                                             client_for):
    text = "Omar Haddad flew from Damascus to Beirut with the Red Crescent."
    job = import_file(jsonl(
        {"text": text, "meta": {"source": "wire", "tags": ["a", "b"], "n": 7},
         "spans": [span(text, "Omar Haddad", "PERSON"), span(text, "Damascus", "GPE"),
                   span(text, "Red Crescent", "ORG")],
         "relations": [{"head": 0, "tail": 1, "label": "located_in"}]},
        {"text": "No annotation on this one.", "meta": {"source": "wire"}},
    ))
    assert job["status"] == "succeeded", job["error"]
    assert job["result"] == {"documents": 2, "annotations": 1, "spans": 3, "relations": 1,
                             "duplicates_skipped": 0, "labels_created": [], **NO_WARNINGS}
    annotated, plain = imported(project)
    assert annotated.text == text
    assert annotated.meta == {"source": "wire", "tags": ["a", "b"], "n": 7}
    assert annotated.status == Document.Status.SUBMITTED
    assert plain.meta == {"source": "wire"} and plain.status == Document.Status.UNLABELLED

    reviewer = client_for(people["reviewer"])
    [annotation] = annotations_of(reviewer, annotated)
    assert annotation["annotator"] == "admin"
    assert annotation["status"] == "submitted"
    assert annotation["spans"] == [
        {"id": 0, "start": 0, "end": 11, "label": "PERSON"},
        {"id": 1, "start": 22, "end": 30, "label": "GPE"},
        {"id": 2, "start": 50, "end": 62, "label": "ORG"},
    ]
    assert annotation["relations"] == [{"head": 0, "tail": 1, "label": "located_in"}]
    assert annotations_of(reviewer, plain) == []
    # The importer sees it as their own annotation too.
    own = client_for(people["admin"]).get(f"/api/v1/documents/{annotated.pk}/annotation/").json()
    assert own["status"] == "submitted" and len(own["spans"]) == 3


def test_import_with_several_annotators_per_document_leaves_the_document_in_progress(project, import_file):
    project.annotators_per_document = 2
    project.save()
    text = "Lagos is busy."
    job = import_file(jsonl({"text": text, "spans": [span(text, "Lagos", "GPE")]}))
    assert job["status"] == "succeeded", job["error"]
    [document] = imported(project)
    assert document.status == Document.Status.IN_PROGRESS


def test_import_keeps_code_point_offsets_with_emoji_cjk_and_combining_marks(project, import_file, people,
                                                                           client_for):
    text = "Putin 🇷🇺 met 习近平 in Москва; Zoë saw 👩‍👩‍👧 in São Paulo."
    spans = [span(text, "习近平", "PERSON"), span(text, "Москва", "GPE"), span(text, "Zoë", "PERSON"),
             span(text, "São Paulo", "GPE")]
    assert spans[0]["start"] == 13  # the flag is two code points (four UTF-16 units, eight UTF-8 bytes)
    job = import_file(jsonl({"text": text, "spans": spans}))
    assert job["status"] == "succeeded", job["error"]
    [document] = imported(project)
    assert document.text == text
    [annotation] = annotations_of(client_for(people["reviewer"]), document)
    stored = [{k: s[k] for k in ("start", "end", "label")} for s in annotation["spans"]]
    assert stored == spans
    assert [text[s["start"]:s["end"]] for s in stored] == ["习近平", "Москва", "Zoë", "São Paulo"]
    tokens = client_for(people["admin"]).get(
        f"/api/v1/projects/{project.pk}/documents/{document.pk}/tokens/").json()["tokens"]
    assert {s["start"] for s in stored} <= {t["start"] for t in tokens}
    assert {s["end"] for s in stored} <= {t["end"] for t in tokens}


def test_import_reads_a_byte_order_mark_and_crlf_line_ends(project, import_file):
    text = "Homs lies north of Damascus."
    content = "\ufeff" + jsonl({"text": text, "spans": [span(text, "Homs", "GPE")]}).replace("\n", "\r\n")
    job = import_file(content)
    assert job["status"] == "succeeded", job["error"]
    assert [d.text for d in imported(project)] == [text]


def test_create_labels_true_creates_the_labels_a_file_names(project, import_file):
    text = "Ngozi Okafor works for the World Bank."
    content = jsonl({"text": text, "spans": [span(text, "Ngozi Okafor", "PERSON"), span(text, "World Bank", "BANK")],
                     "relations": [{"head": 0, "tail": 1, "label": "works_for"}]})
    job = import_file(content, create_labels="true")
    assert job["status"] == "succeeded", job["error"]
    assert sorted(job["result"]["labels_created"]) == ["BANK", "works_for"]
    assert Label.objects.get(project=project, name="BANK").kind == Label.Kind.ENTITY
    assert Label.objects.get(project=project, name="works_for").kind == Label.Kind.RELATION
    assert sorted(Span.objects.filter(annotation__document__project=project).values_list("label__name", flat=True)) \
        == ["BANK", "PERSON"]
    assert Relation.objects.get(annotation__document__project=project).label.name == "works_for"


def test_labels_first_named_in_a_later_batch_are_created_there(project, import_file, settings):
    settings.IMPORT_BATCH_SIZE = 2
    lines = [{"text": f"Day {n} in Osaka.", "spans": [{"start": len(f"Day {n} in "), "end": len(f"Day {n} in Osaka"),
                                                       "label": "GPE" if n < 3 else "CITY"}]} for n in range(6)]
    job = import_file(jsonl(*lines), create_labels="true")
    assert job["status"] == "succeeded", job["error"]
    assert job["result"]["labels_created"] == ["CITY"]
    assert job["result"]["spans"] == 6
    labels = Span.objects.filter(annotation__document__project=project).order_by("annotation__document_id")
    assert [s.label.name for s in labels] == ["GPE"] * 3 + ["CITY"] * 3


def test_overlapping_spans_import_when_the_project_allows_them(project, import_file):
    project.allow_overlapping_spans = True
    project.save()
    text = "New York City is large."
    job = import_file(jsonl({"text": text, "spans": [span(text, "New York City", "GPE"),
                                                    span(text, "New York", "GPE")]}))
    assert job["status"] == "succeeded", job["error"]
    assert job["result"]["spans"] == 2


def test_many_batches_with_relations_keep_each_relation_on_its_own_spans(project, import_file, settings, people,
                                                                         client_for):
    settings.IMPORT_BATCH_SIZE = 3
    lines = []
    for n in range(8):
        text = f"Report {n}: Amira Haddad met Omar Khalil in Aleppo."
        lines.append({"text": text, "spans": [span(text, "Amira Haddad", "PERSON"), span(text, "Omar Khalil", "PERSON"),
                                              span(text, "Aleppo", "GPE")],
                      "relations": [{"head": n % 2, "tail": 2, "label": "located_in"}]})
    job = import_file(jsonl(*lines))
    assert job["status"] == "succeeded", job["error"]
    assert job["result"] == {"documents": 8, "annotations": 8, "spans": 24, "relations": 8,
                             "duplicates_skipped": 0, "labels_created": [], **NO_WARNINGS}
    reviewer = client_for(people["reviewer"])
    for n, document in enumerate(imported(project)):
        [annotation] = annotations_of(reviewer, document)
        assert annotation["relations"] == [{"head": n % 2, "tail": 2, "label": "located_in"}]
        assert [s["id"] for s in annotation["spans"]] == [0, 1, 2]


# ------------------------------------------------------------------------------------------ CoNLL

TWEETS = "Omar\tB-PERSON\nHaddad\tI-PERSON\nflew\tO\n\nAleppo\tB-GPE\nwas\tO\nquiet\tO\n\nHe\tO\nleft\tO\n"
NEWS = ("-DOCSTART- -X- -X- O\n\nOmar NNP B-NP I-PERSON\nHaddad NNP I-NP I-PERSON\nflew VBD B-VP O\n\n"
        "Aleppo NNP B-NP I-GPE\nwas VBD B-VP O\nquiet JJ B-ADJP O\n\n-DOCSTART- -X- -X- O\n\nHe PRP B-NP O\n"
        "left VBD B-VP O\n")


def spans_of(document) -> list[tuple[str, str]]:
    return sorted((document.text[s.start:s.end], s.label.name)
                  for s in Span.objects.filter(annotation__document=document).select_related("label"))


def test_conll_without_docstart_gives_a_document_per_sentence(project, import_file, settings):
    settings.IMPORT_BATCH_SIZE = 2  # the reader's two passes over the stored file, and batches after them
    job = import_file(TWEETS, "conll")
    assert job["status"] == "succeeded", job["error"]
    assert job["progress"] == {"done": 10, "total": 10}
    documents = imported(project)
    assert [d.text for d in documents] == ["Omar Haddad flew", "Aleppo was quiet", "He left"]
    assert [spans_of(d) for d in documents] == [[("Omar Haddad", "PERSON")], [("Aleppo", "GPE")], []]


def test_conll_documents_docstart_keeps_a_file_without_docstart_one_document(project, import_file):
    job = import_file(TWEETS, "conll", documents="docstart")
    assert job["status"] == "succeeded", job["error"]
    [document] = imported(project)
    assert document.text == "Omar Haddad flew\nAleppo was quiet\nHe left"
    assert spans_of(document) == [("Aleppo", "GPE"), ("Omar Haddad", "PERSON")]


def test_conll_2003_file_reads_by_docstart_or_with_documents_sentence_by_sentence(project, import_file):
    job = import_file(NEWS, "conll")
    assert job["status"] == "succeeded", job["error"]
    assert [d.text for d in imported(project)] == ["Omar Haddad flew\nAleppo was quiet", "He left"]
    Document.objects.filter(project=project).delete()
    job = import_file(NEWS, "conll", documents="sentence")
    assert job["status"] == "succeeded", job["error"]
    documents = imported(project)
    assert [d.text for d in documents] == ["Omar Haddad flew", "Aleppo was quiet", "He left"]
    assert [spans_of(d) for d in documents] == [[("Omar Haddad", "PERSON")], [("Aleppo", "GPE")], []]


def test_conll_iob2_file_with_one_stray_s_tag_fails_naming_its_line(project, import_file):
    content = TWEETS.replace("He\tO", "He\tS-PERSON").replace("\n", "\r\n")
    job = import_file(content, "conll")
    assert job["status"] == "failed"
    assert job["error"].startswith("line 9: S-PERSON is not an IOB2 tag; the file reads as IOB2 (7 tags fit it, "
                                   "1 does not"), job["error"]
    assert imported(project) == []


def test_conll_token_holding_a_space_fails_naming_its_line(project, import_file):
    job = import_file("Omar\tB-PERSON\nAl Haddad\tI-PERSON\n", "conll")
    assert job["status"] == "failed"
    assert job["error"].startswith("line 2: the token 'Al Haddad' holds whitespace"), job["error"]


def test_read_records_passes_reader_options_and_reads_the_file_twice(tmp_path):
    path = tmp_path / "tweets.conll"
    path.write_bytes(b"\xef\xbb\xbf" + TWEETS.encode())
    with open(path, "rb") as raw:
        texts = [record.text for _, record in read_records("conll", raw, "en", {"documents": "sentence"})]
        assert texts == ["Omar Haddad flew", "Aleppo was quiet", "He left"]
        [(line, record)] = read_records("conll", raw, "en", {"documents": "docstart"})
    assert line == 1 and record.text.startswith("Omar")


# ------------------------------------------------------------------------------------------ requests that cannot start


@pytest.mark.parametrize("fields, field", [
    ({"format": "text"}, "file"),
    ({"format": "xml", "file": b"hello\n"}, "format"),
    ({"file": b"hello\n"}, "format"),
    ({"format": "jsonl", "file": b'{"text": "a"}\n', "documents": "sentence"}, "documents"),
    ({"format": "text", "file": b"hello\n", "documents": "auto"}, "documents"),
    ({"format": "conll", "file": b"a O\n", "documents": "paragraph"}, "documents"),
], ids=["no-file", "unknown-format", "no-format", "documents-for-jsonl", "documents-for-text", "unknown-documents"])
def test_request_that_cannot_start_is_400_at_once_and_starts_no_job(project, people, client_for, fields, field):
    body = {k: SimpleUploadedFile("f.txt", v) if k == "file" else v for k, v in fields.items()}
    response = client_for(people["admin"]).post(f"/api/v1/projects/{project.pk}/imports/", body,
                                                format="multipart")
    assert response.status_code == 400
    assert field in response.json()
    assert not Job.objects.exists()


@pytest.mark.parametrize("user, status", [("annotator", 403), ("reviewer", 403), ("outsider", 404)])
def test_only_project_admins_can_import(post_import, user, status):
    response = post_import("A document.\n", "text", user=user)
    assert response.status_code == status
    assert not Job.objects.exists()
    assert not Document.objects.filter(text="A document.").exists()


# ------------------------------------------------------------------------------------------ content that fails the job

GOOD = {"text": "Kenji Tanaka lives in Osaka.", "spans": [{"start": 0, "end": 12, "label": "PERSON"}]}
GOOD_TOO = {"text": "Fatima Rahman left Izmir.", "spans": [{"start": 19, "end": 24, "label": "GPE"}]}


def lines_with(bad: str, *, blank_before: bool = False) -> bytes:
    """Two good lines, (a blank line,) the bad one, then a good one: the bad line is line 3 (or 4)."""
    blank = "\n" if blank_before else ""
    return (jsonl(GOOD, GOOD_TOO) + blank + bad + "\n" + jsonl({"text": "After the bad line."})).encode("utf-8")


CONTENT_PROBLEMS = {
    "invalid-json": (lines_with('{"text": "unterminated'), "line 3: not valid JSON"),
    "span-off-token-boundary": (
        lines_with(json.dumps({"text": "Kenji Tanaka lives in Osaka.", "spans": [{"start": 1, "end": 5,
                                                                                  "label": "PERSON"}]})),
        "line 3: spans[0]: start 1 is not the start of a token"),
    "span-end-inside-token": (
        lines_with(json.dumps({"text": "Zoë Müller visited Zürich.", "spans": [{"start": 19, "end": 22,
                                                                                "label": "GPE"}]})),
        "line 3: spans[0]: end 22 is not the end of a token"),
    "unknown-label": (
        lines_with(json.dumps({"text": "Reuters reported it.", "spans": [{"start": 0, "end": 7, "label": "MEDIA"}]})),
        "line 3: spans[0]: 'MEDIA' is not an entity label of this project (import with create_labels=true"),
    "relation-label-used-as-entity": (
        lines_with(json.dumps({"text": "Reuters reported it.", "spans": [{"start": 0, "end": 7,
                                                                          "label": "located_in"}]})),
        "line 3: spans[0]: 'located_in' is not an entity label"),
    "unknown-relation-label": (
        lines_with(json.dumps({"text": "Omar met Mei.", "spans": [{"start": 0, "end": 4, "label": "PERSON"},
                                                                  {"start": 9, "end": 12, "label": "PERSON"}],
                               "relations": [{"head": 0, "tail": 1, "label": "met"}]})),
        "line 3: relations[0]: 'met' is not a relation label of this project"),
    "overlap-not-allowed": (
        lines_with(json.dumps({"text": "New York City is large.", "spans": [{"start": 0, "end": 13, "label": "GPE"},
                                                                            {"start": 4, "end": 8, "label": "GPE"}]})),
        "line 3: spans[0] and spans[1] overlap, and this project does not allow overlapping spans"),
    "relation-to-missing-span": (
        lines_with(json.dumps({"text": "Omar met Mei.", "spans": [{"start": 0, "end": 4, "label": "PERSON"}],
                               "relations": [{"head": 0, "tail": 5, "label": "located_in"}]})),
        "line 3: relations[0]: tail 5 is not an index into spans"),
    "span-past-the-text": (
        lines_with(json.dumps({"text": "Short.", "spans": [{"start": 0, "end": 60, "label": "GPE"}]})),
        "line 3: spans[0]: offsets 0-60 must satisfy 0 <= start < end <= 6"),
    "invalid-utf8": (jsonl(GOOD, GOOD_TOO).encode() + b'{"text": "caf\xe9 in latin-1"}\n' + jsonl(GOOD).encode(),
                     "line 3: not valid UTF-8"),
    "utf8-cut-at-end-of-file": (jsonl(GOOD, GOOD_TOO).encode() + b'{"text": "\xe2\x82', "line 3: not valid UTF-8"),
    "spans-on-blank-text": (lines_with(json.dumps({"text": "   ", "spans": [{"start": 0, "end": 1, "label": "GPE"}]})),
                            "line 3: the text is only whitespace, but it has spans"),
    "nul-in-text": (lines_with(json.dumps({"text": "a\u0000b"})), "line 3: the text contains a NUL character"),
    "nul-in-meta": (lines_with(json.dumps({"text": "fine", "meta": {"k": "a\u0000b"}})),
                    "line 3: meta.k contains a NUL character"),
    "blank-lines-count": (lines_with("[1, 2]", blank_before=True), "line 4: expected a JSON object"),
    # psycopg cannot encode a lone surrogate, and Python's JSON reader overflows on deep nesting: both
    # were "internal error" with no line.
    "lone-surrogate-in-text": (lines_with('{"text": "a \\ud800 b"}'), "line 3: the text contains a lone surrogate"),
    "lone-surrogate-in-meta": (lines_with('{"text": "fine", "meta": {"k": ["\\udfff"]}}'),
                               "line 3: meta.k[0] contains a lone surrogate"),
    "lone-surrogate-in-label": (lines_with('{"text": "Omar", "spans": [{"start": 0, "end": 4, "label": "P\\ud800"}]}'),
                                "line 3: spans label[0] contains a lone surrogate"),
    "nested-1000-deep": (lines_with('{"text": "deep", "meta": {"k": ' + "[" * 1000 + "]" * 1000 + "}}"),
                         "line 3: the JSON is nested too deeply"),
    "meta-nested-100-deep": (lines_with('{"text": "deep", "meta": {"k": ' + "[" * 100 + "]" * 100 + "}}"),
                             "line 3: meta.k[0][0][0]"),
}


@pytest.mark.parametrize("content, error", CONTENT_PROBLEMS.values(), ids=CONTENT_PROBLEMS.keys())
def test_a_bad_line_fails_the_job_with_its_number_and_nothing_is_kept(project, import_file, content, error):
    before = (Document.objects.count(), Annotation.objects.count(), Span.objects.count(), Label.objects.count())
    job = import_file(content)
    assert job["status"] == "failed"
    assert job["error"].startswith(error), job["error"]
    assert job["error"].endswith("nothing from this file was imported")
    assert job["result"] == {"code": "invalid_file", "line": int(error.split(":")[0].removeprefix("line "))}
    assert (Document.objects.count(), Annotation.objects.count(), Span.objects.count(),
            Label.objects.count()) == before


def test_text_import_with_invalid_utf8_names_the_line(project, import_file):
    job = import_file(b"one\ntwo\nthr\xffee\nfour\n", "text")
    assert job["status"] == "failed"
    assert job["error"].startswith("line 3: not valid UTF-8")
    assert imported(project) == []


def test_failed_import_with_create_labels_creates_no_labels(project, import_file):
    text = "Reuters reported it."
    content = jsonl({"text": text, "spans": [span(text, "Reuters", "MEDIA")]}) + "not json\n"
    job = import_file(content, create_labels="true")
    assert job["status"] == "failed" and job["error"].startswith("line 2: not valid JSON")
    assert not Label.objects.filter(project=project, name="MEDIA").exists()


def test_label_too_long_to_create_fails_with_its_line(project, import_file):
    name = "L" * 101
    content = jsonl({"text": "Fine line here.", "spans": [{"start": 0, "end": 4, "label": name}]})
    job = import_file(content, create_labels="true")
    assert job["status"] == "failed"
    assert job["error"].startswith(f"line 1: label {name[:40]!r}... is longer than 100 characters")
    assert not Label.objects.filter(project=project, name=name).exists()


def test_import_job_deletes_its_upload_whatever_the_outcome(project, post_import):
    from django.core.files.storage import default_storage

    for content in ("Fine line.\n", b"bad \xff line\n"):
        response = post_import(content, "text")
        path = Job.objects.get(pk=response.json()["job"]["id"]).params["path"]
        assert not default_storage.exists(path)


# ------------------------------------------------------------------------------------------ all or nothing


def many_good_lines_then_a_bad_one(good: int) -> str:
    lines = [{"text": f"Dispatch {n} from Homs.", "meta": {"n": 100 + n},
              "spans": [{"start": len(f"Dispatch {n} from "), "end": len(f"Dispatch {n} from Homs"), "label": "GPE"}]}
             for n in range(good)]
    return jsonl(*lines) + '{"text": "the bad line", "spans": [{"start": 0, "end": 3, "label": "NOPE"}]}\n'


def test_bad_line_after_several_batches_keeps_nothing_of_the_file(project, import_file, settings):
    settings.IMPORT_BATCH_SIZE = 3
    before = {d.pk: (d.text, d.meta, d.status) for d in Document.objects.filter(project=project)}
    job = import_file(many_good_lines_then_a_bad_one(10))
    assert job["status"] == "failed"
    assert job["error"].startswith("line 11: spans[0]: 'NOPE' is not an entity label")
    after = {d.pk: (d.text, d.meta, d.status) for d in Document.objects.filter(project=project)}
    assert after == before
    assert not Annotation.objects.exists() and not Span.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_bad_line_after_batches_written_to_postgresql_rolls_all_back(project, postgres, people, settings,
                                                                     monkeypatch):
    """On PostgreSQL with real commits (no test transaction around it): batches are written, then undone."""
    from exports.tasks import run_import_task
    from exports.actions import do_start_import

    assert not connection.in_atomic_block  # a real transaction, not a savepoint inside the test's
    settings.IMPORT_BATCH_SIZE = 3
    before = {d.pk: (d.text, d.meta, d.status) for d in Document.objects.filter(project=project)}
    seen_inside = []  # the project's documents and spans as the import's own transaction sees them, batch by batch
    write = CopyDocumentWriter.store

    def counting_write(self, *args, **kwargs):
        write(self, *args, **kwargs)
        seen_inside.append((
            self.pg.execute("SELECT count(*) FROM projects_document WHERE project_id = %s", [project.pk]).fetchone()[0],
            self.pg.execute("SELECT count(*) FROM projects_span").fetchone()[0],
        ))

    monkeypatch.setattr(CopyDocumentWriter, "store", counting_write)
    upload = SimpleUploadedFile("bad.jsonl", many_good_lines_then_a_bad_one(10).encode())
    job = do_start_import(project, upload, fmt="jsonl", create_labels=False, skip_duplicates=True,
                          acting_user=people["admin"])  # the eager task runs once the job row commits
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert job.error.startswith("line 11: spans[0]: 'NOPE' is not an entity label")
    assert seen_inside == [(3 + 3, 3), (3 + 6, 6), (3 + 9, 9)]  # three batches were in the database
    after = {d.pk: (d.text, d.meta, d.status) for d in Document.objects.filter(project=project)}
    assert after == before
    assert (Annotation.objects.count(), Span.objects.count()) == (0, 0)
    run_import_task(job.pk)  # a redelivered task finds the job finished and changes nothing
    assert Document.objects.filter(project=project).count() == len(before)
    assert Job.objects.get(pk=job.pk).status == Job.Status.FAILED


# ------------------------------------------------------------------------------- cancelling, queueing, redelivery


def cancel_from_another_connection(job_id: int, *, wait: bool = True):
    """POST /jobs/{id}/cancel/ as another request would: its own thread, connection and transaction."""
    import threading

    from django.db import connections

    from projects.actions.jobs import do_cancel_job

    outcome = {}

    def cancel():
        try:
            outcome["status"] = do_cancel_job(Job.objects.get(pk=job_id), acting_user=None).status
        finally:
            connections.close_all()

    thread = threading.Thread(target=cancel)
    thread.start()
    if wait:
        thread.join(10)
    return thread, outcome


def start_text_import(project, people, lines: int):
    from exports.actions import do_start_import

    content = "".join(f"Line number {n}.\n" for n in range(lines)).encode()
    job = do_start_import(project, SimpleUploadedFile("lines.txt", content), fmt="text", create_labels=False,
                          skip_duplicates=True, acting_user=people["admin"])  # the eager task runs on commit
    job.refresh_from_db()
    return job


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("moment", ["after-first-batch", "after-every-batch-check"])
def test_job_cancelled_while_running_keeps_nothing(project, postgres, people, settings, monkeypatch, moment):
    import exports.imports

    settings.IMPORT_BATCH_SIZE = 3
    outcome = {}
    if moment == "after-first-batch":
        report_progress = exports.imports.report_progress

        def reporting(job, done, total=None):
            report_progress(job, done, total)
            if done == 3:
                outcome.update(cancel_from_another_connection(job.pk)[1])

        monkeypatch.setattr(exports.imports, "report_progress", reporting)
    else:  # every batch has passed its cancel check; the cancel lands just before the commit
        record_success = exports.imports.succeed_running_job

        def cancel_first(job, result):
            outcome.update(cancel_from_another_connection(job.pk)[1])
            record_success(job, result)

        monkeypatch.setattr(exports.imports, "succeed_running_job", cancel_first)
    job = start_text_import(project, people, 10)
    assert outcome == {"status": "cancelled"}
    assert job.status == Job.Status.CANCELLED
    assert job.result == {}
    assert imported(project) == []


@pytest.mark.django_db(transaction=True)
def test_cancel_arriving_while_a_finished_import_commits_finds_it_succeeded(project, postgres, people,
                                                                          monkeypatch):
    import exports.imports

    record_success = exports.imports.succeed_running_job
    cancels = []

    def then_cancel(job, result):
        record_success(job, result)
        cancels.append(cancel_from_another_connection(job.pk, wait=False))
        time.sleep(0.3)  # the cancel now waits on the job row until this transaction commits

    monkeypatch.setattr(exports.imports, "succeed_running_job", then_cancel)
    job = start_text_import(project, people, 5)
    [(thread, outcome)] = cancels
    thread.join(10)
    assert outcome == {"status": "succeeded"}
    assert job.status == Job.Status.SUCCEEDED
    assert Job.objects.get(pk=job.pk).status == Job.Status.SUCCEEDED
    assert len(imported(project)) == 5


def test_import_that_cannot_be_queued_fails_its_job_at_once(project, post_import, monkeypatch):
    from kombu.exceptions import OperationalError

    from exports.tasks import run_import_task

    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(run_import_task, "delay", broker_down)
    response = post_import("Queued never.\n", "text")
    assert response.status_code == 202
    job = Job.objects.get(pk=response.json()["job"]["id"])
    assert job.status == Job.Status.FAILED
    assert "could not be queued" in job.error
    from django.core.files.storage import default_storage

    assert not default_storage.exists(job.params["path"])


def test_a_redelivered_import_task_does_not_import_twice(project, import_file):
    from exports.tasks import run_import_task

    job = import_file("Only once.\n", "text")
    assert job["status"] == "succeeded"
    run_import_task(job["id"])
    assert Document.objects.filter(project=project, text="Only once.").count() == 1
    assert Job.objects.get(pk=job["id"]).result["documents"] == 1


@pytest.mark.django_db(transaction=True)
def test_database_error_while_writing_a_batch_fails_the_job_and_keeps_nothing(project, postgres, people, settings,
                                                                               monkeypatch):
    settings.IMPORT_BATCH_SIZE = 3
    write = CopyDocumentWriter.store
    calls = []

    def failing_write(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:  # the second batch breaks off halfway, as a lost connection or full disk would
            self.pg.execute("SELECT 1/0")
        write(self, *args, **kwargs)

    monkeypatch.setattr(CopyDocumentWriter, "store", failing_write)
    job = start_text_import(project, people, 10)
    assert job.status == Job.Status.FAILED
    assert job.error == "the import failed with an internal error; nothing from this file was imported"
    assert imported(project) == []
    assert Document.objects.filter(project=project).count() == 3  # and the connection works on


# ------------------------------------------------------------------------------------------ duplicates


def test_duplicates_of_the_project_and_of_earlier_lines_are_skipped_and_counted(project, import_file, settings):
    settings.IMPORT_BATCH_SIZE = 2  # the repeat of line 1 comes in a later batch
    content = "\n".join(["First new line.", FIXTURE_TEXTS[0], "Second new line.", "Third new line.",
                         "First new line.", "Second new line."]) + "\n"
    job = import_file(content, "text")
    assert job["status"] == "succeeded", job["error"]
    assert job["result"]["documents"] == 3
    assert job["result"]["duplicates_skipped"] == 3
    assert [d.text for d in imported(project)] == ["First new line.", "Second new line.", "Third new line."]
    assert Document.objects.filter(project=project, text=FIXTURE_TEXTS[0]).count() == 1


def test_skip_duplicates_false_keeps_every_line(project, import_file):
    content = f"Repeated.\nRepeated.\n{FIXTURE_TEXTS[0]}\n"
    job = import_file(content, "text", skip_duplicates="false")
    assert job["status"] == "succeeded", job["error"]
    assert (job["result"]["documents"], job["result"]["duplicates_skipped"]) == (3, 0)
    assert Document.objects.filter(project=project, text="Repeated.").count() == 2
    assert Document.objects.filter(project=project, text=FIXTURE_TEXTS[0]).count() == 2


def test_a_duplicate_line_is_still_checked(project, import_file):
    content = jsonl({"text": FIXTURE_TEXTS[0], "spans": [{"start": 1, "end": 3, "label": "ORG"}]})
    job = import_file(content)
    assert job["status"] == "failed" and job["error"].startswith("line 1: spans[0]: start 1")


# ------------------------------------------------------------------------------------------ internals that must hold


ALIGNMENT_TEXTS = {
    "en": ["Don't stop-me now!! http://example.com/a?b=1 mail a@b.org  \t tabs\n\nnew 3.14 $40 U.S.A. 🇷🇺 :) (a)",
           "叙利亚 Homs, 👩‍👩‍👧 São Paulo — “quoted” 'single' e\u0301 R&D 1990s can't",
           "   leading and trailing   "],
    "zh": ["叙利亚 Homs 是一个城市。阿勒颇被占领了！"],
    "ar": ["سيطر المتمردون على حلب، ثم حمص."],
    "ru": ["Москва — столица России, 12 млн жителей, в т.ч. дети."],  # a special case with a space inside
}


# Texts where a special case (an emoticon) matches across whitespace and displaces one inside a chunk.
CROSS_CHUNK_SPECIAL_CASES = {
    "en": "9a.m.;) :/:}\u2009Mass. \n 11p.m.\xa0Doin :-x\xa0Dont )-:\nMd. ",
    "fr": "Moque-t-il:( =((>_<)  S'EST-IL >:oಠ_ಠ [= n't S’EST-IL\t",
    "xx": "t.\u20090_0:/  :-))- \n (ಠ_ಠ) \n :'-(:(( (\xa0@_@ \n ",
}


def _generated_texts(language: str, examples: int, rules) -> list[str]:
    """Texts dense in the tokenizer's special cases, emoji, scripts and kinds of whitespace."""
    import random

    pieces = ["Zoë", "don't", "U.S.", "3.14", "$40", "e-mail", "http://x.co/a?b=1", "a@b.org", "(", ")", ".", ",",
              "“", "”", "'", '"', "-", "—", "🇷🇺", "👩‍👩‍👧", "习近平", "Москва", "e\u0301", "1990s", "...", "!!", "?",
              "a.m.", "10km", "«", "»"] + sorted(key for key in rules if not key.isspace())
    separators = [" ", " ", " ", "", "", "  ", "\t", "\n", "\xa0", "\u2009", " \n "]
    rng = random.Random(f"alignment-{language}")
    return [CROSS_CHUNK_SPECIAL_CASES.get(language, "")] + [
        "".join(rng.choice(pieces) + rng.choice(separators) for _ in range(rng.randrange(1, 12)))
        for _ in range(examples)]


@pytest.mark.parametrize("language, examples", [("en", 300), ("fr", 100), ("xx", 200), ("de", 100), ("zh", 20),
                                                ("ar", 20), ("ru", 50)])
def test_tokens_stored_by_the_import_are_those_of_the_project_tokenizer(language, examples):
    """What the import packs and stores, read back, is exactly the shared pipeline's tokenization
    (offsets, trailing spaces, IS_PUNCT, IS_SPACE), also inside the memory zone of later batches."""
    tokenizer = BulkTokenizer(language)
    shared = blank_pipeline(language).tokenizer
    texts = ALIGNMENT_TEXTS.get(language, []) + _generated_texts(language, examples, getattr(shared, "rules", None) or {})
    texts = [text for text in texts if text]
    for _ in range(2):  # the first batch warms the import's pipeline; the second runs in a memory zone
        with tokenizer.batch():
            for text in texts:
                packed, doc = tokenizer.tokenize(text)
                got = Tokens.from_columns(token_columns.columns_of(doc))
                expected_doc = shared(text)
                assert token_columns.unpack(packed, tokenizer.key, text) == token_columns.columns_of(
                    expected_doc), repr(text)
                expected = tokenize(text, language)
                assert (got.starts, got.ends, got.spaces, got.span_starts, got.span_ends) == (
                    expected.starts, expected.ends, expected.spaces, expected.span_starts, expected.span_ends), text


# ------------------------------------------------------------------------------------------ memory


def peak_import_memory(project, importer, path, lines: int, tag: str) -> int:
    with open(path, "w", encoding="utf-8") as out:
        for n in range(lines):
            out.write(f"Item {tag}-{n} reported from Aleppo by Omar Haddad on day {n * 7919 % 100_003}.\n")
    tracemalloc.start()
    try:
        with open(path, "rb") as raw:
            result = import_records(project, read_records("text", raw, "en"), importer=importer, batch_size=500)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result["documents"] == lines
    return peak


def test_import_memory_does_not_grow_with_the_file(project, people, tmp_path, monkeypatch):
    """Peak Python memory for 20,000 lines stays within 1.5x that of 5,000 lines (batches of 500,
    the private spaCy pipeline reloaded every 2,000 documents instead of 50,000)."""
    monkeypatch.setattr(BulkTokenizer, "RELOAD_EVERY", 2_000)
    connection.force_debug_cursor = True  # as with DEBUG on: the query log must not keep every batch
    try:
        small = peak_import_memory(project, people["admin"], tmp_path / "small.txt", 5_000, "s")
        large = peak_import_memory(project, people["admin"], tmp_path / "large.txt", 20_000, "l")
    finally:
        connection.force_debug_cursor = False
    assert large < 1.5 * small, (small, large)
    assert Document.objects.filter(project=project).count() == 3 + 25_000


def test_spacy_vocabulary_of_an_import_stops_growing_after_the_first_batch():
    """Every line brings new words; after the first (warming) batch they are freed batch by batch."""
    tokenizer = BulkTokenizer("en")
    nlp = tokenizer.nlp

    def batch(n):
        with tokenizer.batch():
            for i in range(200):
                tokenizer.tokenize(f"Report {n}-{i} from Xq{n}z{i} mentions Zorblax{n * 1000 + i} twice.")
        return len(tokenizer.nlp.vocab.strings)

    after_first = batch(0)
    sizes = [batch(n) for n in range(1, 6)]
    assert sizes == [after_first] * 5
    assert tokenizer.nlp is nlp  # not reloaded yet: the memory zones did it


def test_harmless_redundancy_is_kept_once_with_warnings_naming_the_lines(project, import_file):
    text = "Omar met Mei in Homs."
    omar, mei, homs = span(text, "Omar", "PERSON"), span(text, "Mei", "PERSON"), span(text, "Homs", "GPE")
    job = import_file(jsonl(
        {"text": "First, fine.", "spans": []},
        {"text": text, "spans": [omar, mei, homs, dict(homs)],  # Homs twice
         "relations": [{"head": 0, "tail": 3, "label": "located_in"},  # to the second Homs: the first
                       {"head": 0, "tail": 2, "label": "located_in"}]},  # then the same relation again
        {"text": " "},
        {"text": "\u3000\t"},
    ))
    assert job["status"] == "succeeded", job["error"]
    result = job["result"]
    assert (result["documents"], result["spans"], result["relations"], result["blank_skipped"]) == (2, 3, 1, 2)
    assert result["warnings"] == [
        {"line": 2, "message": "spans[3] (16-20 GPE) repeats spans[2]; kept once"},
        {"line": 2, "message": "relations[1] (located_in) repeats relations[0]; kept once"},
        {"line": 3, "message": "the text is empty or only whitespace; skipped"},
        {"line": 4, "message": "the text is empty or only whitespace; skipped"},
    ]
    assert result["warnings_total"] == 4


def test_one_duplicated_span_among_prodigy_tasks_is_kept_once(project, import_file):
    text = "Rebels took Aleppo."
    tasks = [{"text": f"Task {i} is fine.", "spans": [], "answer": "accept"} for i in range(30)]
    tasks[17] = {"text": text, "answer": "accept", "spans": [span(text, "Aleppo", "GPE"), span(text, "Aleppo", "GPE")]}
    job = import_file(jsonl(*tasks), "prodigy")
    assert job["status"] == "succeeded", job["error"]
    assert (job["result"]["documents"], job["result"]["annotations"], job["result"]["spans"]) == (30, 30, 1)
    assert job["result"]["warnings"] == [{"line": 18, "message": "spans[1] (12-18 GPE) repeats spans[0]; kept once"}]


def test_duplicated_texts_are_warned_of_by_line(project, import_file):
    job = import_file(jsonl({"text": "Once."}, {"text": "Twice."}, {"text": "Once."}, {"text": FIXTURE_TEXTS[0]}))
    assert job["result"]["duplicates_skipped"] == 2
    assert [w["line"] for w in job["result"]["warnings"]] == [3, 4]


def test_warnings_past_the_limit_are_counted(project, import_file, monkeypatch):
    monkeypatch.setattr("exports.imports.MAX_WARNINGS", 3)
    job = import_file(jsonl(*[{"text": " "}] * 5, {"text": "kept"}))
    assert job["status"] == "succeeded"
    assert (len(job["result"]["warnings"]), job["result"]["warnings_total"], job["result"]["documents"]) == (3, 5, 1)


def test_a_relation_between_a_span_and_its_duplicate_is_an_error(project, import_file):
    text = "Homs and Homs."
    homs = span(text, "Homs", "GPE")
    job = import_file(jsonl({"text": text, "spans": [homs, dict(homs)], "relations": [
        {"head": 0, "tail": 1, "label": "located_in"}]}))
    assert job["status"] == "failed"
    assert job["error"].startswith("line 1: relations[0]: head 0 and tail 1 are the same span given twice")
