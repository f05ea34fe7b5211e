"""The work of an import that can run anywhere, on one piece of the file at a time: no database.

An import (``exports.imports``) cuts its file into chunks of whole lines, or of
records for a format read whole (a DocBin), and a ``Checker`` turns each chunk
into a ``Checked``: its records read, checked, tokenized and packed for the
writer (``projects.bulk.pack_documents``), with the chunk's warnings and the
first bad line, if any. The checkers run in worker processes
(``exports.processes``) or, for a small file, in the importing process; either
way the importer takes the chunks' results in file order, so the first bad
line it meets is the file's first bad line.

    -DOCSTART- -X- O O          a CoNLL file is read twice: its survey (the tag
                                scheme, where documents start) by chunks cut at
    Omar B-PERSON               sentence ends, merged in order; then its
    flew O                      documents, by chunks cut where documents start.

Lines are decoded here, in the worker: a chunk is cut after a line break, which
no UTF-8 character holds, so chunks decode apart; an undecodable line fails the
import naming it, as reading the file line by line would.
"""

from __future__ import annotations

import codecs
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from exports.formats import FORMATS, conll
from exports.records import DocumentRecord, FormatError
from projects import bulk
from projects.actions.labels import check_label_fields
from projects.errors import InvalidInput, over_limit
from projects.inputs import check_input
from projects.models import Document, Label
from projects.spans import RelationIn, SpanIn, check_relations, check_spans, spans_pass
from projects.token_columns import file_columns
from projects.tokens import Tokens, bulk_tokenizer

LABEL_NAME_MAX = Label._meta.get_field("name").max_length
LINE_END = re.compile(rb"\n")


@dataclass(frozen=True, slots=True)
class ImportContext:
    """What checking needs to know of the project and the import, sent to every worker once."""

    fmt: str
    options: dict
    language: str
    entity_labels: frozenset[str]
    relation_labels: frozenset[str]
    create_labels: bool
    allow_overlap: bool
    copy: bool  # pack for projects.bulk's COPY writer (DocumentBatch.copy)
    max_characters: int  # settings.DOCUMENT_MAX_CHARACTERS, as the importing process has it
    max_warnings: int


@dataclass(frozen=True, slots=True)
class Lines:
    """Whole lines of a text file, the first of them line ``first_line``."""

    first_line: int
    data: bytes


@dataclass(frozen=True, slots=True)
class SurveyLines(Lines):
    """Lines of a CoNLL file to survey (``conll.survey_lines``); they start and end where sentences do."""


@dataclass(frozen=True, slots=True)
class ConllDocuments(Lines):
    """Lines of a CoNLL file to read documents from (``conll.read_documents``); they start and end where
    documents do."""

    scheme: str = ""
    by_sentence: bool = False


@dataclass(frozen=True, slots=True)
class Records:
    """Records read elsewhere (a DocBin; records a caller gives), and the last line they cover."""

    records: list[tuple[int, DocumentRecord]]
    last_line: int


@dataclass(slots=True)
class Checked:
    """A chunk's documents checked and packed (``lines``: each one's line), and what else the import must hear.

    ``new_labels`` are the labels the chunk names that the project lacked (with
    ``create_labels``), as ``(kind, names)`` in the order records named them;
    ``error`` is the chunk's first bad line, after which it was not read on.
    """

    documents: bulk.DocumentBatch
    lines: list[int] = field(default_factory=list)
    last_line: int = 0
    warnings: list[tuple[int, str]] = field(default_factory=list)
    warnings_total: int = 0
    blank_skipped: int = 0
    new_labels: list[tuple[str, list[str]]] = field(default_factory=list)
    error: FormatError | None = None


