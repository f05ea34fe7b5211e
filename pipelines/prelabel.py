"""Pre-labelling: run a spaCy pipeline over documents and store what it finds as suggestions.

A job is planned once (model resolved and loaded, documents cut into chunks of
``PRELABEL_CHUNK_SIZE`` by id) and each chunk runs as its own task, so several
workers share a job. A chunk writes its suggestions, its ``JobChunk`` row and
its progress in one transaction; the row is unique on (job, index), so a chunk
delivered twice (a worker killed before acknowledging it) writes once and
counts once. The chunk that completes the plan finishes the job.

Offsets are code points (Python ``str`` indices), end exclusive. A predicted
span is kept when its label maps to a project entity label and both its ends
fall on the document's token boundaries (a file's own tokens, which the model
is then run on, or the project tokenizer's); otherwise it is dropped and
counted, never moved.
"""

from __future__ import annotations

import bisect
import os
import socket
import time
import weakref
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from django.db import IntegrityError, transaction

from pipelines import conf
from pipelines.confidence import scored_pipe
from pipelines.errors import INVALID_LABEL_MAP, MODEL_CHANGED, PipelineError
from pipelines.loading import check_has_ner, load_pipeline
from pipelines.models import JobChunk
from pipelines.registry import Source, label_map_of, resolve_model
from projects.actions.jobs import add_job_progress, finish_job, is_cancelled, record_job_plan
from projects.actions.suggestions import do_replace_suggestions, do_store_document_scores
from projects.models import Document, Job, Label, Project
from projects.token_columns import doc_of, file_columns
from projects.tokens import Tokens, tokenize, tokenizer_for

MAX_EXAMPLES = 10
WRITE_ATTEMPTS = 3
WORKER = f"{socket.gethostname()}:{os.getpid()}"  # which process ran a chunk, in its stats
MAX_CHUNKS = 1000  # per job; bigger chunks beyond that keep the plan (in Job.params) small


# ------------------------------------------------------------------------------ labels

class LabelMapper:
    """Model label -> project label id, or None to drop.

    ``label_map`` entries win (a null drops the label); any other label keeps its
    name when the project has an entity label of that name, and is dropped otherwise.
    """

    def __init__(self, entity_labels: dict[str, int], label_map: dict[str, str | None] | None = None):
        self._ids = dict(entity_labels)
        self._map = dict(label_map or {})

    def __call__(self, model_label: str) -> int | None:
        if model_label in self._map:
            target = self._map[model_label]
            return None if target is None else self._ids.get(target)
        return self._ids.get(model_label)

    def describe(self, model_labels: Iterable[str]) -> dict[str, str | None]:
        names = {v: k for k, v in self._ids.items()}
        return {label: names.get(self(label)) for label in model_labels}


def check_label_map(label_map: object, entity_labels: Iterable[str]) -> dict:
    """``label_map`` if it is ``{model label: project entity label or null}``; PipelineError otherwise."""
    if not isinstance(label_map, dict):
        raise PipelineError('the label mapping must be an object: {"model label": "project label" or null}',
                            code=INVALID_LABEL_MAP)
    known = set(entity_labels)
    for source, target in label_map.items():
        if target is not None and not isinstance(target, str):
            raise PipelineError(f"the label mapping maps {source!r} to {target!r}; use a label name or null",
                                code=INVALID_LABEL_MAP)
        if target is not None and target not in known:
            raise PipelineError(
                f"the label mapping maps {source!r} to {target!r}, which is not an entity label of this project "
                f"({', '.join(sorted(known)) or 'it has none'})", code=INVALID_LABEL_MAP)
    return label_map


def mapper_for(project: Project) -> LabelMapper:
    entity_labels = dict(Label.objects.filter(project=project, kind=Label.Kind.ENTITY).values_list("name", "id"))
    return LabelMapper(entity_labels, check_label_map(label_map_of(project), entity_labels))


