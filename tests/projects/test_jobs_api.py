"""Jobs: the row is the truth about long work; GET shows it, cancel stops it."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from projects.actions.jobs import do_create_job, fail_job, finish_job, report_progress, start_job
from projects.models import Job

pytestmark = pytest.mark.django_db

CONTRACT_KEYS = {"id", "kind", "status", "progress", "error", "result"}


def job_url(job, tail=""):
    return f"/api/v1/jobs/{job.pk}/{tail}"


@pytest.fixture
def job(project, people):
    return do_create_job(project, Job.Kind.IMPORT, acting_user=people["admin"], params={"format": "text"}, total=40)


def status_of(job) -> str:
    return Job.objects.get(pk=job.pk).status


def test_job_has_the_documented_shape(job, people, client_for):
    response = client_for(people["admin"]).get(job_url(job))
    assert response.status_code == 200
    body = response.json()
    assert CONTRACT_KEYS <= set(body)
    assert {k: body[k] for k in CONTRACT_KEYS} == {
        "id": job.pk, "kind": "import", "status": "pending", "progress": {"done": 0, "total": 40}, "error": "",
        "result": {}}


def test_running_job_shows_its_progress(job, people, client_for):
    running = start_job(job.pk)
    report_progress(running, 12)
    body = client_for(people["reviewer"]).get(job_url(job)).json()
    assert body["status"] == "running"
    assert body["progress"] == {"done": 12, "total": 40}


def test_finished_job_shows_its_result(job, people, client_for):
    running = start_job(job.pk)
    report_progress(running, 40)
    finish_job(running, {"documents": 40})
    body = client_for(people["admin"]).get(job_url(job)).json()
    assert (body["status"], body["progress"], body["result"], body["error"]) == (
        "succeeded", {"done": 40, "total": 40}, {"documents": 40}, "")


def test_failed_job_shows_its_error(job, people, client_for):
    fail_job(start_job(job.pk), "line 3: not valid JSON")
    body = client_for(people["admin"]).get(job_url(job)).json()
    assert (body["status"], body["error"]) == ("failed", "line 3: not valid JSON")


def test_missing_job_is_404(people, client_for):
    response = client_for(people["admin"]).get("/api/v1/jobs/999999/")
    assert response.status_code == 404
    assert response.json()["detail"] == "No such job."


@pytest.mark.parametrize("start", [False, True], ids=["pending", "running"])
def test_cancelling_an_unfinished_job_marks_it_cancelled(job, people, client_for, start):
    if start:
        start_job(job.pk)
    response = client_for(people["admin"]).post(job_url(job, "cancel/"))
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert CONTRACT_KEYS <= set(response.json())
    job.refresh_from_db()
    assert job.status == "cancelled" and job.finished_at is not None
    assert start_job(job.pk) is None  # a worker picking it up later does nothing


def test_a_cancelled_job_is_not_marked_succeeded_by_a_late_worker(job, people, client_for):
    running = start_job(job.pk)
    client_for(people["admin"]).post(job_url(job, "cancel/"))
    finish_job(running, {"documents": 1})
    assert status_of(job) == "cancelled"


@pytest.mark.parametrize("finish", [
    lambda job: finish_job(start_job(job.pk), {}),
    lambda job: fail_job(start_job(job.pk), "boom"),
], ids=["succeeded", "failed"])
def test_cancelling_a_finished_job_is_409_and_changes_nothing(job, people, client_for, finish):
    finish(job)
    before = status_of(job)
    response = client_for(people["admin"]).post(job_url(job, "cancel/"))
    assert response.status_code == 409
    assert response.json()["detail"] == f"the job has already {before}"
    assert response.json()["code"] == "job_finished"
    assert status_of(job) == before


def test_cancelling_twice_is_409(job, people, client_for):
    client = client_for(people["admin"])
    assert client.post(job_url(job, "cancel/")).status_code == 200
    response = client.post(job_url(job, "cancel/"))
    assert response.status_code == 409
    assert response.json()["detail"] == "the job has already cancelled"


def test_cancel_takes_post_only(job, people, client_for):
    response = client_for(people["admin"]).get(job_url(job, "cancel/"))
    assert response.status_code == 405
    assert status_of(job) == "pending"


def test_import_answers_the_whole_job(project, people, client_for):
    upload = SimpleUploadedFile("docs.txt", "One.\nTwo.\n".encode(), content_type="text/plain")
    client = client_for(people["admin"])
    response = client.post(f"/api/v1/projects/{project.pk}/imports/", {"file": upload, "format": "text"},
                           format="multipart")
    assert response.status_code == 202, response.json()
    job = response.json()["job"]
    assert CONTRACT_KEYS <= set(job)
    assert (job["kind"], job["status"]) == ("import", "pending")
    assert client.get(f"/api/v1/jobs/{job['id']}/").json()["id"] == job["id"]
    assert Job.objects.get(pk=job["id"]).created_by == people["admin"]


@pytest.mark.parametrize("body, field", [
    ({"format": "text"}, "file"),
    ({"file": "UPLOAD", "format": "docx"}, "format"),
    ({"file": "UPLOAD"}, "format"),
])
def test_import_that_cannot_start_is_400_and_creates_no_job(project, people, client_for, body, field):
    if body.get("file") == "UPLOAD":
        body = {**body, "file": SimpleUploadedFile("docs.txt", b"One.\n", content_type="text/plain")}
    response = client_for(people["admin"]).post(f"/api/v1/projects/{project.pk}/imports/", body,
                                                format="multipart")
    assert response.status_code == 400
    assert field in response.json()
    assert not Job.objects.exists()
