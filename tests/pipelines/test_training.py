"""POST /projects/{id}/models/: training in the loop, its scores, versions, errors and permissions."""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter

import pytest
from django.core.files.storage import default_storage

from exports.splits import split_of
from pipelines.archives import cache_folder
from pipelines.models import TrainedModel
from pipelines.training import train_model
from projects.actions.jobs import JobCancelled, do_cancel_job, start_job
from projects.actions.projects import do_update_project
from projects.models import Document, Job, Suggestion
from projects.storage import open_stored
from tests.conftest import wait_for_job
from tests.pipelines.conftest import annotate_gold, gold_spans

pytestmark = pytest.mark.django_db


@pytest.fixture
def gold_project(seed_project, people):
    """The seed article, every paragraph reviewed, split 60/40 train/dev so the dev split is never empty."""
    do_update_project(seed_project, acting_user=people["admin"], split_train=0.6, split_dev=0.4, split_test=0.0)
    annotate_gold(seed_project, people["reviewer"])
    return seed_project


@pytest.fixture
def train(client_for, people, django_capture_on_commit_callbacks):
    """POST /models/ as the admin and run the training task inline; the job as GET shows it."""

    def train(project, **body) -> dict:
        client = client_for(people["admin"])
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(f"/api/v1/projects/{project.pk}/models/", body, format="json")
        assert response.status_code == 202, response.content
        return client.get(f"/api/v1/jobs/{response.json()['job']['id']}/").json()

    return train


def stored_names(folder: str) -> list[str]:
    """Every file stored under ``folder``, through the storage API."""
    try:
        folders, files = default_storage.listdir(folder)
    except FileNotFoundError:  # a local folder never made (a bucket lists nothing instead)
        return []
    return [f"{folder}/{f}" for f in files] + [name for sub in folders for name in stored_names(f"{folder}/{sub}")]


def dev_support(project) -> Counter:
    support = Counter()
    for document in Document.objects.filter(project=project):
        if split_of(document.pk, project.split_seed, project.split_train, project.split_dev) == "dev":
            support.update(label for *_, label in gold_spans(document.text))
    return support


@pytest.mark.worker
# Sequences reset so document ids, hence the train/dev split and the seeded training, are the same on every run:
# a model trained on a split that varies with the ids could, on some runs, predict no entity at all.
@pytest.mark.django_db(transaction=True, reset_sequences=True)
def test_a_trained_model_is_scored_stored_listed_and_prelabels_at_once(celery_worker, gold_project, people,
                                                                       client_for):
    client = client_for(people["admin"])
    response = client.post(f"/api/v1/projects/{gold_project.pk}/models/", {"name": "news", "epochs": 8},
                           format="json")
    assert response.status_code == 202, response.content
    assert (response.json()["job"]["kind"], response.json()["job"]["progress"]) == ("train", {"done": 0, "total": 8})
    job = wait_for_job(client, response.json()["job"]["id"], timeout=120)
    assert job["status"] == "succeeded", job
    assert job["progress"] == {"done": 8, "total": 8}
    result = job["result"]
    assert (result["model"], result["version"], result["trained_on"], result["base"]) == ("news", 1, "gold", None)
    assert result["trained_on_reason"] == "the project's gold (reviewed) documents"
    documents = result["documents"]
    assert documents["train"] + documents["dev"] == 24 and documents["dev"] > 0 and documents["test_held_out"] == 0
    scores = result["scores"]
    assert 0 <= scores["f"] <= 1 and {"p", "r", "f", "per_label"} <= set(scores)
    support = dev_support(gold_project)
    for label, count in support.items():
        assert scores["per_label"][label]["support"] == count
        assert {"p", "r", "f"} <= set(scores["per_label"][label])
    # One archive in storage, its SHA-256 on the row; loading unpacks it into this process's model cache.
    assert re.fullmatch(rf"models/{gold_project.pk}/news/v1-[0-9a-f]{{8}}\.tar", result["path"])
    with open_stored(result["path"]) as stored:
        assert hashlib.file_digest(stored, "sha256").hexdigest() == result["sha256"]
    trained = TrainedModel.objects.get(name="news")
    assert (trained.sha256, trained.size) == (result["sha256"], default_storage.size(result["path"]))
    assert "ner" in trained.components

    listed = {m["name"]: m for m in client.get(f"/api/v1/projects/{gold_project.pk}/models/").json()["results"]}
    news = listed["news"]
    assert (news["source"], news["version"], news["has_ner"]) == ("trained", "1", True)
    assert set(news["labels"]) >= set(support)
    assert [(v["version"], v["trained_on"], v["scores"]) for v in news["versions"]] == [("1", "gold", scores)]

    response = client.post(f"/api/v1/projects/{gold_project.pk}/prelabel/", {"model": "news"}, format="json")
    job = wait_for_job(client, response.json()["job"]["id"])
    assert (job["status"], job["result"]["source"], job["result"]["model_version"]) == ("succeeded", "trained", "1")
    assert Suggestion.objects.filter(model="news", model_version="1").count() == job["result"]["suggestions"] > 0
    cached = cache_folder(trained)
    assert json.loads((cached / "meta.json").read_text())["version"] == "1.0.0"


