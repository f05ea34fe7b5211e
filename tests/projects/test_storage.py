"""projects.storage: files written as they are produced and read as streams, on the local filesystem and on a
real S3 server (SeaweedFS, tests/seaweedfs.py)."""

from __future__ import annotations

import hashlib
import io
import os

import pytest
from django.core.files.storage import default_storage

from projects.storage import open_stored, stored_file

MiB = 1 << 20


@pytest.fixture(params=["local", "bucket"])
def storage_kind(request) -> str:
    """Each test once on the local filesystem (the default) and once on a bucket."""
    if request.param == "bucket":
        request.getfixturevalue("object_storage")
    return request.param


def lines_of(size: int) -> bytes:
    """About ``size`` bytes of numbered lines, each different (a shifted part would not compare equal)."""
    out, n = io.BytesIO(), 0
    while out.tell() < size:
        out.write(f"line {n:08d} {'é' * (n % 37)}\n".encode())
        n += 1
    return out.getvalue()


def test_what_is_written_is_read_back_whole_with_seeks_and_lines(storage_kind):
    data = lines_of(3 * MiB)
    with stored_file("tests/lines.txt") as out:
        for start in range(0, len(data), 100_000):
            out.write(data[start:start + 100_000])
    assert default_storage.exists(out.name) and default_storage.size(out.name) == len(data) == out.size
    with open_stored(out.name) as raw:
        assert raw.seek(0, os.SEEK_END) == len(data)  # what FileResponse does for Content-Length
        raw.seek(0)
        assert list(raw) == data.splitlines(keepends=True)
        raw.seek(len(data) // 2)
        assert raw.read(1000) == data[len(data) // 2:len(data) // 2 + 1000]
        raw.seek(0)
        assert hashlib.file_digest(raw, "sha256").hexdigest() == hashlib.sha256(data).hexdigest()
    default_storage.delete(out.name)
    assert not default_storage.exists(out.name)


def test_a_missing_file_is_file_not_found(storage_kind):
    with pytest.raises(FileNotFoundError):
        open_stored("tests/never-stored.txt")


def test_a_write_that_fails_stores_nothing(storage_kind):
    with pytest.raises(RuntimeError), stored_file("tests/broken.txt") as out:
        out.write(b"x" * (6 * MiB))
        raise RuntimeError("the export broke")
    assert not default_storage.exists("tests/broken.txt")


def test_a_large_file_goes_to_the_bucket_in_parts_while_it_is_written(object_storage, seaweedfs, settings):
    settings.AWS_S3_FILE_BUFFER_SIZE = 5 * MiB  # S3's smallest part
    client = seaweedfs.client()
    data = lines_of(12 * MiB)
    with stored_file("exports/large.jsonl") as out:
        for start in range(0, 11 * MiB, 256 * 1024):
            out.write(data[start:start + 256 * 1024])
        # Parts are on the server already; the object is not visible until the upload completes.
        uploads = client.list_multipart_uploads(Bucket=object_storage).get("Uploads", [])
        assert [u["Key"] for u in uploads] == ["exports/large.jsonl"]
        parts = client.list_parts(Bucket=object_storage, Key="exports/large.jsonl", UploadId=uploads[0]["UploadId"])
        assert len(parts.get("Parts", [])) >= 1
        assert not default_storage.exists("exports/large.jsonl")
        out.write(data[11 * MiB:])
    head = client.head_object(Bucket=object_storage, Key=out.name)
    assert head["ETag"].strip('"').endswith("-3")  # a multipart object of three parts
    assert head["ContentLength"] == len(data)
    assert client.get_object(Bucket=object_storage, Key=out.name)["Body"].read() == data
    assert client.list_multipart_uploads(Bucket=object_storage).get("Uploads", []) == []


def test_a_multipart_write_that_fails_is_aborted(object_storage, seaweedfs, settings):
    settings.AWS_S3_FILE_BUFFER_SIZE = 5 * MiB
    client = seaweedfs.client()
    with pytest.raises(RuntimeError), stored_file("exports/broken.jsonl") as out:
        out.write(b"y" * (11 * MiB))
        raise RuntimeError("the export broke")
    assert not default_storage.exists("exports/broken.jsonl")
    assert client.list_multipart_uploads(Bucket=object_storage).get("Uploads", []) == []


def test_a_small_file_is_one_put(object_storage, seaweedfs):
    with stored_file("snapshots/1/v1/small.jsonl") as out:
        out.write(b'{"text": "x"}\n')
    head = seaweedfs.client().head_object(Bucket=object_storage, Key="snapshots/1/v1/small.jsonl")
    assert "-" not in head["ETag"].strip('"') and head["ContentLength"] == 14


def test_reading_a_stored_object_starts_before_it_is_all_downloaded(object_storage):
    """A reader holds one read-ahead buffer, never the object: reading 1 byte of a 20 MiB object reads ~1 MiB."""
    data = os.urandom(20 * MiB)
    with stored_file("imports/big.bin") as out:
        out.write(data)
    with open_stored(out.name) as raw:
        assert raw.read(1) == data[:1]
        assert raw.raw.position <= 2 * MiB  # what has come over the network so far
        raw.seek(15 * MiB)
        assert raw.read(10) == data[15 * MiB:15 * MiB + 10]
