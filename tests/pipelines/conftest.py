"""Real spaCy pipelines for the pre-labelling tests, built here (no downloads, no mocks).

``seed_models`` (once per session) trains a blank English pipeline with an NER
component for a few epochs on the seed article (seeds/syria-homs-news.txt, one
document per paragraph) and saves it, with two more pipelines, into a folder
that every test registers through ``SPACY_MODEL_DIRS``:

- ``seed_ner``: tok2vec + NER, trained on the gold spans below (GPE, ORG, PERSON, NORP, LOC);
- ``no_ner``: a sentencizer only, so pre-labelling with it must fail clearly;
- ``split_ruler``: an entity ruler behind a tokenizer that splits "Russia" into "Rus" + "sia",
  so its "Rus" spans do not align with the project's tokens.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest
import spacy
from spacy.training import Example

from projects.actions.annotations import do_save_annotation
from projects.actions.documents import do_create_documents
from projects.actions.labels import do_create_label
from projects.actions.projects import do_create_project
from projects.models import Document, Job
from projects.spans import SpanIn
from projects.tokens import tokenize

SEED_FILE = Path(__file__).resolve().parents[2] / "seeds" / "syria-homs-news.txt"

# The gold standard for the seed article, as surface forms: every occurrence that
# starts and ends on token boundaries is an entity (longer names first).
GAZETTEER = {
    "Syrian Observatory for Human Rights": "ORG", "Hayat Tahrir al-Sham": "ORG", "Bashar al-Assad": "PERSON",
    "Abu Mohammed Al-Golani": "PERSON", "Wasim Marouh": "PERSON", "Naim Qassem": "PERSON", "Middle East": "LOC",
    "Homs": "GPE", "Syria": "GPE", "Aleppo": "GPE", "Damascus": "GPE", "Lebanon": "GPE", "Hama": "GPE",
    "Idlib": "GPE", "Russia": "GPE", "Iran": "GPE", "Latakia": "GPE", "Tartus": "GPE", "Ukraine": "GPE",
    "Israel": "GPE", "UK": "GPE", "HTS": "ORG", "Hezbollah": "ORG", "CNN": "ORG", "Reuters": "ORG",
    "Al-Qaeda": "ORG", "al-Qaeda": "ORG", "Assad": "PERSON", "Golani": "PERSON", "Syrian": "NORP",
    "Russian": "NORP", "Iranian": "NORP", "Islamist": "NORP", "Alawite": "NORP", "Sunni": "NORP",
    "Europe": "LOC", "Mediterranean": "LOC",
}
SEED_LABELS = ("GPE", "ORG", "PERSON", "NORP", "LOC")


def seed_texts() -> list[str]:
    return [line for line in SEED_FILE.read_text(encoding="utf-8").splitlines() if line.strip()]


def gold_spans(text: str) -> list[tuple[int, int, str]]:
    """The gazetteer's token-aligned, non-overlapping matches in ``text``: (start, end, label), code points."""
    tokens = tokenize(text, "en")
    taken: list[tuple[int, int]] = []
    spans = []
    for name in sorted(GAZETTEER, key=len, reverse=True):
        at = text.find(name)
        while at != -1:
            end = at + len(name)
            if (at in tokens.span_starts and end in tokens.span_ends
                    and not any(s < end and at < e for s, e in taken)):
                taken.append((at, end))
                spans.append((at, end, GAZETTEER[name]))
            at = text.find(name, at + 1)
    return sorted(spans)


SMALL_NER = {
    "model": {
        "@architectures": "spacy.TransitionBasedParser.v2", "state_type": "ner", "extra_state_tokens": False,
        "hidden_width": 32, "maxout_pieces": 2, "use_upper": True, "nO": None,
        "tok2vec": {"@architectures": "spacy.HashEmbedCNN.v2", "pretrained_vectors": None, "width": 64,
                    "depth": 2, "embed_size": 2000, "window_size": 1, "maxout_pieces": 3,
                    "subword_features": True},
    }
}


def train_seed_ner(epochs: int = 25):
    spacy.util.fix_random_seed(0)
    nlp = spacy.blank("en")
    nlp.add_pipe("ner", config=SMALL_NER)
    examples = [Example.from_dict(nlp.make_doc(text), {"entities": gold_spans(text)}) for text in seed_texts()]
    optimizer = nlp.initialize(lambda: examples)
    rng = random.Random(0)
    for _ in range(epochs):
        rng.shuffle(examples)
        for batch in spacy.util.minibatch(examples, size=8):
            nlp.update(batch, sgd=optimizer, drop=0.1)
    nlp.meta.update(name="seed_ner", version="0.1.0")
    return nlp


