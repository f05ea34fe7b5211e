"""Tokenization with the project's spaCy language, cached.

Token offsets are code point indices (Python ``str``), end exclusive.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from itertools import compress

import spacy
from django.conf import settings
from spacy.tokens import Doc

from projects.token_columns import (SPACY_AFTER, TokenColumns, pack, pack_with_columns, tokenizer_key, unpack,
                                    unpack_window)


@dataclass(frozen=True, slots=True)
class Tokens:
    """Offsets of one text's tokens; whitespace-only tokens are kept (``ws`` says what follows)."""

    starts: tuple[int, ...]
    ends: tuple[int, ...]
    spaces: tuple[bool, ...]
    # Boundaries a span may use: those of tokens that are not whitespace.
    span_starts: frozenset[int]
    span_ends: frozenset[int]

    @classmethod
    def from_columns(cls, columns: TokenColumns) -> Tokens:
        shown = columns.visible()
        return cls(tuple(columns.starts), tuple(columns.ends), tuple(map(bool, columns.spaced())),
                   frozenset(compress(columns.starts, shown)), frozenset(compress(columns.ends, shown)))

    def as_list(self, text: str) -> list[dict]:
        return [
            {"i": i, "text": text[s:e], "start": s, "end": e, "ws": ws}
            for i, (s, e, ws) in enumerate(zip(self.starts, self.ends, self.spaces))
        ]


# spaCy's language codes (en, zh, grc, xx, ...); checked before a code names a module to import.
LANGUAGE_CODE_RE = re.compile(r"[a-z]{2,3}")


@lru_cache(maxsize=32)
def blank_pipeline(language: str):
    """``spacy.blank(language)`` with a sentencizer, shared per process; ValueError if the code is unknown."""
    if not LANGUAGE_CODE_RE.fullmatch(language):
        raise ValueError(f"unknown spaCy language {language!r}")
    try:
        nlp = spacy.blank(language)
    except (ImportError, KeyError) as exc:  # spaCy raises ImportError for an unknown code
        raise ValueError(f"unknown spaCy language {language!r}") from exc
    nlp.add_pipe("sentencizer")
    return nlp


def tokenizer_for(language: str):
    """The blank pipeline's tokenizer for a spaCy language code; ValueError if unknown."""
    return blank_pipeline(language).tokenizer


def is_known_language(language: str) -> bool:
    try:
        tokenizer_for(language)
    except ValueError:
        return False
    return True


def tokenize(text: str, language: str) -> Tokens:
    doc = tokenizer_for(language)(text)
    starts, ends, spaces, span_starts, span_ends = [], [], [], set(), set()
    for token in doc:
        start = token.idx
        end = start + len(token.text)
        starts.append(start)
        ends.append(end)
        spaces.append(bool(token.whitespace_))
        if not token.is_space:
            span_starts.add(start)
            span_ends.add(end)
    return Tokens(tuple(starts), tuple(ends), tuple(spaces), frozenset(span_starts), frozenset(span_ends))


@lru_cache(maxsize=settings.TOKEN_CACHE_SIZE)
def _cached(language: str, content_hash: str, text: str) -> Tokens:
    return tokenize(text, language)


def tokens_for_document(document) -> Tokens:
    """Tokens of a stored document: those stored with it when the project's tokenizer packed them,
    else tokenized, and a hot document only once per process.

    The cache is keyed by content hash, so it never serves tokens of edited text.
    """
    language = document.project.language
    columns = unpack(document.tokens, tokenizer_key(language), document.text)
    if columns is not None:
        return Tokens.from_columns(columns)
    return _cached(language, document.content_hash, document.text)


# ``?format=compact`` on the tokens endpoint and the bundles (/next/, a document's, the review page's): a page's
# tokens as parallel arrays.
COMPACT = "compact"
TOKEN_FORMATS = (COMPACT,)


@dataclass(frozen=True, slots=True)
class TokenPage:
    """A window of a document's tokens, and how many the document has.

    Two shapes for the API: ``as_list()``, a token per object (``{"i", "text", "start", "end", "ws"}``,
    the default), and ``as_compact()``, parallel arrays whose offsets are told as differences::

        text "Hi  you"   tokens Hi [0, 2) ws, " " [3, 4), you [4, 7)
        {"gap": [0, 1, 0], "length": [2, 1, 3], "ws": [1, 0, 0]}

    A token starts ``gap`` code points after the previous token of the page ends (the page's first
    token: after 0, so its gap is its start) and ends ``length`` code points later; ``ws`` is 1 when
    one space follows it. Token ``k`` of the page is token ``offset + k`` of the document, and its text is
    the document's ``text[start:end]``. Gaps and lengths are small numbers that repeat, so the compact form
    is about a sixth of the default's size, and a twentieth once gzipped.
    """

    count: int
    offset: int
    text: str
    starts: Sequence[int]
    ends: Sequence[int]
    spaces: Sequence[bool]

    @property
    def rest(self) -> int | None:
        """Where the next page starts, or None when this one is the last."""
        end = self.offset + len(self.starts)
        return end if end < self.count else None

    def as_list(self) -> list[dict]:
        text = self.text
        return [{"i": i, "text": text[s:e], "start": s, "end": e, "ws": ws}
                for i, s, e, ws in zip(range(self.offset, self.offset + len(self.starts)), self.starts, self.ends,
                                       self.spaces)]

    def as_compact(self) -> dict:
        previous = [0, *self.ends[:-1]]
        return {"gap": [s - p for s, p in zip(self.starts, previous)],
                "length": [e - s for s, e in zip(self.starts, self.ends)],
                "ws": [int(ws) for ws in self.spaces]}

    def as_format(self, token_format: str | None) -> list[dict] | dict:
        """The page's tokens in ``token_format``: None (the default) or ``COMPACT``."""
        return self.as_compact() if token_format == COMPACT else self.as_list()


