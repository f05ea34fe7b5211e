"""Errors of pre-labelling and training, each with a stable ``code``.

Raised in a request they become a 400 (``projects.errors.exception_handler``);
raised in a job they fail it with the message in ``Job.error`` and the code in
``Job.result["code"]``.
"""

from __future__ import annotations

from projects.errors import AnnotatorError


class PipelineError(AnnotatorError):
    code = "pipeline_error"


UNKNOWN_MODEL = "unknown_model"
NO_NER = "no_ner"
TOO_FEW_DOCUMENTS = "too_few_documents"
LANGUAGE_MISMATCH = "language_mismatch"
INVALID_PATTERNS = "invalid_patterns"
INVALID_LABEL_MAP = "invalid_label_map"
MODEL_CHANGED = "model_changed"
LOAD_FAILED = "load_failed"
