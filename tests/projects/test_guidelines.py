"""Guidelines are Markdown that any project admin writes and every member's browser renders: no payload may
become script. Each is saved through the API and read back in the workspace and the review page, as a browser
would parse them (entities decoded, tabs and newlines dropped from URLs)."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import pytest

from projects.guidelines import ATTRIBUTES, TAGS, render_guidelines

pytestmark = pytest.mark.django_db

PAYLOADS = [
    # javascript: with the colon as an entity, in every form
    "[x](javascript&colon;alert(document.domain))",
    "[x](javascript&#58;alert(document.domain))",
    "[x](javascript&#x3a;alert(document.domain))",
    "[x](javascript&#X3A;alert(1))",
    "[x](javascript&#0000058;alert(1))",
    "[x](javascript&#x003a;alert(1))",
    "[x](JaVaScRiPt&CoLoN;alert(1))",
    "[x](JaVaScRiPt&colon;alert(1))",
    "[x](javascript&#58alert(1))",
    # the scheme itself obfuscated, mixed case, split by whitespace or control characters
    "[x](JAVASCRIPT:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](&#x6A;&#x61;&#x76;&#x61;&#x73;&#x63;&#x72;&#x69;&#x70;&#x74;&#x3A;alert(1))",
    "[x](java&#9;script:alert(1))",
    "[x](java&Tab;script&colon;alert(1))",
    "[x](java&#10;script:alert(1))",
    "[x](java&NewLine;script&colon;alert(1))",
    "[x](\x01javascript:alert(1))",
    "[x]( javascript:alert(1))",
    "[x](<javascript:alert(1)>)",
    "<javascript:alert(1)>",
    "[y][ref]\n\n[ref]: javascript&colon;alert(1)",
    "[y][ref]\n\n[ref]: <javascript:alert(1)> \"title\"",
    # other schemes that run or show script
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x](data&colon;text/html,<script>alert(1)</script>)",
    "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "[x](vbscript:msgbox(1))",
    "[x](VBScript&colon;msgbox(1))",
    "![x](javascript:alert(1))",
    # raw HTML, event handlers, and nested or mutated markup
    "<script>alert(1)</script>",
    "<ScRiPt>alert(1)</sCrIpT>",
    "<scr<script>ipt>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<IMG SRC=x OnErRoR=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    "<svg onload=alert(1)>",
    '<iframe src="javascript:alert(1)"></iframe>',
    "<details open ontoggle=alert(1)>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "[<img src=x onerror=alert(1)>](https://example.org)",
    '[x](https://example.org "\\" onmouseover=\\"alert(1)")',
    "[x](https://example.org\" onmouseover=\"alert(1))",
    "![x\" onerror=\"alert(1)](https://example.org/a.png)",
    "**[x](javascript&colon;alert(1))** and *[y](javascript&#58;alert(1))* in a list:\n\n- [z](javascript&#x3a;alert(1))",
    "| a |\n|---|\n| [x](javascript&colon;alert(1)) |",
    "```\n<script>alert(1)</script>\n```",
]

SAFE_SCHEMES = {"http", "https", "mailto"}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data", "srcset", "poster", "background"}


def url_scheme(value: str) -> str | None:
    """The scheme a browser would see in an attribute value (already entity-decoded by the parser)."""
    cleaned = re.sub(r"[\t\n\r]", "", value).strip("\x00- ")  # the URL parser drops tabs/newlines, trims C0/space
    match = re.match(r"([a-zA-Z][a-zA-Z0-9+.-]*):", cleaned)
    return match.group(1).lower() if match else None


class Fragment(HTMLParser):
    """What a browser would build from the guidelines' HTML: every tag with its (decoded) attributes."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, {name: value or "" for name, value in attrs}))


