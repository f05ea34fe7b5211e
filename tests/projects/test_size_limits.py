"""Size limits of the API (README, "Security"): document length, documents per POST, tokens per response
(the tokens endpoint, /next/ and the review bundle in pages), each refused with a JSON 400/413 naming the
setting and its value. Small limits through override_settings keep the tests fast."""

from __future__ import annotations

import pytest
from django.test import override_settings

from projects.actions.documents import do_create_documents
from projects.actions.projects import do_create_project
from projects.errors import InvalidInput
from projects.models import Document
from projects.token_columns import tokenizer_key, unpack, unpack_window
from projects.tokens import tokenize, tokens_for_document

pytestmark = pytest.mark.django_db

# Emoji (flags, a ZWJ family, skin tones), CJK, combining marks and right-to-left text: code points, not UTF-16.
LONG_TEXT = " ".join([
    "Rebels 🇷🇺 led by HTS seized Aleppo.", "叙利亚 Homs 是 a city in Syria 👩‍👩‍👧.", "Café́ naïve 👍🏽 done.",
    "مرحبا بالعالم Omar met Mei.", "東京 and 大阪 🎌 are cities.\n\nNew paragraph, same story.",
] * 12)


# Document length ------------------------------------------------------------------------------

@override_settings(DOCUMENT_MAX_CHARACTERS=20)
def test_a_document_longer_than_the_limit_is_a_400_naming_it_and_nothing_is_stored(project, people, client_for):
    client, url = client_for(people["admin"]), f"/api/v1/projects/{project.pk}/documents/"
    before = Document.objects.count()
    response = client.post(url, {"text": "x" * 21}, format="json")
    assert response.status_code == 400, response.content
    assert response.json() == {"detail": "text: the document has 21 characters: the limit is 20 "
                                         "(DOCUMENT_MAX_CHARACTERS)", "code": "document_too_long",
                               "limit": "DOCUMENT_MAX_CHARACTERS", "max": 20}
    response = client.post(url, [{"text": "short"}, {"text": "🇷🇺" * 11}], format="json")  # 22 code points
    assert response.status_code == 400 and response.json()["detail"].startswith("[1] text: the document has 22")
    assert Document.objects.count() == before
    assert client.post(url, {"text": "叙" * 20}, format="json").status_code == 201  # the limit itself is allowed


@override_settings(DOCUMENT_MAX_CHARACTERS=20)
def test_the_action_refuses_a_long_document_but_meta_of_a_stored_one_can_change(project, people):
    with pytest.raises(InvalidInput, match="DOCUMENT_MAX_CHARACTERS"):
        do_create_documents(project, [{"text": "y" * 21}], acting_user=people["admin"])
    from projects.actions.documents import do_update_document_meta

    long_one = Document.objects.filter(project=project).order_by("-id").first()  # 30+ characters, stored before
    assert len(long_one.text) > 20
    assert do_update_document_meta(long_one, {"ok": 1}, acting_user=people["admin"]).meta == {"ok": 1}


# Documents per POST ---------------------------------------------------------------------------

@override_settings(DOCUMENTS_MAX_PER_POST=3)
def test_more_documents_than_the_limit_in_one_post_is_a_413_pointing_to_imports(project, people, client_for):
    client, url = client_for(people["admin"]), f"/api/v1/projects/{project.pk}/documents/"
    before = Document.objects.count()
    response = client.post(url, [{"text": f"Document {i}."} for i in range(4)], format="json")
    assert response.status_code == 413, response.content
    body = response.json()
    assert body["code"] == "too_many_documents" and body["limit"] == "DOCUMENTS_MAX_PER_POST" and body["max"] == 3
    assert "4 documents in one POST" in body["detail"] and "imports/" in body["detail"]
    assert Document.objects.count() == before
    assert client.post(url, [{"text": f"Document {i}."} for i in range(3)], format="json").status_code == 201


# Tokens in pages ------------------------------------------------------------------------------

@pytest.fixture
def long_document(people):
    project = do_create_project(acting_user=people["admin"], name="Long", description="")
    [document] = do_create_documents(project, [{"text": LONG_TEXT}], acting_user=people["admin"])
    return document


def all_pages(client, url: str) -> tuple[list[dict], list[dict]]:
    """Every token, following ``next``, and each page's body."""
    tokens, pages = [], []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content
        pages.append(response.json())
        tokens += pages[-1]["tokens"]
        url = pages[-1]["next"]
    return tokens, pages


