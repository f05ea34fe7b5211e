"""CoNLL-2003 style NER columns: one token per line, token first and tag last.

    -DOCSTART- -X- O O

    Officials O
    met O
    in O
    Paris B-GPE
    . O

A blank line ends a sentence and ``-DOCSTART-`` starts a document. The writer
gives two columns with IOB2 (or BILUO) tags, tokens from the project
language's tokenizer, whitespace tokens left out. The reader takes 1 to any
number of columns (1 column: token only, all O), IOB1, IOB2 or BILUO tags
(decided per document) and rebuilds the text as the tokens joined by single
spaces, sentences joined by a line break; offsets are code points into it.
Without any ``-DOCSTART-`` line the whole file is one document.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from itertools import accumulate, compress, islice

from spacy.attrs import SENT_START
from spacy.language import Language
from spacy.pipeline import Sentencizer

from exports.formats.iob import (
    BILUO,
    IOB2,
    TagError,
    detect_scheme,
    drop_overlaps,
    spans_to_tags,
    split_tag,
    tags_to_spans,
)
from exports.formats.spacy_docbin import _align, sentencizer_starts
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
    A record's stored tokens (``record.tokens``, packed by ``nlp``'s language and
    spaCy version) are used as they are; otherwise the text is tokenized.
    """
    if scheme not in (IOB2, BILUO):
        raise ValueError(f"CoNLL export writes {IOB2} or {BILUO} tags, not {scheme!r}")
    sentencizer = nlp.get_pipe("sentencizer") if "sentencizer" in nlp.pipe_names else Sentencizer()
    punct_chars = sentencizer.punct_chars
    key = token_columns.tokenizer_key(nlp.lang)
    for record in records:
        yield _document_lines(record, nlp, key, punct_chars, scheme, stats)


def _document_lines(
    record: DocumentRecord, nlp: Language, key: str, punct_chars, scheme: str, stats: ExportStats | None
) -> str:
    """One document's lines: what ``annotated_docs`` and iterating ``doc.sents`` give,
    computed from the Doc's arrays without making a spaCy Token per token.

    The sentence starts are the Sentencizer's rule (a token that is neither
    punctuation nor in ``punct_chars`` after one in ``punct_chars``) plus the
    rules of ``spacy_docbin._fix_sentences``; tests compare both paths.
    """
    text = record.text
    doc = None
    columns = token_columns.unpack(record.tokens, key, text)
    if columns is None:
        doc = nlp.make_doc(text)
        columns = token_columns.columns_of(doc)
    n = len(columns)
    firsts, lasts, flags = columns.starts, columns.ends, columns.flags
    spans = [_token_range(record, i, firsts, lasts, nlp) for i in range(len(record.spans))]
    kept, dropped = drop_overlaps([(s.start, s.end) for s in record.spans])
    if stats is not None:
        stats.documents += 1
        stats.dropped_overlaps += len(dropped)
    if not n:
        return DOCSTART_LINE + "\n\n"
    words = [text[i:j] for i, j in zip(firsts, lasts)]
    starts = sentencizer_starts(words, columns.punct(), punct_chars)  # starts[i]: token i begins a sentence
    if doc is not None and doc.has_annotation("SENT_START"):  # the tokenizer set some; the sentencizer keeps them
        for i, value in enumerate(doc.to_array(SENT_START).tolist()):
            if value:
                starts[i] = value == 1
    if "\n" in text:  # a line break ends a sentence
        for i in range(n - 1):
            if flags[i] & token_columns.SPACE and "\n" in words[i]:
                if i > 0:
                    starts[i] = False
                starts[i + 1] = True
    for first, end in spans:  # never a sentence start inside a span
        for i in range(first + 1, end):
            starts[i] = False
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
    if len(" ".join(words).split()) != count:  # cannot happen with spaCy's tokenizers; never write a broken line
        word = next(word for word in words if len(word.split()) != 1)
        raise ValueError(f"document {record.id}: token {word!r} contains whitespace")
    if not count:
        return DOCSTART_LINE + "\n\n"
    lines = list(map("{} {}\n".format, words, spans_to_tags(ents, count, scheme)))
    firsts_of_sentences = compress(range(1, n), islice(starts, 1, None))
    ends = set(map(visible.__getitem__, firsts_of_sentences)) - {0, count}  # sentence ends, in visible tokens
    for end in sorted(ends, reverse=True):
        lines.insert(end, "\n")
    return DOCSTART_LINE + "\n\n" + "".join(lines) + "\n"


def _token_range(record: DocumentRecord, i: int, firsts: list[int], lasts: list[int], nlp: Language) -> tuple[int, int]:
    """``(first token, end token)`` of span ``i``: what ``doc.char_span(..., alignment_mode="strict")``
    finds, by bisection over the tokens' start and end offsets; ``_align``'s ValueError if none."""
    span = record.spans[i]
    first = bisect_left(firsts, span.start)
    last = bisect_left(lasts, span.end)
    if (0 <= span.start < span.end <= len(record.text) and first < len(firsts) and firsts[first] == span.start
            and last < len(lasts) and lasts[last] == span.end):
        return first, last + 1
    _align(nlp.make_doc(record.text), record, i)  # raises, naming the span
    raise AssertionError("unreachable: strict char_span found a span that bisection did not")


def read_conll(lines: Iterable[str]) -> Iterator[tuple[int, DocumentRecord]]:
    """Yield ``(line_number, record)`` per document; the number is its first token's line."""
    sentences: list[list[tuple[int, str, str]]] = []  # (line number, token, tag)
    sentence: list[tuple[int, str, str]] = []
    for line_no, line in enumerate(lines, start=1):
        columns = (line.lstrip("\ufeff") if line_no == 1 else line).split()
        if columns and columns[0] != DOCSTART:
            tag = columns[-1] if len(columns) > 1 else "O"
            try:
                split_tag(tag)
            except ValueError as exc:
                raise FormatError(line_no, f"{exc}; the last column must be the entity tag") from None
            sentence.append((line_no, columns[0], tag))
            continue
        if sentence:
            sentences.append(sentence)
            sentence = []
        if columns and sentences:  # -DOCSTART- ends the document before it
            yield sentences[0][0][0], _document(sentences)
            sentences = []
    if sentence:
        sentences.append(sentence)
    if sentences:
        yield sentences[0][0][0], _document(sentences)


def _document(sentences: list[list[tuple[int, str, str]]]) -> DocumentRecord:
    scheme = detect_scheme([tag for _, _, tag in sentence] for sentence in sentences)
    parts: list[str] = []
    spans: list[SpanRecord] = []
    offset = 0
    for sentence in sentences:
        starts = []
        for _, token, _ in sentence:
            starts.append(offset)
            offset += len(token) + 1  # the space (or, after the last token, the line break)
        try:
            found = tags_to_spans([tag for _, _, tag in sentence], scheme)
        except TagError as exc:
            raise FormatError(sentence[exc.index][0], f"{exc.message} ({scheme.upper()} document)") from None
        for start, end, label in found:
            spans.append(SpanRecord(starts[start], starts[end - 1] + len(sentence[end - 1][1]), label))
        parts.append(" ".join(token for _, token, _ in sentence))
    return DocumentRecord(text="\n".join(parts), spans=spans)
