"""The workspace's keys, and the label shortcuts they leave free.

``static/projects/workspace_keys.json`` is the one table of the workspace's
command keys: the page binds its keys and draws its ``?`` help from it
(annotator/static/annotator/workspace/keys.js imports it), and a label's
shortcut may be any single character that no entry uses. A label on ``s``
would otherwise win over Skip, and one on ``?`` could never be typed.
"""

from __future__ import annotations

import json
from pathlib import Path

KEY_TABLE = Path(__file__).resolve().parent / "static" / "projects" / "workspace_keys.json"

COMMAND_KEYS: list[dict] = json.loads(KEY_TABLE.read_text(encoding="utf-8"))

# Single characters a command (or choosing a relation label by number) uses, in the table's order.
RESERVED_SHORTCUTS: tuple[str, ...] = tuple(dict.fromkeys(
    key for entry in COMMAND_KEYS for key in entry["keys"] if len(key) == 1))


def describe_reserved() -> str:
    """The reserved keys as a person reads them: ``s b r a x A ? [ ] digits``."""
    shown = ["Space" if key == " " else key for key in RESERVED_SHORTCUTS if not key.isdigit()]
    return " ".join(shown) + " and the digits"
