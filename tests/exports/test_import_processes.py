"""Imports read, checked and tokenized in worker processes (exports.processes): what they store is what an
import in one process stores, for every format; the first bad line is named exactly whichever process met
it; duplicates and new labels are found across processes' batches; a cancel stops within one batch; and a
worker process that dies fails the job cleanly. tests/exports/test_import_worker.py runs imports with worker
processes under a real prefork Celery worker."""

from __future__ import annotations

import io
import json
import os
import signal
import time
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

import exports.imports
import exports.processes
from exports.formats.conll import write_conll
from exports.formats.jsonl import read_jsonl
from exports.formats.spacy_docbin import write_spacy
from exports.imports import import_file
from exports.records import FormatError
from projects.actions.projects import do_create_project
from projects.bulk import CopyDocumentWriter
from projects.models import Annotation, Document, Job, Label, Relation, Span
from projects.tokens import blank_pipeline
from tests.exports.test_imports import FIXTURE_TEXTS, cancel_from_another_connection, imported, jsonl

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Job progress and cancel flags live in the cache, keyed by job id; ids can repeat between tests."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def workers_only(settings):
    """Every chunk checked by a worker process: none in this process while they start up."""
    settings.IMPORT_CHECK_WHILE_STARTING = False


def news(n: int, city: str = "Aleppo", label: str = "GPE") -> dict:
    text = f"Report {n}: Amira Haddad met Omar Khalil in {city}."
    person, place = text.index("Amira Haddad"), text.index(city)
    return {"text": text, "meta": {"n": n},
            "spans": [{"start": person, "end": person + len("Amira Haddad"), "label": "PERSON"},
                      {"start": place, "end": place + len(city), "label": label}],
            "relations": [{"head": 0, "tail": 1, "label": "located_in"}]}


def import_bytes(project, data: bytes, fmt: str, *, processes: int, importer, **options) -> dict:
    with transaction.atomic():
        return import_file(project, fmt, io.BytesIO(data), importer=importer, processes=processes, batch_size=3,
                           **options)


def stored(project) -> list[tuple]:
    """The project's imported documents as the database holds them, comparable across projects."""
    rows = []
    for document in Document.objects.filter(project=project).order_by("id"):
        spans = sorted(Span.objects.filter(annotation__document=document).values_list("key", "start", "end",
                                                                                      "label__name"))
        relations = sorted(Relation.objects.filter(annotation__document=document).values_list(
            "head__key", "tail__key", "label__name"))
        rows.append((document.text, document.meta, bytes(document.tokens), document.status, document.overlap,
                     document.assignee_count, spans, relations))
    return rows


def files_of_every_format() -> dict[str, tuple[bytes, dict]]:
    """The same 14 documents (one a repeat, one blank, one a project's text) in every importable format."""
    objects = [news(n) for n in range(10)] + [news(3), {"text": "   "}, {"text": FIXTURE_TEXTS[0]},
                                               {"text": "Zoë met 习近平 in São Paulo 🇧🇷.", "meta": {"k": "v"}}]
    data = jsonl(*objects).encode()
    records = [record for _, record in read_jsonl(io.StringIO(data.decode()))]
    nlp = blank_pipeline("en")
    doccano = [{"text": o["text"], "label": [[s["start"], s["end"], s["label"]] for s in o.get("spans", [])],
                **({"meta": o["meta"]} if "meta" in o else {})} for o in objects]
    prodigy = [{"text": o["text"], "spans": o.get("spans", []), "answer": "accept"} for o in objects]
    return {
        "jsonl": (data, {}),
        "conll": ("".join(write_conll([r for r in records if r.text.strip()], nlp)).encode(), {}),
        "spacy": (write_spacy([r for r in records if r.text.strip()], nlp), {}),
        "doccano": (jsonl(*doccano).encode(), {}),
        "prodigy": (jsonl(*prodigy).encode(), {}),
        "text": ("".join(o["text"] + "\n" for o in objects).encode(), {}),
    }


