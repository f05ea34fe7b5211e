"""Overlap on a sample: a fraction of a project's documents go to its k annotators, the rest to one.

Agreement needs documents that several people annotated, but only a sample of
them: with ``overlap_sample = 0.1`` a tenth of the documents go to k annotators,
so agreement is measured at a tenth of the cost (Prodigy's feed overlap and
Label Studio Enterprise's overlap setting do the same).

Which documents: systematic sampling over the documents in the order they were
stored (their ordinal in the project, 0-based), with a phase from the project:

    ordinal n is in the sample  <=>  floor((n + 1) * f + phase) > floor(n * f + phase)

so every run of N consecutive documents holds floor(N * f) or ceil(N * f) of
the sample (exact, not a coin per document), a document's place never changes
when more are added (stable), and the same project picks the same documents
(deterministic). ``Document.overlap`` keeps the choice; a new fraction chooses
again over the documents as they are then.
"""

from __future__ import annotations

import hashlib
import math


def in_sample(ordinal: int, fraction: float, phase: float) -> bool:
    """Whether the document at ``ordinal`` (0-based, in storing order) is in the sample of ``fraction``."""
    if fraction >= 1:
        return True
    return math.floor((ordinal + 1) * fraction + phase) > math.floor(ordinal * fraction + phase)


def phase_of(project_id: int, seed: str) -> float:
    """A project's phase in [0, 1): which documents of each period start the sample."""
    digest = hashlib.sha256(f"overlap:{project_id}:{seed}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2 ** 64


def sample_flags(first_ordinal: int, count: int, fraction: float, phase: float) -> list[bool]:
    """``in_sample`` for ``count`` documents from ``first_ordinal`` on."""
    return [in_sample(n, fraction, phase) for n in range(first_ordinal, first_ordinal + count)]


def wanted(k: int, overlap: bool) -> int:
    """How many annotators a document goes to: the project's k in the sample, else one."""
    return k if overlap else 1
