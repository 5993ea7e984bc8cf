"""Inter-annotator agreement: Cohen's kappa for two annotators, Fleiss' kappa for three or more.

Both are chance-corrected: kappa = (P_o - P_e) / (1 - P_e). Only clips rated by *every* chosen
annotator count (Fleiss' kappa assumes the same number of raters per item). Where P_e = 1 (all
ratings fall in one category) kappa is undefined, reported as None with a note, never as a
made-up 1.0 or 0.0. Per task the ratings are labels; per check they are yes / no / unsure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from mmla_core.store.annotator_work import (
    check_answers_of,
    labels_of,
    rater_names,
    tasks_in_dataset,
)
from mmla_core.store.checks import dataset_checks
from mmla_core.store.db import Store
from mmla_core.store.label_policy import ADJUDICATED_PREFIX, resolve_labels
from mmla_core.store.task_rows import task_names_by_id

NO_OVERLAP = "no clip was rated by all chosen annotators"
ONE_CATEGORY = "every rating is the same category: kappa is undefined"
_STRENGTH = ((0.0, "poor"), (0.2, "slight"), (0.4, "fair"), (0.6, "moderate"),
             (0.8, "substantial"), (1.0, "almost perfect"))


class AgreementError(ValueError):
    """Agreement asked of fewer than two annotators, or of an unknown task/dataset."""


@dataclass(frozen=True)
class Kappa:
    method: str                 # cohen | fleiss
    items: int
    kappa: float | None
    observed: float | None      # P_o: observed agreement
    expected: float | None      # P_e: agreement expected by chance
    note: str = ""

    @property
    def strength(self) -> str:
        """Landis & Koch's words for the value (poor ... almost perfect)."""
        if self.kappa is None:
            return ""
        if self.kappa < 0:
            return "poor"
        return next(word for bound, word in _STRENGTH[1:] if self.kappa <= bound)


def _encode(*columns: Sequence) -> tuple[np.ndarray, list]:
    categories = sorted({v for col in columns for v in col}, key=str)
    index = {c: i for i, c in enumerate(categories)}
    codes = np.array([[index[v] for v in col] for col in columns], dtype=np.int64)
    return codes, categories


def cohen_kappa(a: Sequence, b: Sequence) -> Kappa:
    """Cohen's kappa of two raters' labels for the same items (in the same order)."""
    if len(a) != len(b):
        raise AgreementError(f"the two raters rated {len(a)} and {len(b)} items")
    n = len(a)
    if n == 0:
        return Kappa("cohen", 0, None, None, None, NO_OVERLAP)
    codes, categories = _encode(a, b)
    k = len(categories)
    table = np.zeros((k, k), dtype=np.float64)
    np.add.at(table, (codes[0], codes[1]), 1.0)
    table /= n
    observed = float(np.trace(table))
    expected = float(table.sum(axis=1) @ table.sum(axis=0))
    return _kappa("cohen", n, observed, expected)


def fleiss_kappa(counts: np.ndarray | Sequence[Sequence[int]]) -> Kappa:
    """Fleiss' kappa from an items x categories table of how many raters chose each category.

    Every row must sum to the same number of raters (at least two).
    """
    table = np.asarray(counts, dtype=np.float64)
    if table.ndim != 2 or table.shape[0] == 0:
        return Kappa("fleiss", 0, None, None, None, NO_OVERLAP)
    raters = table.sum(axis=1)
    if not np.allclose(raters, raters[0]) or raters[0] < 2:
        raise AgreementError("Fleiss' kappa needs the same number (>= 2) of raters per item")
    n_items, m = table.shape[0], raters[0]
    per_item = ((table * table).sum(axis=1) - m) / (m * (m - 1))
    shares = table.sum(axis=0) / (n_items * m)
    return _kappa("fleiss", n_items, float(per_item.mean()), float(shares @ shares))


def fleiss_from_ratings(ratings: Sequence[Sequence]) -> Kappa:
    """Fleiss' kappa from one row of ratings per item (one value per rater)."""
    if not ratings:
        return Kappa("fleiss", 0, None, None, None, NO_OVERLAP)
    codes, categories = _encode(*ratings)
    table = np.zeros((len(ratings), len(categories)), dtype=np.int64)
    for row, item_codes in enumerate(codes):
        np.add.at(table[row], item_codes, 1)
    return fleiss_kappa(table)


def kappa_for(ratings: Sequence[Sequence], raters: int | None = None) -> Kappa:
    """Cohen's kappa when each item has two ratings, Fleiss' kappa for three or more.
    `raters`: how many annotators were chosen, so that two with no clip in common still
    read "cohen" (the method the user guide promises for two), not "fleiss"."""
    raters = raters or (len(ratings[0]) if ratings else 0)
    if raters == 2:
        return cohen_kappa([r[0] for r in ratings], [r[1] for r in ratings])
    return fleiss_from_ratings(ratings)


