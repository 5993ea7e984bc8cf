"""Cohen's and Fleiss' kappa against textbook examples, broken inputs, and a dataset report."""

from __future__ import annotations

import numpy as np
import pytest

from mmla_core.eval.agreement import (
    NO_OVERLAP,
    ONE_CATEGORY,
    AgreementError,
    annotators_for_dataset,
    cohen_kappa,
    dataset_agreement,
    fleiss_from_ratings,
    fleiss_kappa,
    kappa_for,
)
from mmla_core.store.catalog import task_by_name
from mmla_core.store.labels import set_check_answer, set_label

# Fleiss (1971) as worked on Wikipedia's "Fleiss' kappa" page: 10 subjects, 14 raters,
# 5 categories; P-bar = 0.378, P-bar-e = 0.213, kappa = 0.210.
FLEISS_TABLE = [
    [0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7],
]


def pairs(yes_yes: int, yes_no: int, no_yes: int, no_no: int) -> tuple[list[str], list[str]]:
    """Two raters' labels from a 2x2 table (rows: rater A, columns: rater B)."""
    cells = [("yes", "yes")] * yes_yes + [("yes", "no")] * yes_no + [("no", "yes")] * no_yes \
        + [("no", "no")] * no_no
    return [a for a, _ in cells], [b for _, b in cells]


# --- textbook values ---------------------------------------------------------------------------

def test_cohen_matches_the_wikipedia_worked_example():
    k = cohen_kappa(*pairs(20, 5, 10, 15))  # 50 grant proposals
    assert k.method == "cohen" and k.items == 50
    assert k.observed == pytest.approx(0.7)
    assert k.expected == pytest.approx(0.5)
    assert k.kappa == pytest.approx(0.4)
    assert k.strength == "fair"


@pytest.mark.parametrize(("table", "expected"), [
    ((45, 15, 25, 15), 0.1304), ((25, 35, 5, 35), 0.2593),  # same P_o = 0.6, different kappa
])
def test_cohen_same_agreement_different_marginals(table, expected):
    k = cohen_kappa(*pairs(*table))
    assert k.observed == pytest.approx(0.6)
    assert k.kappa == pytest.approx(expected, abs=1e-4)


def test_fleiss_matches_the_fleiss_1971_worked_example():
    k = fleiss_kappa(FLEISS_TABLE)
    assert k.method == "fleiss" and k.items == 10
    assert k.observed == pytest.approx(0.378, abs=1e-3)
    assert k.expected == pytest.approx(0.213, abs=1e-3)
    assert k.kappa == pytest.approx(0.210, abs=1e-3)


def test_fleiss_from_ratings_equals_the_count_table():
    ratings = []
    for row in FLEISS_TABLE:
        ratings.append([cat for cat, n in enumerate(row) for _ in range(n)])
    assert fleiss_from_ratings(ratings).kappa == pytest.approx(fleiss_kappa(FLEISS_TABLE).kappa)


def test_perfect_and_systematic_disagreement():
    assert cohen_kappa(["a", "b", "c"], ["a", "b", "c"]).kappa == pytest.approx(1.0)
    assert cohen_kappa(["a", "b"], ["b", "a"]).kappa == pytest.approx(-1.0)
    assert fleiss_from_ratings([["x", "x", "x"], ["y", "y", "y"]]).kappa == pytest.approx(1.0)
    assert cohen_kappa(["a", "b"], ["b", "a"]).strength == "poor"


def test_kappa_for_picks_cohen_for_two_raters_and_fleiss_for_more():
    assert kappa_for([("a", "a"), ("b", "a")]).method == "cohen"
    assert kappa_for([("a", "a", "b"), ("b", "b", "b")]).method == "fleiss"


# --- broken inputs -------------------------------------------------------------------------------

def test_no_overlap_gives_no_kappa_and_says_why():
    for k in (cohen_kappa([], []), fleiss_from_ratings([]), fleiss_kappa(np.zeros((0, 3))),
              kappa_for([])):
        assert k.kappa is None and k.items == 0 and k.note == NO_OVERLAP


