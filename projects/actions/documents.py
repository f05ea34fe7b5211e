from __future__ import annotations

from collections.abc import Sequence
from itertools import islice

from django.conf import settings
from django.db import transaction

from projects import bulk
from projects.errors import InvalidInput, over_limit
from projects.inputs import check_input
from projects.models import Document, Project
from projects.overlap import phase_of, sample_flags
from projects.token_columns import tokenizer_key, unpack
from projects.tokens import BulkTokenizer, bulk_tokenizer


def check_document_fields(i: int | None, text: object, meta: object, *, stored: bool = False) -> None:
    """InvalidInput naming what is wrong with a document's fields (``[i]`` its place in a list); a
    ``stored`` document's text is not checked again (its meta can change, whatever its length)."""
    where = f"[{i}] " if i is not None else ""
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput(f"{where}text: a document needs non-empty text", code="empty_text")
    if not stored and len(text) > settings.DOCUMENT_MAX_CHARACTERS:
        raise over_limit("DOCUMENT_MAX_CHARACTERS", f"{where}text: the document has {len(text):,} characters",
                         code="document_too_long", error=InvalidInput)
    if meta is not None and not isinstance(meta, dict):
        raise InvalidInput(f"{where}meta: must be an object", code="invalid_meta")
    if not stored:
        check_input(text, f"{where}text")
    check_input(meta, f"{where}meta")


@transaction.atomic
def do_create_documents(project: Project, items: Sequence[dict], *, acting_user=None) -> list[Document]:
    """Create documents from ``{"text", "meta"?}`` items, unlabelled, with their tokens: tokenized,
    packed and written as an import's are (``projects.bulk``'s document writer), in this process."""
    for i, item in enumerate(items):
        check_document_fields(i if len(items) > 1 else None, item.get("text"), item.get("meta"))
    tokenizer = bulk_tokenizer(project.language)
    with tokenizer.batch():
        documents = [bulk.NewDocument(text=item["text"], content_hash=Document.hash_text(item["text"]),
                                      meta=item.get("meta") or {}, tokens=tokenizer.tokenize(item["text"])[0])
                     for item in items]
    with bulk.document_writer(project, acting_user=acting_user, keep_ids=True) as writer:
        writer.write(documents, {}, {})
    created = list(Document.objects.filter(pk__in=writer.document_ids).order_by("pk"))
    for document in created:
        document.project = project
    return created


def overlap_flags(project: Project, count: int) -> list[bool]:
    """``Document.overlap`` of ``count`` documents about to be stored after the project's current ones."""
    if project.overlap_sample >= 1:
        return [True] * count
    first = Document.objects.filter(project=project).count()
    return sample_flags(first, count, project.overlap_sample, phase_of(project.pk, project.split_seed))


def do_choose_overlap_sample(project: Project, *, batch_size: int = 5000) -> None:
    """Choose the overlap sample again over the project's documents as they are (a new fraction);
    in batches of ids, two updates each."""
    fraction, phase = project.overlap_sample, phase_of(project.pk, project.split_seed)
    ids = Document.objects.filter(project=project).order_by("pk").values_list("pk", flat=True).iterator(
        chunk_size=batch_size)
    ordinal = 0
    while batch := list(islice(ids, batch_size)):
        flags = sample_flags(ordinal, len(batch), fraction, phase)
        ordinal += len(batch)
        for value in (True, False):
            chosen = [pk for pk, flag in zip(batch, flags) if flag is value]
            if chosen:
                Document.objects.filter(pk__in=chosen).exclude(overlap=value).update(overlap=value)


def do_store_tokens(project: Project, *, batch_size: int = 1000) -> int:
    """Store the tokens of the project's documents that have none (stored before tokens were kept)
    or have another language's or spaCy version's; how many. A batch at a time, one bulk update each."""
    key = tokenizer_key(project.language)
    tokenizer = None
    rows = (Document.objects.filter(project=project).order_by("pk").values_list("pk", "text", "tokens")
            .iterator(chunk_size=batch_size))
    stored = 0
    while batch := list(islice(rows, batch_size)):
        missing = [(pk, text) for pk, text, tokens in batch if unpack(tokens, key, text) is None]
        if not missing:
            continue
        tokenizer = tokenizer or BulkTokenizer(project.language)
        with tokenizer.batch():
            documents = [Document(pk=pk, tokens=tokenizer.tokenize(text)[0]) for pk, text in missing]
        Document.objects.bulk_update(documents, ["tokens"])
        stored += len(documents)
    return stored


@transaction.atomic
def do_update_document_meta(document: Document, meta: object, *, acting_user) -> Document:
    """Replace a document's meta; its text, project and tokens never change (delete it and import again)."""
    check_document_fields(None, document.text, meta, stored=True)
    document.meta = meta or {}
    Document.objects.filter(pk=document.pk).update(meta=document.meta)
    return document


@transaction.atomic
def do_delete_documents(project: Project, document_ids: Sequence[int], *, acting_user) -> int:
    """Delete documents of ``project`` with everything on them (annotations, gold and its history,
    assignments, suggestions); how many. The only way to replace a document's text."""
    _, by_model = Document.objects.filter(project=project, pk__in=list(document_ids)).delete()
    return by_model.get(Document._meta.label, 0)
