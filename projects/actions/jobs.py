"""Job lifecycle. The row is the truth; live progress of work that runs inside
one transaction (an all-or-nothing import) also goes to the shared cache,
since the row cannot be committed before the work is.

Every job is started the same way: ``do_start_job`` creates the pending row and,
once it is committed, queues the Celery task named for it with the job id only.
The task is looked up by name in the Celery app's registry, so no action imports
a tasks module; the tasks themselves are made with ``projects.tasks.job_task``.
When the task cannot be queued the job fails at once and the caller gets
``QueueUnavailable`` (503).

A worker running a task of a job refreshes its ``heartbeat_at`` every
``JOB_HEARTBEAT_SECONDS`` and counts itself in ``running_tasks`` while it runs.
A running job with tasks started and a heartbeat older than ``JOB_HEARTBEAT_TIMEOUT``
lost its worker (killed, out of memory, its machine gone): ``sweep_lost_jobs``
sends a pre-labelling job's missing chunks again (safe: ``JobChunk`` rows) and
fails any other job with code ``worker_lost``, instead of leaving it running until
the broker gives the dead worker's message to another worker (an hour, with Redis).
"""

from __future__ import annotations

import logging

from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Case, F, Q, Value, When
from django.db.models.functions import Greatest
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerUnavailable

from projects.errors import Conflict, QueueUnavailable
from projects.models import Job, Project

logger = logging.getLogger(__name__)

PROGRESS_TTL = 24 * 3600
QUEUE_UNAVAILABLE = "queue_unavailable"
WORKER_LOST = "worker_lost"
# A kind whose tasks are safe to send again while an earlier copy may still come back: the task
# that sends it again (pre-labelling: its plan task re-sends the chunks without a JobChunk row).
RESEND_WHEN_LOST = {Job.Kind.PRELABEL: "pipelines.prelabel"}


def _progress_key(job_id: int) -> str:
    return f"job:{job_id}:progress"


def _cancel_key(job_id: int) -> str:
    return f"job:{job_id}:cancel"


def do_create_job(project: Project | None, kind: str, *, acting_user, params: dict | None = None,
                  total: int | None = None) -> Job:
    return Job.objects.create(project=project, kind=kind, params=params or {}, progress_total=total,
                              created_by=acting_user)


def do_start_job(project: Project | None, kind: str, *, task: str, acting_user, params: dict | None = None,
                 total: int | None = None) -> Job:
    """A pending job of ``kind``; once its row is committed, the task named ``task`` is queued with its id.

    A broker that cannot be reached fails the job at once (see ``queue_job``) and raises
    ``QueueUnavailable``; called inside an outer transaction, the task is queued when that
    commits, and the caller checks with ``check_queued`` afterwards.
    """
    with transaction.atomic():
        job = do_create_job(project, kind, acting_user=acting_user, params=params, total=total)
        transaction.on_commit(lambda: queue_job(job, task))
    check_queued(job)
    return job


def check_queued(job: Job) -> None:
    """Raise ``QueueUnavailable`` (503) when queueing ``job``'s task failed (the job has failed already)."""
    if getattr(job, "queue_failed", False):
        raise QueueUnavailable(job.error, code=QUEUE_UNAVAILABLE, extra={"job_id": job.pk})


def registered_task(name: str):
    """The Celery task registered as ``name``. A web process has not imported the apps' tasks modules
    (a worker has): the first lookup there has Celery find them."""
    app = current_app
    if name not in app.tasks:
        app.autodiscover_tasks(force=True)
    return app.tasks[name]


def queue_job(job: Job, task: str) -> None:
    """Send the job's task (``.delay``, so it runs in-process when tasks are eager).

    When the broker cannot be reached the job fails with a message that says so,
    rather than staying pending forever, the task's ``cleanup`` (what its kind
    leaves behind, like an import's stored upload) runs, and ``job.queue_failed``
    is set for ``check_queued``.
    """
    sender = registered_task(task)
    try:
        sender.delay(job.pk)
    except BrokerUnavailable:
        logger.exception("could not queue %s job %s", job.kind, job.pk)
        job.error = (f"the {job.kind} job could not be queued (the task queue is unavailable); nothing was done, "
                     "please try again later")
        fail_job(job, job.error, {"code": QUEUE_UNAVAILABLE})
        job.status, job.result, job.queue_failed = Job.Status.FAILED, {"code": QUEUE_UNAVAILABLE}, True
        cleanup = getattr(sender, "cleanup", None)
        if cleanup is not None:
            cleanup(job)


