"""Training a spaCy NER pipeline on a project's annotations, in the loop.

The data is the project's gold (reviewed) annotations, or, while the project
has none, every submitted annotation; the job result says which. Documents are
split with ``exports.splits.split_of`` (by id and the project's seed and
ratios), so the split never moves and matches ``/export/?split=``: training
uses ``train``, scores come from ``dev``, ``test`` is left untouched.

The pipeline is stored as one archive, ``models/<project id>/<name>/v<N>-<random>.tar`` in the
product's storage (``pipelines.archives``), and a ``TrainedModel`` row makes it available
for pre-labelling at once, on any worker.
"""

from __future__ import annotations

import json
import logging
import random
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import spacy
from django.db import transaction
from django.db.models import Max
from spacy.language import Language
from spacy.training import Example, offsets_to_biluo_tags
from thinc.api import compounding

from exports.collect import annotations_for, collect_records
from exports.formats.iob import drop_overlaps
from exports.records import DocumentRecord
from exports.splits import split_of
from pipelines import conf
from pipelines.actions import do_start_prelabel
from pipelines.archives import archive_name, remove_leftovers, store_pipeline
from pipelines.confidence import NER_FACTORIES
from pipelines.errors import LANGUAGE_MISMATCH, TOO_FEW_DOCUMENTS, PipelineError
from pipelines.loading import entity_components, fresh_pipeline
from pipelines.models import TrainedModel
from pipelines.registry import resolve_model
from projects.actions.jobs import JobCancelled, is_cancelled, report_progress
from projects.errors import AnnotatorError
from projects.models import Job, Project
from projects.token_columns import doc_of, file_columns

logger = logging.getLogger(__name__)

DROPOUT = 0.2
SEED = 0


@dataclass
class TrainingData:
    source: str  # "gold" or "submitted"
    train: list[DocumentRecord] = field(default_factory=list)
    dev: list[DocumentRecord] = field(default_factory=list)
    test: int = 0  # documents held out in the test split (never used here)


@dataclass
class ExampleStats:
    misaligned: int = 0  # spans not on the pipeline's token boundaries (their tokens are left unknown)
    overlapping: int = 0  # spans dropped because a longer one overlapped them


def training_source(project: Project) -> str:
    return "gold" if annotations_for(project, "gold").exists() else "submitted"


def training_data(project: Project) -> TrainingData:
    data = TrainingData(source=training_source(project))
    for record in collect_records(project, source=data.source):
        split = split_of(record.id, project.split_seed, project.split_train, project.split_dev)
        if split == "train":
            data.train.append(record)
        elif split == "dev":
            data.dev.append(record)
        else:
            data.test += 1
    return data


def check_enough(data: TrainingData, minimum: int) -> None:
    if len(data.train) >= minimum and data.dev:
        return
    what = "gold (reviewed)" if data.source == "gold" else "submitted (the project has no gold documents yet)"
    total = len(data.train) + len(data.dev) + data.test
    raise PipelineError(
        f"too few {what} documents to train: {total} in all, {len(data.train)} in the train split and "
        f"{len(data.dev)} in the dev split; training needs at least {minimum} in train and 1 in dev. "
        "Review more documents, or change the project's split ratios.", code=TOO_FEW_DOCUMENTS)


def make_examples(nlp: Language, records: list[DocumentRecord], stats: ExampleStats) -> list[Example]:
    """One Example per record, on the document's own tokens when a file gave them (else ``nlp``'s);
    tokens under a span that does not align are marked unknown ("-"), never guessed."""
    examples = []
    for record in records:
        own = file_columns(record.tokens, record.text)
        doc = doc_of(nlp.vocab, record.text, own) if own is not None else nlp.make_doc(record.text)
        kept, dropped = drop_overlaps([(s.start, s.end) for s in record.spans])
        stats.overlapping += len(dropped)
        aligned, unknown = [], []
        for i in kept:
            span = record.spans[i]
            if doc.char_span(span.start, span.end, alignment_mode="strict") is None:
                stats.misaligned += 1
                unknown.append((span.start, span.end))
            else:
                aligned.append((span.start, span.end, span.label))
        tags = offsets_to_biluo_tags(doc, aligned)
        for start, end in unknown:
            for token in doc:
                if token.idx < end and token.idx + len(token) > start:
                    tags[token.i] = "-"
        examples.append(Example.from_dict(doc, {"entities": tags}))
    return examples


