"""The files the product keeps: import uploads, export and snapshot files, trained model archives.

Every one goes through Django's storage API (``default_storage``, by storage name): the local filesystem
under ``MEDIA_ROOT`` by default, or an S3-compatible bucket when ``AWS_STORAGE_BUCKET_NAME`` is set
(``projects.object_storage.ObjectStorage``, django-storages' ``S3Storage``; annotator/settings). No code
opens a ``MEDIA_ROOT`` path itself, so web processes and workers on different machines share files
through the bucket alone.

Two things large files need that Django's API does not give on S3, here for every storage:

- ``open_stored(name)``: a seekable binary reader that streams the object by ranged GETs as it is read
  (django-storages' ``S3File`` downloads the whole object first, into memory unless
  ``AWS_S3_MAX_MEMORY_SIZE`` is set), so an import or a download starts at once, in bounded memory;
- ``stored_file(name)``: a binary writer whose bytes go to storage as they are written: on S3 a multipart
  upload of ``AWS_S3_FILE_BUFFER_SIZE`` parts (the next part is produced while the last is sent), completed
  when the block ends and aborted if it raises, so a half-written object is never visible; elsewhere a
  temporary file, saved when the block ends (``Storage.save``, as before).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage


def open_stored(name: str):
    """The stored file ``name``, opened for reading (binary, seekable, streamed); FileNotFoundError if none."""
    opener = getattr(default_storage, "open_stream", None)
    return opener(name) if opener is not None else default_storage.open(name, "rb")


class StoredFile:
    """What ``stored_file`` yields: ``write(bytes)``; after the block, ``name`` is the stored name."""

    def __init__(self, out):
        self._out = out
        self.name = ""
        self.size = 0

    def write(self, data) -> int:
        self.size += len(data)
        return self._out.write(data)


@contextmanager
def stored_file(name: str) -> Iterator[StoredFile]:
    """A binary file stored as ``name`` (or a free name near it, as ``Storage.save`` picks) when the block ends
    without an error; nothing is stored if it raises."""
    opener = getattr(default_storage, "open_upload", None)
    if opener is not None:
        upload = opener(name)
        out = StoredFile(upload)
        try:
            yield out
        except BaseException:
            upload.abort()
            raise
        upload.complete()
        out.name = upload.name
        return
    with tempfile.TemporaryFile(dir=settings.FILE_UPLOAD_TEMP_DIR) as tmp:
        out = StoredFile(tmp)
        yield out
        tmp.seek(0)
        out.name = default_storage.save(name, File(tmp))
