"""Trained models as archives in an S3 bucket (a real SeaweedFS server): fetched once into a machine's cache,
checked against their SHA-256, dropped from the cache when their version is deleted."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.actions import do_delete_trained_model
from pipelines.archives import cache_folder, fetch_pipeline
from pipelines.errors import PipelineError
from pipelines.loading import clear_cache, load_pipeline
from pipelines.models import TrainedModel
from pipelines.registry import resolve_model
from tests.pipelines import test_training

pytestmark = pytest.mark.django_db

gold_project, train = test_training.gold_project, test_training.train  # the same fixtures


@pytest.fixture
def bucket_model(object_storage, gold_project, train, settings, tmp_path):
    """Version 1 of "news", trained with files in the bucket; this process's model cache empty."""
    settings.MODEL_CACHE_DIR = str(tmp_path / "model-cache")
    job = train(gold_project, name="news", epochs=1)
    assert job["status"] == "succeeded", job
    clear_cache()
    return TrainedModel.objects.get(project=gold_project, name="news", version=1)


def test_a_trained_version_is_one_archive_in_the_bucket_and_is_fetched_once(bucket_model, object_storage, seaweedfs,
                                                                             gold_project, settings):
    client = seaweedfs.client()
    head = client.head_object(Bucket=object_storage, Key=bucket_model.path)
    assert head["ContentLength"] == bucket_model.size and len(bucket_model.sha256) == 64
    folder = cache_folder(bucket_model)
    assert not folder.exists()
    nlp = load_pipeline(resolve_model(gold_project, "news"))
    assert "ner" in nlp.pipe_names
    assert folder.is_dir() and (folder / "meta.json").is_file()
    assert folder.relative_to(Path(settings.MODEL_CACHE_DIR)).parts[:2] == (str(gold_project.pk), "news")
    assert [p.name for p in folder.parent.iterdir()] == [folder.name]  # no staging folder left behind
    # Fetched once: with the bucket's copy gone, this machine still loads it (from its cache).
    client.delete_object(Bucket=object_storage, Key=bucket_model.path)
    clear_cache()
    assert fetch_pipeline(bucket_model) == folder
    assert "ner" in load_pipeline(resolve_model(gold_project, "news")).pipe_names


def test_a_damaged_archive_is_refused_and_nothing_is_cached(bucket_model, object_storage, seaweedfs, gold_project):
    client = seaweedfs.client()
    archive = client.get_object(Bucket=object_storage, Key=bucket_model.path)["Body"].read()
    flipped = archive[:600] + bytes([archive[600] ^ 1]) + archive[601:]  # one bit of the first member's bytes
    client.put_object(Bucket=object_storage, Key=bucket_model.path, Body=flipped)
    with pytest.raises(PipelineError) as raised:
        load_pipeline(resolve_model(gold_project, "news"))
    assert raised.value.code == "load_failed"
    assert "is damaged: its SHA-256 is" in str(raised.value)
    assert list(cache_folder(bucket_model).parent.iterdir()) == []


def test_a_deleted_version_leaves_the_bucket_and_then_the_cache(bucket_model, object_storage, seaweedfs, gold_project,
                                                                train, django_capture_on_commit_callbacks):
    first = fetch_pipeline(bucket_model)
    assert train(gold_project, name="news", epochs=1)["result"]["version"] == 2
    second = TrainedModel.objects.get(project=gold_project, name="news", version=2)
    with django_capture_on_commit_callbacks(execute=True):
        do_delete_trained_model(bucket_model)
    keys = [o["Key"] for o in seaweedfs.client().list_objects_v2(Bucket=object_storage).get("Contents", [])]
    assert keys == [second.path]
    assert first.is_dir()  # until this machine next fetches the name
    assert fetch_pipeline(second) == cache_folder(second)
    assert [p.name for p in first.parent.iterdir()] == [cache_folder(second).name]
