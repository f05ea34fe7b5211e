"""Exports and snapshots: database -> records -> a format's bytes, hashed as they are written.
Starting the jobs of imports, large exports and snapshots."""

from __future__ import annotations

import hashlib
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Max

from exports.collect import SOURCES, annotations_for, collect_records
from exports.formats import EXPORT_FORMATS, FORMATS, TEXT_ENCODING, check_reader_options
from exports.models import Snapshot
from exports.records import DocumentRecord, ExportStats
from exports.splits import SPLITS
from projects.actions.jobs import do_start_job
from projects.errors import Conflict, InvalidInput, over_limit
from projects.models import Job, Label, Project
from projects.storage import stored_file
from projects.tokens import blank_pipeline

SCHEMES = ("iob2", "biluo")


@dataclass
class ExportFile:
    format: str
    filename: str
    sha256: str
    size: int
    documents: int
    dropped_overlaps: int


def check_export_args(fmt: str, source: str, split: str | None, scheme: str) -> None:
    if fmt not in EXPORT_FORMATS:
        raise InvalidInput(f"format: {fmt!r} is not one of {', '.join(EXPORT_FORMATS)}", code="unknown_format")
    if source not in SOURCES:
        raise InvalidInput(f"source: {source!r} is not one of {', '.join(SOURCES)}", code="unknown_source")
    if split is not None and split not in SPLITS:
        raise InvalidInput(f"split: {split!r} is not one of {', '.join(SPLITS)}", code="unknown_split")
    if scheme not in SCHEMES:
        raise InvalidInput(f"scheme: {scheme!r} is not one of {', '.join(SCHEMES)}", code="unknown_scheme")


def export_filename(project: Project, fmt: str, *, source: str, split: str | None, suffix: str = "") -> str:
    slug = "".join(ch if ch.isalnum() else "-" for ch in project.name.lower()).strip("-") or "project"
    parts = [slug, source] + ([split] if split else []) + ([suffix] if suffix else [])
    return "-".join(parts) + FORMATS[fmt].extension


def count_export_documents(project: Project, source: str) -> int:
    return annotations_for(project, source).count()


def _counted(records: Iterable[DocumentRecord], counter: list[int],
             progress: Callable[[int], None] | None, every: int = 1000) -> Iterator[DocumentRecord]:
    for record in records:
        counter[0] += 1
        if progress and counter[0] % every == 0:
            progress(counter[0])
        yield record


def write_export(project: Project, out, *, fmt: str, source: str = "gold", split: str | None = None,
                 scheme: str = "iob2", progress: Callable[[int], None] | None = None,
                 filename_suffix: str = "") -> ExportFile:
    """Write one export to the binary file ``out``; returns its name, size and SHA-256."""
    check_export_args(fmt, source, split, scheme)
    stats, counter = ExportStats(), [0]
    records = _counted(collect_records(project, source=source, split=split), counter, progress)
    digest, size = hashlib.sha256(), 0
    writer = FORMATS[fmt].writer
    nlp = blank_pipeline(project.language)
    if fmt == "spacy":
        chunks: Iterable[bytes] = writer(records, nlp, stats)
    elif fmt == "conll":
        chunks = _encoded(writer(records, nlp, scheme=scheme, stats=stats))
    else:
        chunks = _encoded(writer(records))
    try:
        for chunk in chunks:
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    except ValueError as exc:  # what the format cannot hold (a file's token with a space inside, for CoNLL)
        raise Conflict(f"this project cannot be exported as {fmt}: {exc}", code="not_exportable") from None
    return ExportFile(fmt, export_filename(project, fmt, source=source, split=split, suffix=filename_suffix),
                      digest.hexdigest(), size, counter[0], stats.dropped_overlaps)


def _encoded(pieces: Iterable[str], chunk_chars: int = 1 << 18) -> Iterator[bytes]:
    """Join a writer's pieces (lines, documents) into chunks of about ``chunk_chars``, so the
    file is written in few, bounded pieces."""
    buffer: list[str] = []
    size = 0
    for piece in pieces:
        buffer.append(piece)
        size += len(piece)
        if size >= chunk_chars:
            yield "".join(buffer).encode(TEXT_ENCODING)
            buffer.clear()
            size = 0
    if buffer:
        yield "".join(buffer).encode(TEXT_ENCODING)


def spooled_export(project: Project, **kwargs) -> tuple[tempfile.SpooledTemporaryFile, ExportFile]:
    """An export in a temporary file (in memory while small), rewound, with its metadata.

    Spooling lets the response carry the SHA-256 and length in its headers while
    memory stays bounded whatever the export's size.
    """
    spool = tempfile.SpooledTemporaryFile(max_size=settings.EXPORT_SPOOL_MEMORY_BYTES)
    info = write_export(project, spool, **kwargs)
    spool.seek(0)
    return spool, info


