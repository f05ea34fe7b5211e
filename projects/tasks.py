"""The one task shell of every job: id in, load the Job row, run the work, record how it ended.

Each app's tasks module makes its job tasks with ``job_task``::

    @job_task("exports.run_export", internal_error="the export failed with an internal error")
    def run_export_task(job: Job) -> dict:
        return run_export_job(job)

and starts them with ``projects.actions.jobs.do_start_job(..., task="exports.run_export")``.

How a job ends:

- the work returns its result: the job succeeds with it (``finish_job``); it returns
  ``FINISHED_BY_WORK`` when it recorded the end itself (an import commits its success
  with its documents) or tasks it started will (pre-labelling's chunks);
- an ``AnnotatorError`` (``PipelineError``, an import's bad file ...): the job fails with
  its detail, and its code in ``result["code"]``;
- ``JobCancelled``: the row already says how the job ended; nothing is written;
- a database connection error (``TRANSIENT``): the task is retried with backoff, up to
  ``MAX_RETRIES`` times; then the job fails with code ``database_unavailable``;
- anything else is a bug: logged, never retried, the job fails with code ``internal_error``.

Every task is acknowledged late and safe to run twice: a second delivery finds the job
finished (``start_job`` answers None) and does nothing, and work that is cut off leaves
nothing half-done (an import is one transaction, pre-labelling chunks are ``JobChunk`` rows).
A kind's ``cleanup(job)`` (an import deletes its stored upload) runs once the job has
ended, however it ended, and when its task could not be queued; never before a retry.

While a worker runs the work, a thread of the shell (``heartbeat``) refreshes the job's
``heartbeat_at`` every ``JOB_HEARTBEAT_SECONDS`` on a connection of its own (the work may
hold a long transaction), so a job whose worker died is found by
``projects.actions.jobs.sweep_lost_jobs`` within ``JOB_HEARTBEAT_TIMEOUT``. Work run
in-process (no broker) has no heartbeat: the request that runs it is its worker.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from celery import Task, current_task, shared_task
from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connections

from projects.actions.jobs import (JobCancelled, beat_job, fail_job, finish_job, join_job, leave_job, start_job,
                                   sweep_lost_jobs)
from projects.errors import AnnotatorError
from projects.models import Job

logger = logging.getLogger(__name__)

TRANSIENT = (OperationalError, InterfaceError)
MAX_RETRIES = 5
INTERNAL_ERROR = "internal_error"
DATABASE_UNAVAILABLE = "database_unavailable"
# Returned by work that has recorded the job's end itself, or started tasks that will.
FINISHED_BY_WORK = object()


class JobTask(Task):
    """A task whose first argument is a job id, retried on transient database errors only.

    When it fails for good (retries used up, or an error its body let through), so does the job.
    """

    acks_late = True
    autoretry_for = TRANSIENT
    retry_backoff = True  # about 1, 2, 4, 8, 16 s (with jitter) between the attempts
    retry_backoff_max = 60
    max_retries = MAX_RETRIES
    internal_error: str | None = None  # what a job of this task says when the work hits a bug
    cleanup: Callable[[Job], None] | None = None

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        job_id = args[0] if args else kwargs.get("job_id")
        try:
            job = Job.objects.filter(pk=job_id, status__in=[Job.Status.PENDING, Job.Status.RUNNING]).first()
            if job is None:
                return
            if isinstance(exc, TRANSIENT):
                fail_job(job, f"the worker could not reach the database ({type(exc).__name__}: {exc}); start "
                              "the job again", {"code": DATABASE_UNAVAILABLE})
            else:
                record_failure(job, exc, internal_error=self.internal_error)
            run_cleanup(self.cleanup, job)
        except Exception:  # the database is still away: the worker log has it
            logger.exception("could not record the failure of job %s", job_id)


def record_failure(job: Job, exc: Exception, *, internal_error: str | None = None) -> None:
    """Fail ``job`` for ``exc``: an AnnotatorError with its detail and code, anything else as an internal error."""
    if isinstance(exc, AnnotatorError):
        fail_job(job, exc.detail, {**exc.extra, "code": exc.code})
        return
    logger.error("%s job %s failed", job.kind, job.pk, exc_info=exc)
    fail_job(job, internal_error or f"the {job.kind} job failed with an internal error; see the worker log",
             {"code": INTERNAL_ERROR})


def run_cleanup(cleanup: Callable[[Job], None] | None, job: Job) -> None:
    if cleanup is None:
        return
    try:
        cleanup(job)
    except Exception:  # what is left behind is not the job's outcome
        logger.exception("the cleanup of %s job %s failed", job.kind, job.pk)


def running_in_process() -> bool:
    """Whether the current task runs eagerly, in the caller's process (no broker), rather than on a worker."""
    request = getattr(current_task, "request", None)  # a proxy: None outside a task
    return request is None or bool(getattr(request, "is_eager", False))


