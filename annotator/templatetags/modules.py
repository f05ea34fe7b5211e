"""``{% module_script "app/entry.js" %}``: a page's entry module, with every module it imports preloaded."""

from __future__ import annotations

from django import template
from django.contrib.staticfiles.storage import staticfiles_storage
from django.templatetags.static import static
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from annotator.modules import module_graph

register = template.Library()


@register.simple_tag
def module_script(entry: str, early: str = ""):
    """``<link rel="modulepreload">`` for each module ``entry`` imports, directly or not (annotator/modules.py),
    then ``<script type="module">`` for ``entry``; URLs as ``{% static %}`` gives them (hashed after
    collectstatic). ``early``: a module also run as soon as it arrives (``async``), before the page is parsed and
    the rest has arrived: one that starts requests (the entry imports it too, and gets the same instance). Its
    own modules come first, so the browser asks for them first.

    After collectstatic, the entry's bundle alone (annotator/modules.py): one file instead of every module, the
    early one's code included, run in the order the imports give."""
    bundled = getattr(staticfiles_storage, "bundled", lambda entry: None)(entry)
    if bundled:
        return format_html('<script type="module" src="{}"></script>', static(bundled))
    first = module_graph(early) if early else ()
    rest = [name for name in module_graph(entry) if name not in first]
    html = [preload(name) for name in first[1:]]
    if early:
        html.append(format_html('<script type="module" async src="{}"></script>', static(early)))
    html += [preload(name) for name in rest[1:]]
    html.append(format_html('<script type="module" src="{}"></script>', static(entry)))
    return mark_safe("\n  ".join(html))  # noqa: S308 - each piece built by format_html


def preload(name: str) -> str:
    kind = ' as="json"' if name.endswith(".json") else ""
    return format_html('<link rel="modulepreload" href="{}"{}>', static(name), mark_safe(kind))  # noqa: S308
