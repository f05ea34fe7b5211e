"""Confidence: a probability on every suggestion of a model that can give one, and each document's uncertainty.

The models are real spaCy pipelines (tests/pipelines/conftest.py): ``seed_ner``, a small NER trained on the
seed article, whose recognizer is decoded with a beam, and the project's pattern rules.
"""

from __future__ import annotations

from collections import defaultdict

import pytest
import spacy

from pipelines.actions import do_save_pipeline_settings
from pipelines.confidence import scored_pipe
from pipelines.loading import load_pipeline
from pipelines.registry import resolve_model
from projects.models import Document, DocumentScore, Suggestion

pytestmark = pytest.mark.django_db


def test_a_trained_recognizer_scores_every_suggestion_and_every_document(seed_project, run):
    job = run(seed_project, model="seed_ner")
    assert job["status"] == "succeeded", job
    suggestions = list(Suggestion.objects.filter(document__project=seed_project, model="seed_ner"))
    assert suggestions and all(s.score is not None and 0 <= s.score <= 1 for s in suggestions)
    assert len({s.score for s in suggestions}) > 1, "one score for everything says nothing"
    documents = Document.objects.filter(project=seed_project)
    scores = dict(DocumentScore.objects.filter(project=seed_project, model="seed_ner").values_list(
        "document_id", "uncertainty"))
    assert set(scores) == set(documents.values_list("pk", flat=True))
    assert all(0 <= value <= 1 for value in scores.values())
    # Document.uncertainty is the latest pass, which the queue reads.
    assert dict(documents.values_list("pk", "uncertainty")) == scores
    # Every entity of the best analysis is at least as probable as that analysis: score >= 1 - uncertainty.
    for s in suggestions:
        assert s.score >= 1 - scores[s.document_id] - 1e-6, (s.score, scores[s.document_id])


def test_scores_are_the_beams_probabilities(seed_project, seed_models):
    """Check against the beam itself: an entity's score is the mass of the analyses that contain it, and a
    document's uncertainty 1 minus the mass of its most probable analysis."""
    nlp = load_pipeline(resolve_model(seed_project, "seed_ner"))
    texts = list(Document.objects.filter(project=seed_project).order_by("pk").values_list("text", flat=True))[:6]
    ner = nlp.get_pipe("ner")
    for text, scored in zip(texts, scored_pipe(nlp, texts, batch_size=4, beam_width=8)):
        doc = nlp.make_doc(text)
        for name, component in nlp.pipeline:
            if name == "ner":
                break
            doc = component(doc)
        (beam,) = ner.beam_parse([doc], beam_width=8, beam_density=0.0001)
        parses = ner.moves.get_beam_parses(beam)
        mass = defaultdict(float)
        for probability, entities in parses:
            mass[frozenset(entities)] += probability
        assert scored.uncertainty == pytest.approx(max(0.0, 1 - max(mass.values())), abs=1e-5)
        for ent in scored.doc.ents:
            key = (ent.start, ent.end, ent.label_)
            expected = sum(p for p, entities in parses if key in entities)
            assert scored.scores[key] == pytest.approx(min(1.0, expected), abs=1e-5)


def test_greedy_decoding_gives_no_scores(seed_project, run, settings):
    settings.PRELABEL_BEAM_WIDTH = 1
    job = run(seed_project, model="seed_ner")
    assert job["status"] == "succeeded" and job["result"]["suggestions"] > 0
    assert set(Suggestion.objects.filter(document__project=seed_project).values_list("score", flat=True)) == {None}
    assert not DocumentScore.objects.exists()


def test_rule_matches_score_1_and_leave_documents_certain(project, people, run):
    do_save_pipeline_settings(project, patterns='{"label": "GPE", "pattern": "Aleppo"}', acting_user=people["admin"])
    job = run(project, model="rules")
    assert job["status"] == "succeeded" and job["result"]["suggestions"] == 1
    assert list(Suggestion.objects.filter(document__project=project).values_list("score", flat=True)) == [1.0]
    assert set(DocumentScore.objects.filter(project=project).values_list("uncertainty", flat=True)) == {0.0}


def test_a_ruler_after_the_recognizer_adds_certain_entities(seed_project, seed_models):
    # A pipeline of its own: the cached one is shared by the other tests.
    nlp = spacy.load(resolve_model(seed_project, "seed_ner").location)
    nlp.add_pipe("entity_ruler", after="ner", config={"overwrite_ents": True}).add_patterns(
        [{"label": "ORG", "pattern": "Nobody Knows Inc"}])
    (scored,) = scored_pipe(nlp, ["Nobody Knows Inc said Homs was calm."], batch_size=2, beam_width=4)
    found = {(ent.text, ent.label_): scored.scores.get((ent.start, ent.end, ent.label_)) for ent in scored.doc.ents}
    assert found[("Nobody Knows Inc", "ORG")] == 1.0
    assert 0 <= scored.uncertainty <= 1


def test_the_api_filters_suggestions_on_their_score(seed_project, run, client_for, people):
    run(seed_project, model="seed_ner")
    suggestion = Suggestion.objects.filter(document__project=seed_project).order_by("score").last()
    document = suggestion.document
    client = client_for(people["admin"])
    url = f"/api/v1/projects/{seed_project.pk}/documents/{document.pk}/suggestions/"
    every = client.get(url).json()["suggestions"]
    threshold = sorted(s["score"] for s in every)[len(every) // 2]
    above = client.get(url, {"min_score": threshold}).json()["suggestions"]
    assert above and [s["id"] for s in above] == [s["id"] for s in every if s["score"] >= threshold]
    for bad in ("high", "1.5", "-0.1", "nan"):
        response = client.get(url, {"min_score": bad})
        assert response.status_code == 400 and "min_score" in response.json(), bad