def _kappa(method: str, items: int, observed: float, expected: float) -> Kappa:
    if np.isclose(expected, 1.0):
        return Kappa(method, items, None, observed, expected, ONE_CATEGORY)
    return Kappa(method, items, (observed - expected) / (1.0 - expected), observed, expected)


# --- a dataset's labels and checks --------------------------------------------------------------

@dataclass(frozen=True)
class Disagreement:
    clip_id: int
    external_id: str
    kind: str                   # task | check
    name: str                   # task name or check key
    values: dict[str, str]      # annotator -> label / answer
    curated: str | None = None  # task: the curated label now (store.label_policy)
    adjudicated: bool = False   # task: that label is an adjudication


@dataclass(frozen=True)
class AgreementRow:
    kind: str                   # task | check
    name: str
    kappa: Kappa
    disagreements: int


@dataclass
class AgreementReport:
    dataset_id: int
    annotators: list[str]
    rows: list[AgreementRow] = field(default_factory=list)
    disagreements: list[Disagreement] = field(default_factory=list)


def annotators_for_dataset(store: Store, dataset_id: int) -> list[str]:
    """Everyone who labelled or answered a check in the dataset (source labels as 'import');
    adjudications (`adjudicated:NAME` rows) settle disagreements, they are not a rater."""
    return rater_names(store, dataset_id, leave_out_prefix=ADJUDICATED_PREFIX)


def dataset_agreement(store: Store, dataset_id: int, annotators: Sequence[str], *,
                      task: str | None = None, checks: bool = True) -> AgreementReport:
    """Kappa per task (and per check unless `task` is given or `checks` is False)."""
    chosen = list(dict.fromkeys(a for a in annotators if a))
    if len(chosen) < 2:
        raise AgreementError(f"agreement needs at least two annotators, got {chosen}")
    report = AgreementReport(dataset_id, chosen)
    for name, ratings in _task_ratings(store, dataset_id, chosen, task).items():
        _add(report, "task", name, ratings)
    if checks and task is None:
        for name, ratings in _check_ratings(store, dataset_id, chosen).items():
            _add(report, "check", name, ratings)
    _with_curated(store, report)
    return report


def _with_curated(store: Store, report: AgreementReport) -> None:
    """Each task disagreement with its curated label now (adjudicated or not)."""
    if not any(d.kind == "task" for d in report.disagreements):
        return
    names = {name: task_id for task_id, name in task_names_by_id(store).items()}
    curated = resolve_labels(store, dataset_id=report.dataset_id)
    report.disagreements = [
        d if d.kind != "task" else replace(
            d, curated=curated.get(d.clip_id, names[d.name]),
            adjudicated=curated.kinds.get((d.clip_id, names[d.name])) == "adjudicated")
        for d in report.disagreements]


def _add(report: AgreementReport, kind: str, name: str,
         ratings: dict[tuple[int, str], dict[str, str]]) -> None:
    """Score the clips every annotator rated; list those where they differ."""
    who = report.annotators
    complete = {clip: by for clip, by in ratings.items() if all(a in by for a in who)}
    rows = [[by[a] for a in who] for by in complete.values()]
    differing = [(clip, by) for clip, by in complete.items() if len(set(by.values())) > 1]
    report.rows.append(AgreementRow(kind, name, kappa_for(rows, len(who)), len(differing)))
    report.disagreements += [
        Disagreement(cid, ext, kind, name, {a: by[a] for a in who}) for (cid, ext), by in differing
    ]


def _task_ratings(store: Store, dataset_id: int, annotators: list[str],
                  task: str | None) -> dict[str, dict[tuple[int, str], dict[str, str]]]:
    task_rows = tasks_in_dataset(store, dataset_id)
    if task is not None:
        task_rows = [r for r in task_rows if r["name"] == task]
        if not task_rows:
            raise AgreementError(f"task {task!r} is not used in this dataset")
    result: dict[str, dict[tuple[int, str], dict[str, str]]] = {r["name"]: {} for r in task_rows}
    names = {r["id"]: r["name"] for r in task_rows}
    for task_id, clip_id, ext, annotator, label in labels_of(store, dataset_id, annotators):
        if task_id in names:
            result[names[task_id]].setdefault((clip_id, ext), {})[annotator] = label
    return result


def _check_ratings(store: Store, dataset_id: int,
                   annotators: list[str]) -> dict[str, dict[tuple[int, str], dict[str, str]]]:
    result: dict[str, dict[tuple[int, str], dict[str, str]]] = {
        c.key: {} for c in dataset_checks(store, dataset_id)
    }
    for key, clip_id, ext, annotator, answer in check_answers_of(store, dataset_id, annotators):
        result.setdefault(key, {}).setdefault((clip_id, ext), {})[annotator] = answer
    return result