@pytest.fixture(scope="session")
def seed_models(tmp_path_factory) -> Path:
    """A folder of three saved pipelines (see the module docstring), for SPACY_MODEL_DIRS."""
    root = tmp_path_factory.mktemp("spacy-models")
    train_seed_ner().to_disk(root / "seed_ner")

    no_ner = spacy.blank("en")
    no_ner.add_pipe("sentencizer")
    no_ner.meta.update(name="no_ner", version="1.0.0")
    no_ner.to_disk(root / "no_ner")

    split = spacy.blank("en")
    split.tokenizer.add_special_case("Russia", [{"ORTH": "Rus"}, {"ORTH": "sia"}])
    ruler = split.add_pipe("entity_ruler")
    ruler.add_patterns([{"label": "GPE", "pattern": [{"ORTH": "Rus"}]}, {"label": "GPE", "pattern": "Iran"}])
    split.meta.update(name="split_ruler", version="2.0.0")
    split.to_disk(root / "split_ruler")

    (root / "not-a-pipeline").mkdir()  # ignored: no config.cfg / meta.json
    return root


@pytest.fixture(autouse=True)
def model_dirs(seed_models, settings):
    settings.SPACY_MODEL_DIRS = [str(seed_models)]
    settings.PRELABEL_CHUNK_SIZE = 2
    return seed_models


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Cancel flags and progress live in the cache by job id; ids repeat between transactional tests."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def seed_project(people):
    """The seed article as an English project (one document per paragraph) with the seed labels."""
    admin = people["admin"]
    project = do_create_project(acting_user=admin, name="Seed", description="the seed article")
    from projects.actions.members import do_add_member

    do_add_member(project, "reviewer", "reviewer", acting_user=admin)
    do_add_member(project, "annotator", "annotator", acting_user=admin)
    for label in SEED_LABELS:
        do_create_label(project, acting_user=admin, name=label, kind="entity")
    do_create_documents(project, [{"text": t, "meta": {"line": i}} for i, t in enumerate(seed_texts(), 1)],
                        acting_user=admin)
    return project


def annotate_gold(project, user, *, gold: bool = True, status: str = "submitted", limit: int | None = None) -> int:
    """Save the gazetteer spans of the project's documents as gold (or as ``user``'s submitted annotation)."""
    documents = list(Document.objects.filter(project=project).order_by("id"))[:limit]
    for document in documents:
        spans = [SpanIn(str(i), s, e, label) for i, (s, e, label) in enumerate(gold_spans(document.text))]
        do_save_annotation(document, user, spans=spans, relations=[], status=status, version=0, is_gold=gold)
    return len(documents)


def job_row(job_id: int) -> Job:
    return Job.objects.get(pk=job_id)


@pytest.fixture(scope="session")
def seed_package(seed_models, tmp_path_factory) -> Path:
    """``seed_ner`` made into a pipeline package by ``spacy package`` (the folder ``pip install`` would install)."""
    from spacy.cli.package import package

    out = tmp_path_factory.mktemp("packages")
    package(seed_models / "seed_ner", out, name="seed_pkg", version="0.3.0", create_sdist=False, silent=True)
    main = out / "en_seed_pkg-0.3.0"
    shutil.copy(main / "meta.json", main / "en_seed_pkg" / "meta.json")  # as the package's setup.py does
    return main


@pytest.fixture
def installed_package(seed_package, monkeypatch):
    """``en_seed_pkg`` importable and in spaCy's registry of installed pipelines, as its entry point puts it."""
    import importlib

    import catalogue

    monkeypatch.syspath_prepend(str(seed_package))
    spacy.util.registry.models.register("en_seed_pkg", func=importlib.import_module("en_seed_pkg"))
    yield "en_seed_pkg"
    catalogue._remove(("spacy", "models", "en_seed_pkg"))


@pytest.fixture
def run(client_for, people, django_capture_on_commit_callbacks):
    """POST /prelabel/ as the project admin, run the queued task inline, return the job as GET shows it."""

    def run(project, **body) -> dict:
        client = client_for(people["admin"])
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(f"/api/v1/projects/{project.pk}/prelabel/", body, format="json")
        assert response.status_code == 202, response.content
        return client.get(f"/api/v1/jobs/{response.json()['job']['id']}/").json()

    return run
