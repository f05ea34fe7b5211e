"""spaCy DocBin (``.spacy``), what ``spacy train`` reads: one Doc per document.

    doc.text        "Rebels took Aleppo."
    doc.ents        (Aleppo,)  with label GPE; tokens from the project language's tokenizer
    doc.user_data   {"id": 7, "meta": {}, "relations": [{"head": [0, 6], "tail": [12, 18], "label": "IN"}]}
                    (and "annotator", "adopted_from" when the export names them)

The tokens are the document's own: those of the file it came from (CoNLL,
a DocBin, Prodigy's ``tokens``) or the project language's tokenizer's.
``doc.ents`` holds the spans that do not overlap (of overlapping ones the
longest in code points wins, ties to the earliest) and every other token is
``O``; ``doc.spans["sc"]`` holds every span, overlapping or not, in record
order. Relation ends are ``[start_char, end_char]`` of the spans they join
(code points, end exclusive). Sentence starts are the file's, or else come
from the pipeline's sentencizer (a default one if it has none) plus a start
after every line break; never one inside a span.

The reader keeps each Doc's tokens and sentence starts as the document's own
(``token_columns.pack_words``); a Doc whose tokens are all missing (ENT_IOB 0)
and that has no ``sc`` span group is not annotated.
"""

from __future__ import annotations

import itertools
import struct
import tempfile
import zlib
from collections.abc import Iterable, Iterator
from operator import add

import numpy
from spacy.attrs import ENT_IOB, ENT_TYPE, IDX, LENGTH, NORM, ORTH, SENT_START, SPACY
from spacy.language import Language
from spacy.tokens import Doc, DocBin, Span
from spacy.vocab import Vocab
from srsly import msgpack

from exports.formats.iob import drop_overlaps
from exports.formats.jsonl import parse_document
from exports.formats.tokens import punct_chars_of, record_doc, sentence_starts, set_sentence_starts, token_ranges
from exports.records import DocumentRecord, ExportStats, FormatError
from projects import token_columns

SPAN_KEY = "sc"
# ORTH and SPACY are always stored; these keep entities and sentences.
DOC_ATTRS = ("ENT_IOB", "ENT_TYPE", "SENT_START")
# Annotations whose strings DocBin.add collects and _SpooledDocBin.add does not (it takes them to be absent).
_ANNOTATIONS_NOT_COLLECTED = ("TAG", "LEMMA", "MORPH", "DEP", "ENT_KB_ID", "ENT_ID")
SPOOL_BYTES = 8 << 20  # per field of a DocBin being written, kept in memory up to this, then on disk


def write_spacy(records: Iterable[DocumentRecord], nlp: Language, stats: ExportStats | None = None) -> bytes:
    """The ``.spacy`` bytes for ``records`` tokenized by ``nlp`` (a blank pipeline of the project language);
    ``stream_spacy``'s pieces joined. ValueError names any span that is not on token boundaries."""
    return b"".join(stream_spacy(records, nlp, stats))


def stream_spacy(records: Iterable[DocumentRecord], nlp: Language,
                 stats: ExportStats | None = None) -> Iterator[bytes]:
    """The ``.spacy`` file in pieces, in bounded memory whatever the number of records.

    The bytes are ``DocBin(store_user_data=True).to_bytes()`` of the documents
    with ``doc.spans["sc"]`` and ``doc.user_data`` set (tests compare them).
    """
    # DocBin(store_user_data=True) and doc.spans.to_bytes() each call
    # srsly.msgpack_dumps, which looks up package entry points on every call
    # (~0.3 ms, several times the cost of a short doc): one reused packer packs the same bytes.
    doc_bin = _SpooledDocBin(DOC_ATTRS)
    packer = doc_bin.packer
    for record, doc, spans in annotated_docs(records, nlp, stats):
        doc_bin.add(doc, span_group_bytes(packer, spans), packer.pack(_user_data(record)))
        doc_bin.strings.update(span.label_ for span in spans)
    yield from doc_bin.pieces()