# ------------------------------------------------------------------------------ predicting

@dataclass
class PrelabelStats:
    documents: int = 0
    suggestions: int = 0
    misaligned: int = 0  # spans whose ends are not on the project's token boundaries
    dropped_labels: Counter = field(default_factory=Counter)  # model label -> spans dropped (unmapped)
    misaligned_examples: list = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"documents": self.documents, "suggestions": self.suggestions, "misaligned": self.misaligned,
                "dropped_labels": dict(sorted(self.dropped_labels.items())),
                "misaligned_examples": self.misaligned_examples}

    @classmethod
    def merged(cls, dicts: Iterable[dict]) -> PrelabelStats:
        total = cls()
        for d in dicts:
            total.documents += d.get("documents", 0)
            total.suggestions += d.get("suggestions", 0)
            total.misaligned += d.get("misaligned", 0)
            total.dropped_labels.update(d.get("dropped_labels", {}))
            room = MAX_EXAMPLES - len(total.misaligned_examples)
            total.misaligned_examples.extend(d.get("misaligned_examples", [])[:max(room, 0)])
        return total


class SuggestionRow(NamedTuple):
    """A span to store as a suggestion: code point offsets, end exclusive, and a project label id."""

    document_id: int
    start: int
    end: int
    label_id: int
    score: float | None  # the model's probability for the span (pipelines.confidence); None when it gives none


class Prediction(NamedTuple):
    rows: list[SuggestionRow]
    uncertainty: dict[int, float]  # document id -> 1 - P(the model's best analysis), for models that score


_tokenizes_like: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def tokenizes_like_project(nlp, language: str) -> bool:
    """Whether ``nlp``'s docs have exactly the project tokenizer's tokens.

    True when the pipeline is of the project language, its tokenizer has the
    same rules (prefixes, suffixes, infixes, exceptions, URL and token matches)
    and no enabled component retokenizes. Then an entity is aligned unless it
    starts or ends on a whitespace token, and the text need not be tokenized twice.
    """
    known = _tokenizes_like.setdefault(nlp, {})
    if language not in known:
        try:
            known[language] = (
                nlp.lang == language
                and not any(nlp.get_pipe_meta(name).retokenizes for name in nlp.pipe_names)
                and nlp.tokenizer.to_bytes(exclude=["vocab"]) == tokenizer_for(language).to_bytes(exclude=["vocab"])
            )
        except Exception:  # a custom tokenizer that cannot be compared: check every span
            known[language] = False
    return known[language]


def predict_suggestions(nlp, items: Sequence[tuple[int, str, bytes | None]], *, language: str,
                        mapper: Callable[[str], int | None], batch_size: int, stats: PrelabelStats | None = None,
                        same_tokens: bool | None = None, beam_width: int | None = None) -> Prediction:
    """The suggestions for ``(document id, text, stored tokens)`` items, predicted in batches of
    ``batch_size``, with their probabilities and each document's uncertainty when the model gives them
    (``pipelines.confidence``, a beam of ``beam_width``, default ``PRELABEL_BEAM_WIDTH``).

    A document whose tokens came from a file is given to the model as a Doc
    of those tokens, so what it finds lies on them; its ends are checked
    against them. For the others ``same_tokens`` (default:
    ``tokenizes_like_project``) lets the model's own tokens stand for the
    project's; otherwise each text with entities is tokenized by the project
    tokenizer to check their ends.
    """
    stats = stats if stats is not None else PrelabelStats()
    if same_tokens is None:
        same_tokens = tokenizes_like_project(nlp, language)
    if beam_width is None:
        beam_width = conf.prelabel_beam_width()
    rows = []
    uncertainty = {}
    own = [file_columns(stored, text) for _, text, stored in items]
    inputs = (text if columns is None else doc_of(nlp.vocab, text, columns)
              for (_, text, _), columns in zip(items, own))
    scored = scored_pipe(nlp, inputs, batch_size=batch_size, beam_width=beam_width)
    for (document_id, text, _), columns, result in zip(items, own, scored):
        stats.documents += 1
        doc = result.doc
        if result.uncertainty is not None:
            uncertainty[document_id] = result.uncertainty
        if not doc.ents:
            continue
        tokens = None
        for ent in doc.ents:
            label_id = mapper(ent.label_)
            if label_id is None:
                stats.dropped_labels[ent.label_] += 1
                continue
            start, end = ent.start_char, ent.end_char
            if same_tokens and columns is None:
                aligned = not (doc[ent.start].is_space or doc[ent.end - 1].is_space)
            else:
                if tokens is None:
                    tokens = tokenize(text, language) if columns is None else Tokens.from_columns(columns)
                aligned = start in tokens.span_starts and end in tokens.span_ends
            if not aligned:
                stats.misaligned += 1
                if len(stats.misaligned_examples) < MAX_EXAMPLES:
                    stats.misaligned_examples.append({"document": document_id, "start": start, "end": end,
                                                      "label": ent.label_, "text": text[start:end]})
                continue
            rows.append(SuggestionRow(document_id, start, end, label_id,
                                      result.scores.get((ent.start, ent.end, ent.label_))))
    stats.suggestions += len(rows)
    return Prediction(rows, uncertainty)


