"""The S3-compatible storage (``STORAGES["default"]`` when ``AWS_STORAGE_BUCKET_NAME`` is set): django-storages'
``S3Storage`` plus a streamed reader and writer for large files (``projects.storage`` says why).

Imported only when configured: boto3 takes a third of a second to import.
"""

from __future__ import annotations

import io
from concurrent.futures import Future, ThreadPoolExecutor

from botocore.exceptions import (ClientError, ConnectionClosedError, IncompleteReadError, ReadTimeoutError,
                                 ResponseStreamingError)
from django.conf import settings
from storages.backends.s3 import S3Storage
from storages.utils import clean_name

# Bytes a stored object is read ahead by (one ranged GET streams on for as long as it is read in order).
READ_BUFFER_BYTES = 1 << 20
# The part size of a multipart upload when AWS_S3_FILE_BUFFER_SIZE is not set (S3's minimum is 5 MiB).
PART_BYTES = 8 << 20
# A streamed read that breaks (a connection reset) is taken up again from where it broke this many times.
READ_RETRIES = 2
_BROKEN_STREAM = (ResponseStreamingError, IncompleteReadError, ReadTimeoutError, ConnectionClosedError)


class ObjectStorage(S3Storage):
    """django-storages' S3 storage, plus ``open_stream`` and ``open_upload`` (``projects.storage`` uses them)."""

    def open_stream(self, name: str) -> io.BufferedReader:
        key = self._normalize_name(clean_name(name))
        obj = self.bucket.Object(key)
        try:
            obj.load()
        except ClientError as err:
            if err.response["ResponseMetadata"]["HTTPStatusCode"] == 404:
                raise FileNotFoundError(f"File does not exist: {name}") from None
            raise
        return io.BufferedReader(RangedReader(obj, obj.content_length, name), buffer_size=READ_BUFFER_BYTES)

    def open_upload(self, name: str) -> MultipartUpload:
        name = self.get_available_name(name)
        key = self._normalize_name(clean_name(name))
        part_bytes = max(5 << 20, int(getattr(settings, "AWS_S3_FILE_BUFFER_SIZE", None) or PART_BYTES))
        return MultipartUpload(self.bucket.Object(key), name, self._get_write_parameters(key), part_bytes)


class RangedReader(io.RawIOBase):
    """An S3 object read as a file: one GET from the position on, streamed until a seek moves elsewhere.

    ``seek`` only moves the position (a GET starts at the next read), so seeking to the end for the size,
    as Django's FileResponse does, costs nothing.
    """

    def __init__(self, obj, size: int, name: str):
        super().__init__()
        self.obj, self.size, self.name = obj, size, name
        self.position = 0
        self.body = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        if base + offset < 0:
            raise ValueError(f"negative seek position {base + offset}")
        if base + offset != self.position:
            self._drop()
            self.position = base + offset
        return self.position

    def readinto(self, buffer) -> int:
        if self.position >= self.size or not len(buffer):
            return 0
        for attempt in range(READ_RETRIES + 1):
            try:
                if self.body is None:
                    self.body = self.obj.get(Range=f"bytes={self.position}-")["Body"]
                data = self.body.read(len(buffer))
                break
            except _BROKEN_STREAM:
                self._drop()
                if attempt == READ_RETRIES:
                    raise
        buffer[:len(data)] = data
        self.position += len(data)
        return len(data)

    def close(self) -> None:
        self._drop()
        super().close()

    def _drop(self) -> None:
        if self.body is not None:
            self.body.close()
            self.body = None


class MultipartUpload:
    """Bytes written to one S3 object as they come: a single PUT if they fit in one part, else a multipart
    upload whose parts are sent by a thread of its own while the next is filled (two parts in memory at most).
    ``complete()`` makes the object appear whole; ``abort()`` leaves nothing."""

    def __init__(self, obj, name: str, parameters: dict, part_bytes: int):
        self.obj, self.name, self.parameters, self.part_bytes = obj, name, parameters, part_bytes
        self.client = obj.meta.client
        self.buffer = bytearray()
        self.upload_id: str | None = None
        self.parts: list[dict] = []
        self.sending: Future | None = None
        self.sender: ThreadPoolExecutor | None = None

    def write(self, data) -> int:
        self.buffer += data
        if len(self.buffer) >= self.part_bytes:
            self._send_part()
        return len(data)

    def complete(self) -> None:
        try:
            if self.upload_id is None:
                self.obj.put(Body=bytes(self.buffer), **self.parameters)
                return
            if self.buffer:
                self._send_part()
            self._wait()
            self.client.complete_multipart_upload(Bucket=self.obj.bucket_name, Key=self.obj.key,
                                                  UploadId=self.upload_id, MultipartUpload={"Parts": self.parts})
        except BaseException:
            self.abort()
            raise
        finally:
            self._stop()

    def abort(self) -> None:
        try:
            if self.sending is not None:
                self.sending.exception()  # let the part in flight end before the upload goes
            if self.upload_id is not None:
                self.client.abort_multipart_upload(Bucket=self.obj.bucket_name, Key=self.obj.key,
                                                   UploadId=self.upload_id)
                self.upload_id = None
        finally:
            self._stop()

    def _send_part(self) -> None:
        if self.upload_id is None:
            self.upload_id = self.client.create_multipart_upload(
                Bucket=self.obj.bucket_name, Key=self.obj.key, **self.parameters)["UploadId"]
            self.sender = ThreadPoolExecutor(max_workers=1, thread_name_prefix="s3-part")
        self._wait()
        body, self.buffer = bytes(self.buffer), bytearray()
        number = len(self.parts) + 1
        self.sending = self.sender.submit(self.client.upload_part, Bucket=self.obj.bucket_name, Key=self.obj.key,
                                          UploadId=self.upload_id, PartNumber=number, Body=body)
        self.parts.append({"PartNumber": number})

    def _wait(self) -> None:
        if self.sending is not None:
            self.parts[-1]["ETag"] = self.sending.result()["ETag"]
            self.sending = None

    def _stop(self) -> None:
        if self.sender is not None:
            self.sender.shutdown(wait=True)
            self.sender = None
        self.buffer = bytearray()
