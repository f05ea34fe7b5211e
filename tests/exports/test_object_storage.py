"""Imports, large exports and snapshots with files in an S3 bucket (a real SeaweedFS server, tests/seaweedfs.py):
the same API, the same bytes and SHA-256, nothing written under MEDIA_ROOT."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from exports.models import Snapshot
from projects.models import Document, Job
from tests.exports import test_exports_api
from tests.exports.test_exports_api import body, export

pytestmark = pytest.mark.django_db

gold_project = test_exports_api.gold_project  # the same fixture: three documents with gold

CONLL = "-DOCSTART- -X- O O\n\nOmar B-PER\nflew O\nto O\nHoms B-LOC\n. O\n\n-DOCSTART- -X- O O\n\nAmira B-PER\nwon O\n"


def bucket_keys(seaweedfs, bucket: str) -> list[str]:
    listed = seaweedfs.client().list_objects_v2(Bucket=bucket)
    return sorted(item["Key"] for item in listed.get("Contents", []))


def nothing_under(folder) -> bool:
    return not any(Path(folder).rglob("*"))


@pytest.mark.parametrize("fmt, content, documents", [
    ("jsonl", '{"text": "Omar flew to Homs."}\n{"text": "Amira won."}\n', 2),
    ("conll", CONLL, 2),  # read twice (its survey, then its documents): a seek back to the start of the object
])
def test_an_upload_is_kept_in_the_bucket_and_the_worker_reads_it_from_there(
        object_storage, seaweedfs, project, people, client_for, settings, django_capture_on_commit_callbacks,
        fmt, content, documents):
    client = client_for(people["admin"])
    with django_capture_on_commit_callbacks() as callbacks:  # the job is queued, not run yet
        response = client.post(f"/api/v1/projects/{project.pk}/imports/",
                               {"file": SimpleUploadedFile(f"upload.{fmt}", content.encode()), "format": fmt,
                                "create_labels": True}, format="multipart")
    assert response.status_code == 202, response.content
    job = Job.objects.get(pk=response.json()["job"]["id"])
    assert bucket_keys(seaweedfs, object_storage) == [job.params["path"]]
    for callback in callbacks:
        callback()
    job = client.get(f"/api/v1/jobs/{job.pk}/").json()
    assert job["status"] == "succeeded", job
    assert job["result"]["documents"] == documents
    assert Document.objects.filter(project=project).count() == 3 + documents
    assert bucket_keys(seaweedfs, object_storage) == []  # the upload is removed once the job has ended
    assert nothing_under(settings.MEDIA_ROOT)


def test_a_large_export_is_written_to_the_bucket_and_downloads_through_the_api(
        object_storage, seaweedfs, gold_project, people, client_for, settings, django_capture_on_commit_callbacks):
    client = client_for(people["reviewer"])
    direct = body(export(client, gold_project, format="spacy"))
    settings.EXPORT_SYNC_MAX_DOCUMENTS = 1
    with django_capture_on_commit_callbacks(execute=True):
        response = export(client, gold_project, format="spacy")
    assert response.status_code == 202
    job = client.get(f"/api/v1/jobs/{response.json()['job']['id']}/").json()
    assert job["status"] == "succeeded", job
    assert bucket_keys(seaweedfs, object_storage) == [job["result"]["path"]]
    stored = seaweedfs.client().get_object(Bucket=object_storage, Key=job["result"]["path"])["Body"].read()
    download = client.get(job["result"]["url"])
    assert download.status_code == 200
    assert int(download["Content-Length"]) == len(stored)
    data = body(download)
    assert data == stored == direct
    assert hashlib.sha256(data).hexdigest() == job["result"]["sha256"] == download["X-Content-SHA256"]
    assert client_for(people["annotator"]).get(job["result"]["url"]).status_code == 404
    assert nothing_under(settings.MEDIA_ROOT)


def test_a_snapshot_is_kept_in_the_bucket_with_each_files_sha256(object_storage, seaweedfs, gold_project, people,
                                                                  client_for, settings):
    admin = client_for(people["admin"])
    response = admin.post(f"/api/v1/projects/{gold_project.pk}/snapshots/", {"note": "to the bucket"}, format="json")
    assert response.status_code == 201, response.content
    snapshot = Snapshot.objects.get(pk=response.json()["id"])
    assert bucket_keys(seaweedfs, object_storage) == sorted(info["path"] for info in snapshot.files.values())
    for fmt, info in snapshot.files.items():
        download = admin.get(f"/api/v1/snapshots/{snapshot.pk}/export/", {"format": fmt})
        data = body(download)
        assert hashlib.sha256(data).hexdigest() == info["sha256"] == download["X-Content-SHA256"]
        assert len(data) == info["size"] == int(download["Content-Length"])
    assert client_for(people["outsider"]).get(f"/api/v1/snapshots/{snapshot.pk}/export/").status_code == 404
    assert nothing_under(settings.MEDIA_ROOT)
