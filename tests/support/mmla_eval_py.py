"""MMLA's own evaluation code (`src/Zero-shot_Inference/eval.py`), run as it is written.

tests/data/mmla_records/eval_py_*.txt hold its `labels_map`, `clean()` and `cal_metrics()`
copied verbatim (sources in tests/data/mmla_records/README.md). They are executed here with
scikit-learn's metrics, as eval.py imports them, and with `Frame`, which offers exactly what
those two functions touch of a pandas DataFrame (`len`, `df.loc[i, column]`, `df[column] = `),
so no pandas is needed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from tests.support.mmla_records import RECORDS


class Frame:
    """The part of a pandas DataFrame that eval.py's clean() and cal_metrics() use."""

    def __init__(self, **columns: Sequence) -> None:
        self.columns = {name: list(values) for name, values in columns.items()}
        self.loc = _Loc(self)

    def __len__(self) -> int:
        return len(next(iter(self.columns.values())))

    def __setitem__(self, name: str, values: Sequence) -> None:
        self.columns[name] = list(values)

    def __getitem__(self, name: str) -> list:
        return self.columns[name]


class _Loc:
    def __init__(self, frame: Frame) -> None:
        self.frame = frame

    def __getitem__(self, key: tuple[int, str]):
        row, column = key
        return self.frame.columns[column][row]


def _run(file_name: str, scope: dict) -> dict:
    exec((RECORDS / file_name).read_text(encoding="utf-8"), scope)  # MMLA's code, verbatim
    return scope


def labels_map() -> dict[str, dict[str, list[str]]]:
    return _run("eval_py_labels_map.txt", {})["labels_map"]


def clean(predictions: Sequence[str], gold: Sequence[str], dataset: str, task: str) -> list[str]:
    """eval.py's clean() on these predictions: the label, "unknown" or "multi" for each."""
    scope = _run("eval_py_clean.txt", {"re": re, "tqdm": lambda items: items})
    frame = Frame(Pred=predictions, Label=gold)
    return scope["clean"](frame, dataset, task, labels_map())["pred_processed"]


def cal_metrics(gold: Sequence[str], parsed: Sequence[str]) -> dict[str, float]:
    """eval.py's cal_metrics(): its results_dict, keys in its order."""
    from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

    scope = _run("eval_py_cal_metrics.txt", {
        "accuracy_score": accuracy_score, "f1_score": f1_score,
        "precision_score": precision_score, "recall_score": recall_score,
        "print": lambda *args, **kwargs: None})
    return scope["cal_metrics"](Frame(pred_processed=parsed, Label=gold))
