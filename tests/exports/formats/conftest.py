"""Blank spaCy pipelines shared by the format tests (no Django, no models)."""

from __future__ import annotations

import pytest
import spacy


@pytest.fixture(scope="session")
def nlp():
    return spacy.blank("en")


@pytest.fixture(scope="session")
def nlp_zh():
    # The blank Chinese pipeline segments by character unless told otherwise; no jieba or pkuseg needed.
    return spacy.blank("zh")