class _SpooledDocBin:
    """What ``DocBin.to_bytes`` writes, gathered as documents come.

    A DocBin keeps every document's arrays in lists until ``to_bytes`` stacks,
    packs and compresses them all (some 13 KB per short document at its peak:
    1.3 GB for 100,000). Here each document's share of every field is packed at
    once into a spooled temporary file (memory, then disk past a few MB), and
    ``pieces`` writes the same msgpack map, field after field, through one zlib
    stream; only the set of strings stays in memory.
    """

    RAW = ("tokens", "spaces", "lengths")  # arrays, concatenated: msgpack bin
    LISTS = ("cats", "flags", "span_groups", "user_data")  # one packed item per document: msgpack array

    def __init__(self, attrs):
        model = DocBin(attrs=attrs, store_user_data=True)
        self.version, self.attrs = model.version, model.attrs
        self.packer = msgpack.Packer(use_bin_type=True)
        self.strings: set[str] = set()
        self.hashes: set[int] = set()  # of the token texts, norms and entity labels in ``strings``
        self.fields = {name: tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) for name in self.RAW + self.LISTS}
        self.count = 0

    def add(self, doc: Doc, span_group: bytes, user_data: bytes) -> None:
        """``DocBin.add(doc)`` with ``span_group`` for ``doc.spans.to_bytes()`` and packed ``user_data``.

        DocBin.add (spacy/tokens/_serialize.py) makes a Token for every token to
        collect nine strings from each, half the cost of an export. A Doc from a
        blank pipeline with entities has no tags, lemmas, morphology, dependencies
        or knowledge-base ids, so those strings are all "" and the rest are the
        token texts, their norms and the entity labels, collected here from the
        Doc's arrays. Any other Doc goes through DocBin.add.
        """
        if doc.to_array(_ANNOTATIONS_NOT_COLLECTED).any():  # one array, not a has_annotation scan per attribute
            scratch = DocBin(attrs=DOC_ATTRS)
            scratch.add(doc)
            tokens, spaces, flags, cats = scratch.tokens[0], scratch.spaces[0], scratch.flags[0], scratch.cats[0]
            self.strings |= scratch.strings
        else:
            tokens = doc.to_array(self.attrs)
            spaces = doc.to_array(SPACY).reshape((len(doc), 1)).astype(bool)
            flags, cats = {"has_unknown_spaces": doc.has_unknown_spaces}, doc.cats
            # The strings of the hashes not met before: texts, norms and entity labels repeat across documents.
            new = set(doc.to_array([ORTH, NORM, ENT_TYPE]).ravel().tolist()) - self.hashes
            if new:
                self.hashes |= new
                self.strings.update(map(doc.vocab.strings.__getitem__, new))
            if len(doc):  # tag_, lemma_, morph, dep_, ent_kb_id_, ent_id_ (and ent_type_ outside entities)
                self.strings.add("")
        pack, fields = self.packer.pack, self.fields
        fields["tokens"].write(tokens.tobytes("C"))
        fields["spaces"].write(numpy.asarray(spaces, dtype=bool).tobytes("C"))
        fields["lengths"].write(numpy.asarray([len(tokens)], dtype="int32").tobytes("C"))
        fields["cats"].write(pack(cats))
        fields["flags"].write(pack(flags))
        fields["span_groups"].write(pack(span_group))
        fields["user_data"].write(pack(user_data))
        self.count += 1

    def pieces(self) -> Iterator[bytes]:
        """The zlib-compressed msgpack map of ``DocBin.to_bytes``, keys in its order, in pieces."""
        compressor = zlib.compressobj()
        pack = self.packer.pack
        head = self.packer.pack_map_header(len(self.RAW) + 1 + len(self.LISTS) + 2)  # + strings, version, attrs
        head += pack("version") + pack(self.version) + pack("attrs") + pack(self.attrs)
        yield compressor.compress(head)
        for name in self.RAW + ("strings",) + self.LISTS:
            if name == "strings":
                yield compressor.compress(pack("strings") + pack(sorted(self.strings)))
                continue
            spool = self.fields[name]
            size = spool.tell()
            header = _bin_header(size) if name in self.RAW else self.packer.pack_array_header(self.count)
            yield compressor.compress(pack(name) + header)
            spool.seek(0)
            while chunk := spool.read(1 << 20):
                yield compressor.compress(chunk)
            spool.close()
        yield compressor.flush()


