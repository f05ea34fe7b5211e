"""Jobs never hang on a dead worker: the heartbeat of running jobs, the sweep, and what the API and admin show.

A worker that starts a job's task counts itself in ``running_tasks`` and beats (``heartbeat_at``) from a
thread until the task ends; a running job with a task started and no beat for ``JOB_HEARTBEAT_TIMEOUT``
lost its worker. Here the worker's side is played by the same calls the task shell makes
(``start_job`` for a job taken by a worker, ``heartbeat`` around its work), with short intervals; the
tests that SIGKILL real workers are in tests/pipelines/test_prelabel_worker.py.
"""

from __future__ import annotations

import time

import pytest
from django.utils.dateparse import parse_datetime

from curation.actions import agreement_key
from projects.actions.jobs import do_create_job, leave_job, start_job, sweep_lost_jobs
from projects.models import Job
from projects.tasks import heartbeat, job_task
from tests.conftest import wait_for_job

TIMEOUT = 0.3  # JOB_HEARTBEAT_TIMEOUT in these tests


@pytest.fixture(autouse=True)
def short_heartbeats(settings):
    settings.JOB_HEARTBEAT_SECONDS = 0.05
    settings.JOB_HEARTBEAT_TIMEOUT = TIMEOUT


def taken_by_a_worker(project, people, kind=Job.Kind.EXPORT, params=None) -> Job:
    """A job whose task a worker took (counted in running_tasks, heartbeat now), as the task shell does."""
    job = do_create_job(project, kind, acting_user=people["admin"], params=params)
    return start_job(job.pk, held=True)


@pytest.mark.django_db
def test_a_running_job_whose_worker_went_silent_reads_failed_with_worker_lost(project, people, client_for):
    job = taken_by_a_worker(project, people)
    assert (job.status, job.running_tasks) == ("running", 1)
    time.sleep(TIMEOUT + 0.1)  # the worker died: no beat since
    body = client_for(people["admin"]).get(f"/api/v1/jobs/{job.pk}/").json()
    assert body["status"] == "failed"
    assert body["result"] == {"code": "worker_lost", "heartbeat_at": job.heartbeat_at.isoformat()}
    assert parse_datetime(body["heartbeat_at"]) == job.heartbeat_at
    assert body["error"].startswith("the worker running this export job stopped (killed, out of memory, or its "
                                    "machine or database connection lost): nothing heard from it for ")
    assert body["error"].endswith(" s; start the job again")
    job.refresh_from_db()
    assert job.finished_at is not None and job.running_tasks == 0


@pytest.mark.django_db
def test_the_progress_endpoint_lists_a_job_whose_worker_died_as_failed(project, people, client_for):
    job = taken_by_a_worker(project, people)
    time.sleep(TIMEOUT + 0.1)
    jobs = client_for(people["reviewer"]).get(f"/api/v1/projects/{project.pk}/progress/").json()["jobs"]
    assert [(j["id"], j["status"], j["result"]["code"]) for j in jobs] == [(job.pk, "failed", "worker_lost")]


@pytest.mark.django_db
def test_django_admin_lists_a_job_whose_worker_died_as_failed_with_its_error(project, people, client):
    job = taken_by_a_worker(project, people)
    time.sleep(TIMEOUT + 0.1)
    people["admin"].is_staff = people["admin"].is_superuser = True
    people["admin"].save()
    client.force_login(people["admin"])
    page = client.get("/admin/projects/job/").content.decode()
    assert "Failed" in page and "the worker running this export job stopped" in page
    page = client.get(f"/admin/projects/job/{job.pk}/change/").content.decode()
    assert "worker_lost" in page


@pytest.mark.django_db
def test_a_job_whose_tasks_only_wait_in_the_queue_is_never_lost(project, people, client_for):
    """Pre-labelling between chunks: running, but no task of it started (running_tasks 0): nothing to sweep."""
    job = taken_by_a_worker(project, people, kind=Job.Kind.PRELABEL)
    leave_job(job.pk)  # the plan task ended; its chunks wait behind other work
    time.sleep(TIMEOUT + 0.1)
    assert sweep_lost_jobs() == []
    assert client_for(people["admin"]).get(f"/api/v1/jobs/{job.pk}/").json()["status"] == "running"