@pytest.mark.parametrize("fmt", ["jsonl", "conll", "spacy", "doccano", "prodigy", "text"])
def test_every_format_stores_the_same_from_worker_processes_as_in_one_process(project, people, fmt):
    data, options = files_of_every_format()[fmt]
    results = {}
    for processes in (0, 2):
        target = do_create_project(acting_user=people["admin"], name=f"{fmt} {processes}")
        Label.objects.bulk_create([Label(project=target, name=label.name, kind=label.kind, color=label.color)
                                   for label in Label.objects.filter(project=project)])
        results[processes] = (import_bytes(target, data, fmt, processes=processes, importer=people["admin"],
                                           create_labels=True, **options), stored(target))
    assert results[2] == results[0]
    result, rows = results[2]
    assert result["documents"] == len(rows) >= 11 and result["duplicates_skipped"] >= 1


@pytest.mark.parametrize("content, error", [
    (jsonl(*[news(n) for n in range(13)]) + '{"text": "broken\n' + jsonl(news(14)) + "not json either\n"
     + jsonl(*[news(n) for n in range(16, 20)]), "line 14: not valid JSON"),
    (jsonl(*[news(n) for n in range(13)]) + jsonl({"text": "Omar", "spans": [{"start": 1, "end": 4, "label": "GPE"}]})
     + jsonl(*[news(n) for n in range(15, 20)]), "line 14: spans[0]: start 1 is not the start of a token"),
    (jsonl(*[news(n) for n in range(13)]).encode() + b'{"text": "caf\xe9"}\n' + jsonl(news(15)).encode(),
     "line 14: not valid UTF-8"),
], ids=["invalid-json", "span-off-token", "invalid-utf8"])
def test_a_bad_line_in_the_middle_of_a_workers_batch_names_its_line_and_keeps_nothing(
        project, people, workers_only, content, error):
    before = (Document.objects.count(), Annotation.objects.count(), Span.objects.count())
    data = content.encode() if isinstance(content, str) else content
    with pytest.raises(FormatError) as failed:
        import_bytes(project, data, "jsonl", processes=2, importer=people["admin"])  # line 14 of 13-15
    assert str(failed.value).startswith(error)
    assert (Document.objects.count(), Annotation.objects.count(), Span.objects.count()) == before


