"""Pure pieces: pattern rules (JSONL), their version, and the label mapping."""

from __future__ import annotations

import pytest

from pipelines.errors import PipelineError
from pipelines.prelabel import LabelMapper, check_label_map
from pipelines.rules import parse_patterns, pattern_labels, patterns_version

PATTERNS = '{"label": "GPE", "pattern": "Homs"}\n\n{"label": "ORG", "pattern": [{"LOWER": "hts"}], "id": "hts"}\n'


def test_patterns_parse_phrase_and_token_patterns_and_skip_blank_lines():
    patterns = parse_patterns(PATTERNS)
    assert patterns == [{"label": "GPE", "pattern": "Homs"},
                        {"label": "ORG", "pattern": [{"LOWER": "hts"}], "id": "hts"}]
    assert pattern_labels(patterns) == ["GPE", "ORG"]


@pytest.mark.parametrize("line, reason", [
    ("{not json", "not valid JSON"),
    ('["GPE", "Homs"]', "a pattern is an object"),
    ('{"pattern": "Homs"}', '"label" must be a non-empty string'),
    ('{"label": "GPE", "pattern": ""}', '"pattern" must not be empty'),
    ('{"label": "GPE", "pattern": [{"NOT_AN_ATTR": "x"}]}', "invalid token pattern"),
    ('{"label": "GPE", "pattern": 7}', '"pattern" must be a string or a non-empty list'),
])
def test_a_bad_pattern_line_is_reported_with_its_number_and_reason(line, reason):
    with pytest.raises(PipelineError) as error:
        parse_patterns(PATTERNS + line + "\n")
    assert error.value.code == "invalid_patterns"
    assert error.value.detail.startswith("patterns line 4: ")
    assert reason in error.value.detail


def test_the_rules_version_follows_the_content_not_the_layout():
    spaced = '{"pattern": "Homs",   "label": "GPE"}\n{"label": "ORG", "pattern": [{"LOWER": "hts"}], "id": "hts"}'
    version = patterns_version(parse_patterns(PATTERNS))
    assert version == patterns_version(parse_patterns(spaced))
    assert version != patterns_version(parse_patterns(PATTERNS.replace("Homs", "Hama")))


def test_labels_map_by_name_by_the_mapping_or_are_dropped():
    mapper = LabelMapper({"GPE": 1, "ORG": 2, "PERSON": 3}, {"LOC": "GPE", "ORG": None})
    assert [mapper(label) for label in ("GPE", "LOC", "ORG", "PERSON", "DATE")] == [1, 1, None, 3, None]
    assert mapper.describe(["LOC", "ORG", "DATE"]) == {"LOC": "GPE", "ORG": None, "DATE": None}


@pytest.mark.parametrize("mapping, message", [
    (["GPE"], "must be an object"),
    ({"LOC": "PLACE"}, "maps 'LOC' to 'PLACE', which is not an entity label of this project"),
    ({"LOC": 3}, "use a label name or null"),
])
def test_a_label_mapping_onto_unknown_labels_is_refused(mapping, message):
    with pytest.raises(PipelineError) as error:
        check_label_map(mapping, ["GPE", "ORG"])
    assert error.value.code == "invalid_label_map"
    assert message in error.value.detail
