"""Import a file written by another tool, export it in every format, and compare what comes back with
what the file said, read by independent readers: seqeval for tags, spaCy's ``DocBin`` and
``python -m spacy convert`` for tokens, sentences and entities; never our own parser.

The files are shaped like the real ones: CoNLL-2003 (four columns, ``-X-``, IOB1, CRLF), WNUT-17
tweets (tab-separated, no ``-DOCSTART-``, IOB2 with lower-case types), BIOES, our own export style,
a DocBin made by ``spacy convert``, Prodigy answers with their ``tokens`` (shaped like ner_drugs: most
accepted tasks have no span), and JSONL with empty ``spans``. Documents with no entity are documents.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import spacy
from seqeval.metrics.sequence_labeling import get_entities
from spacy.tokens import DocBin

from projects.actions.projects import do_create_project
from tests.exports.test_round_trips import export, upload

pytestmark = pytest.mark.django_db

CONLL2003 = """\
-DOCSTART- -X- -X- O

EU NNP B-NP I-ORG
rejects VBZ B-VP O
German JJ B-NP I-MISC
call NN I-NP O
to TO B-VP O
boycott VB I-VP O
British JJ B-NP I-MISC
lamb NN I-NP O
. . O O

Peter NNP B-NP I-PER
Blackburn NNP I-NP I-PER

-DOCSTART- -X- -X- O

Nothing NN B-NP O
happened VBD B-VP O
today NN B-NP O
. . O O

-DOCSTART- -X- -X- O

“ `` O O
Syria’s NNP B-NP I-LOC
Homs NNP I-NP I-LOC
Damascus NNP I-NP B-LOC
😀 SYM O O
叙利亚 NNP B-NP I-LOC
” '' O O
said VBD B-VP O
Al-Golani NNP B-NP I-PER
.
""".replace("\n.\n", "\n. . O O\n").replace("\n", "\r\n")

WNUT17 = """\
@paulwalk\tO
It\tO
's\tO
the\tO
view\tO
from\tO
Empire\tB-location
State\tI-location
Building\tI-location
=\tO
ESB\tB-location
.\tO

RT\tO
@user\tO
:\tO
so\tO
tired\tO
😴\tO
#mondays\tO

Watching\tO
Star\tB-creative-work
Wars\tI-creative-work
with\tO
Ana\tB-person
in\tO
São\tB-location
Paulo\tI-location
"""

BIOES = """\
-DOCSTART- -X- O O

Angela B-PER
Merkel E-PER
visited O
Paris S-LOC
and O
New B-LOC
York I-LOC
City E-LOC
. O

Nobody O
came O
. O

"""

OWN_STYLE = """\
-DOCSTART- -X- O O

Rebels O
took O
Aleppo B-GPE
. O

Then O
Homs B-GPE
fell O

-DOCSTART- -X- O O

Quiet O
day O
. O

"""


def prodigy_task(text: str, spans=(), answer="accept") -> dict:
    """A task as Prodigy's ner.manual writes it: tokens with ids and no ws, spans with token indices."""
    words, at = [], 0
    for word in text.replace("\n\n", " \n\n ").split(" "):
        if not word:
            continue
        start = text.index(word, at)
        at = start + len(word)
        words.append({"text": word, "start": start, "end": at, "id": len(words)})
    task = {"text": text, "meta": {"section": "opiates"}, "_input_hash": hash(text) % 10_000,
            "_task_hash": hash(text) % 9_999, "tokens": words, "answer": answer}
    if spans:
        task["spans"] = []
        for part, label in spans:
            start = text.index(part)
            first = next(w["id"] for w in words if w["start"] == start)
            last = next(w["id"] for w in words if w["end"] == start + len(part))
            task["spans"].append({"start": start, "end": start + len(part), "token_start": first,
                                  "token_end": last, "label": label})
    return task


PRODIGY = [
    prodigy_task("I took Promethazine and slept well", [("Promethazine", "DRUG")]),
    prodigy_task("^^LOL^^"),
    prodigy_task("Sorry but what are those exactly ? Idk scramble ."),
    prodigy_task("Mixing Xanax with oxy is risky\n\nStay safe 🙏", [("Xanax", "DRUG"), ("oxy", "DRUG")]),
    prodigy_task("This one was rejected", [("rejected", "DRUG")], answer="reject"),
    prodigy_task("Kratom tea , 5g", [("Kratom", "DRUG")]),
]


# ------------------------------------------------------------------------------ independent readers