def test_each_training_makes_a_new_version_and_prelabelling_can_pin_one(gold_project, people, train, client_for,
                                                                       django_capture_on_commit_callbacks):
    assert train(gold_project, name="news", epochs=1)["result"]["version"] == 1
    assert train(gold_project, name="news", epochs=1)["result"]["version"] == 2
    client = client_for(people["annotator"])
    news = {m["name"]: m for m in client.get(f"/api/v1/projects/{gold_project.pk}/models/").json()["results"]}["news"]
    assert (news["version"], [v["version"] for v in news["versions"]]) == ("2", ["1", "2"])
    admin = client_for(people["admin"])
    with django_capture_on_commit_callbacks(execute=True):
        job_id = admin.post(f"/api/v1/projects/{gold_project.pk}/prelabel/", {"model": "news", "version": "1"},
                            format="json").json()["job"]["id"]
    assert admin.get(f"/api/v1/jobs/{job_id}/").json()["result"]["model_version"] == "1"


def test_until_documents_are_reviewed_training_uses_submitted_annotations_and_says_so(seed_project, people, train):
    do_update_project(seed_project, acting_user=people["admin"], split_train=0.6, split_dev=0.4, split_test=0.0)
    annotate_gold(seed_project, people["annotator"], gold=False)
    job = train(seed_project, name="draft", epochs=1)
    assert job["status"] == "succeeded", job
    assert job["result"]["trained_on"] == "submitted"
    assert job["result"]["trained_on_reason"] == ("submitted annotations: the project has no gold (reviewed) "
                                                  "documents yet")
    assert TrainedModel.objects.get(name="draft").trained_on == "submitted"


def test_too_few_gold_documents_fail_the_job_with_what_is_missing(project, people, train):
    annotate_gold(project, people["reviewer"], limit=2)
    job = train(project, name="news")
    assert (job["status"], job["result"]) == ("failed", {"code": "too_few_documents"})
    assert job["error"].startswith("too few gold (reviewed) documents to train: 2 in all, ")
    assert "training needs at least 5 in train and 1 in dev" in job["error"]
    assert not TrainedModel.objects.exists()


def test_training_can_start_from_a_registered_pipeline(gold_project, train):
    job = train(gold_project, name="tuned", base="seed_ner", epochs=1)
    assert job["status"] == "succeeded", job
    assert (job["result"]["base"], job["result"]["base_version"]) == ("seed_ner", "0.1.0")
    job = train(gold_project, name="ruled", base="no_ner", epochs=1)  # a base without NER gets one
    assert job["status"] == "succeeded", job
    assert TrainedModel.objects.get(name="ruled").labels == ["GPE", "LOC", "NORP", "ORG", "PERSON"]


def test_an_unknown_base_fails_the_job(gold_project, train):
    job = train(gold_project, name="news", base="nope")
    assert (job["status"], job["result"]["code"]) == ("failed", "unknown_model")


@pytest.mark.parametrize("name, code", [("rules", "name_taken"), ("seed_ner", "name_taken"),
                                        ("bad name", "invalid_name"), ("-x", "invalid_name")])
def test_a_model_name_that_is_taken_or_malformed_is_refused(project, people, client_for, name, code):
    response = client_for(people["admin"]).post(f"/api/v1/projects/{project.pk}/models/", {"name": name},
                                                 format="json")
    assert (response.status_code, response.json().get("code")) == (400, code)


@pytest.mark.parametrize("who, status", [("reviewer", 403), ("annotator", 403), ("outsider", 404)])
def test_only_project_admins_can_train(project, people, client_for, who, status):
    response = client_for(people[who]).post(f"/api/v1/projects/{project.pk}/models/", {"name": "news"},
                                            format="json")
    assert response.status_code == status
    assert not Job.objects.exists()


def test_a_cancelled_training_stores_nothing(gold_project, people, client_for):
    from pipelines.actions import do_start_training

    job = do_start_training(gold_project, name="news", epochs=2, acting_user=people["admin"])
    running = start_job(job.pk)
    do_cancel_job(Job.objects.get(pk=job.pk), acting_user=people["admin"])
    with pytest.raises(JobCancelled):
        train_model(running)  # stops after the first epoch
    assert not TrainedModel.objects.exists()
    assert stored_names(f"models/{gold_project.pk}/news") == []
