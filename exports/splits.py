"""Deterministic train/dev/test split by document.

A document's split depends only on its id and the project's seed, so it never
moves when other documents are added, removed or relabelled.
"""

from __future__ import annotations

import hashlib

SPLITS = ("train", "dev", "test")


def split_of(document_id: int, seed: str, train: float, dev: float) -> str:
    """``"train"``, ``"dev"`` or ``"test"`` for a document; ratios are fractions of 1."""
    digest = hashlib.sha256(f"{seed}:{document_id}".encode()).digest()
    position = int.from_bytes(digest[:8], "big") / 2**64  # uniform in [0, 1)
    if position < train:
        return "train"
    if position < train + dev:
        return "dev"
    return "test"
