"""The clip list: a table model over rows loaded in the background, a filter proxy and the view.

The model never touches the database. `load_clip_rows` runs on a worker thread (with that
thread's own Store) and returns plain dicts; `ClipTableModel.set_rows` swaps them in on the GUI
thread with one model reset.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap, QResizeEvent
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

from mmla_app.theme import health_colour

SORT_ROLE = Qt.ItemDataRole.UserRole

COLUMNS: tuple[tuple[str, str], ...] = (
    ("id", "Id"),
    ("split", "Split"),
    ("external_id", "External id"),
    ("transcript", "Transcript"),
    ("duration_s", "Duration"),
    ("health", "Health"),
    ("labels", "Labels"),
)
COLUMN_KEYS = tuple(key for key, _ in COLUMNS)
_NUMERIC = {"id", "duration_s"}
_TRANSCRIPT = COLUMN_KEYS.index("transcript")
MIN_TRANSCRIPT_WIDTH = 160
_WIDTHS = {"id": 52, "split": 58, "external_id": 120, "duration_s": 70, "health": 92,
           "labels": 120}

_LABELS_SQL = (
    "SELECT a.clip_id, t.name, a.label, a.annotator FROM annotations a "
    "JOIN clips c ON c.id = a.clip_id JOIN tasks t ON t.id = a.task_id "
    "WHERE c.dataset_id = ? "
    "ORDER BY a.clip_id, t.id, a.annotator = 'import' DESC, a.updated_at DESC"
)


# --- loading (runs on a worker thread) ---------------------------------------------------------

def load_clip_rows(store, dataset_id: int) -> list[dict]:
    """Every clip of the dataset with a one-line label summary; runs off the GUI thread."""
    from mmla_core.store.catalog import list_clips

    rows = list_clips(store, dataset_id=dataset_id)
    per_clip: dict[int, dict[str, str]] = {}
    for clip_id, task, label, _annotator in store.conn.execute(_LABELS_SQL, (dataset_id,)):
        per_clip.setdefault(clip_id, {}).setdefault(task, label)  # first = gold (import) label
    for row in rows:
        labels = per_clip.get(row["id"], {})
        row["labels"] = ", ".join(dict.fromkeys(labels.values()))
        row["labels_tooltip"] = "\n".join(f"{task}: {label}" for task, label in labels.items())
        row["_search"] = " ".join(
            (str(row["id"]), row["external_id"] or "", row["transcript"] or "")
        ).lower()
    return rows


def format_duration(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds:.2f} s"


# --- model -------------------------------------------------------------------------------------

class ClipTableModel(QAbstractTableModel):
    """Read-only rows of the clip list (dicts from `load_clip_rows`)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._rows: list[dict] = []
        self._icons: dict[str, QIcon] = {}

    def set_rows(self, rows: list[dict]) -> None:
        self.beginResetModel()
        self._rows = rows
        self.endResetModel()

    def row_dict(self, row: int) -> dict:
        return self._rows[row]

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section][1]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row, key = self._rows[index.row()], COLUMN_KEYS[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(row, key)
        if role == SORT_ROLE:
            value = row.get(key)
            if key in _NUMERIC:
                return -1.0 if value is None else float(value)
            return (value or "").lower()
        return self._decoration(row, key, role)

    def _decoration(self, row: dict, key: str, role: int) -> Any:
        if role == Qt.ItemDataRole.ToolTipRole:
            return {
                "transcript": row.get("transcript"),
                "labels": row.get("labels_tooltip"),
                "health": row.get("health_detail") or row.get("health"),
            }.get(key)
        if role == Qt.ItemDataRole.DecorationRole and key == "health":
            return self._dot(health_colour(row.get("health")))
        if role == Qt.ItemDataRole.TextAlignmentRole and key in _NUMERIC:
            return Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        return None

    @staticmethod
    def _display(row: dict, key: str) -> str:
        value = row.get(key)
        if key == "duration_s":
            return format_duration(value)
        if key == "health":
            return (value or "").replace("_", " ")
        if key == "transcript":
            return " ".join((value or "").split())  # one line, even for multi-line text
        return "" if value is None else str(value)

    def _dot(self, colour: str) -> QIcon:
        """A small filled circle in the health colour (cached per colour)."""
        if colour not in self._icons:
            pixmap = QPixmap(10, 10)
            pixmap.fill(Qt.GlobalColor.transparent)
            painter = QPainter(pixmap)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(colour))
            painter.drawEllipse(1, 1, 8, 8)
            painter.end()
            self._icons[colour] = QIcon(pixmap)
        return self._icons[colour]


class ClipFilterProxy(QSortFilterProxyModel):
    """Sorts by raw values and keeps rows whose id/external id/transcript hold every filter word."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._words: tuple[str, ...] = ()
        self.setSortRole(SORT_ROLE)

    def set_filter_text(self, text: str) -> None:
        words = tuple(text.lower().split())
        if words == self._words:
            return
        self.beginFilterChange()
        self._words = words
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int,
                         source_parent: QModelIndex | QPersistentModelIndex) -> bool:
        if not self._words:
            return True
        haystack = self.sourceModel().row_dict(source_row)["_search"]
        return all(word in haystack for word in self._words)


# --- view --------------------------------------------------------------------------------------

class ClipTableView(QTableView):
    """The clip table; emits `clip_selected` with the current row's dict (or None)."""

    clip_selected = Signal(object)

    def __init__(self, proxy: ClipFilterProxy, parent: QWidget | None = None):
        super().__init__(parent)
        self.setModel(proxy)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAlternatingRowColors(True)
        self.setSortingEnabled(True)
        self.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.setWordWrap(False)
        self.setShowGrid(False)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.verticalHeader().hide()
        self.verticalHeader().setDefaultSectionSize(26)
        self._size_columns()
        self.selectionModel().currentRowChanged.connect(self._on_current_row_changed)

    def _size_columns(self) -> None:
        header = self.horizontalHeader()
        header.setHighlightSections(False)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        for column, key in enumerate(COLUMN_KEYS):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
            self.setColumnWidth(column, _WIDTHS.get(key, MIN_TRANSCRIPT_WIDTH))
        header.sectionResized.connect(self._on_section_resized)

    def _fit_transcript(self) -> None:
        """Give the transcript what the other columns leave, but never less than a readable
        minimum (QHeaderView's Stretch mode would squeeze it to nothing in a narrow window)."""
        others = sum(self.columnWidth(c) for c in range(len(COLUMN_KEYS)) if c != _TRANSCRIPT)
        width = max(MIN_TRANSCRIPT_WIDTH, self.viewport().width() - others)
        if width != self.columnWidth(_TRANSCRIPT):
            self.setColumnWidth(_TRANSCRIPT, width)

    def _on_section_resized(self, column: int, _old: int, _new: int) -> None:
        if column != _TRANSCRIPT:
            self._fit_transcript()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_transcript()

    def row_dict_at(self, index: QModelIndex) -> dict | None:
        """The source row behind a proxy index (the dict itself, not a QVariant copy)."""
        if not index.isValid():
            return None
        proxy = self.model()
        return proxy.sourceModel().row_dict(proxy.mapToSource(index).row())

    def current_row_dict(self) -> dict | None:
        return self.row_dict_at(self.currentIndex())

    def _on_current_row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self.clip_selected.emit(self.row_dict_at(current))