@pytest.mark.parametrize("stored", [True, False], ids=["stored-tokens", "tokenized-again"])
@override_settings(TOKENS_PAGE_SIZE=37)
def test_a_long_documents_tokens_come_in_pages_that_together_are_its_tokenization(
        long_document, people, client_for, stored):
    if not stored:  # stored before tokens were kept: tokenized again, then served a page at a time as well
        Document.objects.filter(pk=long_document.pk).update(tokens=None)
    client = client_for(people["admin"])
    url = f"/api/v1/projects/{long_document.project_id}/documents/{long_document.pk}/tokens/"
    tokens, pages = all_pages(client, url)
    expected = tokenize(LONG_TEXT, "en").as_list(LONG_TEXT)
    assert len(expected) > 4 * 37 and len(pages) == -(-len(expected) // 37)
    assert tokens == expected
    assert all(t["text"] == LONG_TEXT[t["start"]:t["end"]] for t in tokens)  # code point offsets
    assert {"叙利亚", "東京", "Homs"} <= {t["text"] for t in tokens} and any("👩" in t["text"] for t in tokens)
    assert [p["offset"] for p in pages] == list(range(0, len(expected), 37))
    assert all(p["count"] == len(expected) for p in pages) and all(len(p["tokens"]) == 37 for p in pages[:-1])
    assert pages[0]["next"] == f"http://testserver{url}?offset=37" and pages[-1]["next"] is None
    # A client's own window, within the limit.
    window = client.get(url, {"offset": 40, "limit": 5}).json()
    assert window["tokens"] == expected[40:45] and window["next"].endswith("?offset=45&limit=5")


def test_normal_documents_come_whole_in_one_page(project, people, client_for, doc):
    body = client_for(people["annotator"]).get(
        f"/api/v1/projects/{project.pk}/documents/{doc(2).pk}/tokens/").json()
    assert body["next"] is None and body["offset"] == 0 and body["count"] == len(body["tokens"])
    assert body["tokens"] == tokens_for_document(doc(2)).as_list(doc(2).text)


@override_settings(TOKENS_PAGE_SIZE=10)
@pytest.mark.parametrize("query, problem", [
    ({"limit": 11}, "limit: 11 tokens asked for: the limit is 10 (TOKENS_PAGE_SIZE)"),
    ({"limit": 0}, "at least 1"), ({"offset": -1}, "a whole number"), ({"limit": "ten"}, "a whole number"),
])
def test_a_page_over_the_limit_or_a_bad_window_is_a_400(project, people, client_for, doc, query, problem):
    response = client_for(people["annotator"]).get(
        f"/api/v1/projects/{project.pk}/documents/{doc(1).pk}/tokens/", query)
    assert response.status_code == 400 and problem in str(response.json()), response.json()


@override_settings(TOKENS_PAGE_SIZE=37)
def test_next_gives_the_first_page_of_tokens_and_where_the_rest_are(long_document, people, client_for):
    client = client_for(people["admin"])
    bundle = client.get(f"/api/v1/projects/{long_document.project_id}/next/").json()
    expected = tokenize(LONG_TEXT, "en").as_list(LONG_TEXT)
    assert bundle["document"]["id"] == long_document.pk
    assert bundle["tokens"] == expected[:37] and bundle["tokens_count"] == len(expected)
    rest, _ = all_pages(client, bundle["tokens_next"])
    assert bundle["tokens"] + rest == expected


@override_settings(TOKENS_PAGE_SIZE=37)
def test_the_review_bundle_gives_the_first_page_of_tokens_and_where_the_rest_are(long_document, people, client_for):
    client = client_for(people["admin"])
    bundle = client.get(f"/api/v1/documents/{long_document.pk}/review/").json()
    expected = tokenize(LONG_TEXT, "en").as_list(LONG_TEXT)
    rest, _ = all_pages(client, bundle["tokens_next"])
    assert bundle["tokens_count"] == len(expected) and bundle["tokens"] + rest == expected


def test_a_window_of_packed_tokens_is_the_same_as_unpacking_them_all(long_document):
    key = tokenizer_key("en")
    whole = unpack(long_document.tokens, key, LONG_TEXT)
    for offset, limit in ((0, 5), (3, 50), (len(whole) - 2, 10), (len(whole) + 5, 3), (0, None)):
        count, window = unpack_window(long_document.tokens, key, LONG_TEXT, offset, limit)
        end = len(whole) if limit is None else offset + limit
        assert count == len(whole)
        assert (window.starts, window.ends, window.flags) == (whole.starts[offset:end], whole.ends[offset:end],
                                                              whole.flags[offset:end])
