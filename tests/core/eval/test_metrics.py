"""Our metrics equal scikit-learn's on the same predictions, as MMLA's eval.py calls it."""

import random
import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mmla_core.eval.metrics import (
    COLUMNS,
    Metrics,
    classification_metrics,
    confusion_matrix,
    mmla_round,
    pooled_accuracy,
)

sklearn_metrics = pytest.importorskip("sklearn.metrics")
LABELS = ["neutral", "surprise", "fear", "sadness", "joy", "anger", "disgust"]


def sklearn_reference(y_true, y_pred) -> dict:
    """What MMLA's eval.py computes: no labels=, default zero_division."""
    m = sklearn_metrics
    kw = {"zero_division": 0}
    return {
        "accuracy": m.accuracy_score(y_true, y_pred),
        "macro_f1": m.f1_score(y_true, y_pred, average="macro", **kw),
        "macro_precision": m.precision_score(y_true, y_pred, average="macro", **kw),
        "macro_recall": m.recall_score(y_true, y_pred, average="macro", **kw),
        "weighted_f1": m.f1_score(y_true, y_pred, average="weighted", **kw),
        "weighted_precision": m.precision_score(y_true, y_pred, average="weighted", **kw),
    }


def random_case(rng: random.Random):
    n = rng.randint(1, 200)
    gold_pool = rng.sample(LABELS, rng.randint(1, len(LABELS)))  # some classes never gold
    pred_pool = rng.sample(LABELS, rng.randint(1, len(LABELS)))  # some never predicted
    if rng.random() < 0.5:
        pred_pool += ["unknown", "multi"]  # MMLA's parser outcomes, wrong by construction
    y_true = [rng.choice(gold_pool) for _ in range(n)]
    y_pred = [t if rng.random() < 0.4 else rng.choice(pred_pool) for t in y_true]
    return y_true, y_pred


@pytest.mark.parametrize("seed", range(60))
def test_metrics_equal_sklearn_on_random_predictions(seed):
    y_true, y_pred = random_case(random.Random(seed))
    ours = classification_metrics(y_true, y_pred)
    for name, value in sklearn_reference(y_true, y_pred).items():
        assert getattr(ours, name) == pytest.approx(value, abs=1e-12), name
    assert ours.n == len(y_true)