@contextmanager
def heartbeat(job_id: int, *, held: bool = True) -> Iterator[None]:
    """Around a task that ``start_job`` or ``join_job`` counted (``held``): beat for the job from a thread every
    ``JOB_HEARTBEAT_SECONDS`` until the block ends, then ``leave_job``. Without ``held``, nothing."""
    if not held:
        yield
        return
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(settings.JOB_HEARTBEAT_SECONDS):
                try:
                    beat_job(job_id)
                except DatabaseError:  # the database is away: the next beat tries again
                    logger.warning("no heartbeat for job %s", job_id, exc_info=True)
        finally:
            connections.close_all()  # this thread's own connection

    thread = threading.Thread(target=beat, name=f"job-{job_id}-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        try:
            leave_job(job_id)
        except DatabaseError:  # counted as running until the job ends or is swept
            logger.warning("could not record the end of a task of job %s", job_id, exc_info=True)


@contextmanager
def joined_job(job_id: int) -> Iterator[bool]:
    """Around another task of a running job (a pre-labelling chunk): counted and beating while it runs on a
    worker; gives whether the job was running when it started."""
    if running_in_process():
        yield True
        return
    joined = join_job(job_id)
    with heartbeat(job_id, held=joined):
        yield joined


def sweep_lost_jobs_every(stop: threading.Event | None = None) -> None:
    """``sweep_lost_jobs`` now and then every ``JOB_SWEEP_SECONDS`` until ``stop`` (a worker's thread)."""
    stop = stop or threading.Event()
    while True:
        try:
            sweep_lost_jobs()
        except Exception:  # the database is away, say: the next sweep tries again
            logger.exception("sweeping lost jobs failed")
        finally:
            connections.close_all()  # held for the sweep only, not between sweeps
        if stop.wait(settings.JOB_SWEEP_SECONDS):
            return


def run_job(job_id: int, work: Callable[[Job], object], *, internal_error: str | None = None,
            cleanup: Callable[[Job], None] | None = None) -> None:
    """Mark the job running, run ``work(job)`` and record the outcome (see the module docstring)."""
    held = not running_in_process()
    job = start_job(job_id, held=held)
    if job is None:  # gone, cancelled before it started, or finished by an earlier delivery
        ended = Job.objects.filter(pk=job_id).first() if cleanup is not None else None
        if ended is not None:
            run_cleanup(cleanup, ended)
        return
    with heartbeat(job.pk, held=held):  # until the outcome is recorded: a worker lost before that is found
        try:
            result = work(job)
        except TRANSIENT:
            raise  # retried by JobTask; the job stays running meanwhile
        except JobCancelled:
            pass  # the row already says how it ended (cancelled, or by another delivery); the work rolled back
        except Exception as exc:
            record_failure(job, exc, internal_error=internal_error)
        else:
            if result is not FINISHED_BY_WORK:
                finish_job(job, result)
    run_cleanup(cleanup, job)


def job_task(name: str, *, internal_error: str | None = None, cleanup: Callable[[Job], None] | None = None):
    """Make ``work(job) -> result`` the Celery task ``name``, which takes a job id and runs it with ``run_job``.

    ``internal_error`` is the job's message when the work fails with a bug; ``cleanup(job)`` runs once
    the job has ended (or could not be queued).
    """

    def decorate(work: Callable[[Job], object]):
        def run(job_id: int) -> None:
            run_job(job_id, work, internal_error=internal_error, cleanup=cleanup)

        run.__name__, run.__qualname__, run.__module__ = work.__name__, work.__qualname__, work.__module__
        run.__doc__ = work.__doc__
        return shared_task(name=name, base=JobTask, internal_error=internal_error,
                           cleanup=staticmethod(cleanup) if cleanup is not None else None)(run)

    return decorate
