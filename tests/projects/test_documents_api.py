"""Documents: create one or many, list with filters and search, and their tokens."""

from __future__ import annotations

from io import StringIO

import pytest
import spacy

from projects.actions.annotations import do_save_annotation
from projects.actions.documents import do_create_documents
from projects.actions.labels import do_create_label
from projects.actions.projects import do_create_project
from projects.models import Document

pytestmark = pytest.mark.django_db


def url(project, document=None, tail=""):
    base = f"/api/v1/projects/{project.pk}/documents/"
    return f"{base}{document.pk}/{tail}" if document else base


def texts(project) -> list[str]:
    return list(Document.objects.filter(project=project).order_by("id").values_list("text", flat=True))


FIXTURE_TEXTS = ["Rebels led by HTS seized Aleppo.", "Assad’s allies 🇷🇺 Russia and Iran helped.",
                 "叙利亚 Homs is a city in Syria."]


# Creating ---------------------------------------------------------------------------------------

def test_posting_one_document_answers_the_document(project, people, client_for):
    response = client_for(people["admin"]).post(url(project), {"text": "Homs 👩‍👩‍👧 ok.", "meta": {"src": "x"}},
                                                format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    document = Document.objects.get(pk=body["id"])
    assert body["text"] == document.text == "Homs 👩‍👩‍👧 ok."
    assert body["meta"] == document.meta == {"src": "x"}
    assert body["status"] == "unlabelled"
    assert document.content_hash == Document.hash_text("Homs 👩‍👩‍👧 ok.")


def test_meta_is_optional(project, people, client_for):
    response = client_for(people["admin"]).post(url(project), {"text": "No meta."}, format="json")
    assert response.status_code == 201
    assert response.json()["meta"] == {}


def test_posting_a_list_answers_the_list_in_order(project, people, client_for):
    items = [{"text": f"Document {i}.", "meta": {"i": i}} for i in range(5)]
    response = client_for(people["admin"]).post(url(project), items, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert isinstance(body, list)
    assert [(d["text"], d["meta"]) for d in body] == [(x["text"], x["meta"]) for x in items]
    assert [d["id"] for d in body] == sorted(d["id"] for d in body)
    assert texts(project) == FIXTURE_TEXTS + [x["text"] for x in items]


def test_posting_a_list_of_one_answers_a_list(project, people, client_for):
    response = client_for(people["admin"]).post(url(project), [{"text": "Alone."}], format="json")
    assert response.status_code == 201
    assert [d["text"] for d in response.json()] == ["Alone."]


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_text_is_400_and_creates_nothing(project, people, client_for, text):
    response = client_for(people["admin"]).post(url(project), {"text": text}, format="json")
    assert response.status_code == 400
    assert "text" in response.json()
    assert texts(project) == FIXTURE_TEXTS


def test_one_empty_text_in_a_list_is_400_naming_it_and_creates_nothing(project, people, client_for):
    response = client_for(people["admin"]).post(url(project), [{"text": "Fine."}, {"text": " "}], format="json")
    assert response.status_code == 400
    assert response.json() == {"1": {"text": ["This field may not be blank."]}}
    assert texts(project) == FIXTURE_TEXTS


@pytest.mark.parametrize("body, field, message", [
    ({}, "text", "This field is required."),
    ({"text": None}, "text", "This field may not be null."),
    ({"text": "x", "meta": [1, 2]}, "meta", "must be an object"),
    ({"text": "x", "meta": "note"}, "meta", "must be an object"),
    ({"text": " "}, "text", "This field may not be blank."),
])
def test_invalid_document_fields_are_400_naming_the_field(project, people, client_for, body, field, message):
    response = client_for(people["admin"]).post(url(project), body, format="json")
    assert response.status_code == 400
    assert response.json()[field] == [message]
    assert texts(project) == FIXTURE_TEXTS


def test_an_empty_list_is_400(project, people, client_for):
    response = client_for(people["admin"]).post(url(project), [], format="json")
    assert response.status_code == 400
    assert response.json()["detail"] == "the list of documents is empty"
    assert texts(project) == FIXTURE_TEXTS


# Reading and listing -------------------------------------------------------------------------------

def test_member_reads_a_document(project, people, client_for, doc):
    document = doc(2)
    response = client_for(people["annotator"]).get(url(project, document))
    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["text"], body["meta"], body["status"]) == (
        document.pk, document.text, {"n": 2}, "unlabelled")


def test_missing_document_is_404(project, people, client_for):
    response = client_for(people["admin"]).get(f"/api/v1/projects/{project.pk}/documents/999999/")
    assert response.status_code == 404
    assert response.json()["detail"] == "No such document."


def test_document_list_is_paginated_by_50(project, people, client_for):
    do_create_documents(project, [{"text": f"Doc {i}"} for i in range(60)], acting_user=people["admin"])
    client = client_for(people["annotator"])
    first = client.get(url(project)).json()
    assert set(first) == {"count", "next", "previous", "results"}
    assert first["count"] == 63
    assert len(first["results"]) == 50
    assert first["previous"] is None
    assert first["next"].endswith(f"/api/v1/projects/{project.pk}/documents/?page=2")
    second = client.get(url(project), {"page": 2}).json()
    assert len(second["results"]) == 13 and second["next"] is None and second["previous"] is not None
    ids = [d["id"] for d in first["results"] + second["results"]]
    assert ids == sorted(ids) and len(set(ids)) == 63


def test_page_size_goes_up_to_1000(project, people, client_for):
    do_create_documents(project, [{"text": f"Doc {i}"} for i in range(1000)], acting_user=people["admin"])
    client = client_for(people["annotator"])
    assert len(client.get(url(project), {"page_size": 7}).json()["results"]) == 7
    body = client.get(url(project), {"page_size": 5000}).json()
    assert body["count"] == 1003
    assert len(body["results"]) == 1000
    assert "page=2" in body["next"]


def test_page_past_the_end_is_404(project, people, client_for):
    response = client_for(people["annotator"]).get(url(project), {"page": 9})
    assert response.status_code == 404


@pytest.fixture
def one_of_each_status(project, people, doc):
    """doc 1 unlabelled, doc 2 in progress, doc 3 submitted, doc 4 reviewed (has gold)."""
    (fourth,) = do_create_documents(project, [{"text": "Damascus is calm.", "meta": {"n": 4}}],
                                    acting_user=people["admin"])
    for document, status, gold in ((doc(2), "in_progress", False), (doc(3), "submitted", False),
                                   (fourth, "submitted", True)):
        document.project = project
        do_save_annotation(document, people["reviewer" if gold else "annotator"], spans=[], relations=[],
                           status=status, version=0, is_gold=gold)
    return {"unlabelled": [1], "in_progress": [2], "submitted": [3], "reviewed": [4]}


@pytest.mark.parametrize("status", ["unlabelled", "in_progress", "submitted", "reviewed"])
def test_list_filters_on_each_status(project, people, client_for, one_of_each_status, status):
    response = client_for(people["annotator"]).get(url(project), {"status": status})
    assert response.status_code == 200
    results = response.json()["results"]
    assert [d["meta"]["n"] for d in results] == one_of_each_status[status]
    assert {d["status"] for d in results} == {status}


@pytest.mark.parametrize("status", ["done", "UNLABELLED", "in progress"])
def test_unknown_status_filter_is_400_naming_the_statuses(project, people, client_for, status):
    response = client_for(people["annotator"]).get(url(project), {"status": status})
    assert response.status_code == 400
    assert set(response.json()) == {"status"}
    assert "must be one of unlabelled, in_progress, submitted, reviewed" in str(response.json()["status"])


def test_empty_status_filter_lists_everything(project, people, client_for):
    assert client_for(people["annotator"]).get(url(project), {"status": ""}).json()["count"] == 3


@pytest.mark.parametrize("query, expected", [
    ("hts", [1]),           # case-insensitive
    ("ALEPPO", [1]),
    ("叙利亚", [3]),          # CJK
    ("利", [3]),
    ("🇷🇺 russia", [2]),     # emoji
    ("’s allies", [2]),     # typographic apostrophe
    ("syria", [3]),
    (".", [1, 2, 3]),
    ("%", []),              # not a wildcard
    ("_", []),
    ("Moscow", []),
])
def test_search_finds_text_case_insensitively(project, people, client_for, query, expected):
    response = client_for(people["annotator"]).get(url(project), {"q": query})
    assert response.status_code == 200
    assert [d["meta"]["n"] for d in response.json()["results"]] == expected


def test_search_and_status_combine(project, people, client_for, one_of_each_status):
    client = client_for(people["annotator"])
    assert [d["meta"]["n"] for d in client.get(url(project), {"q": "a", "status": "submitted"}).json()["results"]] \
        == [3]
    assert client.get(url(project), {"q": "aleppo", "status": "submitted"}).json()["count"] == 0


def test_search_finds_arabic_text(people, client_for):
    project = do_create_project(acting_user=people["admin"], name="Arabic", language="ar")
    do_create_documents(project, [{"text": "ذهب محمد إلى دمشق."}, {"text": "حمص مدينة سورية."}],
                        acting_user=people["admin"])
    body = client_for(people["admin"]).get(url(project), {"q": "دمشق"}).json()
    assert [d["text"] for d in body["results"]] == ["ذهب محمد إلى دمشق."]


# Tokens -------------------------------------------------------------------------------------------

TOKEN_TEXTS = [
    ("en", "Assad’s allies 🇷🇺 Russia and 🇮🇷 Iran helped."),          # flags: two code points each
    ("en", "The family 👩‍👩‍👧 moved to Homs."),                         # a ZWJ sequence of five code points
    ("en", "Cafe\u0301 nai\u0308ve Zo\u0308e visited Ha\u0303o."),          # combining marks after base letters
    ("en", "叙利亚 Homs is a city in Syria. 霍姆斯位于叙利亚。"),           # CJK
    ("ar", "ذهب محمد إلى دمشق، ثم إلى حمص."),                          # right-to-left
    ("en", "Mixed: مرحبا Hello שלום 👋🏽!"),                             # RTL, LTR and a skin-tone modifier
    ("en", "  Leading and  double spaces,\nnew lines\n\nand a tab\there. "),
    ("zh", "叙利亚霍姆斯 Homs 👩‍👩‍👧。"),                                  # character-segmented Chinese
]


@pytest.mark.parametrize("language, text", TOKEN_TEXTS)
def test_tokens_are_spacy_tokens_with_code_point_offsets(people, client_for, language, text):
    project = do_create_project(acting_user=people["admin"], name="Tokens", language=language)
    (document,) = do_create_documents(project, [{"text": text}], acting_user=people["admin"])
    response = client_for(people["admin"]).get(url(project, document, "tokens/"))
    assert response.status_code == 200
    tokens = response.json()["tokens"]
    assert all({"i", "text", "start", "end", "ws"} <= set(t) for t in tokens)
    assert [t["i"] for t in tokens] == list(range(len(tokens)))
    for t in tokens:
        assert text[t["start"]:t["end"]] == t["text"]
    # Tokens and their trailing spaces rebuild the text exactly, with no gap and no overlap.
    assert "".join(t["text"] + (" " if t["ws"] else "") for t in tokens) == text
    for a, b in zip(tokens, tokens[1:]):
        assert b["start"] == a["end"] + (1 if a["ws"] else 0)
    expected = [(t.idx, t.text, bool(t.whitespace_)) for t in spacy.blank(language).tokenizer(text)]
    assert [(t["start"], t["text"], t["ws"]) for t in tokens] == expected


def test_token_offsets_count_code_points_not_utf16_units(project, people, client_for, doc):
    text = doc(2).text  # "Assad’s allies 🇷🇺 Russia and Iran helped."
    tokens = client_for(people["annotator"]).get(url(project, doc(2), "tokens/")).json()["tokens"]
    russia = next(t for t in tokens if t["text"] == "Russia")
    # spaCy's English tokenizer splits a flag into its two regional indicators.
    flag = [(t["start"], t["end"]) for t in tokens if t["text"] in ("🇷", "🇺")]
    assert flag == [(15, 16), (16, 17)]
    assert (russia["start"], russia["end"]) == (18, 24)
    assert len(text[:russia["start"]].encode("utf-16-le")) // 2 == 20  # what a browser would count


def test_tokens_follow_the_project_language(people, client_for):
    text = "叙利亚霍姆斯"
    by_language = {}
    for language in ("en", "zh"):
        project = do_create_project(acting_user=people["admin"], name=language, language=language)
        (document,) = do_create_documents(project, [{"text": text}], acting_user=people["admin"])
        tokens = client_for(people["admin"]).get(url(project, document, "tokens/")).json()["tokens"]
        by_language[language] = [t["text"] for t in tokens]
    assert by_language == {"en": ["叙利亚霍姆斯"], "zh": list(text)}


def test_spans_on_token_boundaries_of_hard_text_are_accepted(people, client_for):
    project = do_create_project(acting_user=people["admin"], name="Hard", language="en")
    do_create_label(project, acting_user=people["admin"], name="X")
    text = "Cafe\u0301 👩‍👩‍👧 ذهب إلى دمشق 叙利亚 🇷🇺 Russia."
    (document,) = do_create_documents(project, [{"text": text}], acting_user=people["admin"])
    client = client_for(people["admin"])
    tokens = [t for t in client.get(url(project, document, "tokens/")).json()["tokens"] if t["text"].strip()]
    spans = [{"id": t["i"], "start": t["start"], "end": t["end"], "label": "X"} for t in tokens]
    response = client.put(f"/api/v1/documents/{document.pk}/annotation/", {"spans": spans, "version": 0},
                          format="json")
    assert response.status_code == 200, response.json()
    stored = response.json()["spans"]
    assert [text[s["start"]:s["end"]] for s in stored] == [t["text"] for t in tokens]
    again = client.get(f"/api/v1/documents/{document.pk}/annotation/").json()["spans"]
    assert again == stored


def test_store_tokens_fills_missing_and_stale_tokens_once(people, project):
    from django.core.management import call_command

    from projects import token_columns

    documents = Document.objects.filter(project=project).order_by("pk")
    packed = {d.pk: bytes(d.tokens) for d in documents}
    first, second, third = documents
    Document.objects.filter(pk=first.pk).update(tokens=None)  # stored before tokens were kept
    Document.objects.filter(pk=second.pk).update(tokens=packed[second.pk].replace(b"en/", b"de/", 1))  # stale
    out = StringIO()
    call_command("store_tokens", "--project", str(project.pk), stdout=out)
    assert "stored the tokens of 2 documents" in out.getvalue()
    assert {d.pk: bytes(d.tokens) for d in Document.objects.filter(project=project)} == packed
    call_command("store_tokens", stdout=out)
    assert out.getvalue().endswith("stored the tokens of 0 documents\n")
    assert token_columns.unpack(Document.objects.get(pk=third.pk).tokens, "en/" + spacy.__version__, third.text)
