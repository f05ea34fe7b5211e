"""Errors of imports and exports, each with a stable ``code`` (see ``projects.errors``).

Raised in a job they fail it with the message in ``Job.error`` and the code in ``Job.result["code"]``.
"""

from __future__ import annotations

from projects.errors import AnnotatorError


class InvalidFile(AnnotatorError):
    """An import's file that cannot be taken as it is; nothing from it is kept."""

    code = "invalid_file"


class ImportProcessLost(AnnotatorError):
    """A worker process reading an import's file died (killed, out of memory); nothing from the file is kept."""

    code = "import_process_lost"
