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

from collections.abc import Iterable, Iterator

from spacy.language import Language

from exports.formats.iob import BILUO, IOB2, TagError, detect_scheme, spans_to_tags, split_tag, tags_to_spans
from exports.formats.spacy_docbin import annotated_docs
from exports.records import DocumentRecord, ExportStats, FormatError, SpanRecord

DOCSTART = "-DOCSTART-"
DOCSTART_LINE = "-DOCSTART- -X- O O"  # spacy convert --converter ner splits documents on this exact line


def write_conll(
    records: Iterable[DocumentRecord], nlp: Language, scheme: str = IOB2, stats: ExportStats | None = None
) -> Iterator[str]:
    """Yield the file line by line (each ending in a newline), streaming over ``records``.

    Of overlapping spans the longest (in code points) is kept, ties to the
    earliest; the others are counted in ``stats.dropped_overlaps``. ValueError
    names a span that is not on token boundaries or covers only whitespace.
    """
    if scheme not in (IOB2, BILUO):
        raise ValueError(f"CoNLL export writes {IOB2} or {BILUO} tags, not {scheme!r}")
    for record, doc, _spans in annotated_docs(records, nlp, stats):
        # Whitespace tokens (" ", "\n\n") cannot be written, so tags are
        # computed over the visible tokens only; visible[i] counts those before token i.
        visible = [0]
        for token in doc:
            visible.append(visible[-1] + (not token.text.isspace()))
        ents = []
        for span in doc.ents:
            start, end = visible[span.start], visible[span.end]
            if start == end:
                raise ValueError(
                    f"document {record.id}: span {span.start_char}-{span.end_char} {span.label_} "
                    f"covers only whitespace, which CoNLL cannot hold"
                )
            ents.append((start, end, span.label_))
        tags = spans_to_tags(ents, visible[-1], scheme)
        yield DOCSTART_LINE + "\n"
        yield "\n"
        for sentence in doc.sents:
            lines = 0
            for token in sentence:
                text = token.text
                if text.isspace():
                    continue
                if len(text.split()) != 1:  # cannot happen with spaCy's tokenizers; never write a broken line
                    raise ValueError(f"document {record.id}: token {text!r} contains whitespace")
                yield f"{text} {tags[visible[token.i]]}\n"
                lines += 1
            if lines:
                yield "\n"


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
