from collections import Counter

from exports.splits import split_of


def test_split_is_deterministic_and_depends_on_seed():
    first = [split_of(i, "seed-a", 0.8, 0.1) for i in range(2000)]
    assert first == [split_of(i, "seed-a", 0.8, 0.1) for i in range(2000)]
    assert first != [split_of(i, "seed-b", 0.8, 0.1) for i in range(2000)]


def test_split_follows_the_ratios():
    counts = Counter(split_of(i, "annotator", 0.8, 0.1) for i in range(20000))
    assert abs(counts["train"] / 20000 - 0.8) < 0.02
    assert abs(counts["dev"] / 20000 - 0.1) < 0.02
    assert abs(counts["test"] / 20000 - 0.1) < 0.02


def test_a_document_keeps_its_split_when_others_are_added():
    before = {i: split_of(i, "s", 0.7, 0.2) for i in range(100)}
    assert all(split_of(i, "s", 0.7, 0.2) == before[i] for i in range(100))