def _bin_header(size: int) -> bytes:
    """msgpack's header for ``size`` bytes of bin data (bin 8, 16 or 32, as the packer chooses)."""
    if size <= 0xFF:
        return struct.pack(">BB", 0xC4, size)
    if size <= 0xFFFF:
        return struct.pack(">BH", 0xC5, size)
    return struct.pack(">BI", 0xC6, size)


def read_spacy(data: bytes, nlp: Language | None = None) -> Iterator[tuple[int, DocumentRecord]]:
    """Yield ``(document_number, record)``, numbered from 1, for each Doc in a ``.spacy`` file.

    Spans are ``spans["sc"]`` then any entity not already among them; relations,
    id, meta, annotator and adopted_from come from ``user_data`` as ``write_spacy`` stores them.
    A FormatError's ``line`` is the 1-based document number.
    """
    try:
        doc_bin = DocBin().from_bytes(data)
    except Exception as exc:  # untrusted bytes: zlib, msgpack and numpy each fail in their own way
        raise FormatError(0, f"not a spaCy DocBin (.spacy) file ({exc})") from None
    vocab = nlp.vocab if nlp is not None else Vocab()
    for number, doc in enumerate(doc_bin.get_docs(vocab), start=1):
        try:
            yield number, _doc_to_record(doc)
        except ValueError as exc:
            raise FormatError(number, f"document {number}: {exc}") from None


def annotated_docs(
    records: Iterable[DocumentRecord], nlp: Language, stats: ExportStats | None = None
) -> Iterator[tuple[DocumentRecord, Doc, list[Span]]]:
    """Yield ``(record, doc, spans)``: ``doc`` has the record's tokens (``exports.formats.tokens``),
    ``spans`` are all of the record's spans as labelled spaCy spans in record order; ``doc.ents``
    holds those that do not overlap (every other token ``O``: the document is annotated) and
    sentence starts are set (a file's tokens that came without sentences keep none). Overlaps left
    out of ``doc.ents`` are counted in ``stats.dropped_overlaps``. Linear in the document's length.
    """
    punct_chars = punct_chars_of(nlp)
    for record in records:
        doc, columns = record_doc(record, nlp)
        ranges = token_ranges(record, columns)
        spans = [Span(doc, first, end, label=span.label) for (first, end), span in zip(ranges, record.spans)]
        kept, dropped = drop_overlaps([(s.start, s.end) for s in record.spans])
        if record.annotated:
            doc.ents = [spans[i] for i in kept]
        starts = sentence_starts(record.text, columns, ranges, punct_chars, doc, guess=not columns.from_file)
        if starts is not None and len(doc):
            set_sentence_starts(doc, starts)
        if stats is not None:
            stats.documents += 1
            stats.dropped_overlaps += len(dropped)
        yield record, doc, spans


def span_group_bytes(packer: msgpack.Packer, spans: list[Span]) -> bytes:
    """Exactly what ``doc.spans.to_bytes()`` gives for ``doc.spans = {"sc": spans}``
    (spacy/tokens/span_group.pyx and _dict_proxies.py), without srsly.msgpack_dumps.
    """
    group = {
        "name": SPAN_KEY,
        "attrs": {},
        "spans": [
            struct.pack(">QQQllll", s.id, s.kb_id, s.label, s.start, s.end, s.start_char, s.end_char)
            for s in spans
        ],
    }
    return packer.pack({packer.pack(group): [SPAN_KEY]})


