"""Project guidelines: Markdown, written by project admins, rendered for annotators.

Raw HTML in the source is shown as text, never passed through. The rendered HTML then goes through
nh3 (an allow-list sanitiser, html5ever's parser): only the tags and attributes Markdown makes are
kept, and links and images keep only http, https, mailto and relative URLs, checked after entity
decoding (``javascript&colon;``, ``&#58;`` and ``&#x3a;`` are all ``:`` to it, as to a browser).
"""

from __future__ import annotations

import markdown
import nh3

TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "code", "em", "strong",
    "ul", "ol", "li", "a", "img", "table", "thead", "tbody", "tr", "th", "td",
}
ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "ol": {"start"},
    "th": {"style"},  # the tables extension aligns columns with text-align, and only that is kept
    "td": {"style"},
}
URL_SCHEMES = {"http", "https", "mailto"}  # and relative URLs, which nh3 passes


def render_guidelines(text: str) -> str:
    """HTML for Markdown ``text``, sanitised. The result is safe to mark safe in a template."""
    md = markdown.Markdown(extensions=["tables", "fenced_code", "sane_lists"], output_format="html")
    md.preprocessors.deregister("html_block")
    md.inlinePatterns.deregister("html")
    return nh3.clean(md.convert(text or ""), tags=TAGS, attributes=ATTRIBUTES, url_schemes=URL_SCHEMES,
                     filter_style_properties={"text-align"})
