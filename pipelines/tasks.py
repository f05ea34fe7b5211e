"""Celery tasks of pre-labelling and training, made with the job shell (``projects.tasks``).

Like every job task they are acknowledged late, retried on database connection errors
only, and safe to run twice: a worker killed mid-task leaves its message unacknowledged,
the broker delivers it again, and the Job row and ``JobChunk`` rows say what is already
done. Anything else fails the job with a message a user can act on.
"""

from __future__ import annotations

from celery import group, shared_task

from pipelines.prelabel import finish_if_complete, plan_prelabel, run_prelabel_chunk
from pipelines.training import train_model
from projects.models import Job
from projects.tasks import FINISHED_BY_WORK, TRANSIENT, JobTask, job_task, joined_job, record_failure

PRELABEL_FAILED = "pre-labelling failed with an internal error; see the worker log"


@job_task("pipelines.prelabel", internal_error=PRELABEL_FAILED)
def prelabel_task(job: Job) -> object:
    """Plan a pre-labelling job and send its chunks to the workers; the chunk that completes the plan
    finishes the job."""
    pending = plan_prelabel(job)
    if not pending:
        finish_if_complete(job.pk)  # nothing to do, or every chunk was done before a redelivery
    else:
        group(prelabel_chunk_task.si(job.pk, index) for index in pending).apply_async()
    return FINISHED_BY_WORK


@shared_task(name="pipelines.prelabel_chunk", base=JobTask, internal_error=PRELABEL_FAILED)
def prelabel_chunk_task(job_id: int, index: int) -> str:
    """Pre-label one chunk; the chunk that completes the job finishes it.

    Counted in the job's ``running_tasks`` and beating while it runs, up to and including the
    finish: a worker that dies after writing the last chunk leaves a job that is swept and sent
    again (its plan task then finds every chunk done and finishes it).
    """
    try:
        with joined_job(job_id):
            outcome = run_prelabel_chunk(job_id, index)
            finish_if_complete(job_id)
    except TRANSIENT:
        raise
    except Exception as exc:
        job = Job.objects.filter(pk=job_id, status=Job.Status.RUNNING).first()
        if job is not None:  # not one that other chunks already finished
            record_failure(job, exc, internal_error=f"pre-labelling chunk {index} failed with an internal error; "
                                                    "see the worker log")
        return "failed"
    return outcome


@job_task("pipelines.train", internal_error="training failed with an internal error; see the worker log")
def train_task(job: Job) -> dict:
    return train_model(job)