def start_job(job_id: int, *, held: bool = True) -> Job | None:
    """Mark a job running; None if it is gone or already finished (cancelled, or run twice).

    ``held``: a worker runs it (not in-process), so it counts in ``running_tasks`` and beats
    (``beat_job``) until ``leave_job``.

    A running job that a worker holds and beats for is not started again: a message the broker
    delivers a second time while the first delivery still runs (a training that outlives the
    visibility timeout) does nothing. One whose worker went silent for ``JOB_HEARTBEAT_TIMEOUT``
    is taken over.
    """
    now = timezone.now()
    silent = now - timedelta(seconds=settings.JOB_HEARTBEAT_TIMEOUT)
    free = Q(status=Job.Status.PENDING) | Q(status=Job.Status.RUNNING, running_tasks=0) | Q(
        status=Job.Status.RUNNING, heartbeat_at__lt=silent)
    # A dead worker's count goes with it.
    count = Case(When(status=Job.Status.RUNNING, heartbeat_at__lt=silent, then=Value(1)),
                 default=F("running_tasks") + 1)
    changes = {"heartbeat_at": now, "running_tasks": count} if held else {}
    updated = Job.objects.filter(free, pk=job_id).update(status=Job.Status.RUNNING, started_at=now, **changes)
    return Job.objects.filter(pk=job_id).first() if updated else None


def join_job(job_id: int) -> bool:
    """Another task of a running job starts on a worker (a pre-labelling chunk); False if the job is not running."""
    return bool(Job.objects.filter(pk=job_id, status=Job.Status.RUNNING).update(
        heartbeat_at=timezone.now(), running_tasks=F("running_tasks") + 1))


def beat_job(job_id: int) -> None:
    """The worker running a task of this job is alive."""
    Job.objects.filter(pk=job_id, status=Job.Status.RUNNING).update(heartbeat_at=timezone.now())


def leave_job(job_id: int) -> None:
    """A task that ``start_job`` or ``join_job`` counted has ended, however it ended."""
    Job.objects.filter(pk=job_id, running_tasks__gt=0).update(running_tasks=Greatest(F("running_tasks") - 1, 0))


def sweep_lost_jobs() -> list[int]:
    """Jobs whose worker died: send a pre-labelling job's missing chunks again, fail the others; their ids.

    A job is lost when it is running, a worker started one of its tasks and never ended it
    (``running_tasks``), and no worker has beaten for it for ``JOB_HEARTBEAT_TIMEOUT`` seconds.
    A job whose tasks only wait in the queue has no task running and is never lost. Safe to
    run anywhere and often (web reads, every worker): each job is taken under its row lock,
    rows locked by a live writer are passed over, and the common case is one indexed query.
    """
    cutoff = timezone.now() - timedelta(seconds=settings.JOB_HEARTBEAT_TIMEOUT)
    stale = Job.objects.filter(status=Job.Status.RUNNING, running_tasks__gt=0, heartbeat_at__lt=cutoff)
    if not stale.exists():
        return []
    swept = []
    with transaction.atomic():
        for job in stale.select_for_update(skip_locked=True):
            silent = int((timezone.now() - job.heartbeat_at).total_seconds())
            lost = job.params.get("workers_lost", 0) + 1
            task = RESEND_WHEN_LOST.get(job.kind)
            if task is not None and lost <= settings.JOB_LOST_RETRIES:
                logger.warning("%s job %s: its worker stopped %s s ago; sending it again (%s of %s)",
                               job.kind, job.pk, silent, lost, settings.JOB_LOST_RETRIES)
                job.params = {**job.params, "workers_lost": lost}
                Job.objects.filter(pk=job.pk).update(params=job.params, running_tasks=0,
                                                     heartbeat_at=timezone.now())
                transaction.on_commit(lambda job=job, task=task: queue_job(job, task))
            else:
                logger.warning("%s job %s: its worker stopped %s s ago; failing it", job.kind, job.pk, silent)
                fail_job(job, f"the worker running this {job.kind} job stopped (killed, out of memory, or its machine "
                              f"or database connection lost): nothing heard from it for {silent} s; start the job "
                              "again", {"code": WORKER_LOST, "heartbeat_at": job.heartbeat_at.isoformat()})
                Job.objects.filter(pk=job.pk).update(running_tasks=0)
            swept.append(job.pk)
    return swept


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


def succeed_running_job(job: Job, result: dict) -> None:
    """Mark a job succeeded inside the caller's transaction, so its row and its work commit together;
    JobCancelled (the caller's transaction rolls back) when it is no longer running.

    An import does this: committing the status and the documents together closes
    the window (seconds, for a large file: the commit checks every foreign key)
    in which a cancel could mark the job cancelled while its documents were
    being kept. A cancel that came first makes this raise; one that comes after
    waits for the commit and finds the job finished. A second delivery of the
    same task running alongside rolls back the same way.
    """
    updated = Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING).update(
        status=Job.Status.SUCCEEDED, result=result, progress_done=job.progress_done,
        progress_total=job.progress_total, finished_at=timezone.now(), error="",
    )
    if not updated:
        raise JobCancelled()


def record_job_plan(job: Job, params: dict, total: int) -> None:
    """Keep how a job cut its work (pre-labelling's chunks) and how much there is, on its row."""
    job.params, job.progress_total = params, total
    Job.objects.filter(pk=job.pk).update(params=params, progress_total=total)


def add_job_progress(job: Job, done: int) -> None:
    """``done`` more units of a job whose parts run apart (pre-labelling's chunks), counted in the database."""
    Job.objects.filter(pk=job.pk).update(progress_done=F("progress_done") + done)


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
