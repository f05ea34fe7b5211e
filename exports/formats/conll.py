"""CoNLL-2003 style NER columns: one token per line, token first and tag last.

    -DOCSTART- -X- O O

    Officials O
    met O
    in O
    Paris B-GPE
    . O

A blank line ends a sentence and ``-DOCSTART-`` starts a document. The writer
gives two columns with IOB2 (or BILUO) tags, the document's tokens (a file's
own, or the project language's tokenizer's), whitespace tokens left out.

The reader rebuilds each document's text as its tokens joined by single
spaces, sentences joined by a line break; offsets are code points into it.
The file's tokens and sentences are kept as the document's own: the writer
gives them back as they were.

- Columns: a line with a tab is split on tabs (WNUT-17's ``Paris<TAB>B-location``;
  a token holding whitespace is an error), any other on whitespace. 1 column is
  a token only; else the tag is the last column, and the ones between (the
  ``-X-`` or POS and chunk columns of CoNLL-2003) are ignored. A byte order mark
  and CRLF line ends are fine.
- Tag scheme: IOB1 (CoNLL-2003's: ``I-`` opens an entity, ``B-`` only right
  after one of the same type), IOB2 or BILUO (BIOES read as BILUO), decided for
  the whole file: the one the fewest of its tags break (ties: IOB2, BILUO,
  IOB1). A tag that breaks it is an error naming its line.
- Documents (``documents=``): ``docstart`` starts one at each ``-DOCSTART-``
  line (a file without any is one document), ``sentence`` makes every sentence
  one (``-DOCSTART-`` lines ignored), and ``auto`` (the default) is ``docstart``
  if the file has a ``-DOCSTART-`` line, else ``sentence``.
- A document whose lines have only a token column is read with
  ``annotated=False`` (stored unlabelled); any tag column makes it annotated.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache
from itertools import accumulate, compress, islice

from spacy.language import Language

from exports.formats.iob import (
    BILUO,
    IOB2,
    NAMES,
    SCHEMES,
    TagError,
    TagReader,
    choose_scheme,
    drop_overlaps,
    spans_to_tags,
    split_tag,
    tags_to_spans,
)
from exports.formats.tokens import punct_chars_of, record_columns, sentence_starts, token_ranges
from exports.records import DocumentRecord, ExportStats, FormatError, SpanRecord
from projects import token_columns

DOCSTART = "-DOCSTART-"
DOCSTART_LINE = "-DOCSTART- -X- O O"  # spacy convert --converter ner splits documents on this exact line


def write_conll(
    records: Iterable[DocumentRecord], nlp: Language, scheme: str = IOB2, stats: ExportStats | None = None
) -> Iterator[str]:
    """Yield the file document by document (each piece ends in a newline), streaming over ``records``.

    Of overlapping spans the longest (in code points) is kept, ties to the
    earliest; the others are counted in ``stats.dropped_overlaps``. ValueError
    names a span that is not on token boundaries or covers only whitespace.
    A record's stored tokens (``record.tokens``: the file's own, or packed by
    ``nlp``'s language and spaCy version) are used as they are; otherwise the
    text is tokenized.
    """
    if scheme not in (IOB2, BILUO):
        raise ValueError(f"CoNLL export writes {IOB2} or {BILUO} tags, not {scheme!r}")
    punct_chars = punct_chars_of(nlp)
    for record in records:
        yield _document_lines(record, nlp, punct_chars, scheme, stats)


def _document_lines(record: DocumentRecord, nlp: Language, punct_chars, scheme: str,
                    stats: ExportStats | None) -> str:
    """One document's lines: what ``annotated_docs`` and iterating ``doc.sents`` give,
    computed from the token columns without making a spaCy Doc (tests compare both paths)."""
    text = record.text
    columns, doc = record_columns(record, nlp)
    n = len(columns)
    spans = token_ranges(record, columns)
    kept, dropped = drop_overlaps([(s.start, s.end) for s in record.spans])
    if stats is not None:
        stats.documents += 1
        stats.dropped_overlaps += len(dropped)
    if not n:
        return DOCSTART_LINE + "\n\n"
    words = [text[i:j] for i, j in zip(columns.starts, columns.ends)]
    starts = sentence_starts(text, columns, spans, punct_chars, doc)
    # Whitespace tokens (" ", "\n\n") cannot be written, so tags are computed over
    # the visible tokens only; visible[i] counts those before token i.
    shown = columns.visible()
    if 0 not in shown:
        visible: Sequence[int] = range(n + 1)
    else:
        visible = [0, *accumulate(shown)]
        words = list(compress(words, shown))
    ents = []
    for k in kept:  # in position order, as doc.ents gives them
        span = record.spans[k]
        start, end = visible[spans[k][0]], visible[spans[k][1]]
        if start == end:
            raise ValueError(
                f"document {record.id}: span {span.start}-{span.end} {span.label} "
                f"covers only whitespace, which CoNLL cannot hold"
            )
        ents.append((start, end, span.label))
    count = len(words)
    if len(" ".join(words).split()) != count:  # a file's token with a space inside: never write a broken line
        word = next(word for word in words if len(word.split()) != 1)
        raise ValueError(f"document {record.id}: token {word!r} contains whitespace, which CoNLL cannot hold")
    if not count:
        return DOCSTART_LINE + "\n\n"
    lines = list(map("{} {}\n".format, words, spans_to_tags(ents, count, scheme)))
    firsts_of_sentences = compress(range(1, n), (start == 1 for start in islice(starts, 1, None)))
    ends = set(map(visible.__getitem__, firsts_of_sentences)) - {0, count}  # sentence ends, in visible tokens
    for end in ends:  # the blank line after a sentence goes with its last token's line (an insert per end is quadratic)
        lines[end - 1] += "\n"
    return DOCSTART_LINE + "\n\n" + "".join(lines) + "\n"


# Where a CoNLL file's documents start: at -DOCSTART- lines, at every sentence, or "auto" (the first if the
# file has any -DOCSTART- line, else the second).
DOCUMENTS = ("auto", "docstart", "sentence")

# Where a file may be cut into pieces read apart (exports.import_chunks): after a blank line, where a
# sentence (and, reading by sentence, a document) ends; before a -DOCSTART- line, where a document starts.
# Either finds only some of them (a blank line of other whitespace, an indented -DOCSTART-): a piece
# then runs on to the next one found, which is as correct.
SENTENCE_END = re.compile(rb"\n[ \t\r]*\n")
DOCUMENT_START = re.compile(rb"\n(?=-DOCSTART-[ \t\r\n])")


def read_conll(lines: Iterable[str], documents: str = "auto") -> Iterator[tuple[int, DocumentRecord]]:
    """Yield ``(line_number, record)`` per document; the number is its first token's line.

    Two passes over ``lines``: the first decides the tag scheme (and, for
    ``documents="auto"``, where documents start) from the whole file keeping
    only counts (``survey_lines``), the second yields the documents as it reads
    them (``read_documents``). ``lines`` must therefore be re-iterable (a list,
    or an object whose ``__iter__`` starts again from the top); a one-shot
    iterator is read into a list first. FormatError names the first line in the
    file that is wrong: a bad column or tag, or the first tag that breaks the
    scheme the file reads as. ValueError (at once) for a ``documents`` not in
    ``DOCUMENTS``.
    """
    if documents not in DOCUMENTS:
        raise ValueError(f"documents must be one of {', '.join(DOCUMENTS)}, not {documents!r}")
    if iter(lines) is lines:
        lines = list(lines)
    return _read(lines, documents)


def _read(lines: Iterable[str], documents: str) -> Iterator[tuple[int, DocumentRecord]]:
    survey = survey_lines(lines)
    scheme = survey.finish()  # raises for the file's first wrong line
    yield from read_documents(lines, scheme, survey.by_sentence(documents))


def read_documents(lines: Iterable[str], scheme: str, by_sentence: bool, first_line: int = 1
                   ) -> Iterator[tuple[int, DocumentRecord]]:
    """The second pass: ``(line number, record)`` per document of ``lines`` (numbered from
    ``first_line``), read with ``scheme``, a document per sentence when ``by_sentence`` else per
    ``-DOCSTART-``. The survey of the whole file found every line fit, so lines are not checked again.
    Lines may start anywhere a document starts (after ``SENTENCE_END`` by sentence, at
    ``DOCUMENT_START`` else) and end where one ends (either, or the end of the file)."""
    sentences: list[Sentence] = []
    tokens: list[str] = []
    tags: list[str | None] = []
    first = 0  # the line of the sentence's first token
    for line_no, line in enumerate(lines, start=first_line):
        columns = line.split()
        if columns and line_no != 1 and "\t" not in line:  # most lines: columns split on spaces
            token = columns[0]
            parsed = (token, columns[-1] if len(columns) > 1 else None) if token != DOCSTART else (DOCSTART, None)
        else:
            parsed = _columns(line_no, line)
        if parsed is not None and parsed[0] != DOCSTART:
            if not tokens:
                first = line_no
            tokens.append(parsed[0])
            tags.append(parsed[1])
            continue
        if tokens:
            sentences.append((first, tokens, tags))
            tokens, tags = [], []
        if sentences and (by_sentence or parsed is not None):  # or at a -DOCSTART- line, which ends the one before
            yield sentences[0][0], _document(sentences, scheme)
            sentences = []
    if tokens:
        sentences.append((first, tokens, tags))
    if sentences:
        yield sentences[0][0], _document(sentences, scheme)


def _columns(line_no: int, line: str) -> tuple[str, str | None] | None:
    """``(token, tag)`` of a token line (tag None with one column), ``(DOCSTART, None)``, or None for a blank line.

    A line with a tab is split on tabs, and its token must then hold no
    whitespace (around it is ignored); any other line is split on whitespace.
    The tag is the last column; the ones between (CoNLL-2003's POS and chunk
    tags) are ignored.
    """
    if line_no == 1:
        line = line.lstrip("\ufeff")
    if not line.strip():
        return None
    if "\t" in line:
        columns = line.rstrip("\r\n").split("\t")
        token, tag = columns[0].strip(), columns[-1].strip()
        if not token:
            raise FormatError(line_no, "the token (first) column is empty")
        if len(token.split()) > 1:
            raise FormatError(line_no, f"the token {token!r} holds whitespace, which a document's text (tokens "
                                       f"joined by single spaces) and a CoNLL export cannot keep: split it into "
                                       f"tokens, one per line")
    else:
        columns = line.split()
        token, tag = columns[0], columns[-1]
    if token == DOCSTART:
        return DOCSTART, None
    if len(columns) == 1:
        return token, None
    try:
        split_tag(tag)
    except ValueError as exc:
        raise FormatError(line_no, f"{exc}; the last column must be the entity tag") from None
    return token, tag


def survey_lines(lines: Iterable[str], first_line: int = 1) -> Survey:
    """The first pass over ``lines`` (numbered from ``first_line``): the counts ``Survey.finish`` decides from.
    Lines that start and end where sentences do (``SENTENCE_END``) may be surveyed apart and the
    surveys merged in order (``Survey.merge``): the same as one survey of them all."""
    survey = Survey()
    survey.read(lines, first_line)
    return survey


class Survey:
    """The first pass: counts over the whole file, and its first wrong line.

    Each token line's tag (O on a line without one) is held against every
    scheme as ``TagReader`` reads it: whether a tag breaks a scheme depends only
    on the tag before it in the sentence (a reader's state after a tag is that
    tag's entity, open or not), so each pair of tags is read once
    (``_pair_problems``) and a file of millions of tags costs a lookup per line.
    ``finish`` chooses the scheme the fewest tags break.
    """

    def __init__(self):
        self.docstarts = 0
        self.tokens = 0
        self.problems = dict.fromkeys(SCHEMES, 0)
        self.first_problem: dict[str, tuple[int, str]] = {}  # scheme -> (line, what breaks it)
        self.first_error: FormatError | None = None  # the first line wrong whatever the scheme

    def read(self, lines: Iterable[str], first_line: int = 1) -> None:
        before, tag = None, None  # the sentence's last two tags (None before its start)
        last_line = 0
        tokens = 0
        for line_no, line in enumerate(lines, start=first_line):
            try:
                columns = line.split()
                if columns and line_no != 1 and "\t" not in line and columns[0] != DOCSTART:  # most lines
                    parsed = (columns[0], columns[-1] if len(columns) > 1 else None)
                else:
                    parsed = _columns(line_no, line)
                if parsed is not None and parsed[0] != DOCSTART:
                    problems = _pair_problems(tag, parsed[1] or "O")
            except (FormatError, ValueError) as exc:
                if not isinstance(exc, FormatError):  # a tag of no scheme: _columns's message
                    exc = FormatError(line_no, f"{exc}; the last column must be the entity tag")
                self.first_error = self.first_error or exc
                parsed = ("?", None)  # read on as a token without a tag, to find any earlier scheme problem
                problems = _pair_problems(tag, "O")
            if parsed is None or parsed[0] == DOCSTART:
                if parsed is not None:
                    self.docstarts += 1
                if tag is not None:
                    self._end_sentence(before, tag, last_line)
                    before, tag = None, None
                continue
            tokens += 1
            last_line = line_no
            before, tag = tag, parsed[1] or "O"
            if problems is not None:
                for scheme, problem in zip(SCHEMES, problems):
                    if problem:
                        self.problem(scheme, line_no, problem)
        if tag is not None:
            self._end_sentence(before, tag, last_line)
        self.tokens += tokens

    def _end_sentence(self, before: str | None, last: str, line_no: int) -> None:
        problems = _end_problems(before, last)
        if problems is not None:
            for scheme, problem in zip(SCHEMES, problems):
                if problem:
                    self.problem(scheme, line_no, problem)

    def problem(self, scheme: str, line_no: int, message: str) -> None:
        self.problems[scheme] += 1
        self.first_problem.setdefault(scheme, (line_no, message))

    def merge(self, later: Survey) -> None:
        """Add the survey of the lines that follow this one's."""
        self.docstarts += later.docstarts
        self.tokens += later.tokens
        for scheme in SCHEMES:
            self.problems[scheme] += later.problems[scheme]
            if scheme in later.first_problem:
                self.first_problem.setdefault(scheme, later.first_problem[scheme])
        self.first_error = self.first_error or later.first_error

    def by_sentence(self, documents: str) -> bool:
        """Whether a file of this survey read with option ``documents`` has a document per sentence."""
        return documents == "sentence" or (documents == "auto" and not self.docstarts)

    def finish(self) -> str:
        """The file's scheme; FormatError for its first wrong line, a bad column or a tag that breaks the scheme."""
        scheme = choose_scheme(self.problems)
        errors = [self.first_error] if self.first_error else []
        if scheme in self.first_problem:
            line_no, message = self.first_problem[scheme]
            bad = self.problems[scheme]
            others = ", as ".join(f"{NAMES[other]} {self.problems[other]:,}" for other in SCHEMES if other != scheme)
            errors.append(FormatError(line_no, (
                f"{message}; the file reads as {NAMES[scheme]} ({self.tokens - bad:,} tags fit it, {bad:,} "
                f"{'does' if bad == 1 else 'do'} not; as {others} would not)")))
        if errors:
            raise min(errors, key=lambda error: error.line)
        return scheme


@lru_cache(maxsize=4096)
def _pair_problems(before: str | None, tag: str) -> tuple[str | None, ...] | None:
    """What ``tag`` breaks in each of ``SCHEMES`` after ``before`` in a sentence (None: the sentence's first);
    None when it breaks none. ValueError (``split_tag``'s) for a tag of no scheme."""
    readers = [TagReader(scheme, keep_spans=False) for scheme in SCHEMES]
    if before is not None:
        for reader in readers:
            reader.read(before)
    problems = tuple(reader.read(tag) for reader in readers)
    return problems if any(problems) else None


@lru_cache(maxsize=4096)
def _end_problems(before: str | None, last: str) -> tuple[str | None, ...] | None:
    """What a sentence's end after tags ``before`` and ``last`` breaks in each of ``SCHEMES`` (a BILUO
    entity left open; not when ``last`` already broke it), or None."""
    readers = [TagReader(scheme, keep_spans=False) for scheme in SCHEMES]
    for reader in readers:
        if before is not None:
            reader.read(before)
        reader.read(last)
    problems = tuple(reader.end_sentence() for reader in readers)
    return problems if any(problems) else None


Sentence = tuple[int, list[str], list[str | None]]  # (its first line, its tokens, their tags: None without one)


def _document(sentences: list[Sentence], scheme: str) -> DocumentRecord:
    """The record of one document's sentences.

    Its text is the tokens joined by single spaces, sentences by a line break;
    its tokens and sentences are the file's (``token_columns.pack_sentences``); a
    document none of whose lines has a tag is not annotated.
    """
    annotated = any(tags.count(None) != len(tags) for _, _, tags in sentences)
    text, packed, starts = token_columns.pack_sentences([tokens for _, tokens, _ in sentences])
    spans: list[SpanRecord] = []
    if annotated:
        at = 0  # the sentence's first token among the document's
        for first_line, tokens, tags in sentences:
            if tags.count("O") + tags.count(None) != len(tags):  # it has an entity
                for start, end, label in _entities(first_line, tags, scheme):
                    spans.append(SpanRecord(starts[at + start], starts[at + end - 1] + len(tokens[end - 1]), label))
            at += len(tokens)
    return DocumentRecord(text=text, spans=spans, annotated=annotated, tokens=packed)


def _entities(first_line: int, tags: list[str | None], scheme: str) -> list[tuple[int, int, str]]:
    """The entities of one sentence's tags (token ranges), reading only its entity tags: each run of O is
    read as one O, which means the same to every scheme (it closes any open entity)."""
    shown: list[str] = []
    where: list[int] = []  # the token index of each tag shown
    for i, tag in enumerate(tags):
        if tag is not None and tag != "O":
            if where and where[-1] != i - 1:
                shown.append("O")
                where.append(i - 1)
            shown.append(tag)
            where.append(i)
    try:
        found = tags_to_spans(shown, scheme)
    except TagError as exc:  # the first pass saw every tag fit the scheme: only a file changed under us
        raise FormatError(first_line + where[exc.index], f"{exc.message} (the file reads as {NAMES[scheme]})") \
            from None
    return [(where[start], where[end - 1] + 1, label) for start, end, label in found]
