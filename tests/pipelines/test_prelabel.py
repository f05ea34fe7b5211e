"""Pre-labelling through the API with tasks run in-process (eager), and the chunk rules underneath.

The real worker path is in test_prelabel_worker.py; here the same tasks run inline
so each rule (labels, alignment, replacement, cancellation, errors) is quick to show.
"""

from __future__ import annotations

import pytest

from pipelines.actions import do_save_pipeline_settings, do_start_prelabel
from pipelines.loading import load_pipeline, rules_pipeline
from pipelines.models import JobChunk, PipelineSettings
from pipelines.prelabel import (LabelMapper, PrelabelStats, plan_prelabel, predict_suggestions, run_prelabel_chunk,
                                tokenizes_like_project)
from pipelines.registry import resolve_model
from pipelines.tasks import prelabel_task
from projects.actions.jobs import do_cancel_job, start_job
from projects.models import Document, Job, Suggestion
from projects.tokens import tokenize
from tests.pipelines.conftest import gold_spans

pytestmark = pytest.mark.django_db

RULES = "\n".join([
    '{"label": "GPE", "pattern": "Homs"}',
    '{"label": "GPE", "pattern": "Syria"}',
    '{"label": "ORG", "pattern": [{"TEXT": "HTS"}]}',
    '{"label": "LOC", "pattern": "Aleppo"}',
    '{"label": "ALLY", "pattern": "allies"}',
])


def suggestions_of(project, **filters) -> list[tuple]:
    rows = Suggestion.objects.filter(document__project=project, **filters).select_related("document", "label")
    return sorted((s.document.meta.get("n") or s.document.meta.get("line"), s.document.text[s.start:s.end],
                   s.label.name, s.model, s.model_version) for s in rows)


def with_rules(project, people, patterns=RULES, label_map=None):
    do_save_pipeline_settings(project, patterns=patterns, label_map=label_map, acting_user=people["admin"])


def test_admin_prelabels_with_a_registered_pipeline_in_chunks(seed_project, run):
    job = run(seed_project, model="seed_ner")
    assert job["status"] == "succeeded", job
    assert job["kind"] == "prelabel"
    assert job["progress"] == {"done": 24, "total": 24}
    result = job["result"]
    assert (result["model"], result["model_version"], result["source"], result["chunks"]) == (
        "seed_ner", "0.1.0", "directory", 12)
    stored = Suggestion.objects.filter(document__project=seed_project)
    assert stored.count() == result["suggestions"] > 0
    assert set(stored.values_list("model", "model_version")) == {("seed_ner", "0.1.0")}
    # The model learnt the seed article: it finds most of its gold spans, each on token boundaries.
    found, gold = set(), set()
    for document in Document.objects.filter(project=seed_project):
        tokens = tokenize(document.text, "en")
        for s in stored.filter(document=document).select_related("label"):
            assert s.start in tokens.span_starts and s.end in tokens.span_ends
            found.add((document.pk, s.start, s.end, s.label.name))
        gold |= {(document.pk, *span) for span in gold_spans(document.text)}
    assert len(found & gold) >= 0.8 * len(gold)


def test_next_document_carries_the_models_suggestions(seed_project, run, client_for, people):
    run(seed_project, model="seed_ner")
    body = client_for(people["annotator"]).get(f"/api/v1/projects/{seed_project.pk}/next/").json()
    first = Document.objects.filter(project=seed_project).order_by("id").first()
    assert body["document"]["id"] == first.pk
    homs = first.text.index("Homs")
    assert {(s["start"], s["end"], s["label"], s["model"], s["model_version"]) for s in body["suggestions"]} >= {
        (homs, homs + 4, "GPE", "seed_ner", "0.1.0")}


def test_rules_prelabel_and_labels_the_project_lacks_are_dropped_and_counted(project, people, run):
    with_rules(project, people)
    job = run(project, model="rules")
    assert job["status"] == "succeeded", job
    assert job["result"]["dropped"] == {"misaligned": 0, "labels": {"ALLY": 1, "LOC": 1}}
    version = job["result"]["model_version"]
    assert len(version) == 12
    assert suggestions_of(project) == [
        (1, "HTS", "ORG", "rules", version), (3, "Homs", "GPE", "rules", version),
        (3, "Syria", "GPE", "rules", version)]