class Checker:
    """Checks an import's chunks, one after another, in one process: ``checker(chunk)``.

    It takes this thread's tokenizer (``projects.tokens.bulk_tokenizer``: loading a
    spaCy pipeline per import took 0.25 s, most of a small import's time) and
    keeps the labels it has seen named, so each new one is reported once.
    """

    def __init__(self, context: ImportContext):
        self.context = context
        self.tokenizer = bulk_tokenizer(context.language)
        self.entity_labels = set(context.entity_labels)
        self.relation_labels = set(context.relation_labels)

    def __call__(self, chunk: Lines | Records) -> Checked | tuple[conll.Survey | None, FormatError | None]:
        """A ``Checked`` for a chunk of documents; for one to survey, its survey or else the line that
        could not be decoded."""
        if isinstance(chunk, SurveyLines):
            try:
                return conll.survey_lines(decoded_lines(chunk), chunk.first_line), None
            except FormatError as exc:  # an undecodable line, which stops the survey, and the import, at once
                return None, exc
        if isinstance(chunk, ConllDocuments):
            records = conll.read_documents(decoded_lines(chunk), chunk.scheme, chunk.by_sentence, chunk.first_line)
        elif isinstance(chunk, Lines):
            reader = FORMATS[self.context.fmt].reader
            records = _numbered(reader(decoded_lines(chunk), **self.context.options), chunk.first_line - 1)
        else:
            records = chunk.records
        return self.check(records, last_line(chunk))

    def check(self, records: Iterable[tuple[int, DocumentRecord]], last: int) -> Checked:
        """The records checked and packed; the first bad one ends the chunk (``Checked.error``)."""
        checked = Checked(bulk.DocumentBatch(self.context.copy), last_line=last)
        documents = []
        try:
            with self.tokenizer.batch():
                for line_no, record in records:
                    document = self.check_record(line_no, record, checked)
                    if document is not None:
                        documents.append(document)
                        checked.lines.append(line_no)
                checked.documents = bulk.pack_documents(documents, copy=self.context.copy)
        except FormatError as exc:
            checked.error = exc
        return checked

    def warn(self, checked: Checked, line_no: int, message: str) -> None:
        checked.warnings_total += 1
        if len(checked.warnings) < self.context.max_warnings:
            checked.warnings.append((line_no, message))

    def check_record(self, line_no: int, record: DocumentRecord, checked: Checked) -> bulk.NewDocument | None:
        """Check one record and give it its tokens: the document to store, None for one to skip (a blank
        text), FormatError if bad."""
        context = self.context
        if not record.text.strip() and not record.spans:
            checked.blank_skipped += 1
            self.warn(checked, line_no, "the text is empty or only whitespace; skipped")
            return None
        for message in record.warnings:
            self.warn(checked, line_no, message)
        try:
            if len(record.text) > context.max_characters:
                raise over_limit("DOCUMENT_MAX_CHARACTERS", f"the document has {len(record.text):,} characters",
                                 error=InvalidInput, value=context.max_characters)
            # What PostgreSQL or psycopg cannot store (NUL, lone surrogates) or Python cannot walk (deep meta)
            # is named here rather than fail the whole job blindly.
            check_input(record.text, "the text")
            check_input(record.meta, "meta")
            check_input([span.label for span in record.spans], "spans label")
            check_input([relation.label for relation in record.relations], "relations label")
            if context.create_labels:
                self.note_new_labels(record, checked)
            if not record.text.strip():
                raise InvalidInput("the text is only whitespace, but it has spans")
            columns = file_columns(record.tokens, record.text)  # the file's own tokens (conll, spacy, Prodigy)
            if columns is None:
                record.tokens, columns = self.tokenizer.tokenize_columns(record.text)
            if record.spans and not spans_pass(
                    record.spans, text_length=len(record.text), starts=columns.starts, ends=columns.ends,
                    visible=columns.visible(), entity_labels=self.entity_labels, allow_overlap=context.allow_overlap):
                # Not the quick case: the full check, which names what is wrong.
                check_spans([SpanIn(str(i), s.start, s.end, s.label) for i, s in enumerate(record.spans)],
                            text_length=len(record.text), tokens=Tokens.from_columns(columns),
                            entity_labels=self.entity_labels, allow_overlap=context.allow_overlap)
            if record.relations:
                check_relations([RelationIn(str(r.head), str(r.tail), r.label) for r in record.relations],
                                span_keys={str(i) for i in range(len(record.spans))},
                                relation_labels=self.relation_labels)
        except InvalidInput as exc:
            hint = " (import with create_labels=true to create it)" if exc.code == "unknown_label" else ""
            raise FormatError(line_no, exc.detail + hint) from None
        return bulk.NewDocument(text=record.text, content_hash=Document.hash_text(record.text), meta=record.meta,
                                tokens=record.tokens, spans=record.spans if record.annotated else None,
                                relations=record.relations)

    def note_new_labels(self, record: DocumentRecord, checked: Checked) -> None:
        """The labels ``record`` names that are new (``create_labels``): checked, and reported in ``checked``."""
        for names, known, kind in (({s.label for s in record.spans}, self.entity_labels, Label.Kind.ENTITY),
                                   ({r.label for r in record.relations}, self.relation_labels,
                                    Label.Kind.RELATION)):
            missing = names - known
            if not missing:
                continue
            too_long = [name for name in missing if len(name) > LABEL_NAME_MAX]
            if too_long:
                raise InvalidInput(f"label {too_long[0][:40]!r}... is longer than {LABEL_NAME_MAX} characters",
                                   code="invalid_label_name")
            for name in sorted(missing):
                check_label_fields({"name": name})
            known |= missing
            checked.new_labels.append((str(kind), sorted(missing)))


