"""The clip browser's table: a model over `BrowseRow`s with in-model filtering and sorting.

Rows come from `mmla_core.store.browse.browse_rows` on a worker thread. Filtering and sorting
reorder a list of row indexes in plain Python (tens of ms for 61,000 clips) instead of going
through QSortFilterProxyModel, whose per-row Python callbacks take seconds at that size.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QWidget,
)

from mmla_app import settings
from mmla_app.theme import health_colour
from mmla_core.store.browse import (
    BrowseFilter,
    BrowseRow,
    filter_rows,
    nest_variants,
    next_unreviewed,
    sort_indexes,
)
from mmla_core.variants.recipes import badge

# The review columns (labels, verdict, reviewer) come first, so they stay on screen in a narrow
# browser (about 480 px on a 1366 px wide screen). The transcript is last: it takes what the
# others leave and, scrolled to, shows a readable stretch of text (in the middle it was cut to
# 160 px, with Duration and Health pushed past it).
COLUMNS: tuple[tuple[str, str], ...] = (
    ("id", "Id"),
    ("dataset", "Dataset"),
    ("split", "Split"),
    ("external_id", "External id"),
    ("labels", "Labels"),
    ("verdict", "Verdict"),
    ("reviewed_by", "Reviewed by"),
    ("duration_s", "Duration"),
    ("health", "Health"),
    ("transcript", "Transcript"),
)
COLUMN_KEYS = tuple(key for key, _ in COLUMNS)
_NUMERIC = {"id", "duration_s"}
_TRANSCRIPT = COLUMN_KEYS.index("transcript")
_EXTERNAL_ID = COLUMN_KEYS.index("external_id")
# the cells a variant's recipe may run on into while they are empty (a variant rarely has
# labels or a verdict): 92 px cut 'caption prepended: 'praise'' to 'captio…'
_OVERFLOW = tuple(COLUMN_KEYS.index(key) for key in ("labels", "verdict", "reviewed_by"))
_SPAN_MARGIN_ROWS = 4  # spans set a little past the viewport, so a scroll step shows them
_LABELS = COLUMN_KEYS.index("labels")
_REVIEWED_BY = COLUMN_KEYS.index("reviewed_by")
MIN_TRANSCRIPT_WIDTH = 320
# Labels grow to the longest label list in view up to this (many tasks would take the browser)
MAX_LABELS_WIDTH = 240
_WIDTHS = {"id": 44, "dataset": 64, "split": 44, "external_id": 92, "duration_s": 60,
           "health": 84, "labels": 96, "verdict": 56, "reviewed_by": 76}
_VERDICT_COLOURS = {"accept": "#15803d", "reject": "#b91c1c"}


def format_duration(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds:.2f} s"


class ClipTableModel(QAbstractTableModel):
    """Read-only browser rows; `set_filter` / `sort` reorder the visible index list."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._rows: list[BrowseRow] = []
        self._index_of: dict[int, int] = {}   # clip id -> index in _rows
        self._visible: list[int] = []         # indexes in _rows, in the order shown
        self._position: dict[int, int] = {}   # index in _rows -> row on screen
        self._reviewed = 0                    # rows this annotator reviewed
        self._filter = BrowseFilter()
        self._annotator = ""
        self._sort: tuple[str, bool] = ("id", False)
        self._icons: dict[str, QIcon] = {}
        self._collapsed: set[int] = set()     # clips whose variants are folded away
        self._parents: set[int] = set()       # clips that have variants

    # --- data in ------------------------------------------------------------------------------

    def set_rows(self, rows: list[BrowseRow], annotator: str) -> None:
        self.beginResetModel()
        self._rows, self._annotator = rows, annotator
        self._index_of = {row.id: index for index, row in enumerate(rows)}
        self._parents = {row.parent_clip_id for row in rows if row.parent_clip_id is not None}
        self._reviewed = sum(self._is_mine(row) for row in rows)
        self._set_visible(self._compute_visible())
        self.endResetModel()

    def set_filter(self, spec: BrowseFilter) -> None:
        if spec == self._filter:
            return
        self.beginResetModel()
        self._filter = spec
        self._set_visible(self._compute_visible())
        self.endResetModel()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self.layoutAboutToBeChanged.emit()
        self._sort = (COLUMN_KEYS[column], order == Qt.SortOrder.DescendingOrder)
        self._set_visible(self._compute_visible())
        self.layoutChanged.emit()

    def _compute_visible(self) -> list[int]:
        kept = filter_rows(self._rows, self._filter, self._annotator)
        if self._sort != ("id", False):
            kept = sort_indexes(self._rows, kept, self._sort[0], descending=self._sort[1])
        return nest_variants(self._rows, kept, self._collapsed)

    # --- variants under their parent (expandable) --------------------------------------------

    def has_variants(self, clip_id: int) -> bool:
        return clip_id in self._parents

    def is_expanded(self, clip_id: int) -> bool:
        return clip_id not in self._collapsed

    def set_expanded(self, clip_id: int, expanded: bool) -> None:
        """Show or fold away a clip's variants (they stay loaded)."""
        if expanded == self.is_expanded(clip_id) or not self.has_variants(clip_id):
            return
        self.layoutAboutToBeChanged.emit()
        (self._collapsed.discard if expanded else self._collapsed.add)(clip_id)
        self._set_visible(self._compute_visible())
        self.layoutChanged.emit()

    def reveal(self, clip_id: int) -> None:
        """Unfold the parents of a variant so it can be shown (selected from elsewhere)."""
        index = self._index_of.get(clip_id)
        parent = self._rows[index].parent_clip_id if index is not None else None
        while parent is not None:
            self.set_expanded(parent, True)
            index = self._index_of.get(parent)
            parent = self._rows[index].parent_clip_id if index is not None else None

    def _set_visible(self, visible: list[int]) -> None:
        self._visible = visible
        self._position = {index: position for position, index in enumerate(visible)}

    def _is_mine(self, row: BrowseRow) -> bool:
        return bool(self._annotator) and self._annotator in row.reviewed_by.split(", ")

    def update_row(self, clip_id: int, fresh: BrowseRow) -> None:
        """Replace one row after an edit (labels, verdict) without reloading the list."""
        index = self._index_of.get(clip_id)
        if index is None:
            return
        self._reviewed += self._is_mine(fresh) - self._is_mine(self._rows[index])
        self._rows[index] = fresh
        position = self._position.get(index)
        if position is not None:
            self.dataChanged.emit(self.index(position, 0), self.index(position, len(COLUMNS) - 1))

    # --- lookups ------------------------------------------------------------------------------

    def row_at(self, position: int) -> BrowseRow | None:
        if 0 <= position < len(self._visible):
            return self._rows[self._visible[position]]
        return None

    def position_of(self, clip_id: int) -> int | None:
        index = self._index_of.get(clip_id)
        return None if index is None else self._position.get(index)

    def next_unreviewed_position(self, after: int | None) -> int | None:
        return next_unreviewed(self._rows, self._visible, after, self._annotator)

    def total_count(self) -> int:
        return len(self._rows)

    def reviewed_count(self) -> int:
        return self._reviewed

    # --- Qt model API -------------------------------------------------------------------------

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._visible)

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
        row, key = self._rows[self._visible[index.row()]], COLUMN_KEYS[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            fold = ""
            if key == "id" and row.id in self._parents:
                fold = "▾" if row.id not in self._collapsed else "▸"
            return _display(row, key, fold)
        return self._decoration(row, key, role)

    def _decoration(self, row: BrowseRow, key: str, role: int) -> Any:
        if role == Qt.ItemDataRole.ToolTipRole:
            if key == "labels":
                return "\n".join(f"{task}: {label}" for task, label in row.labels.items())
            if key == "id" and row.id in self._parents:
                return "Click ▾ / ▸ to fold or unfold this clip's variants"
            return {"transcript": row.transcript, "health": row.health,
                    "external_id": _external_id_tip(row)}.get(key)
        if role == Qt.ItemDataRole.DecorationRole and key in ("health", "external_id"):
            return self._dot(health_colour(row.health))
        if role == Qt.ItemDataRole.ForegroundRole and key == "verdict" and row.verdict:
            return QColor(_VERDICT_COLOURS[row.verdict])
        if role == Qt.ItemDataRole.TextAlignmentRole and key in _NUMERIC:
            return Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        return None

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


def _display(row: BrowseRow, key: str, fold: str = "") -> str:
    if key == "id":
        return f"{fold} {row.id}" if fold else str(row.id)
    if key == "external_id" and row.parent_clip_id:
        return variant_text(row)
    if key == "duration_s":
        return format_duration(row.duration_s)
    if key == "health":
        return row.health.replace("_", " ")
    if key == "transcript":
        text = " ".join(row.transcript.split())  # one line, even for multi-line text
        return f"↳ {text}" if row.parent_clip_id else text
    if key == "labels":
        return row.label_summary
    value = getattr(row, key)
    return "" if value is None else str(value)


def variant_text(row: BrowseRow) -> str:
    """A variant row's External id: what it is ('↳ frames black'), not its long generated id."""
    return f"↳ {_recipe_text(row.recipe_json) or row.external_id}"


def overflow_span(row: BrowseRow) -> int:
    """How many columns a row's External id cell covers: a variant's recipe runs on into the
    empty Labels / Verdict / Reviewed by cells after it (as a spreadsheet's text does)."""
    if not row.parent_clip_id:
        return 1
    span = 1
    for column in _OVERFLOW:
        if _display(row, COLUMN_KEYS[column]):
            break
        span += 1
    return span


class VariantElideDelegate(QStyledItemDelegate):
    """A variant's recipe cut in the middle when even its span is too narrow (a labelled
    variant has none): 'frames…blurred' tells two recipes apart, 'frames…' does not."""

    def initStyleOption(self, option: QStyleOptionViewItem, index) -> None:
        super().initStyleOption(option, index)
        row = index.model().row_at(index.row())
        if row is not None and row.parent_clip_id:
            option.textElideMode = Qt.TextElideMode.ElideMiddle


@lru_cache(maxsize=4096)
def _recipe_text(recipe_json: str | None) -> str:
    """What a variant is ('frames black', 'audio ← clip 17'), from its stored recipe: its
    generated id is long and alike for every variant of a clip ('' when unreadable)."""
    try:
        return badge(json.loads(recipe_json or "{}"))
    except (ValueError, TypeError, KeyError, AttributeError):
        return ""


def _external_id_tip(row: BrowseRow) -> str:
    tip = f"{row.external_id}\nhealth: {row.health}"
    return f"variant of clip {row.parent_clip_id}: {tip}" if row.parent_clip_id else tip


class ClipTableView(QTableView):
    """The clip table; emits `clip_selected` with the current BrowseRow (or None)."""

    clip_selected = Signal(object)

    def __init__(self, model: ClipTableModel, parent: QWidget | None = None):
        super().__init__(parent)
        self.setModel(model)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAlternatingRowColors(True)
        self.setSortingEnabled(True)
        self.horizontalHeader().setSortIndicator(0, Qt.SortOrder.AscendingOrder)
        self.setWordWrap(False)
        self.setShowGrid(False)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.verticalHeader().hide()
        self.verticalHeader().setDefaultSectionSize(24)
        self._size_columns()
        self.setItemDelegateForColumn(_EXTERNAL_ID, VariantElideDelegate(self))
        self._spans: dict[int, int] | None = None  # position -> columns spanned, as set now
        for signal in (model.modelReset, model.layoutChanged):
            signal.connect(self._respan_variants)
            signal.connect(self._measure_labels)
        for signal in (model.dataChanged, self.verticalScrollBar().valueChanged):
            signal.connect(self._span_variants)
        self.selectionModel().currentRowChanged.connect(self._on_current_row_changed)
        self.clicked.connect(self._on_clicked)

    def _on_clicked(self, index: QModelIndex) -> None:
        """A click on ▾ / ▸ (the Id cell of a clip with variants) folds or unfolds them."""
        row = self.model().row_at(index.row())
        if index.column() == 0 and row is not None and self.model().has_variants(row.id):
            model = self.model()
            model.set_expanded(row.id, not model.is_expanded(row.id))
            self.select_clip(row.id)

    def _size_columns(self) -> None:
        """The default widths, then those this user dragged to (remembered across sessions)."""
        header = self.horizontalHeader()
        header.setHighlightSections(False)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self._user_widths = {key: width for key, width in settings.browser_column_widths().items()
                             if key in _WIDTHS}
        self._labels_wanted: int | None = None  # measured at the first fit
        self._sizing = True  # widths set here are not the user's
        for column, key in enumerate(COLUMN_KEYS):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
            width = self._user_widths.get(key, _WIDTHS.get(key, MIN_TRANSCRIPT_WIDTH))
            self.setColumnWidth(column, width)
        self._sizing = False
        header.sectionResized.connect(self._on_section_resized)

    def _set_width(self, column: int, width: int) -> None:
        if width != self.columnWidth(column):
            self._sizing = True
            self.setColumnWidth(column, width)
            self._sizing = False

    def _measure_labels(self, *_args) -> None:
        """Rows arrived or moved: measure again what the label lists need (at the next fit)."""
        self._labels_wanted = None
        self._fit_columns()

    def _fit_columns(self) -> None:
        """Labels as wide as the label lists need (up to a cap) while Verdict and Reviewed by
        stay on screen, never narrower than the default (unless the user dragged it); the
        transcript takes what the others leave, never less than a readable width."""
        if "labels" not in self._user_widths:
            if self._labels_wanted is None:  # not at every resize: Qt reads up to 1,000 rows
                self._labels_wanted = min(max(self.sizeHintForColumn(_LABELS),  # (23 ms on
                                              _WIDTHS["labels"]), MAX_LABELS_WIDTH)  # 61k clips)
            wanted = self._labels_wanted
            before = sum(self.columnWidth(c) for c in range(_REVIEWED_BY + 1) if c != _LABELS)
            room = self.viewport().width() - before
            self._set_width(_LABELS, max(_WIDTHS["labels"], min(wanted, room)))
        others = sum(self.columnWidth(c) for c in range(len(COLUMN_KEYS)) if c != _TRANSCRIPT)
        self._set_width(_TRANSCRIPT, max(MIN_TRANSCRIPT_WIDTH, self.viewport().width() - others))

    def _on_section_resized(self, column: int, _old: int, new: int) -> None:
        if self._sizing:
            return
        key = COLUMN_KEYS[column]
        if key in _WIDTHS:  # a border the user dragged: kept, and remembered for next time
            self._user_widths[key] = new
            settings.set_browser_column_width(key, new)
        self._fit_columns()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_columns()
        self._span_variants()

    def _respan_variants(self, *_args) -> None:
        self._spans = None  # rows moved: the spans set before mean nothing now
        self._span_variants()

    def _span_variants(self, *_args) -> None:
        """Let the variant rows on screen run their recipe on into their empty cells (see
        `overflow_span`). Only the rows in view get a span: a QTableView slows down with
        thousands of them, and a project can hold many variants. Spans are reset only when
        they differ: a reset repaints the whole view (an outside label a second on 20,000
        clips cost twice the CPU when every row update reset them)."""
        model = self.model()
        first = max(self.rowAt(0), 0)
        last = self.rowAt(self.viewport().height() - 1)
        last = model.rowCount() - 1 if last < 0 else last + _SPAN_MARGIN_ROWS
        wanted = {}
        for position in range(max(first - _SPAN_MARGIN_ROWS, 0), min(last + 1, model.rowCount())):
            span = overflow_span(model.row_at(position))
            if span > 1:
                wanted[position] = span
        if wanted == self._spans:
            return
        self.clearSpans()
        for position, span in wanted.items():
            self.setSpan(position, _EXTERNAL_ID, 1, span)
        self._spans = wanted

    def current_row(self) -> BrowseRow | None:
        return self.model().row_at(self.currentIndex().row())

    def select_position(self, position: int | None) -> None:
        if position is None:
            return
        index = self.model().index(position, 0)
        self.setCurrentIndex(index)
        self.scrollTo(index)

    def select_clip(self, clip_id: int) -> bool:
        self.model().reveal(clip_id)  # a variant under a folded parent is unfolded first
        position = self.model().position_of(clip_id)
        self.select_position(position)
        return position is not None

    def move(self, step: int) -> None:
        """Previous/next clip from the keyboard, wherever the focus is."""
        count = self.model().rowCount()
        if count:
            current = self.currentIndex().row()
            target = 0 if current < 0 else min(max(current + step, 0), count - 1)
            self.select_position(target)

    def _on_current_row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self.clip_selected.emit(self.model().row_at(current.row()) if current.isValid() else None)
