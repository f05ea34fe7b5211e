"""Celery tasks of imports, large exports and snapshots, made with the job shell (``projects.tasks``)."""

from __future__ import annotations

from exports.actions import delete_upload, run_export_job, run_snapshot_job
from exports.imports import run_import
from projects.models import Job
from projects.tasks import FINISHED_BY_WORK, job_task


@job_task("exports.run_import", cleanup=delete_upload,
          internal_error="the import failed with an internal error; nothing from this file was imported")
def run_import_task(job: Job) -> object:
    """Import the stored upload, all or nothing; the job succeeds in the import's own transaction."""
    run_import(job)
    return FINISHED_BY_WORK


@job_task("exports.run_export", internal_error="the export failed with an internal error")
def run_export_task(job: Job) -> dict:
    return run_export_job(job)


@job_task("exports.run_snapshot", internal_error="the snapshot failed with an internal error")
def run_snapshot_task(job: Job) -> dict:
    return run_snapshot_job(job)
