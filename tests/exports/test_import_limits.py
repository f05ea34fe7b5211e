"""Import limits (README, "Security"): a document longer than DOCUMENT_MAX_CHARACTERS fails the job with its
line in every format, a file over IMPORT_MAX_FILE_BYTES is a 413 naming the limit (API and admin), and a
snapshot id says nothing to who cannot see its project."""

from __future__ import annotations

import json

import pytest
import spacy
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from spacy.tokens import DocBin

from projects.models import Document, Job

pytestmark = pytest.mark.django_db

LONG = "Omar met Mei in Aleppo 叙利亚 🇷🇺 today."  # 38 code points
SHORT = "Mei left."


def docbin(*texts: str) -> bytes:
    nlp = spacy.blank("en")
    return DocBin(docs=[nlp(text) for text in texts]).to_bytes()


FILES = {  # format: (file, the long document's line)
    "text": (f"{SHORT}\n{SHORT} again\n{LONG}\n", 3),
    "jsonl": ("".join(json.dumps({"text": t}) + "\n" for t in (SHORT, LONG)), 2),
    "doccano": ("".join(json.dumps({"text": t, "label": []}) + "\n" for t in (SHORT, LONG)), 2),
    "prodigy": ("".join(json.dumps({"text": t, "answer": "accept"}) + "\n" for t in (LONG,)), 1),
    "conll": ("-DOCSTART- -X- O O\n\nMei O\nleft O\n\n-DOCSTART- -X- O O\n\n"
              + "".join(f"{word} O\n" for word in LONG.split()), 8),
    "spacy": (docbin(SHORT, LONG), 2),
}


@pytest.fixture
def import_file(project, people, client_for, django_capture_on_commit_callbacks):
    def run(content, fmt: str):
        data = content.encode("utf-8") if isinstance(content, str) else content
        client = client_for(people["admin"])
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(f"/api/v1/projects/{project.pk}/imports/",
                                   {"file": SimpleUploadedFile(f"upload.{fmt}", data), "format": fmt},
                                   format="multipart")
        assert response.status_code == 202, response.content
        return client.get(f"/api/v1/jobs/{response.json()['job']['id']}/").json()

    return run


@override_settings(DOCUMENT_MAX_CHARACTERS=30)
@pytest.mark.parametrize("fmt", FILES)
def test_a_document_over_the_length_limit_fails_the_import_with_its_line_in_every_format(project, import_file, fmt):
    before = Document.objects.count()
    content, line = FILES[fmt]
    job = import_file(content, fmt)
    assert job["status"] == "failed", job
    assert job["error"].startswith(f"line {line}: the document has "), job["error"]
    assert "the limit is 30 (DOCUMENT_MAX_CHARACTERS)" in job["error"] and job["result"]["line"] == line
    assert Document.objects.count() == before


@override_settings(DOCUMENT_MAX_CHARACTERS=1000)
def test_documents_within_the_limit_import(project, import_file):
    job = import_file(FILES["jsonl"][0], "jsonl")
    assert job["status"] == "succeeded", job["error"]


@override_settings(IMPORT_MAX_FILE_BYTES=100)
def test_a_file_over_the_size_limit_is_a_413_naming_it_and_no_job_starts(project, people, client_for):
    jobs = Job.objects.count()
    response = client_for(people["admin"]).post(
        f"/api/v1/projects/{project.pk}/imports/",
        {"file": SimpleUploadedFile("big.txt", b"x" * 101), "format": "text"}, format="multipart")
    assert response.status_code == 413, response.content
    assert response.json() == {"detail": "the file has 101 bytes: the limit is 100 (IMPORT_MAX_FILE_BYTES)",
                               "code": "file_too_large", "limit": "IMPORT_MAX_FILE_BYTES", "max": 100}
    assert Job.objects.count() == jobs


@override_settings(IMPORT_MAX_FILE_BYTES=100)
def test_a_body_over_the_file_limit_is_refused_from_its_content_length_before_it_is_read(project, people, client_for):
    response = client_for(people["admin"]).post(
        f"/api/v1/projects/{project.pk}/imports/",
        {"file": SimpleUploadedFile("big.txt", b"x" * 200_000), "format": "text"}, format="multipart")
    assert response.status_code == 413 and response.json()["limit"] == "IMPORT_MAX_FILE_BYTES", response.content


@override_settings(IMPORT_MAX_FILE_BYTES=100)
def test_the_admin_import_form_says_the_file_is_too_large(project, make_user):
    client = Client()
    client.force_login(make_user("root", is_staff=True, is_superuser=True))
    response = client.post(f"/admin/projects/project/{project.pk}/import/",
                           {"file": SimpleUploadedFile("big.txt", b"x" * 101), "format": "text",
                            "annotations_as": "submitted"})
    assert response.status_code == 200 and b"the limit is 100 (IMPORT_MAX_FILE_BYTES)" in response.content
    assert not Job.objects.exists()


# Snapshot ids -------------------------------------------------------------------------------------

def test_a_snapshot_id_answers_the_same_404_whether_or_not_it_exists(project, people, client_for):
    admin = client_for(people["admin"])
    response = admin.post(f"/api/v1/projects/{project.pk}/snapshots/", {"note": "v1"}, format="json")
    assert response.status_code == 201, response.content
    snapshot_id = response.json()["id"]
    outsider = client_for(people["outsider"])
    stored = outsider.get(f"/api/v1/snapshots/{snapshot_id}/export/")
    missing = outsider.get(f"/api/v1/snapshots/{snapshot_id + 1000}/export/")
    assert stored.status_code == missing.status_code == 404
    assert stored.json() == missing.json() == {"detail": "No such snapshot."}
    assert admin.get(f"/api/v1/snapshots/{snapshot_id}/export/").status_code == 200
