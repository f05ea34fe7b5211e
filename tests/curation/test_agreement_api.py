"""GET /projects/{id}/agreement/ and /progress/, cached until annotations change, large ones on a worker; the dashboard."""

from __future__ import annotations

import time

import pytest

from curation import actions as curation_actions
from projects.models import Job

# doc(1): "Rebels led by HTS seized Aleppo." tokens: Rebels led by HTS seized Aleppo .
HTS_ORG, HTS_GPE, ALEPPO, REBELS = (14, 17, "ORG"), (14, 17, "GPE"), (25, 31, "GPE"), (0, 6, "PERSON")


def agreement(client, project):
    return client.get(f"/api/v1/projects/{project.pk}/agreement/")


@pytest.fixture
def two_annotated(project, people, doc, annotate):
    project.annotators_per_document = 2
    project.save()
    annotate(doc(1), people["annotator"], [HTS_ORG, ALEPPO])
    annotate(doc(1), people["annotator2"], [HTS_GPE, ALEPPO])
    annotate(doc(2), people["annotator"], [])  # one annotator: not counted
    return project


@pytest.mark.django_db
def test_agreement_reports_pairwise_span_f1_token_kappa_and_alpha(two_annotated, people, client_for):
    response = agreement(client_for(people["reviewer"]), two_annotated)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["documents"] == 1 and body["annotators"] == ["annotator", "annotator2"]
    assert body["spans"]["overall"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "tp": 1, "fp": 1, "fn": 1}
    assert body["spans"]["per_label"]["GPE"]["f1"] == pytest.approx(2 / 3)  # tp 1, fp 1 (HTS), fn 0
    assert body["spans"]["per_label"]["ORG"] == {"precision": None, "recall": 0.0, "f1": 0.0, "tp": 0, "fp": 0,
                                                 "fn": 1}
    # 7 tokens: O O O ORG/GPE O GPE/GPE O: p_o = 6/7; a: O 5, ORG 1, GPE 1; b: O 5, GPE 2.
    # p_e = (5*5 + 1*2) / 49 = 27/49; kappa = (6/7 - 27/49) / (1 - 27/49) = 15/22
    (pair,) = body["kappa"]
    assert pair["annotators"] == ["annotator", "annotator2"] and pair["tokens"] == 7
    assert pair["kappa"] == pytest.approx(15 / 22)
    assert body["alpha"] is not None and body["computed_at"]


@pytest.mark.django_db
def test_agreement_is_cached_until_an_annotation_changes(two_annotated, people, client_for, doc, annotate,
                                                          monkeypatch):
    calls = []
    compute = curation_actions.compute_agreement
    monkeypatch.setattr(curation_actions, "compute_agreement", lambda p, **kw: calls.append(p) or compute(p, **kw))
    client = client_for(people["admin"])
    first = agreement(client, two_annotated).json()
    assert agreement(client, two_annotated).json() == first
    assert len(calls) == 1
    annotate(doc(1), people["annotator2"], [HTS_ORG, ALEPPO])  # now they agree
    changed = agreement(client, two_annotated).json()
    assert len(calls) == 2 and changed["spans"]["overall"]["f1"] == 1.0


@pytest.mark.django_db
def test_progress_counts_documents_by_status_and_each_annotators_work(two_annotated, people, client_for):
    body = client_for(people["reviewer"]).get(f"/api/v1/projects/{two_annotated.pk}/progress/").json()
    assert body["documents"] == {"unlabelled": 1, "in_progress": 1, "submitted": 1, "reviewed": 0, "total": 3}
    rows = {row["annotator"]: row for row in body["annotators"]}
    assert rows["annotator"]["submitted"] == 2 and rows["annotator"]["last_day"] == 2
    assert rows["annotator2"]["submitted"] == 1 and rows["annotator2"]["holding"] == 0
    assert body["annotators_per_document"] == 2 and isinstance(body["jobs"], list)


