"""The label source and verdict rule picker shared by the Export, Train and Evaluate windows.

One widget so the three agree with each other and with the CLI's `--labels`,
`--include-rejected` and `--only-accepted` (defaults: curated labels, rejected clips left out).
A person's choice is never swapped for another one silently: an `annotator:NAME` source the
project lost while a form is open (the labels deleted, the dataset removed) stays chosen, is
marked "(no longer in the project)" and a line under the combo says so; the run or export it
starts then fails with the core's own message rather than using curated labels instead.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QGridLayout, QLabel, QWidget

from mmla_core.store.label_policy import ANNOTATOR_PREFIX, people_who_labelled

FIXED_SOURCES = (
    ("curated", "Curated (adjudicated, else latest person, else imported)"),
    ("import", "Imported labels only"),
    ("majority", "Majority of raters (ties left out)"),
)
GONE = " (no longer in the project)"
WARNING_STYLE = "color: #c8453b;"


def _person(source: str) -> str | None:
    return source.removeprefix(ANNOTATOR_PREFIX) if source.startswith(ANNOTATOR_PREFIX) else None


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
        self.lost_note = QLabel(self, wordWrap=True, objectName="labelSourceLost")
        self.lost_note.setStyleSheet(WARNING_STYLE)
        self.lost_note.setVisible(False)
        layout.addWidget(self.lost_note, 2, 0, 1, 2)
        self._people: list[str] | None = None  # None until the project's list first arrives
        self.source_combo.currentIndexChanged.connect(self._show_lost)
        self.source_combo.currentIndexChanged.connect(self.changed)

    def _exclusive(self, other: QCheckBox):
        def on_toggled(checked: bool) -> None:
            if checked:
                other.setChecked(False)
            self.changed.emit()
        return on_toggled

    def set_annotators(self, names) -> str | None:
        """Offer `annotator:NAME` for each person who labelled. The selection is kept; one the
        project no longer has stays chosen and marked, and the line saying so is returned."""
        current = self.source()
        self._people = list(names)
        while self.source_combo.count() > len(FIXED_SOURCES):
            self.source_combo.removeItem(self.source_combo.count() - 1)
        for name in self._people:
            self.source_combo.addItem(f"Only {name}'s labels", f"{ANNOTATOR_PREFIX}{name}")
        self.set_source(current)
        return self.lost()

    def lost(self) -> str | None:
        """What is wrong with the chosen source, when the project no longer has it."""
        person = _person(self.source())
        if person is None or self._people is None or person in self._people:
            return None
        return (f"label source {self.source()!r} has no labels in the project any more: "
                "choose another source")

    def _show_lost(self, _index: int = -1) -> None:
        message = self.lost()
        self.lost_note.setText(message[0].upper() + message[1:] if message else "")
        self.lost_note.setVisible(message is not None)

    def source(self) -> str:
        return self.source_combo.currentData() or "curated"

    def set_source(self, source: str) -> None:
        """Choose `source`; a person not (or no longer) offered is added, marked once the
        project's list is known, rather than replaced by curated labels."""
        index = self.source_combo.findData(source)
        person = _person(source)
        if index < 0 and person:
            lost = self._people is not None
            self.source_combo.addItem(f"Only {person}'s labels{GONE if lost else ''}", source)
            index = self.source_combo.count() - 1
        self.source_combo.setCurrentIndex(max(index, 0))
        self._show_lost()

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
