"""Agreement, cached until the annotations change, computed in the request or by a worker.

The cache key carries a fingerprint of the project's submitted annotations
(how many, the newest ``updated_at``, the highest id) and of its label names,
so any save, submission, deletion or renaming gives a new key: a stale figure
is never served, and nothing has to be invalidated.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, Max
from django.utils import timezone

from curation.agreement import Agreement
from curation.collect import agreement_inputs
from projects.actions.jobs import check_queued, do_start_job, sweep_lost_jobs
from projects.models import Annotation, Job, Label, Project

CACHE_SECONDS = 7 * 24 * 3600


def agreement_key(project: Project) -> tuple[str, int]:
    """The cache key of the project's agreement as its annotations stand now, and how many are submitted."""
    stats = (Annotation.objects.filter(document__project=project, is_gold=False, status=Annotation.Status.SUBMITTED)
             .aggregate(n=Count("id"), last=Max("updated_at"), top=Max("id")))
    labels = list(Label.objects.filter(project=project).order_by("id").values_list("id", "name"))
    last = stats["last"].timestamp() if stats["last"] else 0
    fingerprint = hashlib.sha256(repr((stats["n"], last, stats["top"], labels)).encode()).hexdigest()[:24]
    return f"agreement:v2:{project.pk}:{fingerprint}", stats["n"]


def compute_agreement(project: Project, progress: Callable[[int], None] | None = None) -> dict:
    agreement = Agreement()
    for spans, tokens, relations in agreement_inputs(project, progress=progress):
        agreement.add_document(spans, tokens, relations)
    return {**agreement.result(), "computed_at": timezone.now().isoformat()}


def agreement_for(project: Project, *, acting_user) -> tuple[dict | None, Job | None]:
    """``(result, None)`` when it is known or quick to compute; else ``(None, job)`` with a job on it.

    At most one job per fingerprint: asking again while it runs answers the same job, unless
    its worker died (swept first, so a new job starts) or it could not be queued (it failed at
    once: ``QueueUnavailable``, and the next request starts a new one).
    """
    key, submitted = agreement_key(project)
    result = cache.get(key)
    if result is not None:
        return result, None
    jobs = Job.objects.filter(project=project, kind=Job.Kind.AGREEMENT, params__key=key).order_by("-id")
    done = jobs.filter(status=Job.Status.SUCCEEDED).first()
    if done is not None:
        cache.set(key, done.result, CACHE_SECONDS)
        return done.result, None
    if submitted <= settings.AGREEMENT_SYNC_MAX_ANNOTATIONS:
        result = compute_agreement(project)
        cache.set(key, result, CACHE_SECONDS)
        return result, None
    sweep_lost_jobs()
    job = do_start_agreement_job(project, key, acting_user=acting_user)
    check_queued(job)  # queued when do_start_agreement_job's transaction committed
    return None, job


@transaction.atomic
def do_start_agreement_job(project: Project, key: str, *, acting_user) -> Job:
    running = (Job.objects.select_for_update().filter(project=project, kind=Job.Kind.AGREEMENT, params__key=key,
                                                      status__in=[Job.Status.PENDING, Job.Status.RUNNING]).first())
    if running is not None:
        return running
    return do_start_job(project, Job.Kind.AGREEMENT, task="curation.compute_agreement", acting_user=acting_user,
                        params={"key": key})


def run_agreement_job(job: Job, progress: Callable[[int], None]) -> dict:
    """The worker's part: compute, and cache under the key the job was started for."""
    result = compute_agreement(job.project, progress=progress)
    cache.set(job.params["key"], result, CACHE_SECONDS)
    return result
