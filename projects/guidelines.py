"""Project guidelines: Markdown, written by project admins, rendered for annotators.

Raw HTML in the source is shown as text, never passed through, and links keep
only safe schemes, so a guideline cannot run script in the workspace.
"""

from __future__ import annotations

import re

import markdown
from markdown.treeprocessors import Treeprocessor

SAFE_URL = re.compile(r"^(?:https?:|mailto:|#|/|\./|\.\./|[^:/?#]+(?:[/?#]|$))", re.IGNORECASE)


class _SafeLinks(Treeprocessor):
    """Drop ``href``/``src`` values with schemes other than http(s) and mailto (``javascript:``, ``data:``)."""

    def run(self, root):
        for element in root.iter():
            for attribute in ("href", "src"):
                value = element.get(attribute)
                if value is not None and not SAFE_URL.match(value.strip()):
                    element.set(attribute, "#")
        return root


def render_guidelines(text: str) -> str:
    """HTML for Markdown ``text``; raw HTML is escaped. The result is safe to mark safe in a template."""
    md = markdown.Markdown(extensions=["tables", "fenced_code", "sane_lists"], output_format="html")
    md.preprocessors.deregister("html_block")
    md.inlinePatterns.deregister("html")
    md.treeprocessors.register(_SafeLinks(md), "safe_links", 0)
    return md.convert(text or "")
