"""The model in the loop: retraining as gold grows, one training per project at a time, and the new
version pre-labelling and scoring the open documents."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from exports.splits import split_of
from pipelines.loop import maybe_retrain
from projects.actions.jobs import finish_job, start_job
from projects.actions.projects import do_update_project
from projects.models import Document, DocumentScore, Job, Suggestion

pytestmark = pytest.mark.django_db


def trainings(project) -> list[Job]:
    return list(Job.objects.filter(project=project, kind=Job.Kind.TRAIN).order_by("id"))


def submit_gold(project, people, documents, django_capture_on_commit_callbacks):
    """Save gold for ``documents`` through the one save path; the loop's check runs as each commits, but the
    training it starts is not queued (its own on-commit is not run): the counting alone is shown."""
    from projects.actions.annotations import do_save_annotation

    for document in documents:
        with django_capture_on_commit_callbacks(execute=False) as saved:
            do_save_annotation(document, people["reviewer"], spans=[], relations=[], status="submitted", version=0,
                               is_gold=True)
        with django_capture_on_commit_callbacks(execute=False):  # what they start is not queued
            for callback in saved:
                callback()


def test_the_loop_trains_once_every_n_new_gold_documents(seed_project, people, django_capture_on_commit_callbacks):
    do_update_project(seed_project, acting_user=people["admin"], retrain_every=3, retrain_model="drugs-loop")
    documents = list(Document.objects.filter(project=seed_project).order_by("id"))
    submit_gold(seed_project, people, documents[:2], django_capture_on_commit_callbacks)
    assert trainings(seed_project) == []
    submit_gold(seed_project, people, documents[2:3], django_capture_on_commit_callbacks)
    (first,) = trainings(seed_project)
    assert (first.status, first.params["name"], first.params["loop_documents"], first.params["then_prelabel"]) == (
        "pending", "drugs-loop", 3, True)
    # While it is pending or running, more gold starts nothing, however much is due.
    submit_gold(seed_project, people, documents[3:8], django_capture_on_commit_callbacks)
    assert trainings(seed_project) == [first]
    finish_job(first, {})
    # The next save after it ended: 9 gold now, 3 when the last one started: due.
    submit_gold(seed_project, people, documents[8:9], django_capture_on_commit_callbacks)
    first_again, second = trainings(seed_project)
    assert second.params["loop_documents"] == 9
    finish_job(second, {})
    submit_gold(seed_project, people, documents[9:11], django_capture_on_commit_callbacks)
    assert len(trainings(seed_project)) == 2  # 11 - 9 < 3


def test_imported_gold_counts_towards_the_loop(seed_project, people, django_capture_on_commit_callbacks):
    from exports.imports import import_records
    from exports.records import DocumentRecord, SpanRecord

    def import_gold(records, annotations_as="gold"):
        with django_capture_on_commit_callbacks(execute=False) as committed:
            import_records(seed_project, enumerate(records, 1), importer=people["admin"],
                           annotations_as=annotations_as)
        with django_capture_on_commit_callbacks(execute=False):  # what the loop starts is not queued
            for callback in committed:
                callback()
        return committed

    do_update_project(seed_project, acting_user=people["admin"], retrain_every=3, retrain_model="drugs-loop")
    import_gold([DocumentRecord(text=f"Imported line {n} about Damascus.", annotated=True,
                                spans=[SpanRecord(start=22, end=30, label="LOC")] if n % 2 else [])
                 for n in range(2)])
    assert trainings(seed_project) == []  # 2 gold: not due
    import_gold([DocumentRecord(text=f"Another imported line {n}.", annotated=True) for n in range(2)])
    (first,) = trainings(seed_project)
    assert first.params["loop_documents"] == 4
    # Documents without annotations are no gold: the loop is not asked.
    assert import_gold([DocumentRecord(text="Plain text.", annotated=False)], annotations_as="submitted") == []


def test_without_the_setting_nothing_is_trained(seed_project, people, django_capture_on_commit_callbacks):
    documents = list(Document.objects.filter(project=seed_project).order_by("id"))
    submit_gold(seed_project, people, documents[:6], django_capture_on_commit_callbacks)
    assert trainings(seed_project) == [] and maybe_retrain(seed_project) is None


def test_the_database_refuses_a_second_training_and_the_api_says_why(seed_project, people, client_for,
                                                                    django_capture_on_commit_callbacks):
    client = client_for(people["admin"])
    with django_capture_on_commit_callbacks(execute=False):
        first = client.post(f"/api/v1/projects/{seed_project.pk}/models/", {"name": "news"}, format="json")
    assert first.status_code == 202, first.content
    second = client.post(f"/api/v1/projects/{seed_project.pk}/models/", {"name": "other"}, format="json")
    assert second.status_code == 409
    assert (second.json()["code"], second.json()["job_id"]) == ("training_running", first.json()["job"]["id"])
    with pytest.raises(IntegrityError), transaction.atomic():  # even written straight to the table
        Job.objects.create(project=seed_project, kind=Job.Kind.TRAIN, status=Job.Status.RUNNING)
    assert len(trainings(seed_project)) == 1


def test_a_second_delivery_of_a_running_job_does_not_start_it_again(seed_project, people, settings):
    job = Job.objects.create(project=seed_project, kind=Job.Kind.TRAIN, status=Job.Status.PENDING)
    assert start_job(job.pk) is not None  # the first delivery, on a worker: held, beating
    assert start_job(job.pk) is None  # the broker's second delivery while the first runs
    # A worker silent for longer than the heartbeat timeout is dead: its job is taken over, counted once.
    Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(
        seconds=settings.JOB_HEARTBEAT_TIMEOUT + 1))
    taken = start_job(job.pk)
    assert taken is not None and taken.running_tasks == 1


def test_a_loop_training_prelabels_and_scores_the_open_documents_with_the_new_version(
        seed_project, people, settings, django_capture_on_commit_callbacks, client_for):
    settings.TRAIN_MIN_DOCUMENTS = 3
    do_update_project(seed_project, acting_user=people["admin"], retrain_every=100, split_train=0.6, split_dev=0.4,
                      split_test=0.0)
    seed_project.refresh_from_db()
    split = {d.pk: split_of(d.pk, seed_project.split_seed, 0.6, 0.4)
             for d in Document.objects.filter(project=seed_project)}
    # Every other document of each split: the gold lies between open documents, inside their chunks' id ranges.
    chosen = ([pk for pk, part in sorted(split.items()) if part == "train"][::2][:8]
              + [pk for pk, part in sorted(split.items()) if part == "dev"][::2][:4])
    annotate_gold_of(seed_project, people, chosen)
    gold = len(chosen)
    with django_capture_on_commit_callbacks(execute=True):  # the training and the pre-labelling run inline
        job = maybe_retrain(do_update_project(seed_project, acting_user=people["admin"], retrain_every=gold))
    job.refresh_from_db()
    assert job.status == "succeeded", (job.error, job.result)
    prelabel = Job.objects.get(pk=job.result["prelabel_job"])
    assert (prelabel.status, prelabel.params["open_only"], prelabel.result["model_version"]) == (
        "succeeded", True, "1")
    open_ids = set(Document.objects.filter(project=seed_project, status__in=Document.OPEN).values_list("pk",
                                                                                                       flat=True))
    assert prelabel.result["documents"] == len(open_ids) > 0
    scored = set(DocumentScore.objects.filter(project=seed_project, model="loop", model_version="1").values_list(
        "document_id", flat=True))
    assert scored == open_ids  # the reviewed ones are not scored again
    assert set(Suggestion.objects.filter(model="loop").values_list("document_id", flat=True)) <= open_ids
    # The queue in uncertainty order follows the new scores.
    do_update_project(seed_project, acting_user=people["admin"], queue_order="uncertainty")
    first = client_for(people["annotator"]).get(f"/api/v1/projects/{seed_project.pk}/next/").json()["document"]
    assert first["id"] == Document.objects.filter(pk__in=open_ids).order_by("-queue_priority", "id").first().pk


def test_the_learning_curve_is_the_stored_versions_in_the_api_and_on_the_dashboard(
        seed_project, people, settings, django_capture_on_commit_callbacks, client_for, client):
    settings.TRAIN_MIN_DOCUMENTS = 3
    do_update_project(seed_project, acting_user=people["admin"], split_train=0.6, split_dev=0.4, split_test=0.0)
    seed_project.refresh_from_db()
    admin = client_for(people["admin"])
    # Two versions, the second trained on more gold; each batch has documents in both splits.
    split = {d.pk: split_of(d.pk, seed_project.split_seed, 0.6, 0.4)
             for d in Document.objects.filter(project=seed_project)}
    train_ids = [pk for pk, part in sorted(split.items()) if part == "train"]
    dev_ids = [pk for pk, part in sorted(split.items()) if part == "dev"]
    assert len(train_ids) >= 6 and len(dev_ids) >= 2
    for batch in (train_ids[:3] + dev_ids[:1], train_ids[3:6] + dev_ids[1:2]):
        annotate_gold_of(seed_project, people, batch)
        with django_capture_on_commit_callbacks(execute=True):
            response = admin.post(f"/api/v1/projects/{seed_project.pk}/models/", {"name": "news", "epochs": 2},
                                  format="json")
        assert response.status_code == 202, response.content
        job = Job.objects.get(pk=response.json()["job"]["id"])
        assert job.status == "succeeded", job.error
    from pipelines.models import TrainedModel

    stored = [(str(t.version), t.documents["train"], t.scores["f"])
              for t in TrainedModel.objects.filter(project=seed_project, name="news").order_by("version")]
    assert len(stored) == 2 and stored[0][1] < stored[1][1]
    models = {m["name"]: m for m in admin.get(f"/api/v1/projects/{seed_project.pk}/models/").json()["results"]}
    assert [(p["version"], p["documents"], p["f"]) for p in models["news"]["learning_curve"]] == stored
    client.force_login(people["admin"])
    page = client.get(f"/projects/{seed_project.pk}/dashboard/").content.decode()
    chart = page[page.index('data-chart="learning-curve"'):]
    for version, documents, f in stored:
        assert f"news v{version}: {f:.3f} at {documents}</title>" in chart
    assert "Agreement" in page and "Last jobs" in page  # the curation dashboard around it


def annotate_gold_of(project, people, ids):
    from projects.actions.annotations import do_save_annotation
    from projects.spans import SpanIn
    from tests.pipelines.conftest import gold_spans

    for document in Document.objects.filter(project=project, pk__in=ids).order_by("id"):
        spans = [SpanIn(str(i), s, e, label) for i, (s, e, label) in enumerate(gold_spans(document.text))]
        do_save_annotation(document, people["reviewer"], spans=spans, relations=[], status="submitted", version=0,
                           is_gold=True)