def test_the_label_mapping_renames_and_drops_model_labels(project, people, run):
    with_rules(project, people, label_map={"LOC": "GPE", "ORG": None, "ALLY": "PERSON"})
    job = run(project, model="rules")
    assert job["result"]["dropped"]["labels"] == {"ORG": 1}
    assert [(n, text, label) for n, text, label, *_ in suggestions_of(project)] == [
        (1, "Aleppo", "GPE"), (2, "allies", "PERSON"), (3, "Homs", "GPE"), (3, "Syria", "GPE")]


def test_spans_off_the_project_token_boundaries_are_dropped_and_counted(project, run):
    job = run(project, model="split_ruler")
    assert job["status"] == "succeeded", job
    document = Document.objects.get(project=project, meta__n=2)
    start = document.text.index("Russia")
    assert job["result"]["dropped"]["misaligned"] == 1
    assert job["result"]["misaligned_examples"] == [
        {"document": document.pk, "start": start, "end": start + 3, "label": "GPE", "text": "Rus"}]
    assert [(n, text) for n, text, *_ in suggestions_of(project)] == [(2, "Iran")]


def test_rerunning_a_model_version_replaces_its_suggestions_and_leaves_other_models_alone(project, people, run):
    with_rules(project, people)
    run(project, model="rules")
    run(project, model="seed_ner")
    first_rules = set(Suggestion.objects.filter(document__project=project, model="rules").values_list("pk", flat=True))
    seed = sorted(Suggestion.objects.filter(document__project=project, model="seed_ner").values_list("pk", flat=True))
    before = suggestions_of(project)

    job = run(project, model="rules")
    assert job["status"] == "succeeded"
    assert suggestions_of(project) == before  # the same rows, none twice
    again = set(Suggestion.objects.filter(document__project=project, model="rules").values_list("pk", flat=True))
    assert again and not again & first_rules  # replaced, not added to
    assert sorted(Suggestion.objects.filter(document__project=project, model="seed_ner")
                  .values_list("pk", flat=True)) == seed


def test_chosen_documents_only_are_prelabelled(project, people, run):
    with_rules(project, people)
    third = Document.objects.get(project=project, meta__n=3)
    job = run(project, model="rules", documents=[third.pk])
    assert job["progress"] == {"done": 1, "total": 1}
    assert [n for n, *_ in suggestions_of(project)] == [3, 3]


