"""Job lifecycle. The row is the truth; live progress of work that runs inside
one transaction (an all-or-nothing import) also goes to the shared cache,
since the row cannot be committed before the work is."""

from __future__ import annotations

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from projects.errors import Conflict
from projects.models import Job, Project

PROGRESS_TTL = 24 * 3600


def _progress_key(job_id: int) -> str:
    return f"job:{job_id}:progress"


def _cancel_key(job_id: int) -> str:
    return f"job:{job_id}:cancel"


def do_create_job(project: Project | None, kind: str, *, acting_user, params: dict | None = None,
                  total: int | None = None) -> Job:
    return Job.objects.create(project=project, kind=kind, params=params or {}, progress_total=total,
                              created_by=acting_user)


def start_job(job_id: int) -> Job | None:
    """Mark a job running; None if it is gone or already finished (cancelled, or run twice)."""
    updated = Job.objects.filter(pk=job_id, status__in=[Job.Status.PENDING, Job.Status.RUNNING]).update(
        status=Job.Status.RUNNING, started_at=timezone.now()
    )
    return Job.objects.filter(pk=job_id).first() if updated else None


def report_progress(job: Job, done: int, total: int | None = None) -> None:
    job.progress_done = done
    if total is not None:
        job.progress_total = total
    cache.set(_progress_key(job.pk), (job.progress_done, job.progress_total), PROGRESS_TTL)
    if not transaction.get_connection().in_atomic_block:
        Job.objects.filter(pk=job.pk).update(progress_done=job.progress_done, progress_total=job.progress_total)


def live_progress(job: Job) -> tuple[int, int | None]:
    if job.status == Job.Status.RUNNING:
        cached = cache.get(_progress_key(job.pk))
        if cached:
            return cached
    return job.progress_done, job.progress_total


def is_cancelled(job: Job) -> bool:
    return bool(cache.get(_cancel_key(job.pk))) or Job.objects.filter(
        pk=job.pk, status=Job.Status.CANCELLED).exists()


def finish_job(job: Job, result: dict) -> None:
    Job.objects.filter(pk=job.pk).exclude(status=Job.Status.CANCELLED).update(
        status=Job.Status.SUCCEEDED, result=result, progress_done=job.progress_done,
        progress_total=job.progress_total, finished_at=timezone.now(), error="",
    )
    cache.delete(_progress_key(job.pk))


def fail_job(job: Job, error: str, result: dict | None = None) -> None:
    Job.objects.filter(pk=job.pk).exclude(status=Job.Status.CANCELLED).update(
        status=Job.Status.FAILED, error=error, result=result or {}, progress_done=job.progress_done,
        finished_at=timezone.now(),
    )
    cache.delete(_progress_key(job.pk))


def do_cancel_job(job: Job, *, acting_user) -> Job:
    if job.is_finished:
        raise Conflict(f"the job has already {job.status}", code="job_finished")
    Job.objects.filter(pk=job.pk, status__in=[Job.Status.PENDING, Job.Status.RUNNING]).update(
        status=Job.Status.CANCELLED, finished_at=timezone.now()
    )
    cache.set(_cancel_key(job.pk), True, PROGRESS_TTL)
    job.refresh_from_db()
    return job


class JobCancelled(Exception):
    """Raised inside a job's work when it has been cancelled, to roll back."""