def export_to_storage(project: Project, folder: str, *, fmt: str, source: str = "gold", split: str | None = None,
                      filename_suffix: str = "", **kwargs) -> dict:
    """Write an export into storage under ``folder`` as it is produced; its metadata plus the stored ``path``."""
    check_export_args(fmt, source, split, kwargs.get("scheme", "iob2"))
    filename = export_filename(project, fmt, source=source, split=split, suffix=filename_suffix)
    with stored_file(f"{folder}/{filename}") as out:
        info = write_export(project, out, fmt=fmt, source=source, split=split, filename_suffix=filename_suffix,
                            **kwargs)
    return {**asdict(info), "path": out.name}


def label_set(project: Project) -> list[dict]:
    return list(Label.objects.filter(project=project).order_by("kind", "name")
                .values("name", "kind", "color", "shortcut"))


def do_create_snapshot(project: Project, *, note: str = "", acting_user=None) -> Snapshot:
    """Freeze the gold set: one stored file per format, each with its SHA-256, under the next number."""
    with transaction.atomic():
        # Lock the project row so two snapshots never take the same number.
        Project.objects.select_for_update().filter(pk=project.pk).first()
        number = (Snapshot.objects.filter(project=project).aggregate(n=Max("number"))["n"] or 0) + 1
        files = {}
        for fmt in EXPORT_FORMATS:
            info = export_to_storage(project, f"snapshots/{project.pk}/v{number}", fmt=fmt, source="gold",
                                     filename_suffix=f"v{number}")
            files[fmt] = {k: info[k] for k in ("path", "sha256", "size", "filename")}
            documents = info["documents"]
        return Snapshot.objects.create(project=project, number=number, note=note, documents=documents,
                                       labels=label_set(project), files=files, created_by=acting_user)


def _progress_for(job):
    from projects.actions.jobs import report_progress

    return lambda done: report_progress(job, done)


def run_export_job(job) -> dict:
    """The body of a large export: write the file to storage; the result says where to download it."""
    from projects.actions.jobs import report_progress

    params = job.params
    report_progress(job, 0, count_export_documents(job.project, params["source"]))
    info = export_to_storage(job.project, f"exports/job-{job.pk}", fmt=params["format"], source=params["source"],
                             split=params.get("split"), scheme=params.get("scheme", "iob2"),
                             progress=_progress_for(job))
    report_progress(job, info["documents"], info["documents"])
    return {**info, "url": f"/api/v1/jobs/{job.pk}/download/"}


def run_snapshot_job(job) -> dict:
    snapshot = do_create_snapshot(job.project, note=job.params.get("note", ""), acting_user=job.created_by)
    return {"snapshot": snapshot.pk, "number": snapshot.number, "documents": snapshot.documents,
            "sha256": snapshot.sha256}


# Jobs ---------------------------------------------------------------------------------------------

def check_upload_size(size: int | None) -> None:
    """TooLarge (413) when an import's file (``size`` bytes) is over ``IMPORT_MAX_FILE_BYTES``."""
    if size is not None and size > settings.IMPORT_MAX_FILE_BYTES:
        raise over_limit("IMPORT_MAX_FILE_BYTES", f"the file has {size:,} bytes", code="file_too_large")


def do_start_import(project: Project, upload, *, fmt: str, acting_user, create_labels: bool = False,
                    skip_duplicates: bool = True, annotations_as: str = "submitted",
                    documents: str | None = None) -> Job:
    """Store the upload and queue its import job (``exports.run_import``) once the job row is committed.

    ``documents`` (conll only) is passed to the reader when given; otherwise the reader's default applies.
    The stored upload is deleted when the job has ended, or could not be queued.
    """
    reader_options = {"documents": documents} if documents is not None else {}
    errors = check_reader_options(fmt, reader_options)
    if errors:
        raise ValueError(next(iter(errors.values())))
    check_upload_size(upload.size)
    path = default_storage.save(f"imports/{uuid.uuid4().hex}/{upload.name or 'upload'}", upload)
    return do_start_job(project, Job.Kind.IMPORT, task="exports.run_import", acting_user=acting_user, params={
        "path": path, "format": fmt, "filename": upload.name, "create_labels": create_labels,
        "skip_duplicates": skip_duplicates, "annotations_as": annotations_as, **reader_options,
    })


def delete_upload(job: Job) -> None:
    """Remove an import job's stored upload (the cleanup of ``exports.run_import``)."""
    path = job.params.get("path")
    if path and default_storage.exists(path):
        default_storage.delete(path)


def do_start_export(project: Project, *, fmt: str, source: str = "gold", split: str | None = None,
                    scheme: str = "iob2", acting_user) -> Job:
    """An export job (``exports.run_export``): the file goes to storage, its URL to the job's result."""
    check_export_args(fmt, source, split, scheme)
    return do_start_job(project, Job.Kind.EXPORT, task="exports.run_export", acting_user=acting_user,
                        params={"format": fmt, "source": source, "split": split, "scheme": scheme})


def do_start_snapshot(project: Project, *, note: str = "", acting_user) -> Job:
    """A snapshot made by a worker (``exports.run_snapshot``); the job's result names it."""
    return do_start_job(project, Job.Kind.EXPORT, task="exports.run_snapshot", acting_user=acting_user,
                        params={"snapshot": True, "note": note})
