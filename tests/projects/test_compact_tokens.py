"""``?format=compact``: the tokens endpoint, /next/ and the review bundle give a page's tokens as parallel
arrays (gaps, lengths, ws) that decode to exactly the default format's tokens: emoji, CJK, combining marks,
right-to-left text, runs of spaces, pages, and a file's own tokens. The default stays as it was."""

from __future__ import annotations

import json
from itertools import accumulate

import pytest
from django.test import override_settings

from projects.actions.documents import do_create_documents
from projects.actions.members import do_add_member
from projects.actions.projects import do_create_project
from projects.models import Assignment
from projects.tokens import tokenize
from tests.exports.test_file_tokens import imported  # noqa: F401 - a document with a Prodigy file's tokens
from tests.projects.test_documents_api import TOKEN_TEXTS
from tests.projects.test_size_limits import LONG_TEXT

pytestmark = pytest.mark.django_db


def decode(compact: dict, text: str, offset: int = 0) -> list[dict]:
    """The default format's tokens from a compact page, as a client decodes them (README, *Offsets*)."""
    assert set(compact) == {"gap", "length", "ws"}
    assert len(compact["gap"]) == len(compact["length"]) == len(compact["ws"])
    tokens, at = [], 0
    for k, (gap, length, ws) in enumerate(zip(compact["gap"], compact["length"], compact["ws"])):
        start = at + gap
        at = start + length
        tokens.append({"i": offset + k, "text": text[start:at], "start": start, "end": at, "ws": bool(ws)})
    return tokens


def tokens_url(document) -> str:
    return f"/api/v1/projects/{document.project_id}/documents/{document.pk}/tokens/"


@pytest.mark.parametrize("language, text", TOKEN_TEXTS)
def test_compact_tokens_decode_to_the_default_tokens(people, client_for, language, text):
    project = do_create_project(acting_user=people["admin"], name="Tokens", language=language)
    (document,) = do_create_documents(project, [{"text": text}], acting_user=people["admin"])
    client = client_for(people["admin"])
    default = client.get(tokens_url(document)).json()
    compact = client.get(tokens_url(document), {"format": "compact"}).json()
    assert decode(compact["tokens"], text) == default["tokens"]
    assert {k: v for k, v in compact.items() if k != "tokens"} == {"count": len(default["tokens"]), "offset": 0,
                                                                   "next": None}
    # The arrays hold what the README says: gaps from the previous end, lengths, ws as 0 or 1.
    starts = [t["start"] for t in default["tokens"]]
    ends = [t["end"] for t in default["tokens"]]
    assert list(accumulate(g + n for g, n in zip(compact["tokens"]["gap"], compact["tokens"]["length"]))) == ends
    assert compact["tokens"]["gap"] == [s - e for s, e in zip(starts, [0] + ends[:-1])]
    assert set(compact["tokens"]["ws"]) <= {0, 1}


def test_the_default_format_is_unchanged(project, people, client_for, doc):
    """Byte for byte what the endpoint gave before ``format`` existed: one object per token, in this key order."""
    document = doc(2)  # "Assad’s allies 🇷🇺 Russia and Iran helped."
    response = client_for(people["annotator"]).get(tokens_url(document))
    tokens = tokenize(document.text, "en")
    expected = {"tokens": [{"i": i, "text": document.text[s:e], "start": s, "end": e, "ws": ws}
                           for i, (s, e, ws) in enumerate(zip(tokens.starts, tokens.ends, tokens.spaces))],
                "count": len(tokens.starts), "offset": 0, "next": None}
    assert response.content == json.dumps(expected, ensure_ascii=False, separators=(",", ":")).encode()
    assert response.content.startswith('{"tokens":[{"i":0,"text":"Assad","start":0,"end":5,"ws":false}'.encode())


@override_settings(TOKENS_PAGE_SIZE=37)
def test_compact_pages_keep_the_format_in_next_and_decode_to_the_whole_tokenization(people, client_for):
    project = do_create_project(acting_user=people["admin"], name="Long")
    (document,) = do_create_documents(project, [{"text": LONG_TEXT}], acting_user=people["admin"])
    client = client_for(people["admin"])
    expected = tokenize(LONG_TEXT, "en").as_list(LONG_TEXT)
    url, decoded, pages = tokens_url(document) + "?format=compact", [], []
    while url:
        page = client.get(url).json()
        pages.append(page)
        decoded += decode(page["tokens"], LONG_TEXT, page["offset"])
        url = page["next"]
    assert len(pages) == -(-len(expected) // 37) > 4
    assert decoded == expected
    assert pages[0]["next"] == f"http://testserver{tokens_url(document)}?offset=37&format=compact"
    # A window of its own: gaps count from 0 again, so a page decodes alone.
    window = client.get(tokens_url(document), {"offset": 40, "limit": 5, "format": "compact"}).json()
    assert decode(window["tokens"], LONG_TEXT, 40) == expected[40:45]
    assert window["next"].endswith("?offset=45&limit=5&format=compact")


@override_settings(TOKENS_PAGE_SIZE=37)
def test_next_and_the_review_bundle_give_compact_tokens_when_asked(people, client_for):
    admin = people["admin"]
    project = do_create_project(acting_user=admin, name="Long")
    do_add_member(project, "annotator", "annotator", acting_user=admin)
    (document,) = do_create_documents(project, [{"text": LONG_TEXT}], acting_user=admin)
    expected = tokenize(LONG_TEXT, "en").as_list(LONG_TEXT)
    for client, url in ((client_for(people["annotator"]), f"/api/v1/projects/{project.pk}/next/?format=compact"),
                        (client_for(admin), f"/api/v1/documents/{document.pk}/review/?format=compact")):
        bundle = client.get(url).json()
        assert bundle["document"]["id"] == document.pk and bundle["tokens_count"] == len(expected)
        tokens = decode(bundle["tokens"], LONG_TEXT)
        assert bundle["tokens_next"].endswith("?offset=37&format=compact")
        following = bundle["tokens_next"]
        while following:
            page = client.get(following).json()
            tokens += decode(page["tokens"], LONG_TEXT, page["offset"])
            following = page["next"]
        assert tokens == expected


def test_a_files_own_tokens_decode_the_same(imported, people, client_for):  # noqa: F811
    """A Prodigy file's tokens: a paragraph break is a token of its own, and the gaps are the file's."""
    client = client_for(people["annotator"])
    default = client.get(tokens_url(imported)).json()["tokens"]
    compact = client.get(tokens_url(imported), {"format": "compact"}).json()["tokens"]
    assert decode(compact, imported.text) == default
    assert "\n\n" in [t["text"] for t in default]


@pytest.mark.parametrize("where", ["tokens", "next", "review"])
def test_an_unknown_format_is_a_400_naming_the_parameter(project, people, client_for, doc, where):
    client = client_for(people["admin"] if where == "review" else people["annotator"])
    url = {"tokens": tokens_url(doc(1)), "next": f"/api/v1/projects/{project.pk}/next/",
           "review": f"/api/v1/documents/{doc(1).pk}/review/"}[where]
    response = client.get(url, {"format": "columns"})
    assert response.status_code == 400, response.content
    assert "compact" in str(response.json()["format"])
    if where == "next":  # refused before the queue hands anything out
        assert not Assignment.objects.filter(annotator=people["annotator"]).exists()
