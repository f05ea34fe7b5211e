"""GET /projects/{id}/models/: what a project can pre-label with, from every source, with labels and mapping."""

from __future__ import annotations

import pytest

from pipelines.actions import do_save_pipeline_settings
from pipelines.loading import cached_keys, clear_cache, load_pipeline
from pipelines.registry import resolve_model
from projects.models import Suggestion

pytestmark = pytest.mark.django_db


def models_of(client, project) -> dict:
    response = client.get(f"/api/v1/projects/{project.pk}/models/")
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    return {m["name"]: m for m in body["results"]}


def test_members_see_registered_pipeline_folders_with_labels_versions_and_mapping(project, people, client_for):
    models = models_of(client_for(people["annotator"]), project)
    assert {"seed_ner", "no_ner", "split_ruler"} <= set(models)
    assert "not-a-pipeline" not in models
    assert models["seed_ner"] == {
        "name": "seed_ner", "source": "directory", "version": "0.1.0", "language": "en",
        "labels": ["GPE", "LOC", "NORP", "ORG", "PERSON"], "has_ner": True, "components": ["ner"],
        "maps_to": {"GPE": "GPE", "LOC": None, "NORP": None, "ORG": "ORG", "PERSON": "PERSON"}}
    assert (models["no_ner"]["has_ner"], models["no_ner"]["labels"]) == (False, [])
    assert (models["split_ruler"]["has_ner"], models["split_ruler"]["labels"]) == (True, ["GPE"])


def test_rules_are_listed_when_the_project_has_patterns(project, people, client_for):
    client = client_for(people["reviewer"])
    assert "rules" not in models_of(client, project)
    do_save_pipeline_settings(project, patterns='{"label": "GPE", "pattern": "Homs"}\n'
                                                '{"label": "PLACE", "pattern": "Aleppo"}',
                              label_map={"PLACE": "GPE"}, acting_user=people["admin"])
    rules = models_of(client, project)["rules"]
    assert (rules["source"], rules["labels"], rules["components"]) == ("rules", ["GPE", "PLACE"], ["entity_ruler"])
    assert rules["maps_to"] == {"GPE": "GPE", "PLACE": "GPE"}


def test_installed_pipeline_packages_come_from_spacys_registry_and_can_prelabel(
        project, people, client_for, installed_package, django_capture_on_commit_callbacks):
    client = client_for(people["admin"])
    package = models_of(client, project)[installed_package]
    assert (package["source"], package["version"], package["labels"]) == (
        "package", "0.3.0", ["GPE", "LOC", "NORP", "ORG", "PERSON"])
    with django_capture_on_commit_callbacks(execute=True):
        job_id = client.post(f"/api/v1/projects/{project.pk}/prelabel/", {"model": installed_package},
                             format="json").json()["job"]["id"]
    job = client.get(f"/api/v1/jobs/{job_id}/").json()
    assert (job["status"], job["result"]["source"]) == ("succeeded", "package")
    assert set(Suggestion.objects.values_list("model", "model_version")) == {(installed_package, "0.3.0")}


def test_a_missing_model_folder_hides_nothing_else(project, people, client_for, settings, seed_models, tmp_path):
    settings.SPACY_MODEL_DIRS = [str(tmp_path / "gone"), str(seed_models)]
    assert "seed_ner" in models_of(client_for(people["admin"]), project)


def test_model_folders_can_come_from_the_environment(project, settings, seed_models, monkeypatch):
    import os

    del settings.SPACY_MODEL_DIRS
    monkeypatch.setenv("SPACY_MODEL_DIRS", os.pathsep.join(["/nonexistent", str(seed_models)]))
    assert resolve_model(project, "seed_ner").source == "directory"


def test_outsiders_cannot_see_a_projects_models(project, people, client_for):
    assert client_for(people["outsider"]).get(f"/api/v1/projects/{project.pk}/models/").status_code == 404
    assert client_for(None).get(f"/api/v1/projects/{project.pk}/models/").status_code == 401


def test_each_process_keeps_a_bounded_number_of_pipelines_loaded(project, settings):
    settings.PIPELINE_CACHE_SIZE = 2
    clear_cache()
    seed, split, no_ner = (resolve_model(project, name) for name in ("seed_ner", "split_ruler", "no_ner"))
    first = load_pipeline(seed)
    assert load_pipeline(seed) is first  # loaded once, reused
    load_pipeline(split)
    load_pipeline(no_ner)
    assert cached_keys() == [split.cache_key, no_ner.cache_key]  # the least recently used went
    assert load_pipeline(seed) is not first