def test_default_zero_division_matches_sklearn_warning_default():
    y_true, y_pred = ["joy", "joy", "anger"], ["unknown", "unknown", "unknown"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = sklearn_metrics.f1_score(y_true, y_pred, average="macro")
        expected_wp = sklearn_metrics.precision_score(y_true, y_pred, average="weighted")
    assert classification_metrics(y_true, y_pred).weighted_precision == pytest.approx(expected_wp)
    assert classification_metrics(y_true, y_pred).macro_f1 == pytest.approx(expected)
    assert classification_metrics(y_true, y_pred).accuracy == 0.0


def test_explicit_labels_match_sklearn():
    rng = random.Random(7)
    y_true, y_pred = random_case(rng)
    ours = classification_metrics(y_true, y_pred, labels=LABELS)
    expected = sklearn_metrics.f1_score(y_true, y_pred, labels=LABELS, average="macro",
                                        zero_division=0)
    assert ours.macro_f1 == pytest.approx(expected)


@pytest.mark.parametrize("seed", range(10))
def test_confusion_matrix_equals_sklearn(seed):
    y_true, y_pred = random_case(random.Random(seed))
    labels, matrix = confusion_matrix(y_true, y_pred)
    expected = sklearn_metrics.confusion_matrix(y_true, y_pred, labels=labels)
    assert matrix == expected.tolist()
    assert sum(map(sum, matrix)) == len(y_true)


def test_confusion_matrix_keeps_task_order_and_appends_parser_outcomes():
    labels, matrix = confusion_matrix(["joy", "anger", "joy"], ["joy", "multi", "unknown"],
                                      labels=["anger", "joy", "fear"])
    assert labels == ["anger", "joy", "fear", "multi", "unknown"]
    assert matrix[0][3] == 1 and matrix[1][1] == 1 and matrix[1][4] == 1
    assert sum(map(sum, matrix)) == 3


def test_mmla_rounding_and_percent_columns():
    assert mmla_round(0.52546) == 52.55
    m = classification_metrics(["a", "b", "b"], ["a", "b", "a"])
    assert m.percent()["ACC"] == 66.67
    assert list(m.percent()) == ["ACC", "F1", "Precision", "Recall", "WF1", "WP"]
    assert m.correct == 2


def test_pooled_accuracy_is_micro_over_all_samples():
    # two tasks: 60/100 and 10/50 -> 70/150, not the mean of 0.6 and 0.2
    parts = [Metrics(100, 0.6, 0, 0, 0, 0, 0), Metrics(50, 0.2, 0, 0, 0, 0, 0)]
    assert pooled_accuracy(parts) == pytest.approx(70 / 150)
    assert pooled_accuracy([]) is None


def test_pooled_accuracy_reproduces_the_mmla_leaderboard_weighting():
    """GPT-4o zero-shot per-task accuracies weighted by test size give the README's 52.60."""
    sizes = [445, 2033, 2610, 1622, 1998, 1884, 686, 1031, 994, 138, 1129, 1140]
    accs = [63.4, 42.3, 51.2, 45.8, 49.0, 53.6, 87.3, 67.8, 73.1, 55.1, 28.9, 55.0]
    parts = [Metrics(n, a / 100, 0, 0, 0, 0, 0) for n, a in zip(sizes, accs, strict=True)]
    assert sum(sizes) == 15710
    assert mmla_round(pooled_accuracy(parts)) == pytest.approx(52.60, abs=0.03)


def test_empty_and_mismatched_inputs():
    assert classification_metrics([], []).n == 0
    with pytest.raises(ValueError, match="2 gold labels but 1"):
        classification_metrics(["a", "b"], ["a"])


def _precision_tie_case() -> tuple[list[str], list[str]]:
    """8 classes whose precisions are 0, 1/4, 1, 1, 0, 4/5, 1/2, 3/5: macro precision exactly
    0.51875, where sum()/len gives 0.51874999... (51.87) and numpy's pairwise sum 0.51875."""
    precisions = [(0, 1), (1, 4), (1, 1), (1, 1), (0, 1), (4, 5), (1, 2), (3, 5)]
    classes = [f"c{i}" for i in range(len(precisions))]
    y_true, y_pred = [], []
    for i, (hits, predicted) in enumerate(precisions):
        wrong_gold = classes[(i + 1) % len(classes)]  # a miss lands on a class that exists
        y_pred += [classes[i]] * predicted
        y_true += [classes[i]] * hits + [wrong_gold] * (predicted - hits)
    return y_true, y_pred


def test_exact_tie_rounds_like_sklearn_and_mmla_eval():
    y_true, y_pred = _precision_tie_case()
    expected = sklearn_metrics.precision_score(y_true, y_pred, average="macro", zero_division=0)
    assert expected == 0.51875
    ours = classification_metrics(y_true, y_pred)
    assert ours.macro_precision == expected
    assert ours.percent()["Precision"] == round(expected * 100, 2) == 51.88


label_lists = st.integers(1, 120).flatmap(lambda n: st.tuples(
    st.lists(st.sampled_from(LABELS), min_size=n, max_size=n),
    st.lists(st.sampled_from([*LABELS, "unknown", "multi"]), min_size=n, max_size=n)))


@settings(max_examples=50, deadline=None)
@given(label_lists)
def test_rounded_metrics_identical_to_sklearn(lists):
    """Not approximately: every reported number equals sklearn's after MMLA's rounding."""
    y_true, y_pred = lists
    ours = classification_metrics(y_true, y_pred)
    reference = sklearn_reference(y_true, y_pred)
    for name, column in COLUMNS.items():
        assert ours.percent()[column] == round(reference[name] * 100, 2), name
        assert getattr(ours, name) == reference[name], name
