"""The agreement metrics as pure functions: hand-computed cases, then scikit-learn and `krippendorff` on random data."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from curation.agreement import (
    Agreement, cohen_kappa, krippendorff_alpha_nominal, prf, span_counts, token_labels,
)
from projects.spans import disagreement

# Hand-computed ------------------------------------------------------------------------------------


def test_span_counts_need_exact_boundaries_and_label():
    a = [(0, 5, "GPE"), (9, 12, "ORG"), (20, 25, "PER")]
    b = [(0, 5, "GPE"), (9, 12, "GPE"), (20, 24, "PER")]
    assert span_counts(a, b) == {"GPE": [1, 1, 0], "ORG": [0, 0, 1], "PER": [0, 1, 1]}


def test_precision_recall_f1_from_counts_and_undefined_ratios_are_none():
    assert prf(1, 2, 1) == {"precision": 1 / 3, "recall": 1 / 2, "f1": 2 / 5, "tp": 1, "fp": 2, "fn": 1}
    assert prf(0, 0, 0) == {"precision": None, "recall": None, "f1": None, "tp": 0, "fp": 0, "fn": 0}
    assert prf(0, 0, 3)["precision"] is None and prf(0, 0, 3)["recall"] == 0.0


def test_token_labels_take_the_longest_covering_span_or_o():
    tokens = [(0, 4), (5, 9), (10, 14), (15, 19)]
    assert token_labels(tokens, []) == ["O", "O", "O", "O"]
    assert token_labels(tokens, [(5, 14, "ORG"), (10, 14, "GPE")]) == ["O", "ORG", "ORG", "O"]
    assert token_labels(tokens, [(10, 14, "GPE"), (5, 14, "ORG")]) == ["O", "ORG", "ORG", "O"]


def test_cohen_kappa_of_a_hand_computed_table():
    # 10 tokens: 4 agree on O, 3 on PER, 1 O/PER, 2 PER/O.
    # p_o = 0.7; a: O 5, PER 5; b: O 6, PER 4; p_e = (5*6 + 5*4) / 100 = 0.5; kappa = 0.2 / 0.5 = 0.4
    a = ["O"] * 4 + ["PER"] * 3 + ["O"] + ["PER"] * 2
    b = ["O"] * 4 + ["PER"] * 3 + ["PER"] + ["O"] * 2
    assert cohen_kappa(a, b) == pytest.approx(0.4)
    assert cohen_kappa(["O", "O"], ["O", "O"]) is None  # chance agreement is total: undefined


def test_krippendorff_alpha_of_a_hand_computed_case():
    # Three units, two coders: (a, a), (a, b), (b, b). o_aa = 2, o_ab = o_ba = 1, o_bb = 2, n = 6,
    # n_a = n_b = 3; alpha = 1 - (n - 1) * D_o / D_e = 1 - 5 * 2 / 18 = 4/9.
    assert krippendorff_alpha_nominal([["a", "a"], ["a", "b"], ["b", "b"]]) == pytest.approx(4 / 9)
    # A unit with one value is not pairable and changes nothing.
    assert krippendorff_alpha_nominal([["a", "a"], ["a", "b"], ["b", "b"], ["a", None]]) == pytest.approx(4 / 9)
    assert krippendorff_alpha_nominal([["a", "a"], ["a", "a"]]) is None


def test_disagreement_is_one_minus_mean_pairwise_f1():
    same = {(0, 5, "GPE")}
    assert disagreement([same, same]) == 0.0
    assert disagreement([{(0, 5, "GPE")}, {(0, 5, "LOC")}]) == 1.0
    assert disagreement([set(), set()]) == 0.0
    # Pairs: (A, B) F1 = 2*1/(2+1) = 2/3; (A, C) = 1; (B, C) = 2/3: mean 7/9.
    a, b = {(0, 5, "X"), (6, 9, "Y")}, {(0, 5, "X")}
    assert disagreement([a, b, set(a)]) == pytest.approx(1 - 7 / 9)
    assert disagreement([a]) == 0.0


def test_agreement_of_two_annotators_on_one_document_by_hand():
    tokens = [(0, 5), (6, 11), (12, 16), (17, 22)]  # "Rebel Assad left Homsx"
    agreement = Agreement()
    agreement.add_document({"ann": [(6, 11, "PER"), (17, 22, "GPE")], "bob": [(6, 11, "PER"), (17, 22, "LOC")]},
                           tokens)
    agreement.add_document({"ann": [(0, 5, "PER")]}, tokens)  # one annotator: not counted
    result = agreement.result()
    assert result["documents"] == 1 and result["annotators"] == ["ann", "bob"]
    assert result["spans"]["overall"] == prf(1, 1, 1)
    assert result["spans"]["per_label"] == {"GPE": prf(0, 0, 1), "LOC": prf(0, 1, 0), "PER": prf(1, 0, 0)}
    (pair,) = result["spans"]["pairs"]
    assert pair["annotators"] == ["ann", "bob"] and pair["f1"] == pytest.approx(0.5)
    # Tokens: O/O, PER/PER, O/O, GPE/LOC: p_o = 3/4; p_e = (2*2 + 1*1 + 1*0 + 0*1) / 16 = 5/16.
    (kappa,) = result["kappa"]
    assert kappa["tokens"] == 4 and kappa["kappa"] == pytest.approx((3 / 4 - 5 / 16) / (1 - 5 / 16))
    assert result["per_annotator"][0] == {"annotator": "ann", "f1": pytest.approx(0.5),
                                          "kappa": pytest.approx(kappa["kappa"])}


def test_relation_agreement_needs_the_same_head_tail_and_label_by_hand():
    assad, homs, iran = (6, 11, "PER"), (17, 22, "GPE"), (30, 34, "GPE")
    spans = [assad, homs, iran]
    agreement = Agreement()
    agreement.add_document({"ann": spans, "bob": spans, "cat": spans}, None, {
        "ann": [(assad, homs, "located_in"), (assad, iran, "ally_of")],
        "bob": [(assad, homs, "located_in"), (iran, assad, "ally_of")],  # the same spans, the other way round
        "cat": [(assad, homs, "born_in")],  # the same spans, another label
    })
    result = agreement.result()
    assert result["spans"]["overall"]["f1"] == 1.0  # they agree on every span
    relations = result["relations"]
    pairs = {tuple(p["annotators"]): p for p in relations["pairs"]}
    # ann-bob: located_in agrees; ally_of differs in direction: tp 1, fp 1, fn 1.
    assert pairs["ann", "bob"] | {"per_label": None} == {"annotators": ["ann", "bob"], "documents": 1,
                                                         **prf(1, 1, 1), "per_label": None}
    # ann-cat: nothing agrees: tp 0, fp 1 (born_in), fn 2.   bob-cat: tp 0, fp 1, fn 2.
    assert (pairs["ann", "cat"]["tp"], pairs["ann", "cat"]["fp"], pairs["ann", "cat"]["fn"]) == (0, 1, 2)
    assert relations["overall"] == prf(1, 3, 5)
    assert relations["per_label"] == {"ally_of": prf(0, 1, 3), "born_in": prf(0, 2, 0), "located_in": prf(1, 0, 2)}


# Against the reference implementations ----------------------------------------------------------------

@pytest.mark.parametrize("seed", range(20))
def test_cohen_kappa_matches_scikit_learn_on_random_labels(seed):
    from sklearn.metrics import cohen_kappa_score

    rng = random.Random(seed)
    labels = ["O", "PER", "ORG", "GPE"][: rng.randint(2, 4)]
    n = rng.randint(5, 400)
    a = [rng.choice(labels) for _ in range(n)]
    b = [x if rng.random() < rng.random() else rng.choice(labels) for x in a]
    ours = cohen_kappa(a, b)
    theirs = cohen_kappa_score(a, b)
    if math.isnan(theirs):
        assert ours is None
    else:
        assert ours == pytest.approx(theirs, abs=1e-12)


@pytest.mark.parametrize("seed", range(20))
def test_krippendorff_alpha_matches_the_krippendorff_package_on_random_data(seed):
    import krippendorff

    rng = random.Random(seed)
    coders, units, values = rng.randint(2, 6), rng.randint(5, 200), rng.randint(2, 5)
    truth = [rng.randrange(values) for _ in range(units)]
    data = [[(t if rng.random() < 0.7 else rng.randrange(values)) if rng.random() > 0.2 else None for t in truth]
            for _ in range(coders)]
    ours = krippendorff_alpha_nominal([[row[u] for row in data] for u in range(units)])
    matrix = np.array([[np.nan if v is None else v for v in row] for row in data], dtype=float)
    theirs = krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal")
    assert ours == pytest.approx(theirs, abs=1e-9)


def test_pairwise_kappa_and_alpha_of_the_accumulator_match_the_references_on_random_documents():
    import krippendorff
    from sklearn.metrics import cohen_kappa_score

    rng = random.Random(7)
    names = ["ann", "bob", "cat"]
    agreement = Agreement()
    streams = {pair: ([], []) for pair in [("ann", "bob"), ("ann", "cat"), ("bob", "cat")]}
    columns = []  # alpha's units: one per (document, token), a value per annotator or missing
    for _ in range(30):
        n_tokens = rng.randint(3, 30)
        tokens = [(i * 3, i * 3 + 2) for i in range(n_tokens)]
        truth = [rng.choice(["PER", "ORG", None, None]) for _ in range(n_tokens)]
        annotators = rng.sample(names, rng.randint(1, 3))
        spans = {}
        for name in annotators:
            spans[name] = [(s, e, label if rng.random() < 0.8 else rng.choice(["PER", "ORG"]))
                           for (s, e), label in zip(tokens, truth) if label and rng.random() < 0.9]
        agreement.add_document(spans, tokens)
        if len(annotators) < 2:
            continue
        labels = {name: token_labels(tokens, spans[name]) for name in annotators}
        for (a, b), (xs, ys) in streams.items():
            if a in labels and b in labels:
                xs.extend(labels[a])
                ys.extend(labels[b])
        for i in range(n_tokens):
            columns.append([labels[name][i] if name in labels else None for name in names])
    result = agreement.result()
    for row in result["kappa"]:
        xs, ys = streams[tuple(row["annotators"])]
        assert row["tokens"] == len(xs)
        assert row["kappa"] == pytest.approx(cohen_kappa_score(xs, ys), abs=1e-12)
    code = {"O": 0, "PER": 1, "ORG": 2}
    matrix = np.array([[np.nan if c[i] is None else code[c[i]] for c in columns] for i in range(len(names))])
    assert result["alpha"] == pytest.approx(krippendorff.alpha(reliability_data=matrix,
                                                               level_of_measurement="nominal"), abs=1e-9)
