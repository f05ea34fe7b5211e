"""Plain records that every format reads and writes.

Offsets are Unicode code point indices into ``text`` (Python ``str``
indexing), ``start`` inclusive and ``end`` exclusive. Nothing here knows about
Django, so format readers and writers are testable on their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class SpanRecord:
    start: int
    end: int
    label: str


@dataclass(frozen=True, slots=True)
class RelationRecord:
    """A labelled arc; ``head`` and ``tail`` index ``DocumentRecord.spans``."""

    head: int
    tail: int
    label: str


@dataclass(slots=True)
class DocumentRecord:
    text: str
    meta: dict = field(default_factory=dict)
    spans: list[SpanRecord] = field(default_factory=list)
    relations: list[RelationRecord] = field(default_factory=list)
    # Set on export: the document's id in the project and whose annotation this is (for gold, who
    # last saved it).
    id: int | None = None
    annotator: str | None = None
    # The document's stored tokens (``projects.token_columns``), when it has them: writers that
    # tokenize use them instead. Set by readers of token-based files (the file's own tokens,
    # ``token_columns.pack_words``), by imports (then stored) and by exports (read back).
    tokens: bytes | None = None
    # False when the file did not annotate the document (no "spans" key, a DocBin doc whose
    # tokens are all missing, a CoNLL file of tokens only): it is stored unlabelled. True with
    # no spans is an annotated document that has no entity, which counts as much as any other.
    annotated: bool = True
    # What a reader let pass but the user should hear of (an exact duplicate span collapsed...).
    warnings: list[str] = field(default_factory=list)
    # Set on a gold export when the gold is an annotator's annotation adopted as it was: whose
    # (``annotator`` is then the reviewer who adopted it). Last, so positional construction keeps working.
    adopted_from: str | None = None


class FormatError(ValueError):
    """Content that a reader cannot accept; ``line`` is 1-based (0 when unknown)."""

    def __init__(self, line: int, message: str):
        self.line = line
        self.message = message
        super().__init__(f"line {line}: {message}" if line else message)

    def __reduce__(self):  # pickled with its fields (worker processes send it back), not the joined message
        return FormatError, (self.line, self.message)


@dataclass(slots=True)
class ExportStats:
    """What a writer had to leave out, filled in as it goes; pass one in to learn it."""

    documents: int = 0
    # Spans left out of doc.ents / CoNLL tags because a longer one overlapped them.
    dropped_overlaps: int = 0