def _user_data(record: DocumentRecord) -> dict:
    data = {"id": record.id, "meta": record.meta, "relations": []}
    for n, relation in enumerate(record.relations):
        if not (0 <= relation.head < len(record.spans) and 0 <= relation.tail < len(record.spans)):
            raise ValueError(f"document {record.id}: relation {n} points outside its {len(record.spans)} spans")
        head, tail = record.spans[relation.head], record.spans[relation.tail]
        data["relations"].append(
            {"head": [head.start, head.end], "tail": [tail.start, tail.end], "label": relation.label}
        )
    if record.annotator is not None:
        data["annotator"] = record.annotator
    if record.adopted_from is not None:
        data["adopted_from"] = record.adopted_from
    return data


def _doc_to_record(doc: Doc) -> DocumentRecord:
    """The record of one Doc of a DocBin: its text, its own tokens and sentence starts, and its spans.

    A Doc is annotated when a token's ENT_IOB says so (2, ``O``, is annotated,
    0 is missing: spaCy's rule) or it has the ``sc`` span group; a Doc with
    every token missing and no ``sc`` group is stored unlabelled.
    """
    spans: list[dict] = []
    seen: dict[tuple, int] = {}  # (start, end, label) -> index in spans
    group = doc.spans[SPAN_KEY] if SPAN_KEY in doc.spans else ()
    for span in itertools.chain(group, doc.ents):
        key = (span.start_char, span.end_char, span.label_)
        if key not in seen:
            seen[key] = len(spans)
            spans.append({"start": key[0], "end": key[1], "label": key[2]})
    by_offsets: dict[tuple, int] = {}
    for (start, end, _label), index in seen.items():
        by_offsets.setdefault((start, end), index)  # first span with these offsets
    user_data = doc.user_data
    relations = []
    for n, relation in enumerate(user_data.get("relations") or ()):
        try:
            ends = [tuple(int(x) for x in relation[key]) for key in ("head", "tail")]
            label = relation["label"]
        except (TypeError, KeyError, ValueError):
            shape = '{"head": [start, end], "tail": [start, end], "label"}'
            raise ValueError(f"user_data relations[{n}] must be {shape}") from None
        for key, offsets in zip(("head", "tail"), ends):
            if offsets not in by_offsets:
                raise ValueError(f"user_data relations[{n}]: {key} {list(offsets)} is not a span of this document")
        relations.append({"head": by_offsets[ends[0]], "tail": by_offsets[ends[1]], "label": label})
    obj = {
        "text": doc.text,
        "meta": _lists(user_data.get("meta")),
        "spans": spans,
        "relations": relations,
        "id": user_data.get("id"),
        "annotator": user_data.get("annotator"),
        "adopted_from": user_data.get("adopted_from"),
    }
    record = parse_document(obj)
    columns = doc.to_array([IDX, LENGTH, ENT_IOB])
    missing = int((columns[:, 2] == 0).sum())
    record.annotated = SPAN_KEY in doc.spans or missing < len(doc)
    if record.annotated and missing and len(doc):
        record.warnings.append(f"{missing} of its {len(doc)} tokens have no entity annotation (ENT_IOB missing); "
                               "they are stored as outside any entity")
    others = sorted(name for name, group in doc.spans.items() if name != SPAN_KEY and len(group))
    if others:
        record.warnings.append(f"span groups {', '.join(map(repr, others))} are not read (only {SPAN_KEY!r} and "
                               "doc.ents are)")
    if len(doc):
        starts = columns[:, 0].tolist()
        sentences = doc.to_array(SENT_START).astype("int64").tolist() if doc.has_annotation("SENT_START") else None
        try:
            record.tokens = token_columns.pack_words(
                record.text, list(zip(starts, map(add, starts, columns[:, 1].tolist()))), sentences)
        except ValueError as exc:  # an empty token, say: spaCy lets a Doc have one
            raise ValueError(f"its tokens cannot be kept: {exc}") from None
    return record


def _lists(value):
    """DocBin reads user_data with tuples for lists; give lists back, as JSON would."""
    if isinstance(value, (list, tuple)):
        return [_lists(v) for v in value]
    if isinstance(value, dict):
        return {k: _lists(v) for k, v in value.items()}
    return value
