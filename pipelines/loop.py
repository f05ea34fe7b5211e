"""The model in the loop: retraining as gold grows.

A project with ``retrain_every`` = N trains the next version of its ``retrain_model``
once N more gold documents (or, while it has no gold, submitted ones) exist than
when the loop last started a training. The training job then pre-labels and scores
the open documents with the new version (``then_prelabel``), so suggestions and the
queue's uncertainty order follow the model as it improves.

Checked after every submitting save, and every import that stored annotations (gold or submitted), has
committed (``projects.signals.annotation_submitted``).
At most one training per project runs at a time: the database refuses a second pending
or running one (``job_one_training_per_project``), so two saves at the same instant, or
the loop and a person, start one between them; a save while a training runs starts
nothing, and the next save after it ends starts the next if the count is still due.
"""

from __future__ import annotations

import logging

from django.db import IntegrityError

from exports.collect import annotations_for
from pipelines.actions import do_start_training
from pipelines.training import training_source
from projects.errors import AnnotatorError
from projects.models import Job, Project

logger = logging.getLogger(__name__)

ACTIVE = (Job.Status.PENDING, Job.Status.RUNNING)


def annotated_documents(project: Project, source: str) -> int:
    return annotations_for(project, source).values("document_id").distinct().count()


def last_loop_count(project: Project) -> int:
    """How many documents there were when the loop last started a training (0: never)."""
    job = (Job.objects.filter(project=project, kind=Job.Kind.TRAIN, params__has_key="loop_documents")
           .order_by("-id").only("params").first())
    return int(job.params["loop_documents"]) if job is not None else 0


def maybe_retrain(project: Project) -> Job | None:
    """Start the loop's next training of ``project`` if it is due; the job, or None."""
    if not project.retrain_every:
        return None
    if Job.objects.filter(project=project, kind=Job.Kind.TRAIN, status__in=ACTIVE).exists():
        return None
    count = annotated_documents(project, training_source(project))
    if count - last_loop_count(project) < project.retrain_every:
        return None
    try:
        return do_start_training(project, name=project.retrain_model, acting_user=None, loop_documents=count,
                                 then_prelabel=True)
    except IntegrityError:  # another save started it a moment ago
        return None
    except AnnotatorError as exc:  # the broker is away (the job has failed saying so), or a bad setting
        logger.warning("the model loop of project %s could not start a training: %s", project.pk, exc)
        return None


def on_annotation_submitted(sender, project: Project, **kwargs) -> None:
    maybe_retrain(project)
