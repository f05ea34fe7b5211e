"""Celery tasks: load the Job row, call the domain function, record the outcome."""

from __future__ import annotations

import logging

from celery import shared_task
from django.core.files.storage import default_storage

from exports.imports import run_import
from exports.records import FormatError
from projects.actions.jobs import JobCancelled, fail_job, finish_job, start_job

logger = logging.getLogger(__name__)


@shared_task(name="exports.run_import", acks_late=True)
def run_import_task(job_id: int) -> None:
    job = start_job(job_id)
    if job is None:  # cancelled before it started, or already finished
        return
    try:
        result = run_import(job)
    except FormatError as exc:
        fail_job(job, f"{exc} - nothing from this file was imported")
    except JobCancelled:
        pass  # the row already says cancelled; the transaction rolled back
    except Exception:
        logger.exception("import job %s failed", job_id)
        fail_job(job, "the import failed with an internal error; nothing from this file was imported")
    else:
        finish_job(job, result)
    finally:
        path = job.params.get("path")
        if path and default_storage.exists(path):
            default_storage.delete(path)
