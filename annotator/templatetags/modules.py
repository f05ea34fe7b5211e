"""``{% module_script "app/entry.js" %}``: a page's entry module, with every module it imports preloaded."""

from __future__ import annotations

from django import template
from django.templatetags.static import static
from django.utils.html import format_html, format_html_join

from annotator.modules import module_graph

register = template.Library()


@register.simple_tag
def module_script(entry: str, early: str = ""):
    """``<link rel="modulepreload">`` for each module ``entry`` imports, directly or not (annotator/modules.py),
    then ``<script type="module">`` for ``entry``; URLs as ``{% static %}`` gives them (hashed after
    collectstatic). ``early``: a module also run as soon as it arrives (``async``), before the page is parsed and
    the rest has arrived: one that starts requests (the entry imports it too, and gets the same instance)."""
    graph = dict.fromkeys(module_graph(entry) + (module_graph(early) if early else ()))
    preloads = format_html_join(
        "\n  ", '<link rel="modulepreload" href="{}"{}>',
        ((static(name), ' as="json"' if name.endswith(".json") else "") for name in graph if name not in (entry, early)))
    first = format_html('\n  <script type="module" async src="{}"></script>', static(early)) if early else ""
    return format_html('{}{}\n  <script type="module" src="{}"></script>', preloads, first, static(entry))
