"""Django admin: the Pre-label action and page, pre-labelling settings with their checks, trained models."""

from __future__ import annotations

import pytest

from pipelines.models import PipelineSettings
from projects.models import Job, Suggestion

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, make_user):
    client.force_login(make_user("boss", is_staff=True, is_superuser=True))
    return client


def test_the_prelabel_action_leads_to_a_page_that_starts_the_job(staff_client, project,
                                                                  django_capture_on_commit_callbacks):
    response = staff_client.post("/admin/projects/project/", {"action": "prelabel", "_selected_action": [project.pk]})
    assert response.status_code == 302 and response["Location"] == f"/admin/projects/project/{project.pk}/prelabel/"
    page = staff_client.get(response["Location"]).content.decode()
    assert "seed_ner (directory, version 0.1.0" in page
    assert "no_ner" not in page  # only models that set entities are offered
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(f"/admin/projects/project/{project.pk}/prelabel/", {"model": "seed_ner"})
    job = Job.objects.get(kind="prelabel")
    assert response.status_code == 302 and response["Location"] == f"/admin/projects/job/{job.pk}/change/"
    job.refresh_from_db()
    assert job.status == "succeeded"
    assert Suggestion.objects.filter(model="seed_ner").exists()


def test_the_prelabel_page_refuses_unknown_document_ids(staff_client, project):
    response = staff_client.post(f"/admin/projects/project/{project.pk}/prelabel/",
                                 {"model": "seed_ner", "documents": "999999"})
    assert response.status_code == 200
    assert "documents: not in this project: 999999" in response.content.decode()
    assert not Job.objects.exists()


def test_project_list_links_to_the_prelabel_page(staff_client, project):
    page = staff_client.get("/admin/projects/project/").content.decode()
    assert f'href="/admin/projects/project/{project.pk}/prelabel/"' in page
    assert f'href="/admin/projects/project/{project.pk}/import/"' in page  # the projects app's links stay


def test_pipeline_settings_are_checked_when_saved_in_admin(staff_client, project):
    settings = PipelineSettings.objects.create(project=project)
    url = f"/admin/pipelines/pipelinesettings/{project.pk}/change/"
    bad = staff_client.post(url, {"patterns": '{"label": "GPE"}', "label_map": '{"LOC": "PLACE"}'})
    assert bad.status_code == 200
    body = bad.content.decode()
    assert "patterns line 1: &quot;pattern&quot; must be a string" in body
    assert "which is not an entity label of this project" in body
    good = staff_client.post(url, {"patterns": '{"label": "GPE", "pattern": "Homs"}', "label_map": '{"LOC": "GPE"}'})
    assert good.status_code == 302
    settings.refresh_from_db()
    assert (settings.patterns, settings.label_map) == ('{"label": "GPE", "pattern": "Homs"}', {"LOC": "GPE"})


def test_the_prelabel_page_links_to_the_projects_settings(staff_client, project):
    page = staff_client.get(f"/admin/projects/project/{project.pk}/prelabel/").content.decode()
    assert f'href="/admin/pipelines/pipelinesettings/add/?project={project.pk}"' in page
    PipelineSettings.objects.create(project=project)
    page = staff_client.get(f"/admin/projects/project/{project.pk}/prelabel/").content.decode()
    assert f'href="/admin/pipelines/pipelinesettings/{project.pk}/change/"' in page
