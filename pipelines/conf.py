"""This app's settings, read when used so ``settings`` overrides (tests) apply.

Each can be set in Django settings or, failing that, in the environment:

- ``SPACY_MODEL_DIRS``: folders whose subfolders are spaCy pipelines, each
  available under its folder name (a list in settings; ``os.pathsep``-separated
  in the environment).
- ``PIPELINE_CACHE_SIZE``: pipelines each process keeps loaded (default 2).
- ``PRELABEL_CHUNK_SIZE``: documents per chunk task (default 250; more when a job would have over 1,000 chunks).
- ``PRELABEL_BATCH_SIZE``: documents per ``nlp.pipe`` batch (default 256).
- ``PRELABEL_BEAM_WIDTH``: analyses an entity recognizer keeps when pre-labelling, whose probabilities
  score suggestions and documents (default 4; 1 decodes greedily, faster, without scores).
- ``TRAIN_EPOCHS``: training epochs when a request names none (default 20).
- ``TRAIN_MIN_DOCUMENTS``: annotated documents needed in the train split (default 5).
- ``MODEL_CACHE_DIR``: where a process unpacks the trained models it loads from storage (default
  ``var/model-cache``, beside the database file; ``pipelines.archives``). Local to each machine.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings


def _get(name: str, default):
    if hasattr(settings, name):
        return getattr(settings, name)
    return os.environ.get(name, default)


def spacy_model_dirs() -> list[Path]:
    value = _get("SPACY_MODEL_DIRS", "")
    parts = value.split(os.pathsep) if isinstance(value, str) else [str(v) for v in value]
    return [Path(p) for p in parts if p.strip()]


def pipeline_cache_size() -> int:
    return max(1, int(_get("PIPELINE_CACHE_SIZE", 2)))


def prelabel_chunk_size() -> int:
    return max(1, int(_get("PRELABEL_CHUNK_SIZE", 250)))


def prelabel_batch_size() -> int:
    return max(1, int(_get("PRELABEL_BATCH_SIZE", 256)))


def prelabel_beam_width() -> int:
    return max(1, int(_get("PRELABEL_BEAM_WIDTH", 4)))


def train_epochs() -> int:
    return max(1, int(_get("TRAIN_EPOCHS", 20)))


def train_min_documents() -> int:
    return max(1, int(_get("TRAIN_MIN_DOCUMENTS", 5)))


def model_cache_dir() -> Path:
    value = _get("MODEL_CACHE_DIR", "")
    return Path(value) if value else Path(settings.VAR_DIR) / "model-cache"
