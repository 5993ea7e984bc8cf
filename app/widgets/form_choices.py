"""What the Evaluate and Train forms share: the model / dataset / task / annotator choices and a
dataset's splits, loaded in a runner job, and `row`, several widgets on one form line."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLineEdit, QWidget

from mmla_app.widgets.label_choice import GONE, label_annotators
from mmla_core.store.catalog import list_datasets, list_tasks, tasks_for_dataset
from mmla_core.store.form_choices import (
    first_transcript,
    models_by_name,
    split_counts,
    unfinished_eval_runs,
)


def load_choices(store) -> dict:
    models = models_by_name(store)
    unfinished = unfinished_eval_runs(store, limit=50)
    datasets = [(int(d["id"]), d["name"]) for d in list_datasets(store)]
    return {"models": models, "datasets": datasets, "tasks": list_tasks(store),
            "unfinished": unfinished, "annotators": label_annotators(store)}


def load_dataset_info(store, dataset_id: int) -> dict:
    splits = split_counts(store, dataset_id)
    sample = {split: first_transcript(store, dataset_id, split) for split, _ in splits}
    return {"splits": splits, "sample": sample,
            "tasks": [task.name for _, task in tasks_for_dataset(store, dataset_id)]}


def row(*widgets: QWidget) -> QWidget:
    box = QWidget()
    layout = QHBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    for widget in widgets:
        layout.addWidget(widget, 1 if isinstance(widget, QComboBox | QLineEdit) else 0)
    return box


def refill_keeping(combo: QComboBox, items: list[tuple[str, object]]) -> bool:
    """Replace a combo's items, keeping its choice (none yet: the first item). A chosen item the
    new items lack stays chosen, marked GONE, and True says so: never silently swapped."""
    keep, text = combo.currentData(), combo.currentText()
    combo.clear()
    for item_text, data in items:
        combo.addItem(item_text, data)
    if keep is None or combo.findData(keep) >= 0:
        combo.setCurrentIndex(max(combo.findData(keep), 0))
        return False
    combo.addItem(text if text.endswith(GONE) else text + GONE, keep)
    combo.setCurrentIndex(combo.count() - 1)
    return True