def test_documents_of_another_project_are_refused_at_once(project, seed_project, client_for, people):
    other = Document.objects.filter(project=seed_project).first()
    response = client_for(people["admin"]).post(f"/api/v1/projects/{project.pk}/prelabel/",
                                                 {"model": "seed_ner", "documents": [other.pk]}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "unknown_documents"
    assert not Job.objects.filter(kind="prelabel").exists()


@pytest.mark.parametrize("model, code, message", [
    ("nope", "unknown_model", "unknown model 'nope': it is not an installed spaCy pipeline package"),
    ("no_ner", "no_ner", "the model 'no_ner' has no component that sets entities (ner or entity_ruler); "
                         "its pipeline is: sentencizer"),
    ("rules", "unknown_model", "the model 'rules' needs pattern rules, and this project has none"),
])
def test_a_model_that_cannot_prelabel_fails_the_job_with_a_clear_error(project, run, model, code, message):
    job = run(project, model=model)
    assert job["status"] == "failed"
    assert job["result"] == {"code": code}
    assert job["error"].startswith(message)
    assert not Suggestion.objects.exists()


def test_the_unknown_model_error_lists_what_is_available(project, run):
    error = run(project, model="nope")["error"]
    assert {"seed_ner", "split_ruler", "no_ner"} <= set(error.split("Available: ")[1].split(", "))


def test_a_label_mapping_onto_a_missing_label_fails_the_job(project, run):
    PipelineSettings.objects.create(project=project, label_map={"GPE": "PLACE"})
    job = run(project, model="seed_ner")
    assert (job["status"], job["result"]["code"]) == ("failed", "invalid_label_map")
    assert "maps 'GPE' to 'PLACE'" in job["error"]


def test_a_job_cancelled_before_it_runs_writes_nothing(project, people, client_for):
    client = client_for(people["admin"])
    job_id = client.post(f"/api/v1/projects/{project.pk}/prelabel/", {"model": "seed_ner"},
                         format="json").json()["job"]["id"]  # its task is queued on commit, which never comes here
    assert client.post(f"/api/v1/jobs/{job_id}/cancel/").json()["status"] == "cancelled"
    prelabel_task.delay(job_id)  # what a worker does when the message arrives after all
    job = client.get(f"/api/v1/jobs/{job_id}/").json()
    assert (job["status"], job["progress"]["done"]) == ("cancelled", 0)
    assert not Suggestion.objects.exists()


def test_a_job_cancelled_mid_way_stops_before_its_next_chunk(project, people):
    job = do_start_prelabel(project, model="seed_ner", acting_user=people["admin"])
    running = start_job(job.pk)
    assert plan_prelabel(running) == [0, 1]  # three documents, two a chunk
    assert run_prelabel_chunk(job.pk, 0) == "done"
    do_cancel_job(Job.objects.get(pk=job.pk), acting_user=people["admin"])
    assert run_prelabel_chunk(job.pk, 1) == "skipped"
    job.refresh_from_db()
    assert (job.status, job.progress_done, job.progress_total) == ("cancelled", 2, 3)
    first_two = list(Document.objects.filter(project=project).order_by("id").values_list("pk", flat=True))[:2]
    assert set(Suggestion.objects.values_list("document_id", flat=True)) <= set(first_two)


def test_a_chunk_delivered_twice_writes_once_and_counts_once(project, people):
    job = do_start_prelabel(project, model="seed_ner", acting_user=people["admin"])
    plan_prelabel(start_job(job.pk))
    assert run_prelabel_chunk(job.pk, 0) == "done"
    rows = sorted(Suggestion.objects.values_list("pk", "document_id", "start", "end"))
    assert run_prelabel_chunk(job.pk, 0) == "duplicate"
    assert sorted(Suggestion.objects.values_list("pk", "document_id", "start", "end")) == rows
    assert Job.objects.get(pk=job.pk).progress_done == 2
    assert JobChunk.objects.filter(job=job).count() == 1
    # A redelivered planning message keeps the plan and sends only the missing chunk.
    assert plan_prelabel(Job.objects.get(pk=job.pk)) == [1]


@pytest.mark.parametrize("who, status", [("annotator", 403), ("reviewer", 403), ("outsider", 404)])
def test_only_project_admins_can_prelabel(project, people, client_for, who, status):
    response = client_for(people[who]).post(f"/api/v1/projects/{project.pk}/prelabel/", {"model": "seed_ner"},
                                            format="json")
    assert response.status_code == status
    assert not Job.objects.exists()


def test_a_request_without_a_model_is_refused(project, people, client_for):
    response = client_for(people["admin"]).post(f"/api/v1/projects/{project.pk}/prelabel/", {}, format="json")
    assert response.status_code == 400
    assert "model" in response.json()


def test_a_pipeline_that_tokenizes_like_the_project_is_trusted_for_alignment(seed_project):
    seed = load_pipeline(resolve_model(seed_project, "seed_ner"))
    split = load_pipeline(resolve_model(seed_project, "split_ruler"))
    assert tokenizes_like_project(seed, "en") and not tokenizes_like_project(seed, "de")
    assert not tokenizes_like_project(split, "en")  # its "Russia" special case differs
    items = list(Document.objects.filter(project=seed_project).values_list("id", "text", "tokens"))
    mapper = LabelMapper({label: i for i, label in enumerate(["GPE", "ORG", "PERSON", "NORP", "LOC"], 1)})
    trusted = predict_suggestions(seed, items, language="en", mapper=mapper, batch_size=8)
    checked = predict_suggestions(seed, items, language="en", mapper=mapper, batch_size=8, same_tokens=False)
    assert trusted == checked and trusted


@pytest.mark.parametrize("same_tokens", [True, False])
def test_a_span_ending_on_a_whitespace_token_is_misaligned_either_way(same_tokens):
    nlp = rules_pipeline("en", [{"label": "GPE", "pattern": [{"TEXT": "Homs"}, {"IS_SPACE": True}]},
                                {"label": "GPE", "pattern": "Syria"}])
    text = "Homs  is in Syria."  # two spaces: the second is a whitespace token
    stats = PrelabelStats()
    rows, _ = predict_suggestions(nlp, [(7, text, None)], language="en", mapper=LabelMapper({"GPE": 1}),
                                  batch_size=8, stats=stats, same_tokens=same_tokens)
    assert [(r.start, r.end) for r in rows] == [(12, 17)]
    assert stats.misaligned == 1 and stats.misaligned_examples[0]["text"] == "Homs  "
