"""Celery tasks: load the Job row, call the domain function, record the outcome.

All are acknowledged late (CELERY_TASK_ACKS_LATE) and safe to run twice: a
worker killed mid-task leaves its message unacknowledged, the broker delivers
it again, and the Job row and ``JobChunk`` rows say what is already done.
Only database connection errors are retried; anything else fails the job with
a message a user can act on.
"""

from __future__ import annotations

import logging

from celery import Task, group, shared_task
from django.db import InterfaceError, OperationalError

from pipelines.errors import PipelineError
from pipelines.prelabel import finish_if_complete, plan_prelabel, run_prelabel_chunk
from pipelines.training import train_model
from projects.actions.jobs import JobCancelled, fail_job, finish_job, start_job
from projects.models import Job

logger = logging.getLogger(__name__)

TRANSIENT = (OperationalError, InterfaceError)


class JobTask(Task):
    """A task whose first argument is a job id: when it fails for good (retries used up), so does the job."""

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        try:
            job = Job.objects.filter(pk=args[0], status__in=[Job.Status.PENDING, Job.Status.RUNNING]).first()
            if job is not None:
                fail_job(job, f"the worker could not reach the database ({type(exc).__name__}: {exc}); start "
                              "the job again", {"code": "database_unavailable"})
        except Exception:  # the database is still away: the worker log has it
            logger.exception("could not record the failure of job %s", args[0] if args else None)


RETRY = {"base": JobTask, "autoretry_for": TRANSIENT, "retry_backoff": True, "max_retries": 5}


def _fail(job: Job, exc: Exception, what: str) -> None:
    if isinstance(exc, PipelineError):
        fail_job(job, exc.detail, {"code": exc.code})
    else:
        logger.exception("%s of job %s failed", what, job.pk)
        fail_job(job, f"{what} failed with an internal error ({type(exc).__name__}); see the worker log",
                 {"code": "internal_error"})


@shared_task(name="pipelines.prelabel", acks_late=True, **RETRY)
def prelabel_task(job_id: int) -> None:
    """Plan a pre-labelling job and send its chunks to the workers."""
    job = start_job(job_id)
    if job is None:  # cancelled before it started, or already finished
        return
    try:
        pending = plan_prelabel(job)
    except TRANSIENT:
        raise
    except Exception as exc:
        _fail(job, exc, "pre-labelling")
        return
    if not pending:
        finish_if_complete(job_id)  # nothing to do, or every chunk was done before a redelivery
        return
    group(prelabel_chunk_task.si(job_id, index) for index in pending).apply_async()


@shared_task(name="pipelines.prelabel_chunk", acks_late=True, **RETRY)
def prelabel_chunk_task(job_id: int, index: int) -> str:
    """Pre-label one chunk; the chunk that completes the job finishes it."""
    try:
        outcome = run_prelabel_chunk(job_id, index)
    except TRANSIENT:
        raise
    except Exception as exc:
        job = Job.objects.filter(pk=job_id, status=Job.Status.RUNNING).first()
        if job is not None:  # not one that other chunks already finished
            _fail(job, exc, f"pre-labelling chunk {index}")
        return "failed"
    finish_if_complete(job_id)
    return outcome


@shared_task(name="pipelines.train", acks_late=True, **RETRY)
def train_task(job_id: int) -> None:
    job = start_job(job_id)
    if job is None:
        return
    try:
        result = train_model(job)
    except JobCancelled:
        return  # the row already says cancelled; nothing was stored
    except TRANSIENT:
        raise
    except Exception as exc:
        _fail(job, exc, "training")
    else:
        finish_job(job, result)
