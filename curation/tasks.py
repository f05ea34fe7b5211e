"""Celery tasks: load the Job row, call the domain function, record the outcome."""

from __future__ import annotations

import logging

from celery import shared_task

from curation.actions import run_agreement_job
from projects.actions.jobs import fail_job, finish_job, report_progress, start_job

logger = logging.getLogger(__name__)
PROGRESS_EVERY = 500  # documents (one collect batch)


@shared_task(name="curation.compute_agreement", acks_late=True)
def compute_agreement_task(job_id: int) -> None:
    """Safe to run twice: a second delivery finds the job finished and does nothing."""
    job = start_job(job_id)
    if job is None:
        return
    try:
        result = run_agreement_job(job, progress=lambda done: report_progress(job, done))
    except Exception:
        logger.exception("agreement job %s failed", job_id)
        fail_job(job, "computing the agreement failed with an internal error; ask again to retry")
    else:
        finish_job(job, result)
