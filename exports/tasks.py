"""Celery tasks: load the Job row, call the domain function, record the outcome."""

from __future__ import annotations

import logging

from celery import shared_task
from django.core.files.storage import default_storage

from exports.imports import run_import
from exports.records import FormatError
from projects.actions.jobs import JobCancelled, fail_job, finish_job, start_job
from projects.models import Job

logger = logging.getLogger(__name__)


@shared_task(name="exports.run_import", acks_late=True)
def run_import_task(job_id: int) -> None:
    job = start_job(job_id)
    if job is None:  # cancelled before it started, or already finished: only its upload may be left
        finished = Job.objects.filter(pk=job_id).first()
        if finished is not None:
            _delete_upload(finished)
        return
    try:
        result = run_import(job)
    except FormatError as exc:
        fail_job(job, f"{exc} - nothing from this file was imported")
    except JobCancelled:
        pass  # the row already says how it ended (cancelled, or by another delivery); the import rolled back
    except Exception:
        logger.exception("import job %s failed", job_id)
        fail_job(job, "the import failed with an internal error; nothing from this file was imported")
    else:
        finish_job(job, result)  # already succeeded with the import's commit; this clears the live progress
    finally:
        _delete_upload(job)


def _delete_upload(job: Job) -> None:
    path = job.params.get("path")
    if path and default_storage.exists(path):
        default_storage.delete(path)


def _run_job(job_id: int, work) -> None:
    """Run ``work(job)`` for a job that exports; the outcome goes to the Job row."""
    from projects.errors import AnnotatorError

    job = start_job(job_id)
    if job is None:
        return
    try:
        result = work(job)
    except AnnotatorError as exc:  # bad arguments, or data the format cannot hold
        fail_job(job, exc.detail)
    except Exception:
        logger.exception("%s job %s failed", job.kind, job_id)
        fail_job(job, f"the {job.kind} failed with an internal error")
    else:
        finish_job(job, result)


@shared_task(name="exports.run_export", acks_late=True)
def run_export_task(job_id: int) -> None:
    from exports.actions import run_export_job

    _run_job(job_id, run_export_job)


@shared_task(name="exports.run_snapshot", acks_late=True)
def run_snapshot_task(job_id: int) -> None:
    from exports.actions import run_snapshot_job

    _run_job(job_id, run_snapshot_job)
