"""The clip browser: filter bar, clip table and review progress, over the whole project.

Rows load on a worker (`browse_rows`, three flat queries); filtering and sorting then happen in
the model without touching the database, so typing in the filter never waits on SQLite.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)
from superqt.utils import qdebounced, signals_blocked

from mmla_app.curation.clip_table import ClipTableModel, ClipTableView
from mmla_app.runtime.runner import Runner
from mmla_core.store.browse import HEALTH_CHOICES, VERDICT_CHOICES, BrowseFilter, browse_rows
from mmla_core.store.catalog import list_datasets, list_tasks

ROWS_CHANNEL = "browser_rows"
FILTER_DEBOUNCE_MS = 120
ANY = "any"
NO_CLIPS_HINT = ("No clips yet.\n\nFile > Import dataset folder… (an MMLA tree, or a folder of "
                 "clips with an optional manifest) or Import file… (sharegpt JSON, ELAN .eaf), "
                 "or drop a folder here.\n\nFile > Add the demo clips to try the app.")
NO_MATCH_HINT = "No clip matches the filters."


def load_browser(store, annotator: str) -> tuple[list, list[str], dict[str, tuple[str, ...]]]:
    """Worker job: rows, dataset names and each task's labels (for the label filter)."""
    rows = browse_rows(store, annotator)
    used = {task for row in rows for task in row.labels}
    tasks = {t.name: t.labels for t in list_tasks(store) if t.name in used}
    return rows, [d["name"] for d in list_datasets(store)], tasks


