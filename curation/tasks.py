"""Celery tasks of curation, made with the job shell (``projects.tasks``)."""

from __future__ import annotations

from curation.actions import run_agreement_job
from projects.actions.jobs import report_progress
from projects.models import Job
from projects.tasks import job_task


@job_task("curation.compute_agreement",
          internal_error="computing the agreement failed with an internal error; ask again to retry")
def compute_agreement_task(job: Job) -> dict:
    """Safe to run twice: a second delivery finds the job finished and does nothing."""
    return run_agreement_job(job, progress=lambda done: report_progress(job, done))
