"""The real consumers: spaCy's own CLI reads our CoNLL and DocBin exports.

Each test runs ``python -m spacy ...`` in a subprocess on a small generated
corpus (debug data wants at least 100 training docs before it stops calling
the corpus an error).
"""

from __future__ import annotations

import random
import subprocess
import sys

import pytest
from spacy.tokens import DocBin

from exports.formats.conll import write_conll
from exports.formats.spacy_docbin import write_spacy
from exports.records import DocumentRecord, SpanRecord

TEMPLATES = [
    "{PERSON} visited {GPE} on Monday. Officials said the trip went well.",
    "A {GPE}-based firm sold {ORG}'s cars to buyers in {GPE}.",
    "{ORG} hired {PERSON} 😀 last year, and {PERSON} left {ORG}.",
    "In {GPE}, {PERSON} met the head of {ORG}.\nThen they flew home.",
    "Shares of {ORG} rose 5% after {PERSON} spoke in {GPE}!",
    "\"{PERSON}\" ({ORG}) said {GPE}'s plan failed.",
]
FILLERS = {
    "PERSON": ["Barack Obama", "Angela Merkel", "Ana", "Li Wei", "Jean-Paul Sartre"],
    "GPE": ["Paris", "New York", "Homs", "Tokyo", "Saudi Arabia"],
    "ORG": ["Toyota", "Reuters", "United Nations", "Apple", "Siemens"],
}


def make_records(count: int) -> list[DocumentRecord]:
    rng = random.Random(7)
    records = []
    for i in range(count):
        text, spans = "", []
        for n, part in enumerate(TEMPLATES[i % len(TEMPLATES)].replace("}", "{").split("{")):
            if n % 2:
                value = rng.choice(FILLERS[part])
                spans.append(SpanRecord(len(text), len(text) + len(value), part))
                part = value
            text += part
        text += f" Report {i}."  # no document repeats across train and dev
        if i % 4 == 0 and " " in text[spans[0].start:spans[0].end]:
            # An overlapping span: kept in spans["sc"], left out of the entities.
            first = spans[0]
            spans.append(SpanRecord(first.start, text.index(" ", first.start), "PART"))
        records.append(DocumentRecord(text=text, spans=spans, id=i))
    return records


def spacy_cli(*args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "spacy", *args],
        cwd=cwd, capture_output=True, text=True, timeout=120,
    )


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, nlp):
    path = tmp_path_factory.mktemp("spacy_cli")
    records = make_records(144)
    (path / "train.spacy").write_bytes(write_spacy(records[:120], nlp))
    (path / "dev.spacy").write_bytes(write_spacy(records[120:], nlp))
    (path / "all.conll").write_text("".join(write_conll(records, nlp)), encoding="utf-8")
    (path / "all.spacy").write_bytes(write_spacy(records, nlp))
    result = spacy_cli("init", "config", "config.cfg", "--lang", "en", "--pipeline", "ner", cwd=path)
    assert result.returncode == 0, result.stderr
    return path


def test_spacy_convert_reads_our_conll_with_the_same_entities(corpus, nlp):
    (corpus / "converted").mkdir()
    result = spacy_cli("convert", "all.conll", "converted", "--converter", "ner", cwd=corpus)
    assert result.returncode == 0, result.stdout + result.stderr
    converted = list(DocBin().from_disk(corpus / "converted" / "all.spacy").get_docs(nlp.vocab))
    ours = list(DocBin().from_disk(corpus / "all.spacy").get_docs(nlp.vocab))
    assert len(converted) == len(ours) == 144
    for theirs, mine in zip(converted, ours):
        assert [t.text for t in theirs] == [t.text for t in mine if not t.is_space]
        expected = [(" ".join(t.text for t in e if not t.is_space), e.label_) for e in mine.ents]
        assert [(e.text, e.label_) for e in theirs.ents] == expected


def test_spacy_debug_data_finds_no_entity_problems(corpus):
    result = spacy_cli(
        "debug", "data", "config.cfg", "--paths.train", "train.spacy", "--paths.dev", "dev.spacy", "--no-format",
        cwd=corpus,
    )
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert "No entities consisting of or starting/ending with whitespace" in out
    assert "No entities crossing sentence boundaries" in out
    assert "misaligned" not in out
    assert "overlap" not in out.replace("No overlap between training and evaluation data", "")
    assert "120 training docs" in out and "24 evaluation docs" in out


def test_spacy_train_runs_on_the_export(corpus):
    result = spacy_cli(
        "train", "config.cfg", "--paths.train", "train.spacy", "--paths.dev", "dev.spacy",
        "--training.max_steps", "10", "--training.eval_frequency", "5",
        cwd=corpus,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ENTS_F" in result.stdout
