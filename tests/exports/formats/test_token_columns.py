"""Packed tokens (projects.token_columns): what is read back is what the tokenizer gave."""

from __future__ import annotations

import spacy
from hypothesis import given

from projects import token_columns
from tests.exports.formats.test_properties import SETTINGS, texts

NLP = spacy.blank("en")
KEY = token_columns.tokenizer_key("en")


@SETTINGS
@given(text=texts)
def test_unpack_gives_back_the_columns_of_the_doc(text):
    doc = NLP.make_doc(text)
    columns = token_columns.unpack(token_columns.pack(doc, KEY), KEY, text)
    assert columns == token_columns.columns_of(doc)
    assert [text[s:e] for s, e in zip(columns.starts, columns.ends)] == [t.text for t in doc]
    assert columns.flags == bytes((t.whitespace_ == " ") | t.is_punct << 1 | t.is_space << 2 for t in doc)
    assert (columns.punct(), columns.visible()) == (bytes(t.is_punct for t in doc), bytes(not t.is_space for t in doc))


def test_texts_past_65535_code_points_take_four_bytes_per_offset():
    text = "Homs 😀 叙利亚. " * 7000
    assert len(text) > 65535
    doc = NLP.make_doc(text)
    packed = token_columns.pack(doc, KEY)
    assert len(packed) == len(KEY) + 1 + 9 * len(doc)
    assert token_columns.unpack(packed, KEY, text) == token_columns.columns_of(doc)


def test_tokens_packed_by_another_tokenizer_or_damaged_are_not_used():
    text = "Rebels seized Aleppo."
    packed = token_columns.pack(NLP.make_doc(text), KEY)
    assert token_columns.unpack(packed, token_columns.tokenizer_key("de"), text) is None
    assert token_columns.unpack(packed, "en/0.0.1", text) is None
    assert token_columns.unpack(packed[:-1], KEY, text) is None
    assert token_columns.unpack(None, KEY, text) is None


def test_a_tokenizer_that_sets_sentence_starts_is_not_packed():
    doc = NLP.make_doc("One. Two.")
    doc[2].is_sent_start = True
    assert token_columns.pack(doc, KEY) is None
