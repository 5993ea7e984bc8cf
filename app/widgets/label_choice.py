"""The label source and verdict rule picker shared by the Export, Train and Evaluate windows.

One widget so the three agree with each other and with the CLI's `--labels`,
`--include-rejected` and `--only-accepted` (defaults: curated labels, rejected clips left out).
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QGridLayout, QWidget

from mmla_core.store.label_policy import people_who_labelled

FIXED_SOURCES = (
    ("curated", "Curated (adjudicated, else latest person, else imported)"),
    ("import", "Imported labels only"),
    ("majority", "Majority of raters (ties left out)"),
)


class LabelChoice(QWidget):
    """Label source combo + "Include rejected clips" + "Only accepted clips"."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.source_combo = QComboBox(self, objectName="labelSource")
        for key, text in FIXED_SOURCES:
            self.source_combo.addItem(text, key)
        self.include_rejected = QCheckBox("Include rejected clips", self)
        self.only_accepted = QCheckBox("Only accepted clips", self)
        self.include_rejected.toggled.connect(self._exclusive(self.only_accepted))
        self.only_accepted.toggled.connect(self._exclusive(self.include_rejected))
        # the combo above the two boxes: side by side they widened the Train form past a
        # 1366-px screen's dialog
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.source_combo, 0, 0, 1, 2)
        layout.addWidget(self.include_rejected, 1, 0)
        layout.addWidget(self.only_accepted, 1, 1)
        self.source_combo.currentIndexChanged.connect(self.changed)

    def _exclusive(self, other: QCheckBox):
        def on_toggled(checked: bool) -> None:
            if checked:
                other.setChecked(False)
            self.changed.emit()
        return on_toggled

    def set_annotators(self, names) -> None:
        """Offer `annotator:NAME` for each person who labelled (kept selection if still there)."""
        current = self.source()
        while self.source_combo.count() > len(FIXED_SOURCES):
            self.source_combo.removeItem(self.source_combo.count() - 1)
        for name in names:
            self.source_combo.addItem(f"Only {name}'s labels", f"annotator:{name}")
        self.set_source(current)

    def source(self) -> str:
        return self.source_combo.currentData() or "curated"

    def set_source(self, source: str) -> None:
        index = self.source_combo.findData(source)
        self.source_combo.setCurrentIndex(max(index, 0))

    def selection(self) -> dict:
        """What verdicts.Selection.from_dict takes (and run/job settings store)."""
        return {"labels": self.source(), "include_rejected": self.include_rejected.isChecked(),
                "only_accepted": self.only_accepted.isChecked()}

    def set_selection(self, values: dict | None) -> None:
        values = values or {}
        self.set_source(values.get("labels") or "curated")
        self.include_rejected.setChecked(bool(values.get("include_rejected")))
        self.only_accepted.setChecked(bool(values.get("only_accepted")))


def label_annotators(store, dataset_id: int | None = None) -> list[str]:
    """People who labelled (in the dataset): the names `annotator:NAME` can take."""
    return people_who_labelled(store, dataset_id)
