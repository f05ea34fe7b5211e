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

from collections.abc import Iterable, Iterator, Sequence
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

Triple = tuple[int, str, str | None]  # (line number, token, tag); the tag is None on a line with only a token


def read_conll(lines: Iterable[str], documents: str = "auto") -> Iterator[tuple[int, DocumentRecord]]:
    """Yield ``(line_number, record)`` per document; the number is its first token's line.

    Two passes over ``lines``: the first decides the tag scheme (and, for
    ``documents="auto"``, where documents start) from the whole file keeping
    only counts, the second yields the documents as it reads them. ``lines``
    must therefore be re-iterable (a list, or an object whose ``__iter__``
    starts again from the top); a one-shot iterator is read into a list first.
    FormatError names the first line in the file that is wrong: a bad column or
    tag, or the first tag that breaks the scheme the file reads as. ValueError
    (at once) for a ``documents`` not in ``DOCUMENTS``.
    """
    if documents not in DOCUMENTS:
        raise ValueError(f"documents must be one of {', '.join(DOCUMENTS)}, not {documents!r}")
    if iter(lines) is lines:
        lines = list(lines)
    return _read(lines, documents)


def _read(lines: Iterable[str], documents: str) -> Iterator[tuple[int, DocumentRecord]]:
    survey = _Survey()
    for line_no, line in enumerate(lines, start=1):
        survey.line(line_no, line)
    scheme = survey.finish()  # raises for the file's first wrong line
    by_sentence = documents == "sentence" or (documents == "auto" and not survey.docstarts)
    sentences: list[list[Triple]] = []
    sentence: list[Triple] = []
    for line_no, line in enumerate(lines, start=1):
        parsed = _columns(line_no, line)
        if parsed is not None and parsed[0] != DOCSTART:
            sentence.append((line_no, *parsed))
            continue
        if sentence:
            sentences.append(sentence)
            sentence = []
        if sentences and (by_sentence or parsed is not None):  # or at a -DOCSTART- line, which ends the one before
            yield sentences[0][0][0], _document(sentences, scheme)
            sentences = []
    if sentence:
        sentences.append(sentence)
    if sentences:
        yield sentences[0][0][0], _document(sentences, scheme)


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


class _Survey:
    """The first pass: counts over the whole file, and its first wrong line.

    Each token line's tag (O on a line without one) is read by a ``TagReader``
    per scheme, which counts the tags that break it; ``finish`` chooses the
    scheme the fewest break.
    """

    def __init__(self):
        self.docstarts = 0
        self.tokens = 0
        self.readers = [TagReader(scheme, keep_spans=False) for scheme in SCHEMES]
        self.problems = dict.fromkeys(SCHEMES, 0)
        self.first_problem: dict[str, tuple[int, str]] = {}  # scheme -> (line, what breaks it)
        self.first_error: FormatError | None = None  # the first line wrong whatever the scheme
        self.last_token_line = 0
        self.in_sentence = False

    def line(self, line_no: int, line: str) -> None:
        try:
            parsed = _columns(line_no, line)
        except FormatError as exc:
            self.first_error = self.first_error or exc
            parsed = ("?", None)  # read on as a token without a tag, to find any earlier scheme problem
        if parsed is None or parsed[0] == DOCSTART:
            if parsed is not None:
                self.docstarts += 1
            self.end_sentence()
            return
        tag = parsed[1] or "O"
        prefix, label = split_tag(tag)
        self.tokens += 1
        self.in_sentence = True
        self.last_token_line = line_no
        for reader in self.readers:
            if problem := reader.read_split(tag, prefix, label):
                self.problem(reader.scheme, line_no, problem)

    def end_sentence(self) -> None:
        if self.in_sentence:
            for reader in self.readers:
                if problem := reader.end_sentence():
                    self.problem(reader.scheme, self.last_token_line, problem)
            self.in_sentence = False

    def problem(self, scheme: str, line_no: int, message: str) -> None:
        self.problems[scheme] += 1
        self.first_problem.setdefault(scheme, (line_no, message))

    def finish(self) -> str:
        """The file's scheme; FormatError for its first wrong line, a bad column or a tag that breaks the scheme."""
        self.end_sentence()
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


def _document(sentences: list[list[Triple]], scheme: str) -> DocumentRecord:
    """The record of one document's sentences of ``(line number, token, tag)``.

    Its text is the tokens joined by single spaces, sentences by a line break;
    its tokens and sentences are the file's (``token_columns.pack_words``); a
    document none of whose lines has a tag is not annotated.
    """
    annotated = any(tag is not None for sentence in sentences for _, _, tag in sentence)
    parts: list[str] = []
    spans: list[SpanRecord] = []
    offsets: list[tuple[int, int]] = []
    sentence_starts: list[int] = []
    offset = 0
    for sentence in sentences:
        starts = []
        for n, (_, token, _) in enumerate(sentence):
            starts.append(offset)
            offsets.append((offset, offset + len(token)))
            sentence_starts.append(1 if n == 0 else -1)
            offset += len(token) + 1  # the space (or, after the last token, the line break)
        if annotated:
            try:
                found = tags_to_spans([tag or "O" for _, _, tag in sentence], scheme)
            except TagError as exc:  # the first pass saw every tag fit the scheme: only a file changed under us
                raise FormatError(sentence[exc.index][0], f"{exc.message} (the file reads as {NAMES[scheme]})") \
                    from None
            for start, end, label in found:
                spans.append(SpanRecord(starts[start], starts[end - 1] + len(sentence[end - 1][1]), label))
        parts.append(" ".join(token for _, token, _ in sentence))
    text = "\n".join(parts)
    return DocumentRecord(text=text, spans=spans, annotated=annotated,
                          tokens=token_columns.pack_words(text, offsets, sentence_starts))