def token_page(document, offset: int = 0, limit: int | None = None) -> TokenPage:
    """Tokens ``offset`` to ``offset + limit`` of a stored document (``limit`` by default
    ``TOKENS_PAGE_SIZE``). From stored tokens only that window is unpacked, so a long document's
    page costs the page; tokens not stored (another spaCy version's) are tokenized as
    ``tokens_for_document`` does, once per process."""
    limit = settings.TOKENS_PAGE_SIZE if limit is None else limit
    language = document.project.language
    window = unpack_window(document.tokens, tokenizer_key(language), document.text, offset, limit)
    if window is not None:
        count, columns = window
        starts, ends = columns.starts, columns.ends
        spaces = [bool(flag & SPACY_AFTER) for flag in columns.flags]
    else:
        tokens = _cached(language, document.content_hash, document.text)
        count, part = len(tokens.starts), slice(offset, offset + limit)
        starts, ends, spaces = tokens.starts[part], tokens.ends[part], tokens.spaces[part]
    return TokenPage(count, offset, document.text, starts, ends, spaces)


_bulk_tokenizers = threading.local()


def bulk_tokenizer(language: str) -> BulkTokenizer:
    """This thread's ``BulkTokenizer`` for ``language``, kept for the requests that store documents (a fresh one
    loads a pipeline, 0.3 s); per thread because a memory zone is not to be shared."""
    tokenizers = getattr(_bulk_tokenizers, "by_language", None)
    if tokenizers is None:
        tokenizers = _bulk_tokenizers.by_language = {}
    if language not in tokenizers:
        tokenizers[language] = BulkTokenizer(language)
    return tokenizers[language]


class BulkTokenizer:
    """Many texts' tokens, packed to be stored (``projects.token_columns``), from a blank spaCy
    pipeline private to one run (an import, a backfill): tokenize inside ``with batch():``.

    The same language's blank tokenizer as ``projects.tokens``, so boundaries
    agree with the tokens endpoint (tests compare them, over generated texts
    too). Private because spaCy keeps every new string it meets: the shared
    pipeline would grow with every file imported. The first batch warms this
    pipeline's cache; later batches run in a spaCy memory zone, which frees
    what they add. Not quite all: the hash tables keep a deleted slot for
    every string a zone freed (preshed's maps only grow), some 50 bytes per
    document, so after ``RELOAD_EVERY`` documents the pipeline is loaded
    afresh (0.1 s) and memory stays flat however long the file is. New words
    get only the lexical attributes that are stored (is_space, is_punct): the
    others (shape, norm, like_num...) would only cost time here.
    """

    RELOAD_EVERY = 50_000

    def __init__(self, language: str):
        self.language = language
        self.key = tokenizer_key(language)
        self._load()

    def _load(self) -> None:
        from spacy.attrs import IS_PUNCT, IS_SPACE, LANG

        self.nlp = spacy.blank(self.language)
        getters = self.nlp.vocab.lex_attr_getters
        self.nlp.vocab.lex_attr_getters = {attr: getters[attr] for attr in (IS_SPACE, IS_PUNCT, LANG)
                                           if attr in getters}
        self.warm = False
        self.tokenized = 0

    @contextmanager
    def batch(self):
        if self.tokenized >= self.RELOAD_EVERY:
            self._load()
        if not self.warm:
            yield
            self.warm = True
        else:
            with self.nlp.memory_zone():
                yield

    def tokenize(self, text: str) -> tuple[bytes | None, Doc]:
        """``text``'s tokens packed (``token_columns.pack``) and its Doc, good until the batch ends."""
        doc = self.nlp.tokenizer(text)
        self.tokenized += 1
        return pack(doc, self.key), doc

    def tokenize_columns(self, text: str) -> tuple[bytes | None, TokenColumns]:
        """``text``'s tokens packed, and their columns (``token_columns.columns_of``)."""
        doc = self.nlp.tokenizer(text)
        self.tokenized += 1
        return pack_with_columns(doc, self.key)
