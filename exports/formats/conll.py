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

from collections.abc import Iterable, Iterator, Sequence
from itertools import accumulate, compress, islice

from spacy.language import Language

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
from exports.formats.tokens import punct_chars_of, record_columns, sentence_starts, token_ranges
from exports.records import DocumentRecord, ExportStats, FormatError, SpanRecord

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
