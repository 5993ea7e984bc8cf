"""Classification metrics exactly as MMLA's `eval.py` computes them with scikit-learn.

MMLA calls `accuracy_score` and `precision/recall/f1_score(average='macro'|'weighted')` with no
`labels=`, so the classes are the sorted union of gold and predicted labels: a generated answer
parsed as `unknown` or `multi` is a class of its own that no gold label has (precision 0,
recall 0, weight 0 in the weighted averages, but it does pull the macro averages down). Ill-
defined ratios count as 0 (scikit-learn's default `zero_division`). Reported numbers are x100
rounded to 2 decimals. No scikit-learn at run time: the tests check equality against it.

Averages are taken the way scikit-learn takes them (`np.average` over float64 arrays), not with
`sum()/len`: numpy sums 8 or more values pairwise, so the last bit can differ, and at an exact
tie of the third decimal (a macro precision of 0.51875) that bit decides 51.87 against MMLA's
51.88.

The leaderboard's overall accuracy is pooled: micro accuracy over all test samples of all tasks,
i.e. the per-task accuracies weighted by test size (seeds_systems.md 1.7).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

# MMLA's names, in its order, for what `Metrics.percent()` reports (eval.py's `results_dict`)
COLUMNS = {"accuracy": "ACC", "macro_f1": "F1", "macro_precision": "Precision",
           "macro_recall": "Recall", "weighted_f1": "WF1", "weighted_precision": "WP"}


@dataclass(frozen=True)
class Metrics:
    """Fractions in [0, 1]; `percent()` gives MMLA's x100, 2-decimal numbers."""

    n: int
    accuracy: float
    macro_f1: float
    macro_precision: float
    macro_recall: float
    weighted_f1: float
    weighted_precision: float

    @property
    def correct(self) -> int:
        return round(self.accuracy * self.n)

    def percent(self) -> dict[str, float]:
        values = asdict(self)
        return {column: mmla_round(values[name]) for name, column in COLUMNS.items()}


def mmla_round(fraction: float) -> float:
    """x100 rounded to 2 decimals, as MMLA writes results.csv: Python's `round` on the float
    scikit-learn returns (recent scikit-learn returns a Python float, not an np.float64, whose
    `round` would be numpy's multiply-rint-divide)."""
    return round(float(fraction) * 100, 2)


def class_labels(y_true: Sequence, y_pred: Sequence) -> list:
    """scikit-learn's `unique_labels`: the sorted union of gold and predicted labels."""
    return sorted(set(y_true) | set(y_pred))


@dataclass(frozen=True)
class _PerClass:
    precision: list[float]
    recall: list[float]
    f1: list[float]
    support: list[int]


def _per_class(y_true: Sequence, y_pred: Sequence, labels: Sequence) -> _PerClass:
    hits = Counter(t for t, p in zip(y_true, y_pred, strict=True) if t == p)
    true_counts, pred_counts = Counter(y_true), Counter(y_pred)
    precision, recall, f1 = [], [], []
    for label in labels:
        tp, n_pred, n_true = hits[label], pred_counts[label], true_counts[label]
        precision.append(tp / n_pred if n_pred else 0.0)
        recall.append(tp / n_true if n_true else 0.0)
        denominator = n_pred + n_true  # 2tp + fp + fn
        f1.append(2 * tp / denominator if denominator else 0.0)
    return _PerClass(precision, recall, f1, [true_counts[label] for label in labels])


def _weighted(values: list[float], weights: list[int]) -> float:
    """scikit-learn's weighted average: np.average with the class supports as weights."""
    if not sum(weights):
        return 0.0
    return float(np.average(np.asarray(values, dtype=np.float64), weights=np.asarray(weights)))


def _mean(values: list[float]) -> float:
    """scikit-learn's macro average: np.average (pairwise summation), not sum()/len."""
    return float(np.average(np.asarray(values, dtype=np.float64))) if values else 0.0


def classification_metrics(y_true: Sequence, y_pred: Sequence,
                           labels: Sequence | None = None) -> Metrics:
    """Accuracy, macro P/R/F1, weighted P/F1 of predictions against gold labels.

    `labels=None` is MMLA's (and scikit-learn's) default: the union of both sides.
    """
    if len(y_true) != len(y_pred):
        raise ValueError(f"{len(y_true)} gold labels but {len(y_pred)} predictions")
    n = len(y_true)
    if n == 0:
        return Metrics(0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    classes = list(labels) if labels is not None else class_labels(y_true, y_pred)
    per = _per_class(y_true, y_pred, classes)
    accuracy = sum(t == p for t, p in zip(y_true, y_pred, strict=True)) / n
    return Metrics(
        n=n, accuracy=accuracy, macro_f1=_mean(per.f1), macro_precision=_mean(per.precision),
        macro_recall=_mean(per.recall), weighted_f1=_weighted(per.f1, per.support),
        weighted_precision=_weighted(per.precision, per.support),
    )


def confusion_matrix(y_true: Sequence, y_pred: Sequence,
                     labels: Sequence | None = None) -> tuple[list, list[list[int]]]:
    """(labels, matrix): matrix[i][j] = samples of gold labels[i] predicted as labels[j].

    Predicted labels outside `labels` (unknown, multi) get their own columns and rows at the end,
    so every sample is counted somewhere.
    """
    order = list(labels) if labels is not None else class_labels(y_true, y_pred)
    known = set(order)
    order += sorted({x for x in (*y_true, *y_pred) if x not in known})
    index = {label: i for i, label in enumerate(order)}
    matrix = [[0] * len(order) for _ in order]
    for t, p in zip(y_true, y_pred, strict=True):
        matrix[index[t]][index[p]] += 1
    return order, matrix


def pooled_accuracy(parts: Iterable[Metrics]) -> float | None:
    """Micro accuracy over several tasks' test sets: per-task accuracy weighted by size."""
    parts = list(parts)
    total = sum(m.n for m in parts)
    return sum(m.accuracy * m.n for m in parts) / total if total else None
