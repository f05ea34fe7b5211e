"""Loaded pipelines, kept per process in a small LRU cache.

A worker loads a pipeline the first time a chunk needs it and reuses it for
every later chunk; ``PIPELINE_CACHE_SIZE`` bounds how many stay in memory.
The key includes the model's version (and a folder's config mtime, or a trained
archive's digest), so a new version or a replaced folder is loaded afresh. A trained
version is fetched from storage into this machine's cache first (``pipelines.archives``).
"""

from __future__ import annotations

import importlib
import threading
from collections import OrderedDict

import spacy
from spacy.language import Language

from pipelines import conf
from pipelines.archives import fetch_pipeline
from pipelines.errors import INVALID_PATTERNS, LOAD_FAILED, NO_NER, PipelineError
from pipelines.registry import ModelInfo, Source

# Components that never affect doc.ents; pre-labelling skips them unless a ruler
# (whose patterns may read POS, lemmas or dependencies) is in the pipeline.
NOT_FOR_ENTITIES = frozenset({
    "parser", "tagger", "morphologizer", "lemmatizer", "trainable_lemmatizer", "senter", "sentencizer",
    "attribute_ruler", "textcat", "textcat_multilabel", "spancat", "spancat_singlelabel", "entity_linker",
})
RULERS = frozenset({"entity_ruler", "future_entity_ruler", "span_ruler"})

_lock = threading.Lock()
_cache: OrderedDict[tuple, Language] = OrderedDict()


def load_pipeline(info: ModelInfo) -> Language:
    """The pipeline for ``info``, from this process's cache when it is there."""
    key = info.cache_key
    with _lock:
        nlp = _cache.get(key)
        if nlp is not None:
            _cache.move_to_end(key)
            return nlp
        nlp = fresh_pipeline(info)
        disable_unneeded(nlp)
        _cache[key] = nlp
        while len(_cache) > conf.pipeline_cache_size():
            _cache.popitem(last=False)
        return nlp


def cached_keys() -> list[tuple]:
    with _lock:
        return list(_cache)


def clear_cache() -> None:
    with _lock:
        _cache.clear()


def fresh_pipeline(info: ModelInfo) -> Language:
    """A newly loaded pipeline for ``info``, not shared (training changes it)."""
    try:
        if info.source == Source.RULES:
            return rules_pipeline(info.language, list(info.patterns))
        if info.source == Source.TRAINED:
            return spacy.load(fetch_pipeline(info.trained))
        if info.source == Source.PACKAGE:
            # What spacy.load(name) does for an installed package.
            return importlib.import_module(info.location).load()
        return spacy.load(info.location)
    except PipelineError:
        raise
    except Exception as exc:
        raise PipelineError(f"could not load the pipeline {info.name!r} ({info.source}): {exc}",
                            code=LOAD_FAILED) from exc


def rules_pipeline(language: str, patterns: list[dict]) -> Language:
    """A blank pipeline of ``language`` with an entity ruler holding ``patterns``."""
    nlp = spacy.blank(language)
    ruler = nlp.add_pipe("entity_ruler", config={"validate": True})
    try:
        ruler.add_patterns(patterns)
    except ValueError as exc:  # spaCy's MatchPatternError is a ValueError
        raise PipelineError(f"the pattern rules are invalid: {exc}", code=INVALID_PATTERNS) from exc
    return nlp


def entity_components(nlp: Language) -> list[str]:
    """Enabled components that set ``doc.ents``."""
    return [name for name in nlp.pipe_names if "doc.ents" in nlp.get_pipe_meta(name).assigns]


def check_has_ner(nlp: Language, info: ModelInfo) -> None:
    if not entity_components(nlp):
        raise PipelineError(
            f"the model {info.name!r} has no component that sets entities (ner or entity_ruler); its pipeline "
            f"is: {', '.join(nlp.component_names) or 'empty'}", code=NO_NER)


def disable_unneeded(nlp: Language) -> None:
    factories = {name: nlp.get_pipe_meta(name).factory for name in nlp.pipe_names}
    if any(factory in RULERS for factory in factories.values()):
        return
    for name, factory in factories.items():
        if factory in NOT_FOR_ENTITIES:
            nlp.disable_pipe(name)
