"""Plain text: one document per non-empty line.

    Thousands flee as Syrian rebels advance on Homs
    Rebels have captured two major cities so far.

Lines are taken as they are (trailing newline removed, nothing else stripped),
so offsets computed later match what the user sees.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from exports.records import DocumentRecord


def read_text(lines: Iterable[str]) -> Iterator[tuple[int, DocumentRecord]]:
    for line_no, line in enumerate(lines, start=1):
        text = line.rstrip("\r\n")
        if text.strip():
            yield line_no, DocumentRecord(text=text, annotated=False)