def test_constant_labels_make_kappa_undefined_not_one():
    k = cohen_kappa(["joy"] * 5, ["joy"] * 5)
    assert k.kappa is None and k.observed == pytest.approx(1.0) and k.note == ONE_CATEGORY
    assert fleiss_from_ratings([["no"] * 3] * 4).kappa is None


def test_each_rater_constant_but_different_is_zero():
    assert cohen_kappa(["a"] * 4, ["b"] * 4).kappa == pytest.approx(0.0)


def test_malformed_rating_tables_are_refused():
    with pytest.raises(AgreementError, match="rated 2 and 1"):
        cohen_kappa(["a", "b"], ["a"])
    with pytest.raises(AgreementError, match="same number"):
        fleiss_kappa([[2, 0], [1, 2]])
    with pytest.raises(AgreementError, match="same number"):
        fleiss_kappa([[1, 0], [0, 1]])  # one rater per item


# --- a dataset ----------------------------------------------------------------------------------

@pytest.fixture
def store(demo_store):
    return demo_store


def label_all(store, annotator: str, labels: list[str]) -> None:
    meld = task_by_name(store, "MELD")[0]
    for clip_id, label in enumerate(labels, start=1):
        set_label(store, clip_id, meld, label, annotator)


def test_one_annotator_is_refused(store):
    with pytest.raises(AgreementError, match="at least two"):
        dataset_agreement(store, 1, ["alice"])
    with pytest.raises(AgreementError, match="at least two"):
        dataset_agreement(store, 1, ["alice", "alice", ""])


def test_two_annotators_per_task_and_check_with_disagreements(store):
    label_all(store, "alice", ["joy", "anger", "sadness", "joy"])
    label_all(store, "bob", ["joy", "anger", "joy", "joy", "fear"])  # clip 5: bob only
    for clip_id, (a, b) in enumerate([("yes", "yes"), ("no", "yes")], start=1):
        set_check_answer(store, clip_id, "visual_only", a, "alice")
        set_check_answer(store, clip_id, "visual_only", b, "bob")
    report = dataset_agreement(store, 1, ["alice", "bob"])
    rows = {(r.kind, r.name): r for r in report.rows}
    meld = rows[("task", "MELD")]
    assert meld.kappa.method == "cohen" and meld.kappa.items == 4 and meld.disagreements == 1
    expected = cohen_kappa(["joy", "anger", "sadness", "joy"], ["joy", "anger", "joy", "joy"])
    assert meld.kappa.kappa == pytest.approx(expected.kappa)
    assert rows[("task", "MIntRec")].kappa.note == NO_OVERLAP
    # two annotators: Cohen's, even where they share no clip (the row said "fleiss")
    assert {r.kappa.method for r in report.rows} == {"cohen"}
    assert rows[("check", "visual_only")].kappa.items == 2
    assert rows[("check", "audio_only")].kappa.items == 0
    assert {(d.clip_id, d.name) for d in report.disagreements} == {(3, "MELD"), (2, "visual_only")}
    d = next(d for d in report.disagreements if d.name == "MELD")
    assert d.external_id == "demo_03" and d.values == {"alice": "sadness", "bob": "joy"}


def test_three_annotators_use_fleiss_and_the_source_labels_can_join(store):
    label_all(store, "alice", ["joy", "anger", "sadness"])
    label_all(store, "bob", ["joy", "anger", "joy"])
    label_all(store, "carol", ["joy", "anger", "sadness"])
    report = dataset_agreement(store, 1, ["alice", "bob", "carol"], task="MELD")
    assert [r.name for r in report.rows] == ["MELD"]  # a task filter leaves the checks out
    assert report.rows[0].kappa.method == "fleiss" and report.rows[0].kappa.items == 3
    with_source = dataset_agreement(store, 1, ["alice", "import"], task="MELD")
    assert with_source.rows[0].kappa.items == 3
    assert set(annotators_for_dataset(store, 1)) == {"alice", "bob", "carol", "import"}
    with pytest.raises(AgreementError, match="not used"):
        dataset_agreement(store, 1, ["alice", "bob"], task="MOSI")