class Undecodable(FormatError):
    """A line that is not UTF-8 text, numbered from the top of the file already."""


def _numbered(records: Iterable[tuple[int, DocumentRecord]], offset: int) -> Iterator[tuple[int, DocumentRecord]]:
    """Records numbered from a chunk's top, numbered from the file's; a FormatError's line too."""
    try:
        for line_no, record in records:
            yield line_no + offset, record
    except Undecodable:
        raise
    except FormatError as exc:
        raise FormatError(exc.line + offset if exc.line else 0, exc.message) from None


def last_line(chunk: Lines | Records) -> int:
    if isinstance(chunk, Records):
        return chunk.last_line
    return chunk.first_line + chunk.data.count(b"\n") - (1 if chunk.data.endswith(b"\n") else 0)


def decoded_lines(chunk: Lines) -> list[str] | Iterator[str]:
    """The chunk's lines as text, without their line breaks: the whole chunk decoded at once; when some line
    is not UTF-8, line by line up to it, which then raises FormatError naming it."""
    encoding = "utf-8-sig" if chunk.first_line == 1 else "utf-8"  # a byte order mark can only start the file
    try:
        text = chunk.data.decode(encoding)
    except UnicodeDecodeError:
        return _lines_up_to_the_bad_one(chunk, encoding)
    lines = text.split("\n")
    if not lines[-1]:
        lines.pop()
    return lines


def _lines_up_to_the_bad_one(chunk: Lines, encoding: str) -> Iterator[str]:
    decoder = codecs.getincrementaldecoder(encoding)()
    for line_no, raw_line in enumerate(io.BytesIO(chunk.data), start=chunk.first_line):  # split as a file is
        try:
            # Final on a last line without a newline: a character cut off there is an error, not dropped.
            yield decoder.decode(raw_line, final=not raw_line.endswith(b"\n")).removesuffix("\n")
        except UnicodeDecodeError:
            raise Undecodable(line_no, "not valid UTF-8 text") from None


def cut(raw, pattern: re.Pattern, every: int, *, first_line: int = 1, block: int = 1 << 20) -> Iterator[Lines]:
    """Binary file ``raw`` from where it stands to its end, in pieces of whole lines: each ends where the
    ``every``-th match of ``pattern`` ends (a match must end after a line break), the last at the end of
    the file. Read a block at a time, so memory holds a piece and a block whatever the file's size."""
    buffer = bytearray()
    searched = 0  # the buffer is searched from here: past every match counted
    found = 0
    while True:
        data = raw.read(block)
        buffer += data
        start = 0
        for match in pattern.finditer(buffer, searched):
            found += 1
            searched = match.end()
            if found == every:
                piece = bytes(buffer[start:searched])
                yield Lines(first_line, piece)
                first_line += piece.count(b"\n")
                start, found = searched, 0
        if not data:
            break
        del buffer[:start]
        # A match may run on into the next block: the end of this one is searched again with it.
        searched = max(searched - start, len(buffer) - 64, 0)
    if len(buffer) > start:
        yield Lines(first_line, bytes(buffer[start:]))
