"""The migration that stores trained versions as archives: a version saved as a folder under MEDIA_ROOT (before)
becomes its archive in storage, on the local filesystem or in a bucket the deployment moves to at the same time."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
import spacy
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from pipelines.archives import fetch_pipeline
from pipelines.models import TrainedModel
from projects.models import Project
from projects.storage import open_stored

BEFORE = [("pipelines", "0001_initial")]
AFTER = [("pipelines", "0002_trained_model_archive")]


@pytest.fixture(params=["local", "bucket"])
def storage_kind(request) -> str:
    if request.param == "bucket":
        request.getfixturevalue("object_storage")
    return request.param


@pytest.mark.django_db(transaction=True)
def test_a_version_saved_as_a_folder_becomes_an_archive_in_storage(storage_kind, seed_models, settings, tmp_path):
    settings.MODEL_CACHE_DIR = str(tmp_path / "model-cache")
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    project = Project.objects.create(name="Old")  # the projects app stays at its latest migration
    folder = Path(settings.MEDIA_ROOT) / "models" / str(project.pk) / "legacy" / "v1"
    shutil.copytree(seed_models / "seed_ner", folder)
    old.get_model("pipelines", "TrainedModel").objects.create(
        project_id=project.pk, name="legacy", version=1, path=f"models/{project.pk}/legacy/v1", language="en",
        labels=["GPE"], trained_on="gold")
    gone = old.get_model("pipelines", "TrainedModel").objects.create(
        project_id=project.pk, name="legacy", version=2, path=f"models/{project.pk}/legacy/v2", language="en",
        trained_on="gold")  # its folder was lost before the upgrade

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    trained = TrainedModel.objects.get(project_id=project.pk, version=1)
    assert trained.path.startswith(f"models/{project.pk}/legacy/v1-") and trained.path.endswith(".tar")
    with open_stored(trained.path) as stored:
        assert hashlib.file_digest(stored, "sha256").hexdigest() == trained.sha256
        assert stored.seek(0, 2) == trained.size
    assert trained.components == spacy.load(folder).component_names
    assert spacy.load(fetch_pipeline(trained)).pipe_names == spacy.load(folder).pipe_names
    assert TrainedModel.objects.filter(pk=gone.pk).values_list("path", "sha256").get() == (
        f"models/{project.pk}/legacy/v2", "")
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())  # back to the latest for the tests after this one
