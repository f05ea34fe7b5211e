"""Starting pre-labelling and training: check the request, create the Job, queue its task on commit."""

from __future__ import annotations

from collections.abc import Sequence

from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction

from pipelines import conf
from pipelines.models import PipelineSettings, TrainedModel
from pipelines.prelabel import check_label_map
from pipelines.registry import RULES, external_model_names
from pipelines.rules import parse_patterns
from projects.actions.jobs import do_create_job, do_start_job
from projects.actions.projects import MODEL_NAME_RE
from projects.errors import Conflict, InvalidInput
from projects.models import Document, Job, Label, Project

MAX_EPOCHS = 500


def check_documents(project: Project, documents: Sequence[int] | None) -> list[int] | None:
    if documents is None:
        return None
    ids = sorted(set(documents))
    if not ids:
        raise InvalidInput("documents: name at least one document, or leave it out for all", code="no_documents")
    found = set(Document.objects.filter(project=project, pk__in=ids).values_list("pk", flat=True))
    missing = [i for i in ids if i not in found]
    if missing:
        shown = ", ".join(map(str, missing[:20])) + (" ..." if len(missing) > 20 else "")
        raise InvalidInput(f"documents: not in this project: {shown}", code="unknown_documents")
    return ids


def do_start_prelabel(project: Project, *, model: str, version: str | None = None,
                      documents: Sequence[int] | None = None, open_only: bool = False, acting_user) -> Job:
    """A pre-labelling job (``pipelines.prelabel``) for ``model`` over ``documents`` (default: all), queued once
    committed.

    Whether the model exists, loads and sets entities is decided by the worker that
    loads it, and reported in the job: web and workers may see different packages.
    """
    params = prelabel_params(project, model=model, version=version, documents=documents, open_only=open_only)
    return do_start_job(project, Job.Kind.PRELABEL, task="pipelines.prelabel", acting_user=acting_user,
                        params=params)


def create_prelabel_job(project: Project, *, model: str, version: str | None = None,
                        documents: Sequence[int] | None = None, acting_user) -> Job:
    """The pending Job row of a pre-labelling request, checked, not queued (``do_start_prelabel`` queues it)."""
    params = prelabel_params(project, model=model, version=version, documents=documents)
    return do_create_job(project, Job.Kind.PRELABEL, acting_user=acting_user, params=params)


def prelabel_params(project: Project, *, model: str, version: str | None = None,
                    documents: Sequence[int] | None = None, open_only: bool = False) -> dict:
    if not model:
        raise InvalidInput("model: name a model (GET .../models/ lists them)", code="no_model")
    ids = check_documents(project, documents)
    params = {"model": model, "version": version or None, "documents": ids, "chunk_size": conf.prelabel_chunk_size()}
    if open_only:
        params["open_only"] = True
    return params


def check_model_name(name: str) -> str:
    if not isinstance(name, str) or not MODEL_NAME_RE.fullmatch(name):
        raise InvalidInput("name: 1 to 64 letters, digits, '_', '-' or '.', starting with a letter or digit",
                           code="invalid_name")
    if name == RULES:
        raise InvalidInput("name: 'rules' is the project's pattern rules; choose another name", code="name_taken")
    if name in external_model_names():
        raise InvalidInput(f"name: {name!r} is an installed or registered pipeline; choose another name",
                           code="name_taken")
    return name


def do_start_training(project: Project, *, name: str, base: str | None = None, epochs: int | None = None,
                      acting_user, loop_documents: int | None = None, then_prelabel: bool = False) -> Job:
    """A training job (``pipelines.train``) for a new version of ``name``, queued once committed; Conflict
    ``training_running`` while another training of the project is pending or running.

    ``then_prelabel``: once trained, the new version pre-labels and scores the open documents (the loop,
    ``pipelines.loop``, which also records ``loop_documents``, the count that made the training due).
    """
    check_model_name(name)
    if epochs is not None and not 1 <= epochs <= MAX_EPOCHS:
        raise InvalidInput(f"epochs: from 1 to {MAX_EPOCHS}", code="invalid_epochs")
    params = {"name": name, "base": base or None, "epochs": epochs or conf.train_epochs()}
    if loop_documents is not None:
        params["loop_documents"] = loop_documents
    if then_prelabel:
        params["then_prelabel"] = True
    active = Job.objects.filter(project=project, kind=Job.Kind.TRAIN,
                                status__in=[Job.Status.PENDING, Job.Status.RUNNING]).first()
    if active is not None:
        raise training_running(active.pk)
    try:
        return do_start_job(project, Job.Kind.TRAIN, task="pipelines.train", acting_user=acting_user,
                            params=params, total=params["epochs"])
    except IntegrityError:  # started by someone else between the check and the insert
        active = Job.objects.filter(project=project, kind=Job.Kind.TRAIN,
                                    status__in=[Job.Status.PENDING, Job.Status.RUNNING]).first()
        raise training_running(active.pk if active else None) from None


def training_running(job_id: int | None) -> Conflict:
    return Conflict(f"a training of this project is already pending or running (job {job_id}); a project trains "
                    "one model at a time: wait for it, or cancel it", code="training_running",
                    extra={"job_id": job_id})


@transaction.atomic
def do_save_pipeline_settings(project: Project, *, patterns: str | None = None, label_map: dict | None = None,
                              acting_user=None) -> PipelineSettings:
    """Set a project's pattern rules and/or label mapping, after checking them."""
    settings, _ = PipelineSettings.objects.get_or_create(project=project)
    if patterns is not None:
        parse_patterns(patterns)
        settings.patterns = patterns
    if label_map is not None:
        entity_labels = Label.objects.filter(project=project, kind=Label.Kind.ENTITY).values_list("name", flat=True)
        settings.label_map = check_label_map(label_map, entity_labels)
    settings.save()
    return settings



@transaction.atomic
def do_delete_trained_model(trained: TrainedModel, *, acting_user=None) -> None:
    """Delete a trained version and, once that commits, its stored archive (machines' caches drop their copy
    when they next fetch that name: ``pipelines.archives.prune_cache``)."""
    path = trained.path
    trained.delete()
    transaction.on_commit(lambda: default_storage.delete(path))