class BrowserPanel(QWidget):
    """Emits `clip_selected(BrowseRow | None)` and `loaded(int)` (number of clips)."""

    clip_selected = Signal(object)
    loaded = Signal(int)
    load_failed = Signal(str)
    counts_changed = Signal(str)

    def __init__(self, runner: Runner, parent: QWidget | None = None):
        super().__init__(parent)
        self.runner = runner
        self.annotator = ""
        self._pending_select: tuple | None = None  # (project file, clip id) asked for
        self.model = ClipTableModel(self)
        self.table = ClipTableView(self.model, self)
        self.table.clip_selected.connect(self.clip_selected)
        self._build_filters()
        self.empty_hint = self._build_empty_hint()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self._filters)
        layout.addWidget(self.table, 1)

    def _build_empty_hint(self) -> QLabel:
        """Shown inside the empty clip list (no clips, or none matching the filters)."""
        hint = QLabel(self.table.viewport(), wordWrap=True, objectName="muted")
        hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        hint.hide()
        inside = QVBoxLayout(self.table.viewport())
        inside.setContentsMargins(24, 24, 24, 24)
        inside.addWidget(hint)
        return hint

    def _build_filters(self) -> None:
        self.text_edit = QLineEdit(self, clearButtonEnabled=True)
        self.text_edit.setPlaceholderText("Filter by id or transcript…  (Ctrl+F)")
        self.dataset_combo = self._combo("All datasets")
        self.split_combo = self._combo("All splits", ["train", "dev", "test"])
        self.label_combo = self._combo("Any label")
        self.verdict_combo = self._combo("Any verdict", list(VERDICT_CHOICES[1:]))
        self.health_combo = self._combo("Any health", list(HEALTH_CHOICES[1:]))
        self.unreviewed_box = QCheckBox("Unreviewed", self)
        self.unreviewed_box.setToolTip("Only clips you have not reviewed yet")
        self.text_edit.textChanged.connect(self._apply_filter_later)
        self.unreviewed_box.toggled.connect(self._apply_filter)
        self._filters = QGridLayout()
        self._filters.addWidget(self.text_edit, 0, 0, 1, 4)
        self._filters.addWidget(self.unreviewed_box, 0, 4)
        for column, combo in enumerate((self.dataset_combo, self.split_combo, self.label_combo,
                                        self.verdict_combo, self.health_combo)):
            self._filters.addWidget(combo, 1, column)

    def _combo(self, any_text: str, items: list[str] | None = None) -> QComboBox:
        combo = QComboBox(self)
        combo.addItem(any_text, None)
        for item in items or []:
            combo.addItem(item.replace("_", " "), item)
        combo.currentIndexChanged.connect(self._apply_filter)
        return combo

    # --- loading ------------------------------------------------------------------------------

    def reload(self, annotator: str, *, select_clip: int | None = None) -> None:
        """Re-read the rows; then select `select_clip`, else the clip selected when they arrive.
        A clip asked for stays asked until rows arrive: a newer reload replaces the older one
        on the channel (its rows never come), and a plain one must not drop that wish."""
        self.annotator = annotator
        if select_clip is not None:
            self._pending_select = (self.runner.db_path, select_clip)
        self.runner.submit(load_browser, annotator, channel=ROWS_CHANNEL,
                           on_success=self._on_loaded,
                           on_error=lambda exc: self.load_failed.emit(str(exc)))

    def _on_loaded(self, result) -> None:
        rows, datasets, tasks = result
        current = self.table.current_row()  # now, not when asked: the curator may have moved
        asked_in, asked = self._pending_select or (None, None)
        self._pending_select = None
        if asked_in != self.runner.db_path:  # asked of the project the window has left
            asked = None
        select = asked or (current.id if current else None)
        self._refill(self.dataset_combo, [(name, name) for name in datasets])
        self._refill(self.label_combo, [(f"{task}: {label}", f"{task}\t{label}")
                                        for task, labels in tasks.items() for label in labels])
        self.model.set_rows(rows, self.annotator)
        self._update_counts()
        self.loaded.emit(len(rows))
        if select is not None:
            self.table.select_clip(select)
        elif rows and not self.table.currentIndex().isValid():
            # keyboard first: start on the first clip this curator has not reviewed
            if not self.select_next_unreviewed():
                self.table.select_position(0)
            self.table.setFocus()

    def _refill(self, combo: QComboBox, items: list[tuple[str, object]]) -> None:
        keep = combo.currentData()
        with signals_blocked(combo):
            while combo.count() > 1:
                combo.removeItem(1)
            for text, data in items:
                combo.addItem(text, data)
            index = combo.findData(keep) if keep is not None else 0
            combo.setCurrentIndex(max(index, 0))

    def refresh_row(self, fresh) -> None:
        """Swap in one re-read row (after a label / review edit) without reloading all."""
        self.model.update_row(fresh.id, fresh)
        self._update_counts()

    # --- filtering and navigation -------------------------------------------------------------

    def current_filter(self) -> BrowseFilter:
        data = self.label_combo.currentData()  # "task\tlabel": Qt compares strings in findData
        task_label = data.split("\t") if data else None
        return BrowseFilter(
            text=self.text_edit.text(), dataset=self.dataset_combo.currentData(),
            split=self.split_combo.currentData(),
            task=task_label[0] if task_label else None,
            label=task_label[1] if task_label else None,
            verdict=self.verdict_combo.currentData() or ANY,
            health=self.health_combo.currentData() or ANY,
            unreviewed_only=self.unreviewed_box.isChecked(),
        )

    @qdebounced(timeout=FILTER_DEBOUNCE_MS)
    def _apply_filter_later(self) -> None:
        self._apply_filter()

    def _apply_filter(self, *_args) -> None:
        current = self.table.current_row()
        self.model.set_filter(self.current_filter())
        if current is not None and not self.table.select_clip(current.id):
            self.clip_selected.emit(None)
        self._update_counts()

    def _update_counts(self) -> None:
        total, shown = self.model.total_count(), self.model.rowCount()
        self.empty_hint.setText(NO_CLIPS_HINT if not total else NO_MATCH_HINT)
        self.empty_hint.setVisible(not shown)
        clips = f"{total} clips" if shown == total else f"{shown} of {total} clips"
        reviewed = f"{self.model.reviewed_count()} of {total} reviewed by {self.annotator}"
        self.counts_changed.emit(f"{clips} · {reviewed}" if self.annotator else clips)

    def select_next_unreviewed(self) -> bool:
        position = self.model.next_unreviewed_position(self.table.currentIndex().row())
        self.table.select_position(position)
        return position is not None

    def focus_filter(self) -> None:
        self.text_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.text_edit.selectAll()
