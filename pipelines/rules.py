"""A project's pattern rules: JSON Lines in spaCy's (and Prodigy's) entity ruler format.

    {"label": "GPE", "pattern": "Homs"}
    {"label": "ORG", "pattern": [{"LOWER": "hts"}]}
    {"label": "PERSON", "pattern": [{"TEXT": "al"}, {"TEXT": "-"}, {"TEXT": "Assad"}], "id": "assad"}

A string pattern matches the exact text (tokenized like the project); a list is
a token pattern (``spacy.matcher.Matcher`` syntax). Blank lines are ignored.
"""

from __future__ import annotations

import hashlib
import json

from spacy.schemas import validate_token_pattern

from pipelines.errors import INVALID_PATTERNS, PipelineError


def parse_patterns(text: str) -> list[dict]:
    """The patterns of a JSONL text; PipelineError names the first bad line (1-based) and what is wrong."""
    patterns = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise _error(number, f"not valid JSON ({exc.msg})") from None
        if not isinstance(obj, dict):
            raise _error(number, 'a pattern is an object: {"label": ..., "pattern": ...}')
        label, pattern = obj.get("label"), obj.get("pattern")
        if not isinstance(label, str) or not label.strip():
            raise _error(number, '"label" must be a non-empty string')
        if isinstance(pattern, str):
            if not pattern.strip():
                raise _error(number, '"pattern" must not be empty')
        elif isinstance(pattern, list) and pattern and all(isinstance(t, dict) for t in pattern):
            problems = validate_token_pattern(pattern)
            if problems:
                raise _error(number, f"invalid token pattern: {'; '.join(problems)}")
        else:
            raise _error(number, '"pattern" must be a string or a non-empty list of token objects')
        if "id" in obj and not isinstance(obj["id"], str):
            raise _error(number, '"id" must be a string')
        patterns.append({key: obj[key] for key in ("label", "pattern", "id") if key in obj})
    return patterns


def patterns_version(patterns: list[dict]) -> str:
    """A short hash of the patterns' content: editing the rules makes a new model version."""
    canonical = json.dumps(patterns, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:12]


def pattern_labels(patterns: list[dict]) -> list[str]:
    return sorted({p["label"] for p in patterns})


def _error(number: int, message: str) -> PipelineError:
    return PipelineError(f"patterns line {number}: {message}", code=INVALID_PATTERNS)