def executable_parts(fragment: str) -> list[str]:
    parser = Fragment()
    parser.feed(fragment)
    parser.close()
    problems = []
    for tag, attrs in parser.elements:
        if tag not in TAGS:
            problems.append(f"tag <{tag}>")
        for name, value in attrs.items():
            if name.startswith("on"):
                problems.append(f"<{tag} {name}>")
            if name not in ATTRIBUTES.get(tag, set()) | {"rel"}:
                problems.append(f"<{tag} {name}=>")
            if name in URL_ATTRIBUTES and url_scheme(value) not in SAFE_SCHEMES | {None}:
                problems.append(f"<{tag} {name}={value!r}>")
            if name == "style" and not re.fullmatch(r"text-align:\s*(left|right|center)", value):
                problems.append(f"<{tag} style={value!r}>")
    return problems


def guidelines_on(page: str) -> str:
    """The rendered guidelines inside a workspace or review page."""
    match = re.search(r'<div class="markdown">(.*?)</div>\s*</dialog>', page, re.DOTALL)
    assert match, "no guidelines panel on the page"
    return match.group(1)


@pytest.fixture
def pages(project, people, client_for):
    """guidelines -> (workspace HTML, review HTML), saved through the API by the project admin."""
    from django.test import Client

    admin = client_for(people["admin"])
    annotator, reviewer = Client(), Client()
    annotator.force_login(people["annotator"])
    reviewer.force_login(people["reviewer"])

    def render(text: str) -> tuple[str, str]:
        saved = admin.patch(f"/api/v1/projects/{project.pk}/", {"guidelines": text}, format="json")
        assert saved.status_code == 200, saved.content
        assert saved.json()["guidelines"] == text.strip()  # the API keeps the source as written
        workspace = annotator.get(f"/projects/{project.pk}/annotate/")
        review = reviewer.get(f"/projects/{project.pk}/review/")
        assert workspace.status_code == review.status_code == 200
        return guidelines_on(workspace.content.decode()), guidelines_on(review.content.decode())

    return render


@pytest.mark.parametrize("payload", PAYLOADS)
def test_no_guidelines_payload_becomes_script_on_the_workspace_or_review_page(pages, payload):
    for fragment in pages(payload):
        assert executable_parts(fragment) == [], fragment
        assert "<script" not in fragment.lower()


def test_every_payload_at_once_gives_no_script_either(pages):
    for fragment in pages("\n\n".join(PAYLOADS)):
        assert executable_parts(fragment) == []


def test_entity_encoded_javascript_link_keeps_its_text_and_loses_its_href():
    html_out = render_guidelines("[click me](javascript&colon;alert(document.domain))")
    assert "click me" in html_out and "href" not in html_out


def test_raw_html_is_shown_as_text():
    out = render_guidelines('<script>alert(1)</script> <b onclick="x()">b</b>')
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out and "&lt;b onclick" in out


SAFE = """# Rules

Label **people** and *places*; see [the handbook](https://example.org/handbook?a=1&b=2),
[the old one](http://example.org/old), [mail us](mailto:team@example.org), [the FAQ](faq.html),
[home](/), [up](../guide/) and [below](#dates). Inline `code <here>`.

1. first
2. second

- a
- b

> quoted

```python
if a < b:
    print("x")
```

| Label | Example |
|:------|--------:|
| PERSON | Maria |

![logo](/static/annotator/logo.png "Logo")

---
"""


def test_safe_markdown_survives(pages):
    for fragment in pages(SAFE):
        assert executable_parts(fragment) == []
        parser = Fragment()
        parser.feed(fragment)
        hrefs = [attrs.get("href") for tag, attrs in parser.elements if tag == "a"]
        assert hrefs == ["https://example.org/handbook?a=1&b=2", "http://example.org/old", "mailto:team@example.org",
                         "faq.html", "/", "../guide/", "#dates"]
        for piece in ("<h1>Rules</h1>", "<strong>people</strong>", "<em>places</em>", "<code>code &lt;here&gt;</code>",
                      "<ol>", "<li>first</li>", "<ul>", "<li>a</li>", "<blockquote>", "<pre><code>",
                      "if a &lt; b:", "<table>", '<th style="text-align:left">Label</th>',
                      '<td style="text-align:right">Maria</td>', '<img alt="logo" src="/static/annotator/logo.png"',
                      "<hr>"):
            assert piece in fragment, piece
        assert html.unescape(fragment).count("https://example.org/handbook?a=1&b=2") == 1
