"""Registry of file formats: name -> reader and writer over plain records.

Readers yield ``(line_number, DocumentRecord)`` and raise ``FormatError`` with
the 1-based line of the problem. Binary formats (``binary=True``) read bytes;
text formats read an iterable of lines, which they may iterate more than once
(each time from the top). A reader may take options as keyword arguments,
named in ``reader_options`` (conll: ``documents``); the import endpoint takes
them as fields and refuses them for a format that does not. Writers with
``needs_nlp=True`` take the project language's blank spaCy pipeline as
second argument (they tokenize).
A text format's file is UTF-8, and its ``media_type`` (the downloads'
``Content-Type``) says so: clients must not guess.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from exports.formats.conll import read_conll, write_conll
from exports.formats.doccano import read_doccano
from exports.formats.jsonl import read_jsonl, write_jsonl
from exports.formats.prodigy import read_prodigy
from exports.formats.spacy_docbin import read_spacy, stream_spacy
from exports.formats.text import read_text

TEXT_ENCODING = "utf-8"  # of every text format's file (exports.actions encodes with it)


def _text(media_type: str) -> str:
    return f"{media_type}; charset={TEXT_ENCODING}"


@dataclass(frozen=True)
class Format:
    name: str
    reader: Callable | None
    writer: Callable | None = None
    binary: bool = False
    needs_nlp: bool = False
    extension: str = ""
    media_type: str = "application/octet-stream"
    reader_options: tuple[str, ...] = ()  # keyword arguments the reader takes


FORMATS: dict[str, Format] = {
    "text": Format("text", read_text),
    "jsonl": Format("jsonl", read_jsonl, write_jsonl, extension=".jsonl", media_type=_text("application/jsonl")),
    "conll": Format("conll", read_conll, write_conll, needs_nlp=True, extension=".conll",
                    media_type=_text("text/plain"), reader_options=("documents",)),
    "spacy": Format("spacy", read_spacy, stream_spacy, binary=True, needs_nlp=True, extension=".spacy"),
    "doccano": Format("doccano", read_doccano, extension=".jsonl", media_type=_text("application/jsonl")),
    "prodigy": Format("prodigy", read_prodigy, extension=".jsonl", media_type=_text("application/jsonl")),
}

IMPORT_FORMATS = sorted(name for name, fmt in FORMATS.items() if fmt.reader)
EXPORT_FORMATS = [name for name, fmt in FORMATS.items() if fmt.writer]
READER_OPTIONS = sorted({name for fmt in FORMATS.values() for name in fmt.reader_options})


def check_reader_options(fmt_name: str, names: Iterable[str]) -> dict[str, str]:
    """What is wrong, by option name, with giving reader options ``names`` for format ``fmt_name`` ({} if nothing)."""
    errors = {}
    for name in names:
        if name not in FORMATS[fmt_name].reader_options:
            takers = [fmt.name for fmt in FORMATS.values() if name in fmt.reader_options]
            errors[name] = f"only for format {' or '.join(takers)}: a {fmt_name} file has no {name} option"
    return errors