BLANK, RESUME, ADDED = "blank", "resume", "added"


def pipeline_to_train(project: Project, base: str | None) -> tuple[Language, str, str, str | None]:
    """``(nlp, ner component name, mode, base version)``: a blank pipeline of the project language with a
    new NER component (``blank``), the base with its own NER (``resume``) or the base plus a new one (``added``)."""
    if not base:
        nlp = spacy.blank(project.language)
        nlp.add_pipe("ner")
        return nlp, "ner", BLANK, None
    info = resolve_model(project, base)
    nlp = fresh_pipeline(info)
    if nlp.lang != project.language:
        raise PipelineError(f"the base pipeline {base!r} is for language {nlp.lang!r}, but the project's "
                            f"language is {project.language!r}", code=LANGUAGE_MISMATCH)
    names = [n for n in nlp.pipe_names if nlp.get_pipe_meta(n).factory in NER_FACTORIES]
    if names:
        return nlp, names[0], RESUME, info.version
    nlp.add_pipe("ner", name="ner" if "ner" not in nlp.component_names else "annotator_ner")
    return nlp, nlp.pipe_names[-1], ADDED, info.version


def train_ner(nlp: Language, ner_name: str, train: list[Example], *, epochs: int, mode: str,
              after_epoch: Callable[[int], None] = lambda epoch: None) -> dict:
    """Update the NER component of ``nlp`` for ``epochs`` passes over ``train``; the last epoch's losses."""
    spacy.util.fix_random_seed(SEED)
    ner = nlp.get_pipe(ner_name)
    if mode == BLANK:
        optimizer = nlp.initialize(lambda: train)
    elif mode == ADDED:
        ner.initialize(lambda: train, nlp=nlp)
        optimizer = nlp.create_optimizer()
    else:
        for label in sorted({label for ex in train for label in _labels(ex)} - set(ner.labels)):
            ner.add_label(label)
        optimizer = nlp.resume_training()
    # Only the entity recognizer learns; what it listens to (tok2vec, transformer) is updated through it.
    exclude = [n for n in nlp.pipe_names
               if n != ner_name and nlp.get_pipe_meta(n).factory not in ("tok2vec", "transformer")]
    rng = random.Random(SEED)
    examples = list(train)
    losses: dict = {}
    for epoch in range(1, epochs + 1):
        rng.shuffle(examples)
        losses = {}
        for batch in spacy.util.minibatch(examples, size=compounding(4.0, 32.0, 1.001)):
            nlp.update(batch, sgd=optimizer, drop=DROPOUT, losses=losses, exclude=exclude)
        after_epoch(epoch)
    return {k: round(float(v), 4) for k, v in losses.items()}


def _labels(example: Example) -> set[str]:
    return {span.label_ for span in example.reference.ents}


def evaluate(nlp: Language, dev: list[Example], labels: list[str]) -> dict:
    """Precision, recall and F1 on ``dev``, overall and per label, with each label's gold span count."""
    scores = nlp.evaluate(dev)
    per_type = scores.get("ents_per_type") or {}
    support = Counter(label for ex in dev for label in (s.label_ for s in ex.reference.ents))
    per_label = {}
    for label in sorted(set(labels) | set(per_type)):
        found = per_type.get(label, {})
        per_label[label] = {"p": _round(found.get("p")), "r": _round(found.get("r")), "f": _round(found.get("f")),
                            "support": support[label]}
    return {"p": _round(scores.get("ents_p")), "r": _round(scores.get("ents_r")), "f": _round(scores.get("ents_f")),
            "per_label": per_label}


def _round(value):
    return None if value is None else round(float(value), 4)


def model_labels(nlp: Language) -> list[str]:
    labels = nlp.pipe_labels
    return sorted({label for name in entity_components(nlp) for label in labels.get(name, [])})


