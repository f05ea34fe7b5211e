"""A record's tokens and sentences, for the writers that need them (CoNLL, DocBin) and for training.

    record.tokens   the stored tokens: the file's own (``token_columns.pack_words``) or the
                    project tokenizer's (``token_columns.pack``); None: tokenize the text
    sentences       the file's, when it gave them; else spaCy's Sentencizer rule over the
                    tokens plus a start after every line break; never one inside a span

Everything here works on the Doc's arrays and plain lists, never a spaCy Token
per token: setting ``token.is_sent_start`` makes spaCy scan the whole document
each time, which made one 60,000-token document take 20 s to export.
Offsets are code points, end exclusive.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence

import numpy
from spacy.attrs import SENT_START
from spacy.language import Language
from spacy.pipeline import Sentencizer
from spacy.tokens import Doc

from exports.records import DocumentRecord
from projects import token_columns
from projects.token_columns import TokenColumns


def punct_chars_of(nlp: Language):
    """The characters that end a sentence for ``nlp``'s sentencizer (spaCy's default without one)."""
    sentencizer = nlp.get_pipe("sentencizer") if "sentencizer" in nlp.pipe_names else Sentencizer()
    return sentencizer.punct_chars


def record_columns(record: DocumentRecord, nlp: Language) -> tuple[TokenColumns, Doc | None]:
    """The record's tokens: its stored ones (``nlp``'s language and spaCy version, or the file's),
    else ``nlp``'s tokenizer's, with the Doc it made (None when the stored ones were used)."""
    columns = token_columns.unpack(record.tokens, token_columns.tokenizer_key(nlp.lang), record.text)
    if columns is not None:
        return columns, None
    doc = nlp.make_doc(record.text)
    return token_columns.columns_of(doc), doc


def record_doc(record: DocumentRecord, nlp: Language) -> tuple[Doc, TokenColumns]:
    """A Doc of the record's text with its tokens (and the file's sentence starts), and the columns."""
    columns, doc = record_columns(record, nlp)
    if doc is None:
        doc = token_columns.doc_of(nlp.vocab, record.text, columns) if columns.from_file \
            else nlp.make_doc(record.text)  # the same tokens; the tokenizer makes them as fast as Doc(words)
    return doc, columns


def token_ranges(record: DocumentRecord, columns: TokenColumns) -> list[tuple[int, int]]:
    """``(first token, end token)`` of each span, what ``doc.char_span(..., alignment_mode="strict")``
    finds, by bisection; ValueError naming a span that does not start and end on token boundaries
    (never snapped to the nearest tokens: that would silently change the annotation)."""
    firsts, lasts = columns.starts, columns.ends
    ranges = []
    for i, span in enumerate(record.spans):
        first = bisect_left(firsts, span.start)
        last = bisect_left(lasts, span.end)
        if not (0 <= span.start < span.end <= len(record.text) and first < len(firsts) and firsts[first] == span.start
                and last < len(lasts) and lasts[last] == span.end):
            raise ValueError(
                f"document {record.id}: span {i} {span.start}-{span.end} {span.label} "
                f"({record.text[span.start:span.end]!r}) does not start and end on token boundaries"
            )
        ranges.append((first, last + 1))
    return ranges


def sentencizer_starts(words: list[str], puncts: Sequence[int], punct_chars) -> list[bool]:
    """The Sentencizer's starts over token texts and IS_PUNCT flags: token 0, and after a
    token in ``punct_chars`` the first that is neither punctuation nor in ``punct_chars``."""
    n = len(words)
    starts = [False] * n
    if n:
        starts[0] = True
    after = 0
    for i in [i for i, word in enumerate(words) if word in punct_chars]:
        if i < after:
            continue
        after = i + 1
        while after < n and (puncts[after] or words[after] in punct_chars):
            after += 1
        if after < n:
            starts[after] = True
    return starts


def sentence_starts(text: str, columns: TokenColumns, ranges: Sequence[tuple[int, int]], punct_chars,
                    doc: Doc | None = None, *, guess: bool = True) -> list[int] | None:
    """Per token spaCy's SENT_START value (1 starts a sentence, -1 does not).

    The file's sentences when it gave them. Otherwise, with ``guess``: what the
    Sentencizer sets (keeping any start the tokenizer set on ``doc``), then a
    line break ends a sentence (text rebuilt from CoNLL keeps its sentences);
    without ``guess``: None (a file's tokens that came without sentences keep none).
    Either way no sentence starts inside a span (``ranges``, token ranges): an
    entity must stay in one sentence ("Yahoo! Inc").
    """
    n = len(columns)
    starts = columns.sentence_starts()
    if starts is None:
        if not guess:
            return None
        words = [text[i:j] for i, j in zip(columns.starts, columns.ends)]
        starts = [1 if start else -1 for start in sentencizer_starts(words, columns.punct(), punct_chars)]
        if doc is not None and doc.has_annotation("SENT_START"):  # the tokenizer set some; the sentencizer keeps them
            for i, value in enumerate(doc.to_array(SENT_START).astype("int64").tolist()):
                if value:
                    starts[i] = value
        if "\n" in text:
            for i in range(n - 1):
                if columns.flags[i] & token_columns.SPACE and "\n" in words[i]:
                    if i > 0:
                        starts[i] = -1
                    starts[i + 1] = 1
    for first, end in ranges:
        for i in range(first + 1, end):
            starts[i] = -1
    return starts


def set_sentence_starts(doc: Doc, starts: list[int]) -> None:
    """``doc``'s SENT_START from spaCy's values, in one array write."""
    doc.from_array([SENT_START], numpy.asarray(starts, dtype="int64").astype("uint64"))
