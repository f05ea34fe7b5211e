"""A document's tokens, packed to be stored with it.

A document's text never changes, so it is tokenized once, when it is stored,
and exports and pages read the tokens back instead of running the tokenizer
again (for a CoNLL export that was most of the work). The packed form:

    b"en/3.8.18\\n" + starts + lengths + flags

``starts`` and ``lengths`` are little-endian unsigned integers, 2 bytes each
when the text is shorter than 65,536 code points, else 4; ``flags`` is one
byte per token (``SPACY``: a space follows it, ``PUNCT``: spaCy's IS_PUNCT,
``SPACE``: a whitespace token). The header names the language and the spaCy
version that tokenized: tokens packed by another one are ignored (``unpack``
gives None) and the caller tokenizes as before, so a spaCy upgrade or a
project's new language never serves stale tokens.

Pure: no Django, so format writers can use it on plain records.
"""

from __future__ import annotations

import sys
from array import array
from dataclasses import dataclass
from operator import add

import spacy
from spacy.attrs import IDX, IS_PUNCT, IS_SPACE, LENGTH, SENT_START, SPACY
from spacy.tokens import Doc

SPACY_AFTER, PUNCT, SPACE = 1, 2, 4
_ATTRS = [IDX, LENGTH, SPACY, IS_PUNCT, IS_SPACE]


@dataclass(frozen=True, slots=True)
class TokenColumns:
    """Per token (whitespace tokens included): start and end offset (code points) and a byte of flags."""

    starts: list[int]
    ends: list[int]
    flags: bytes

    def __len__(self) -> int:
        return len(self.starts)

    def punct(self) -> bytes:
        """Per token, 1 where IS_PUNCT."""
        return self.flags.translate(_PUNCT_BIT)

    def visible(self) -> bytes:
        """Per token, 1 where it is not whitespace."""
        return self.flags.translate(_NOT_SPACE_BIT)


_PUNCT_BIT = bytes(int(bool(flag & PUNCT)) for flag in range(256))
_NOT_SPACE_BIT = bytes(int(not flag & SPACE) for flag in range(256))


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
    if doc.to_array(SENT_START)[1:].any():  # the first token always starts one
        return None
    columns = doc.to_array(_ATTRS)
    width = "<u2" if len(doc.text) < 65536 else "<u4"
    flags = columns[:, 2] | (columns[:, 3] << 1) | (columns[:, 4] << 2)
    return b"".join((key.encode("ascii"), b"\n", columns[:, 0].astype(width).tobytes(),
                     columns[:, 1].astype(width).tobytes(), flags.astype("u1").tobytes()))


def unpack(data: bytes | memoryview | None, key: str, text: str) -> TokenColumns | None:
    """The columns packed in ``data`` for ``text``, or None when there are none or another
    tokenizer (language, spaCy version) packed them."""
    if data is None:
        return None
    data = bytes(data)  # a memoryview from some database drivers
    header = key.encode("ascii") + b"\n"
    if not data.startswith(header):
        return None
    width = 2 if len(text) < 65536 else 4
    count, rest = divmod(len(data) - len(header), 2 * width + 1)
    if rest:
        return None
    at = len(header)
    starts, lengths = array(_ARRAY_CODES[width]), array(_ARRAY_CODES[width])
    starts.frombytes(data[at:at + width * count])
    lengths.frombytes(data[at + width * count:at + 2 * width * count])
    if sys.byteorder == "big":
        starts.byteswap()
        lengths.byteswap()
    return TokenColumns(starts.tolist(), list(map(add, starts, lengths)), data[at + 2 * width * count:])


_ARRAY_CODES = {2: "H", 4: "I" if array("I").itemsize == 4 else "L"}