def save_trained(project: Project, nlp: Language, *, name: str, job: Job | None, **fields) -> TrainedModel:
    """Store ``nlp`` as the next version of ``name``: written aside, stored as one archive
    (``pipelines.archives``), then its row, which lists it."""
    with tempfile.TemporaryDirectory(prefix="annotator-trained-") as tmp:
        folder = Path(tmp)
        nlp.meta["name"] = name
        nlp.to_disk(folder)
        with transaction.atomic():
            # Lock the project so two trainings of one name never take the same version.
            Project.objects.select_for_update().filter(pk=project.pk).first()
            if job is not None:
                done = TrainedModel.objects.filter(job=job).first()
                if done is not None:  # the same job, delivered twice and run side by side, finished first
                    return done
            version = (TrainedModel.objects.filter(project=project, name=name)
                       .aggregate(v=Max("version"))["v"] or 0) + 1
            meta_path = folder / "meta.json"
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            meta.update(version=f"{version}.0.0", description=f"Trained by Annotator for project {project.pk}")
            meta_path.write_text(json.dumps(meta, indent=2), encoding="utf-8")
            remove_leftovers(project.pk, name, version)
            stored = store_pipeline(folder, archive_name(project.pk, name, version))
            return TrainedModel.objects.create(project=project, name=name, version=version, path=stored.path,
                                               sha256=stored.sha256, size=stored.size,
                                               components=list(nlp.component_names), job=job, **fields)


def training_result(trained: TrainedModel) -> dict:
    source = trained.trained_on
    return {
        "model": trained.name, "version": trained.version, "trained_on": source,
        "trained_on_reason": ("the project's gold (reviewed) documents" if source == "gold" else
                              "submitted annotations: the project has no gold (reviewed) documents yet"),
        "base": trained.base or None, "labels": trained.labels, "scores": trained.scores,
        "documents": trained.documents, **trained.details, "path": trained.path, "sha256": trained.sha256,
    }


def train_model(job: Job) -> dict:
    """The body of a training job: data, pipeline, epochs, scores, stored version; the job result."""
    existing = TrainedModel.objects.filter(job=job).first()
    if existing is not None:  # the job ran to the end before (a redelivered message)
        return training_result(existing)
    project, params = job.project, job.params
    epochs = int(params.get("epochs") or conf.train_epochs())
    data = training_data(project)
    check_enough(data, conf.train_min_documents())
    nlp, ner_name, mode, base_version = pipeline_to_train(project, params.get("base"))
    stats = ExampleStats()
    train = make_examples(nlp, data.train, stats)
    dev = make_examples(nlp, data.dev, stats)
    report_progress(job, 0, epochs)

    def after_epoch(epoch: int) -> None:
        if is_cancelled(job):
            raise JobCancelled()
        report_progress(job, epoch, epochs)

    losses = train_ner(nlp, ner_name, train, epochs=epochs, mode=mode, after_epoch=after_epoch)
    labels = model_labels(nlp)
    trained_labels = sorted({label for ex in train for label in _labels(ex)})
    scores = evaluate(nlp, dev, trained_labels)
    documents = {"train": len(data.train), "dev": len(data.dev), "test_held_out": data.test}
    details = {"epochs": epochs, "losses": losses, "base_version": base_version,
               "dropped": {"misaligned": stats.misaligned, "overlapping": stats.overlapping}}
    trained = save_trained(project, nlp, name=params["name"], job=job, base=params.get("base") or "",
                           language=project.language, labels=labels, scores=scores, trained_on=data.source,
                           documents=documents, details=details, created_by=job.created_by)
    result = training_result(trained)
    if params.get("then_prelabel"):
        result["prelabel_job"] = prelabel_with(trained, job)
    return result


def prelabel_with(trained: TrainedModel, job: Job) -> int | None:
    """Pre-label and score the open documents with the version just trained (the loop); the job's id, or
    None when it could not be queued (the training stands: its result says so)."""
    try:
        return do_start_prelabel(trained.project, model=trained.name, version=str(trained.version), open_only=True,
                                 acting_user=job.created_by).pk
    except AnnotatorError:
        logger.warning("training job %s could not queue its pre-labelling", job.pk, exc_info=True)
        return None
