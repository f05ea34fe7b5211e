"""Registry of file formats: name -> reader and writer over plain records.

Readers yield ``(line_number, DocumentRecord)`` and raise ``FormatError`` with
the 1-based line of the problem. Binary formats (``binary=True``) read bytes;
text formats read an iterable of lines.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from exports.formats.jsonl import read_jsonl, write_jsonl
from exports.formats.text import read_text


@dataclass(frozen=True)
class Format:
    name: str
    reader: Callable | None
    writer: Callable | None = None
    binary: bool = False


FORMATS: dict[str, Format] = {
    "text": Format("text", read_text),
    "jsonl": Format("jsonl", read_jsonl, write_jsonl),
}

IMPORT_FORMATS = sorted(name for name, fmt in FORMATS.items() if fmt.reader)