def test_a_bad_conll_tag_in_the_middle_of_a_workers_batch_names_its_line(project, people, workers_only):
    records = [record for _, record in read_jsonl(io.StringIO(jsonl(*[news(n) for n in range(12)])))]
    lines = "".join(write_conll(records, blank_pipeline("en"))).splitlines(keepends=True)
    bad = lines.index("Haddad I-PERSON\n", len(lines) // 2)  # an entity's last token, in a later batch
    lines[bad] = "Haddad S-PERSON\n"
    with pytest.raises(FormatError) as failed:
        import_bytes(project, "".join(lines).encode(), "conll", processes=2, importer=people["admin"])
    assert str(failed.value).startswith(f"line {bad + 1}: S-PERSON is not an IOB2 tag; the file reads as IOB2")
    assert imported(project) == []


class ReadyWorkers(exports.processes.WorkerProcesses):
    """Worker processes that are all ready before the first task: tasks go to each in turn."""

    def __init__(self, *args):
        super().__init__(*args)
        for worker in self.workers:
            while not worker.is_ready():
                time.sleep(0.05)


def test_a_duplicate_split_across_two_workers_batches_is_found(project, people, workers_only, monkeypatch):
    monkeypatch.setattr(exports.imports, "WorkerProcesses", ReadyWorkers)
    texts = ["One.", "Repeated across batches.", "Three.", "Four.", "Repeated across batches.", "Six.",
             "Seven.", FIXTURE_TEXTS[1], "Nine.", "One."]
    result = import_bytes(project, "".join(text + "\n" for text in texts).encode(), "text", processes=2,
                          importer=people["admin"])  # lines 1-3 go to one worker, 4-6 to the other
    assert result["duplicates_skipped"] == 3
    assert [warning["line"] for warning in result["warnings"]] == [5, 8, 10]
    assert [d.text for d in imported(project)] == ["One.", "Repeated across batches.", "Three.", "Four.", "Six.",
                                                   "Seven.", "Nine."]


def test_labels_new_in_two_workers_batches_are_created_once(project, people, workers_only):
    lines = [news(n, "Osaka", "GPE" if n < 4 else "CITY") for n in range(9)]  # CITY first on line 5 (batch 2)
    result = import_bytes(project, jsonl(*lines).encode(), "jsonl", processes=2, importer=people["admin"],
                          create_labels=True)
    assert result["labels_created"] == ["CITY"]
    assert Label.objects.filter(project=project, name="CITY").count() == 1
    assert result["spans"] == 18


# ------------------------------------------------------------------------------- jobs: cancelling, a worker dying

def import_processes() -> list[int]:
    """This process's import worker processes, from /proc."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                command = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == os.getpid() and b"exports.processes" in command:
                pids.append(int(entry.name))
    return pids


def start_import(project, people, content: str) -> Job:
    from exports.actions import do_start_import

    job = do_start_import(project, SimpleUploadedFile("news.jsonl", content.encode()), fmt="jsonl",
                          create_labels=False, skip_duplicates=True, acting_user=people["admin"])  # runs on commit
    job.refresh_from_db()
    return job


@pytest.fixture
def parallel_jobs(settings, workers_only):
    settings.IMPORT_PARALLEL_BYTES = 0
    settings.IMPORT_PROCESSES = 2
    settings.IMPORT_BATCH_SIZE = 3


@pytest.mark.django_db(transaction=True)
def test_a_cancel_stops_the_import_within_one_batch(project, people, postgres, parallel_jobs, monkeypatch):
    stores, outcome, running = [], {}, []
    store = CopyDocumentWriter.store

    def counting_store(self, *args):
        stores.append(1)
        store(self, *args)

    report_progress = exports.imports.report_progress

    def reporting(job, done, total=None):
        report_progress(job, done, total)
        if done == 3:  # the first batch is written: the cancel comes now, from another request
            running.extend(import_processes())
            outcome.update(cancel_from_another_connection(job.pk)[1])

    monkeypatch.setattr(CopyDocumentWriter, "store", counting_store)
    monkeypatch.setattr(exports.imports, "report_progress", reporting)
    job = start_import(project, people, jsonl(*[news(n) for n in range(30)]))
    assert outcome == {"status": "cancelled"}
    assert job.status == Job.Status.CANCELLED and job.result == {}
    assert len(stores) == 1  # no batch was written after the cancel
    assert imported(project) == []
    assert len(running) == 2 and not import_processes()


@pytest.mark.django_db(transaction=True)
def test_a_worker_process_that_dies_fails_the_job_cleanly(project, people, postgres, parallel_jobs, monkeypatch):
    killed = []
    report_progress = exports.imports.report_progress

    def reporting(job, done, total=None):
        report_progress(job, done, total)
        if done == 3:  # the first batch is written: its worker processes are killed, as the OOM killer would
            for pid in import_processes():
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)

    monkeypatch.setattr(exports.imports, "report_progress", reporting)
    job = start_import(project, people, jsonl(*[news(n) for n in range(60)]))
    assert len(killed) == 2
    assert job.status == Job.Status.FAILED
    assert job.result == {"code": "import_process_lost", "processes": 2}
    assert job.error.startswith("a process reading the file stopped (a worker process stopped (killed by signal 9)")
    assert "nothing from this file was imported" in job.error
    assert imported(project) == [] and not Annotation.objects.exists()
    assert not default_storage.exists(job.params["path"])
    assert not import_processes()
    json.dumps(job.result)