@pytest.mark.django_db
def test_dashboard_shows_progress_agreement_chart_and_jobs(two_annotated, people, client):
    client.force_login(people["reviewer"])
    response = client.get(f"/projects/{two_annotated.pk}/dashboard/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<tr data-status="submitted"><th scope="row"><span class="dot seg-submitted"></span> Submitted</th>' \
           '<td class="num">1</td>' in html
    assert 'data-annotator="annotator2"' in html
    assert '<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart"' in html
    assert "<title>GPE: 0.67</title>" in html and "<title>ORG: 0.00</title>" in html
    assert 'data-figure="f1">0.500<' in html
    home = client.get("/").content.decode()
    assert f'href="/projects/{two_annotated.pk}/dashboard/"' in home and f'href="/projects/{two_annotated.pk}/review/"' in home


def test_bar_chart_escapes_names_and_marks_missing_values():
    from curation.charts import bar_chart_svg

    svg = bar_chart_svg([("<b>", 0.25, "#ff0000"), ("NONE", None, "#00ff00")], title="F1 & more")
    assert "&lt;b&gt;" in svg and "<b>" not in svg and "F1 &amp; more" in svg
    assert 'width="80.0"' in svg and "NONE: n/a" in svg


@pytest.mark.worker
def test_a_large_projects_agreement_is_computed_by_a_worker_and_then_served_from_the_cache(
        celery_worker, settings, people, make_user, client_for):
    from projects.actions.annotations import do_save_annotation
    from projects.actions.documents import do_create_documents
    from projects.actions.labels import do_create_label
    from projects.actions.members import do_add_member
    from projects.actions.projects import do_create_project
    from projects.spans import SpanIn

    settings.AGREEMENT_SYNC_MAX_ANNOTATIONS = 3
    admin = people["admin"]
    project = do_create_project(acting_user=admin, name="Big", annotators_per_document=2)
    do_create_label(project, acting_user=admin, name="GPE")
    for name in ("annotator", "annotator2"):
        do_add_member(project, name, "annotator", acting_user=admin)
    documents = do_create_documents(project, [{"text": f"Rebels took Aleppo on day {i} ."} for i in range(4)],
                                    acting_user=admin)
    for document in documents:
        for user in (people["annotator"], people["annotator2"]):
            do_save_annotation(document, user, spans=[SpanIn("1", 12, 18, "GPE")], relations=[], status="submitted",
                               version=0)
    client = client_for(admin)
    response = agreement(client, project)
    assert response.status_code == 202, response.content
    job = response.json()["job"]
    assert job["kind"] == "agreement"
    assert agreement(client, project).json()["job"]["id"] == job["id"]  # one job per state of the annotations
    deadline = time.monotonic() + 60
    while Job.objects.get(pk=job["id"]).status not in Job.FINISHED and time.monotonic() < deadline:
        time.sleep(0.2)
    finished = Job.objects.get(pk=job["id"])
    assert finished.status == "succeeded", finished.error
    response = agreement(client, project)
    assert response.status_code == 200
    assert response.json()["documents"] == 4 and response.json()["spans"]["overall"]["f1"] == 1.0
    assert finished.result["documents"] == 4


@pytest.mark.django_db
def test_agreement_adds_relation_figures_and_the_dashboard_shows_them(project, people, client_for, doc, annotate):
    from django.test import Client

    project.annotators_per_document = 2
    project.save()
    annotate(doc(1), people["annotator"], [HTS_ORG, ALEPPO], relations=[(0, 1, "located_in")])
    annotate(doc(1), people["annotator2"], [HTS_ORG, ALEPPO], relations=[(1, 0, "located_in")])  # reversed
    body = agreement(client_for(people["reviewer"]), project).json()
    assert body["spans"]["overall"]["f1"] == 1.0
    assert body["relations"]["overall"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "tp": 0, "fp": 1, "fn": 1}
    assert set(body["relations"]["per_label"]) == {"located_in"}
    browser = Client()
    browser.force_login(people["reviewer"])
    html = browser.get(f"/projects/{project.pk}/dashboard/").content.decode()
    assert 'relation F1 <strong data-figure="relation-f1">0.000</strong>' in html
    assert 'data-table="relations"' in html