def conll_documents(text: str, by_sentence: bool) -> list[list[list[tuple[str, str]]]]:
    """Documents -> sentences -> (token, tag): the first and last columns of each line."""
    documents, sentences, sentence = [], [], []
    for line in text.splitlines():
        columns = line.split("\t") if "\t" in line else line.split()
        if columns and columns[0] != "-DOCSTART-":
            sentence.append((columns[0], columns[-1]))
            continue
        if sentence:
            sentences.append(sentence)
            sentence = []
        if (columns or by_sentence) and sentences:
            documents.append(sentences)
            sentences = []
    if sentence:
        sentences.append(sentence)
    if sentences:
        documents.append(sentences)
    if by_sentence:
        documents = [[s] for doc in documents for s in doc]
    return documents


def seqeval_view(documents) -> list[list[tuple[list[str], list[tuple]]]]:
    """Per document, per sentence: its tokens and seqeval's entities (type, first, last)."""
    return [[([token for token, _ in sentence], get_entities([tag for _, tag in sentence]))
             for sentence in doc] for doc in documents]


def spacy_convert(tmp_path: Path, name: str, content: str, *extra: str) -> list:
    """``python -m spacy convert`` of a CoNLL file: spaCy's own docs.

    spaCy's converter knows only IOB tags, LF line ends and the ``-DOCSTART- -X- O O`` line (it takes
    CoNLL-2003's own ``-DOCSTART- -X- -X- O`` for a token), so those are written its way first.
    """
    source = tmp_path / f"{name}.conll"
    content = content.replace("\r\n", "\n").replace("-DOCSTART- -X- -X- O", "-DOCSTART- -X- O O")
    source.write_text(content, encoding="utf-8")
    out = tmp_path / f"{name}-out"
    out.mkdir()
    done = subprocess.run([sys.executable, "-m", "spacy", "convert", str(source), str(out), "--converter", "ner",
                           *extra], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return read_docbin((out / f"{name}.spacy").read_bytes())


def read_docbin(data: bytes) -> list:
    return list(DocBin().from_bytes(data).get_docs(spacy.blank("en").vocab))


def doc_view(doc) -> dict:
    """What a Doc says, whitespace tokens left out: tokens, sentences and entities over the others."""
    shown = [t for t in doc if not t.is_space]
    index = {t.i: n for n, t in enumerate(shown)}
    sentences = []
    for token in shown:
        if token.is_sent_start or not sentences:
            sentences.append([])
        sentences[-1].append(token.text)
    return {"tokens": [t.text for t in shown], "sentences": sentences,
            "ents": [(index[e.start], index[e.end - 1] + 1, e.label_) for e in doc.ents],
            "outside_is_annotated": all(t.ent_iob_ != "" for t in shown)}


# ------------------------------------------------------------------------------ the product

@pytest.fixture
def fresh(people):
    names = iter(range(100))
    return lambda: do_create_project(acting_user=people["admin"], name=f"fidelity {next(names)}")


@pytest.fixture
def round_trip(people, client_for, django_capture_on_commit_callbacks, fresh):
    """Import ``content`` as gold into a fresh project; the job and the project."""
    client = client_for(people["admin"])

    def run(content: bytes, fmt: str, **options):
        project = fresh()
        job = upload(django_capture_on_commit_callbacks, client, project, f"file.{fmt}", content, fmt,
                     annotations_as="gold", skip_duplicates="false", **options)
        return job, project

    return run


@pytest.fixture
def exported(people, client_for):
    client = client_for(people["admin"])
    return lambda project, fmt, **params: export(client, project, fmt, **params)


@pytest.mark.parametrize("name, content, by_sentence", [
    ("conll2003", CONLL2003, False),
    ("wnut17", WNUT17, True),  # no -DOCSTART-: a document per sentence
    ("bioes", BIOES, False),  # spaCy's converter reads IOB only: seqeval is the reference
])
def test_conll_files_come_back_token_sentence_and_entity_identical(
        tmp_path, round_trip, exported, name, content, by_sentence):
    job, project = round_trip(content.encode(), "conll")
    source = conll_documents(content, by_sentence)
    assert job["result"]["documents"] == len(source)

    conll = exported(project, "conll").decode()
    ours = conll_documents(conll, by_sentence=False)
    assert seqeval_view(ours) == seqeval_view(source)  # tokens, sentences and entities, empty documents too

    # spaCy reads the file and our export alike; our DocBin says what spaCy's conversion of the file says.
    converted = [doc_view(doc) for doc in spacy_convert(tmp_path, "ours", conll)]
    if name != "bioes":
        extra = ("-n", "1") if by_sentence else ()
        theirs = [doc_view(doc) for doc in spacy_convert(tmp_path, "source", content, *extra)]
        assert converted == theirs
    theirs = converted
    docbin = [doc_view(doc) for doc in read_docbin(exported(project, "spacy"))]
    assert docbin == theirs
    assert all(view["outside_is_annotated"] for view in docbin)

    lines = [json.loads(line) for line in exported(project, "jsonl").decode().splitlines()]
    assert [len(line["spans"]) for line in lines] == [
        sum(len(get_entities([tag for _, tag in s])) for s in doc) for doc in source]

    # A second round trip moves nothing: our export imports and exports to the same bytes.
    _, again = round_trip(conll.encode(), "conll")
    assert exported(again, "conll").decode() == conll


def test_a_file_in_our_export_style_comes_back_byte_identical(round_trip, exported):
    _, project = round_trip(OWN_STYLE.encode(), "conll")
    assert exported(project, "conll").decode() == OWN_STYLE


def test_a_docbin_from_spacy_convert_comes_back_with_the_same_tokens_spaces_sentences_and_entities(
        tmp_path, round_trip, exported):
    source = tmp_path / "made-by-spacy"
    source.mkdir()
    original = spacy_convert(source, "conll2003", CONLL2003)
    data = DocBin(docs=original).to_bytes()
    job, project = round_trip(data, "spacy")
    assert job["result"]["documents"] == len(original) == 3

    def exact(doc):
        return ([t.text for t in doc], [t.whitespace_ for t in doc], [t.is_sent_start for t in doc],
                [(e.start_char, e.end_char, e.label_) for e in doc.ents], [t.ent_iob_ for t in doc])

    back = read_docbin(exported(project, "spacy"))
    assert [exact(doc) for doc in back] == [exact(doc) for doc in original]
    conll = exported(project, "conll").decode()
    assert ([doc_view(doc) for doc in spacy_convert(tmp_path, "ours", conll)]
            == [doc_view(doc) for doc in original])


NER_DRUGS = Path(__file__).resolve().parents[1] / "fixtures" / "ner_drugs" / "drugs_eval.jsonl"


@pytest.mark.parametrize("tasks", [PRODIGY, "ner_drugs"], ids=["inline", "ner_drugs"])
def test_prodigy_answers_keep_their_tokens_and_their_empty_documents(round_trip, exported, tasks):
    if tasks == "ner_drugs":  # the real file: 500 accepted tasks, 357 of them without any span
        content = NER_DRUGS.read_bytes()
        tasks = [json.loads(line) for line in content.decode().splitlines()]
    else:
        content = "".join(json.dumps(task, ensure_ascii=False) + "\n" for task in tasks).encode()
    job, project = round_trip(content, "prodigy")
    accepted = [task for task in tasks if task["answer"] == "accept"]
    assert job["result"]["documents"] == len(accepted)

    docs = read_docbin(exported(project, "spacy"))
    assert [[t.text for t in doc] for doc in docs] == [[t["text"] for t in task["tokens"]] for task in accepted]
    assert [[(e.start_char, e.end_char, e.label_) for e in doc.ents] for doc in docs] == [
        [(s["start"], s["end"], s["label"]) for s in task.get("spans", [])] for task in accepted]

    # CoNLL: the file's tokens (whitespace ones left out) and, by seqeval, the spans' own token indices.
    conll = conll_documents(exported(project, "conll").decode(), by_sentence=False)
    for doc, task in zip(conll, accepted):
        shown = [t for t in task["tokens"] if not t["text"].isspace()]
        at = {t["id"]: n for n, t in enumerate(shown)}
        tags = [tag for sentence in doc for _, tag in sentence]
        assert [token for sentence in doc for token, _ in sentence] == [t["text"] for t in shown]
        assert get_entities(tags) == [(s["label"], at[s["token_start"]], at[s["token_end"]])
                                      for s in task.get("spans", [])]

    lines = [json.loads(line) for line in exported(project, "jsonl").decode().splitlines()]
    assert [line["spans"] == [] for line in lines] == [not task.get("spans") for task in accepted]
    assert [[(t["text"], t["start"], t["end"]) for t in line["tokens"]] for line in lines] == [
        [(t["text"], t["start"], t["end"]) for t in task["tokens"]] for task in accepted]


def test_jsonl_with_empty_spans_keeps_every_document(round_trip, exported):
    lines = [{"text": "Nothing to see.", "spans": []}, {"text": "Homs fell.", "spans": [
        {"start": 0, "end": 4, "label": "GPE"}]}, {"text": "Never looked at."}]
    job, project = round_trip("".join(json.dumps(line) + "\n" for line in lines).encode(), "jsonl")
    assert (job["result"]["documents"], job["result"]["annotations"]) == (3, 2)
    back = [json.loads(line) for line in exported(project, "jsonl").decode().splitlines()]
    assert [(line["text"], line["spans"]) for line in back] == [(line["text"], line["spans"]) for line in lines[:2]]
    assert [len(doc) for doc in read_docbin(exported(project, "spacy"))] == [4, 3]
    assert exported(project, "conll").decode().count("-DOCSTART-") == 2
