"""A document's tokens, packed to be stored with it.

A document's text never changes, so it is tokenized once, when it is stored,
and exports and pages read the tokens back instead of running the tokenizer
again (for a CoNLL export that was most of the work). The packed form:

    b"en/3.8.18\\n" + starts + lengths + flags

``starts`` and ``lengths`` are little-endian unsigned integers, 2 bytes each
when the text is shorter than 65,536 code points, else 4; ``flags`` is one
byte per token (``SPACY``: a space follows it, ``PUNCT``: spaCy's IS_PUNCT,
``SPACE``: a whitespace token, ``STARTS_SENTENCE`` / ``INSIDE_SENTENCE``: spaCy's
SENT_START 1 / -1, neither for unknown). The header names the language and
the spaCy version that tokenized: tokens packed by another one are ignored
(``unpack`` gives None) and the caller tokenizes as before, so a spaCy upgrade
or a project's new language never serves stale tokens.

Tokens that a file gave (a CoNLL file, a DocBin, Prodigy's ``tokens``) are
packed under ``FILE_KEY`` instead, with the file's sentence starts: no
tokenizer made them, so no spaCy version or language makes them stale, and
they are the document's tokens for good (``pack_words``).

Pure: no Django, so format writers can use it on plain records.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate
from operator import add

import numpy
import spacy
from spacy.attrs import IDX, IS_PUNCT, IS_SPACE, LENGTH, SENT_START, SPACY
from spacy.lang.lex_attrs import is_punct
from spacy.tokens import Doc
from spacy.vocab import Vocab

SPACY_AFTER, PUNCT, SPACE, STARTS_SENTENCE, INSIDE_SENTENCE = 1, 2, 4, 8, 16
FILE_KEY = "file"  # the header of tokens a file gave; never a tokenizer key ("en/3.8.18")
_ATTRS = [IDX, LENGTH, SPACY, IS_PUNCT, IS_SPACE]
_ATTRS_AND_SENT_START = [*_ATTRS, SENT_START]


@dataclass(frozen=True, slots=True)
class TokenColumns:
    """Per token (whitespace tokens included): start and end offset (code points) and a byte of flags."""

    starts: list[int]
    ends: list[int]
    flags: bytes
    from_file: bool = False  # the file's own tokens (FILE_KEY), not a tokenizer's

    def __len__(self) -> int:
        return len(self.starts)

    def sentence_starts(self) -> list[int] | None:
        """Per token spaCy's SENT_START value (1 starts a sentence, -1 does not, 0 unknown);
        None when no token says (tokenizers' tokens, and files without sentences)."""
        if not any(self.flags.translate(_SENT_BITS)):
            return None
        return [_SENT_VALUES[flag] for flag in self.flags.translate(_SENT_BITS)]

    def punct(self) -> bytes:
        """Per token, 1 where IS_PUNCT."""
        return self.flags.translate(_PUNCT_BIT)

    def visible(self) -> bytes:
        """Per token, 1 where it is not whitespace."""
        return self.flags.translate(_NOT_SPACE_BIT)

    def spaced(self) -> bytes:
        """Per token, 1 where one space follows it (spaCy's SPACY)."""
        return self.flags.translate(_SPACY_AFTER_BIT)


_PUNCT_BIT = bytes(int(bool(flag & PUNCT)) for flag in range(256))
_NOT_SPACE_BIT = bytes(int(not flag & SPACE) for flag in range(256))
_SPACY_AFTER_BIT = bytes(int(bool(flag & SPACY_AFTER)) for flag in range(256))
_SENT_BITS = bytes(flag & (STARTS_SENTENCE | INSIDE_SENTENCE) for flag in range(256))
_SENT_VALUES = {0: 0, STARTS_SENTENCE: 1, INSIDE_SENTENCE: -1, STARTS_SENTENCE | INSIDE_SENTENCE: 1}


def tokenizer_key(language: str) -> str:
    return f"{language}/{spacy.__version__}"


def columns_of(doc: Doc) -> TokenColumns:
    columns = doc.to_array(_ATTRS)
    starts = columns[:, 0]
    flags = columns[:, 2] | (columns[:, 3] << 1) | (columns[:, 4] << 2)
    return TokenColumns(starts.tolist(), (starts + columns[:, 1]).tolist(), flags.astype("u1").tobytes())


def pack(doc: Doc, key: str) -> bytes | None:
    """``doc``'s tokens packed under ``key`` (see ``tokenizer_key``); None if the tokenizer also set
    sentence starts, which the packed form does not keep (then readers tokenize again)."""
    return pack_with_columns(doc, key)[0]


def pack_with_columns(doc: Doc, key: str) -> tuple[bytes | None, TokenColumns]:
    """``pack(doc, key)`` and ``columns_of(doc)``, from one read of the Doc's arrays."""
    columns = doc.to_array(_ATTRS_AND_SENT_START)
    starts = columns[:, 0]
    flags = (columns[:, 2] | (columns[:, 3] << 1) | (columns[:, 4] << 2)).astype("u1")
    ends = starts + columns[:, 1]
    found = TokenColumns(starts.tolist(), ends.tolist(), flags.tobytes())
    if columns[1:, 5].any():  # a sentence start the tokenizer set (the first token always starts one)
        return None, found
    # The text's length from the last token (its end, and a trailing space): ``doc.text`` would make a
    # Token per token to join their texts, which was a third of an import's tokenizing.
    length = int(ends[-1] + columns[-1, 2]) if len(columns) else 0
    width = "<u2" if length < 65536 else "<u4"
    return b"".join((key.encode("ascii"), b"\n", starts.astype(width).tobytes(),
                     columns[:, 1].astype(width).tobytes(), flags.tobytes())), found


def unpack(data: bytes | memoryview | None, key: str, text: str) -> TokenColumns | None:
    """The columns packed in ``data`` for ``text``, or None when there are none or another
    tokenizer (language, spaCy version) packed them."""
    window = unpack_window(data, key, text)
    return None if window is None else window[1]


def unpack_window(data: bytes | memoryview | None, key: str, text: str, offset: int = 0,
                  limit: int | None = None) -> tuple[int, TokenColumns] | None:
    """How many tokens are packed in ``data`` for ``text``, and the columns of tokens ``offset`` to
    ``offset + limit`` (all from ``offset`` when ``limit`` is None); None as ``unpack`` says. Only
    that window is read: a long document's page of tokens costs the page, not the document."""
    if data is None:
        return None
    data = memoryview(data)  # bytes from most database drivers, a memoryview from some: no copy either way
    header = key.encode("ascii") + b"\n"
    from_file = data[:len(_FILE_HEADER)] == _FILE_HEADER
    if from_file:
        header = _FILE_HEADER
    elif data[:len(header)] != header:
        return None
    width = 2 if len(text) < 65536 else 4
    count, rest = divmod(len(data) - len(header), 2 * width + 1)
    if rest:
        return None
    first = min(max(offset, 0), count)
    last = count if limit is None else min(first + max(limit, 0), count)
    at = len(header)
    starts, lengths = array(_ARRAY_CODES[width]), array(_ARRAY_CODES[width])
    starts.frombytes(data[at + width * first:at + width * last])
    lengths.frombytes(data[at + width * (count + first):at + width * (count + last)])
    if sys.byteorder == "big":
        starts.byteswap()
        lengths.byteswap()
    flags = bytes(data[at + 2 * width * count + first:at + 2 * width * count + last])
    return count, TokenColumns(starts.tolist(), list(map(add, starts, lengths)), flags, from_file)


def file_columns(data: bytes | memoryview | None, text: str) -> TokenColumns | None:
    """The columns packed in ``data`` when a file gave them (``pack_words``); None for a tokenizer's or none."""
    if data is None or bytes(data[:len(_FILE_HEADER)]) != _FILE_HEADER:
        return None
    return unpack(data, FILE_KEY, text)


def pack_words(text: str, offsets: Sequence[tuple[int, int]], sent_starts: Sequence[int] | None = None) -> bytes:
    """The tokens a file gave for ``text``, packed under ``FILE_KEY``.

    ``offsets`` are each token's ``(start, end)`` in code points, in order, not
    overlapping, none empty; what lies between them must be whitespace.
    ``sent_starts`` (optional) gives each token's spaCy SENT_START value: 1, -1
    or 0 (unknown). Whitespace between tokens becomes what spaCy makes of it:
    one space after a token is that token's trailing space; anything else (a
    line break, a second space) is a whitespace token of its own that does
    not start a sentence. So ``doc_of`` gives a Doc whose text is ``text``.
    ValueError says which token breaks a rule.
    """
    starts, ends, flags, sentences = [], [], bytearray(), []
    known = sent_starts is not None and any(sent_starts)
    at = 0
    for i, (start, end) in enumerate(offsets):
        if not at <= start < end <= len(text):
            what = "is empty" if start == end else (
                "starts before the token before it ends" if start < at else f"is outside the text (0-{len(text)})")
            raise ValueError(f"token {i} ({start}-{end}) {what}")
        gap = text[at:start]
        if gap:
            if gap.strip():
                raise ValueError(f"the text between tokens at {at}-{start} ({gap[:20]!r}) is not whitespace; "
                                 "every character must belong to a token")
            if starts and ends[-1] == at and gap[0] == " ":  # the token before takes one space
                flags[-1] |= SPACY_AFTER
                gap = gap[1:]
            if gap:
                starts.append(start - len(gap))
                ends.append(start)
                flags.append(SPACE)
                sentences.append(-1)
        starts.append(start)
        ends.append(end)
        flags.append(_word_flags(text[start:end]))
        sentences.append(sent_starts[i] if known else 0)
        at = end
    rest = text[at:]
    if rest.strip():
        raise ValueError(f"the text after the last token ({rest[:20]!r}) is not whitespace; "
                         "every character must belong to a token")
    if rest:
        if starts and rest[0] == " ":
            flags[-1] |= SPACY_AFTER
            rest = rest[1:]
        if rest:
            starts.append(len(text) - len(rest))
            ends.append(len(text))
            flags.append(SPACE)
            sentences.append(-1)
    if known and sentences:
        sentences[0] = 1  # spaCy: the first token always starts a sentence
        for i, value in enumerate(sentences):
            flags[i] |= STARTS_SENTENCE if value == 1 else INSIDE_SENTENCE if value == -1 else 0
    width = "<u2" if len(text) < 65536 else "<u4"
    return b"".join((_FILE_HEADER, numpy.asarray(starts, dtype=width).tobytes(),
                     numpy.asarray([e - s for s, e in zip(starts, ends)], dtype=width).tobytes(), bytes(flags)))


def pack_sentences(sentences: Sequence[Sequence[str]]) -> tuple[str, bytes, list[int]]:
    """The text of ``sentences`` of words, words joined by single spaces and sentences by line breaks;
    its tokens packed as ``pack_words`` packs those words with each sentence's first word starting a
    sentence (byte for byte: tests compare them); and each word's start offset.

    Every sentence has a word, and no word is empty or holds whitespace (a CoNLL file's
    tokens). Built from the words' lengths rather than by walking the text, so a
    file of millions of tokens costs a few list operations per token.
    """
    starts: list[int] = []
    lengths: list[int] = []
    flags = bytearray()
    word_starts: list[int] = []
    offset = 0
    last = len(sentences) - 1
    for n, words in enumerate(sentences):
        sizes = list(map(len, words))
        at = list(accumulate([offset, *map(_ONE_MORE, sizes[:-1])]))
        starts += at
        word_starts += at
        lengths += sizes
        first = len(flags)
        flags += bytes(map(_word_flags, words)).translate(_IN_SENTENCE_SPACED)
        flags[first] = flags[first] & ~INSIDE_SENTENCE | STARTS_SENTENCE
        flags[-1] &= ~SPACY_AFTER
        offset = at[-1] + sizes[-1]
        if n < last:  # the line break: a whitespace token of its own, inside the sentence before
            starts.append(offset)
            lengths.append(1)
            flags.append(SPACE | INSIDE_SENTENCE)
            offset += 1
    text = "\n".join(" ".join(words) for words in sentences)
    code = _ARRAY_CODES[2 if len(text) < 65536 else 4]
    starts_array, lengths_array = array(code, starts), array(code, lengths)
    if sys.byteorder == "big":
        starts_array.byteswap()
        lengths_array.byteswap()
    return text, b"".join((_FILE_HEADER, starts_array.tobytes(), lengths_array.tobytes(), bytes(flags))), word_starts


@lru_cache(maxsize=65536)
def _word_flags(word: str) -> int:
    return (SPACE if word.isspace() else 0) | (PUNCT if is_punct(word) else 0)


def doc_of(vocab: Vocab, text: str, columns: TokenColumns) -> Doc:
    """A Doc of ``text`` with exactly these tokens (and their sentence starts, when known)."""
    doc = Doc(vocab, words=[text[s:e] for s, e in zip(columns.starts, columns.ends)],
              spaces=[bool(flag & SPACY_AFTER) for flag in columns.flags])
    sentences = columns.sentence_starts()
    if sentences is not None:
        doc.from_array([SENT_START], numpy.asarray(sentences, dtype="int64").astype("uint64"))
    return doc


_FILE_HEADER = FILE_KEY.encode("ascii") + b"\n"
_IN_SENTENCE_SPACED = bytes(flag | INSIDE_SENTENCE | SPACY_AFTER for flag in range(256))
_ONE_MORE = (1).__add__
_ARRAY_CODES = {2: "H", 4: "I" if array("I").itemsize == 4 else "L"}