@pytest.mark.django_db
def test_a_job_run_in_process_has_no_heartbeat_and_is_never_swept(project, people):
    """Without a broker the request runs the task itself: nothing to lose, and a long one must not be failed."""
    job = do_create_job(project, Job.Kind.EXPORT, acting_user=people["admin"])
    job = start_job(job.pk, held=False)
    time.sleep(TIMEOUT + 0.1)
    assert sweep_lost_jobs() == []
    job.refresh_from_db()
    assert (job.status, job.running_tasks, job.heartbeat_at) == ("running", 0, None)


@pytest.mark.django_db(transaction=True)  # the heartbeat thread writes on a connection of its own
def test_a_worker_that_beats_keeps_its_job_running_past_the_timeout_and_leaves_it_when_done(
        project, people, client_for):
    job = taken_by_a_worker(project, people)
    first = job.heartbeat_at
    with heartbeat(job.pk):
        time.sleep(3 * TIMEOUT)
        assert sweep_lost_jobs() == []
        body = client_for(people["admin"]).get(f"/api/v1/jobs/{job.pk}/").json()
        assert body["status"] == "running" and parse_datetime(body["heartbeat_at"]) > first
    job.refresh_from_db()
    assert job.running_tasks == 0  # left: its task ended


@pytest.mark.django_db(transaction=True)
def test_the_agreement_does_not_answer_a_job_whose_worker_died_but_starts_a_new_one(
        project, people, client_for, settings):
    settings.AGREEMENT_SYNC_MAX_ANNOTATIONS = -1
    key, _ = agreement_key(project)
    lost = taken_by_a_worker(project, people, kind=Job.Kind.AGREEMENT, params={"key": key})
    time.sleep(TIMEOUT + 0.1)
    response = client_for(people["reviewer"]).get(f"/api/v1/projects/{project.pk}/agreement/")
    assert response.status_code == 202
    assert response.json()["job"]["id"] != lost.pk
    lost.refresh_from_db()
    assert (lost.status, lost.result["code"]) == ("failed", "worker_lost")


@pytest.mark.django_db(transaction=True)
def test_a_lost_prelabelling_job_is_sent_again_then_failed_once_its_retries_are_used_up(
        project, people, settings, monkeypatch):
    """Pre-labelling is safe to send again (its chunks are JobChunk rows): up to JOB_LOST_RETRIES times."""
    sent = []
    monkeypatch.setattr("projects.actions.jobs.queue_job", lambda job, task: sent.append((job.pk, task)))
    settings.JOB_LOST_RETRIES = 2
    job = taken_by_a_worker(project, people, kind=Job.Kind.PRELABEL, params={"model": "rules"})
    for attempt in (1, 2):
        time.sleep(TIMEOUT + 0.1)
        assert sweep_lost_jobs() == [job.pk]
        job.refresh_from_db()
        assert (job.status, job.params["workers_lost"], job.running_tasks) == ("running", attempt, 0)
        assert sent == [(job.pk, "pipelines.prelabel")] * attempt
        start_job(job.pk, held=True)  # a worker takes the task sent again, and dies too
    time.sleep(TIMEOUT + 0.1)
    assert sweep_lost_jobs() == [job.pk]
    job.refresh_from_db()
    assert (job.status, job.result["code"]) == ("failed", "worker_lost")
    assert len(sent) == 2


# ------------------------------------------------------------------------------------------- on a real worker

@job_task("tests.nap")
def nap_task(job: Job) -> dict:
    """A job that takes a while (its params say how long), for the heartbeat on a real worker."""
    time.sleep(job.params["seconds"])
    return {"slept": job.params["seconds"]}


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_beats_for_the_job_it_runs_and_counts_itself_out_when_done(celery_worker, project, people,
                                                                          client_for):
    from projects.actions.jobs import do_start_job

    client = client_for(people["admin"])
    job = do_start_job(project, Job.Kind.EXPORT, task="tests.nap", acting_user=people["admin"],
                       params={"seconds": 6 * TIMEOUT})
    beats, deadline = set(), time.monotonic() + 30
    while (row := Job.objects.get(pk=job.pk)).status != "succeeded" and time.monotonic() < deadline:
        if row.status == "running":
            beats.add(row.heartbeat_at)
            assert row.running_tasks == 1
            assert sweep_lost_jobs() == []  # beating: never lost, though it runs longer than the timeout
        time.sleep(0.02)
    done = wait_for_job(client, job.pk)
    assert done["status"] == "succeeded" and done["result"] == {"slept": 6 * TIMEOUT}
    assert len(beats) >= 5  # refreshed every JOB_HEARTBEAT_SECONDS while it ran
    assert Job.objects.get(pk=job.pk).running_tasks == 0
