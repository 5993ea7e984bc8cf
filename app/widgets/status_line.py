"""The main window's permanent status-bar fields: who labels, the clip counts, the project file,
and the import progress bar."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QLabel, QStatusBar, QWidget


class StatusLine:
    def __init__(self, bar: QStatusBar, progress: QWidget):
        self.annotator_label = QLabel(bar)
        self.count_label = QLabel(bar)
        self.db_label = QLabel(bar, objectName="muted")
        for widget in (self.annotator_label, self.count_label, self.db_label, progress):
            bar.addPermanentWidget(widget)

    def show_annotator(self, name: str) -> None:
        self.annotator_label.setText(f"Annotator: <b>{name}</b>")

    def show_project(self, db_path: Path) -> None:
        self.db_label.setText(db_path.name)
        self.db_label.setToolTip(str(db_path))