# ------------------------------------------------------------------------------ jobs in chunks

def plan_prelabel(job: Job) -> list[int]:
    """Resolve and load the model, cut the documents into chunks; the indexes of chunks not yet done.

    Planned once: a redelivered job keeps its first plan and re-sends only missing chunks.
    """
    plan = job.params.get("plan")
    if plan is None:
        project = job.project
        info = resolve_model(project, job.params["model"], job.params.get("version"))
        check_has_ner(load_pipeline(info), info)
        mapper_for(project)  # a broken label mapping fails now, not in every chunk
        documents = Document.objects.filter(project=project)
        if job.params.get("documents") is not None:
            documents = documents.filter(id__in=job.params["documents"])
        if job.params.get("open_only"):  # the pool not yet annotated (the loop's re-scoring)
            documents = documents.filter(status__in=Document.OPEN)
        ids = list(documents.order_by("id").values_list("id", flat=True))
        size = job.params.get("chunk_size") or conf.prelabel_chunk_size()
        size = max(size, -(-len(ids) // MAX_CHUNKS))
        chunks = [[ids[i], ids[min(i + size, len(ids)) - 1], len(ids[i:i + size])] for i in range(0, len(ids), size)]
        plan = {"model": info.name, "model_version": info.version, "source": info.source, "chunks": chunks,
                "documents": len(ids)}
        record_job_plan(job, {**job.params, "plan": plan}, len(ids))
    done = set(JobChunk.objects.filter(job=job).values_list("index", flat=True))
    return [i for i in range(len(plan["chunks"])) if i not in done]


def chunk_documents(job: Job, index: int) -> list[tuple[int, str, bytes | None]]:
    first, last, _count = job.params["plan"]["chunks"][index]
    queryset = Document.objects.filter(project_id=job.project_id, id__gte=first, id__lte=last)
    if job.params.get("open_only"):  # as planned; one annotated since is not pre-labelled any more
        queryset = queryset.filter(status__in=Document.OPEN)
    chosen = job.params.get("documents")  # sorted by the action
    if chosen is not None:
        queryset = queryset.filter(id__in=chosen[bisect.bisect_left(chosen, first):bisect.bisect_right(chosen, last)])
    return list(queryset.order_by("id").values_list("id", "text", "tokens"))


def run_prelabel_chunk(job_id: int, index: int) -> str:
    """Pre-label one chunk of a job: ``"done"``, or why not (``"skipped"``: job over or cancelled; ``"duplicate"``)."""
    job = Job.objects.select_related("project").filter(pk=job_id).first()
    if job is None or job.status != Job.Status.RUNNING or is_cancelled(job):
        return "skipped"
    if JobChunk.objects.filter(job=job, index=index).exists():
        return "duplicate"
    plan = job.params["plan"]
    # A trained model is pinned to the planned version; other sources have one version at a time.
    pinned = plan["model_version"] if plan["source"] == Source.TRAINED else None
    info = resolve_model(job.project, plan["model"], pinned)
    if info.version != plan["model_version"]:
        raise PipelineError(f"the model {info.name!r} changed from version {plan['model_version']!r} to "
                            f"{info.version!r} during the job; start it again", code=MODEL_CHANGED)
    nlp = load_pipeline(info)
    started = time.perf_counter()
    items = chunk_documents(job, index)
    stats = PrelabelStats()
    rows, uncertainty = predict_suggestions(nlp, items, language=job.project.language, mapper=mapper_for(job.project),
                               batch_size=conf.prelabel_batch_size(), stats=stats)
    predicted = time.perf_counter()
    planned = plan["chunks"][index][2]
    for attempt in range(WRITE_ATTEMPTS):
        try:
            with transaction.atomic():
                # First, so a concurrent copy of this chunk waits here and then fails on the unique key.
                chunk = JobChunk.objects.create(job=job, index=index, documents=planned, stats=stats.as_dict())
                do_replace_suggestions([item[0] for item in items], rows, model=info.name, version=info.version)
                if uncertainty:
                    do_store_document_scores(job.project, uncertainty, model=info.name, version=info.version)
                add_job_progress(job, planned)
                chunk.stats["seconds"] = {"predict": round(predicted - started, 3),
                                          "write": round(time.perf_counter() - predicted, 3)}
                chunk.stats["worker"] = WORKER
                JobChunk.objects.filter(pk=chunk.pk).update(stats=chunk.stats)
            return "done"
        except IntegrityError:
            if JobChunk.objects.filter(job=job, index=index).exists():
                return "duplicate"
            # Another job wrote the same model version on these documents at the same time: its rows
            # are committed now, so deleting them again and writing ours succeeds.
            if attempt == WRITE_ATTEMPTS - 1:
                raise
    return "done"


def finish_if_complete(job_id: int) -> bool:
    """Finish the job when every chunk of its plan is done (any chunk may call this; only one finishes it)."""
    job = Job.objects.filter(pk=job_id, status=Job.Status.RUNNING).first()
    if job is None or "plan" not in job.params:
        return False
    plan = job.params["plan"]
    if JobChunk.objects.filter(job=job).count() < len(plan["chunks"]):
        return False
    rows = list(JobChunk.objects.filter(job=job).values_list("documents", "stats"))
    stats = PrelabelStats.merged(s for _, s in rows)
    seconds = {key: round(sum((s.get("seconds") or {}).get(key, 0) for _, s in rows), 3)
               for key in ("predict", "write")}
    workers = len({s.get("worker") for _, s in rows})
    job.progress_done = sum(n for n, _ in rows)
    job.progress_total = plan["documents"]
    finish_job(job, {**prelabel_result(plan, stats, seconds), "workers": workers})
    return True


def prelabel_result(plan: dict, stats: PrelabelStats, seconds: dict) -> dict:
    """The job result; ``seconds`` is worker time summed over chunks (``predict``: reading texts and running
    the pipeline, mapping and checking; ``write``: storing the suggestions). ``workers`` (added by the
    caller) counts the worker processes that ran chunks."""
    data = stats.as_dict()
    return {
        "model": plan["model"], "model_version": plan["model_version"], "source": plan["source"],
        "documents": data["documents"], "suggestions": data["suggestions"], "chunks": len(plan["chunks"]),
        "dropped": {"misaligned": data["misaligned"], "labels": data["dropped_labels"]},
        "misaligned_examples": data["misaligned_examples"], "seconds": seconds,
    }
