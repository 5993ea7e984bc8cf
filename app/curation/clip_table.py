"""The clip browser's table: a model over `BrowseRow`s with in-model filtering and sorting.

Rows come from `mmla_core.store.browse.browse_rows` on a worker thread. Filtering and sorting
reorder a list of row indexes in plain Python (tens of ms for 61,000 clips) instead of going
through QSortFilterProxyModel, whose per-row Python callbacks take seconds at that size.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QColor, QFontMetricsF, QIcon, QPainter, QPixmap, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QWidget,
)

from mmla_app import settings
from mmla_app.curation.clip_cells import cell_text, cell_tooltip, overflow_span
from mmla_app.curation.clip_columns import (
    COLUMN_KEYS,
    COLUMNS,
    DEFAULT_WIDTHS,
    HEADER_TIPS,
    MAX_IDS_WIDTH,
    MAX_LABELS_WIDTH,
    MIN_TRANSCRIPT_WIDTH,
    fit_widths,
)
from mmla_app.theme import health_colour
from mmla_core.store.browse import (
    BrowseFilter,
    BrowseRow,
    filter_rows,
    nest_variants,
    next_unreviewed,
    sort_indexes,
)

_NUMERIC = {"id", "duration_s"}
_TRANSCRIPT = COLUMN_KEYS.index("transcript")
_EXTERNAL_ID = COLUMN_KEYS.index("external_id")
_MARGIN_ROWS = 4  # spans set, widths measured, a little past the viewport: a scroll step shows them
_LABELS = COLUMN_KEYS.index("labels")
_HEADER_PADDING = 30  # a header's margins and its sort arrow
_VERDICT_COLOURS = {"accept": "#15803d", "reject": "#b91c1c"}


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
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section][1]
        if role == Qt.ItemDataRole.ToolTipRole:
            return HEADER_TIPS.get(COLUMN_KEYS[section])
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
            return cell_text(row, key, fold, self._annotator)
        return self._decoration(row, key, role)

    def _decoration(self, row: BrowseRow, key: str, role: int) -> Any:
        if role == Qt.ItemDataRole.ToolTipRole:
            if key == "labels":
                return "\n".join(f"{task}: {label}" for task, label in row.labels.items())
            if key == "id" and row.id in self._parents:
                return "Click ▾ / ▸ to fold or unfold this clip's variants"
            return cell_tooltip(row, key)
        if role == Qt.ItemDataRole.DecorationRole and key in ("health", "external_id"):
            return self._dot(health_colour(row.health))
        if role == Qt.ItemDataRole.ForegroundRole and key == "verdict" and row.verdict:
            return QColor(_VERDICT_COLOURS[row.verdict])
        if role == Qt.ItemDataRole.TextAlignmentRole and key in _NUMERIC:
            return Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        if role == Qt.ItemDataRole.TextAlignmentRole and key == "verdict":
            return Qt.AlignmentFlag.AlignCenter
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


class MiddleElideDelegate(QStyledItemDelegate):
    """An External id too long for its column is cut in the middle, where ids and recipes
    are alike: 'Ses01F_i…F000' keeps the utterance's number (IEMOCAP), a variant's recipe
    'frames…blurred' tells two recipes apart ('frames…' did not)."""

    def initStyleOption(self, option: QStyleOptionViewItem, index) -> None:
        super().initStyleOption(option, index)
        option.textElideMode = Qt.TextElideMode.ElideMiddle


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
        self.setItemDelegateForColumn(_EXTERNAL_ID, MiddleElideDelegate(self))
        self._spans: dict[int, int] | None = None  # position -> columns spanned, as set now
        for signal in (model.modelReset, model.layoutChanged):
            signal.connect(self._respan_variants)
            signal.connect(self._measure_labels)
        for signal in (model.dataChanged, self.verticalScrollBar().valueChanged):
            signal.connect(self._span_variants)
        self.verticalScrollBar().valueChanged.connect(self._widen_to_view)
        model.dataChanged.connect(self._follow_labels)
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
        header.setMinimumSectionSize(24)  # the one-mark Verdict column
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self._user_widths = {key: width for key, width in settings.browser_column_widths().items()
                             if key in DEFAULT_WIDTHS}
        self._wanted: dict[str, int] | None = None  # what the cells need: measured at a fit
        for column in range(len(COLUMN_KEYS)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
        self._sizing = False  # True while widths set here (not the user's) are applied
        self._fit_columns()
        header.sectionResized.connect(self._on_section_resized)

    def _measure_labels(self, *_args) -> None:
        """Rows arrived or moved: measure again what the ids and label lists need."""
        self._wanted = None
        self._fit_columns()

    def _measure(self) -> dict[str, int]:
        """What the External ids and the label lists in view need (a few rows past each edge:
        Qt's `sizeHintForColumn` read 1,000 Labels cells, 40-90 ms a keystroke on 61k clips).
        Variants' ids are skipped: their recipe runs on past the cell."""
        model, rows = self.model(), self._rows_in_view()
        clips = [position for position in rows if not model.row_at(position).parent_clip_id]
        # no transcript in view (a folder imported without a manifest): the ids get its room
        transcripts = any(model.row_at(position).transcript for position in rows)
        return {"labels": self._labels_wanted(rows),
                "external_id": min(self._needed(_EXTERNAL_ID, clips) or
                                   DEFAULT_WIDTHS["external_id"], MAX_IDS_WIDTH),
                "transcript": MIN_TRANSCRIPT_WIDTH if transcripts else
                self._header_width(_TRANSCRIPT)}

    def _labels_wanted(self, rows: Iterable[int]) -> int:
        """What the label lists in view need; the header's width when none has a label."""
        model = self.model()
        if not any(cell_text(model.row_at(position), "labels") for position in rows):
            return self._header_width(_LABELS)
        return min(max(self._needed(_LABELS, rows), DEFAULT_WIDTHS["labels"]), MAX_LABELS_WIDTH)

    def _header_width(self, column: int) -> int:
        """A column's title whole, with room for the sort arrow."""
        title = self.model().headerData(column, Qt.Orientation.Horizontal,
                                        Qt.ItemDataRole.DisplayRole)
        return self.horizontalHeader().fontMetrics().horizontalAdvance(str(title)) + \
            _HEADER_PADDING

    def _needed(self, column: int, rows: Iterable[int]) -> int:
        """The width the widest cell of `column` in `rows` needs whole (0 for no rows): the
        texts are compared by the font's metrics (cheap), and only the widest one is sized as
        Qt's delegate does it (its margins, the health dot)."""
        model, key = self.model(), COLUMN_KEYS[column]
        texts: dict[str, int] = {}  # each text -> a row showing it
        for position in rows:
            texts.setdefault(cell_text(model.row_at(position), key), position)
        if not texts:
            return 0
        metrics = QFontMetricsF(self.font())
        widest = max(texts, key=metrics.horizontalAdvance)
        return self.sizeHintForIndex(model.index(texts[widest], column)).width()

    def _rows_in_view(self) -> range:
        """The rows on screen and a few past each edge (a scroll step shows them). Right after
        a reset that leaves fewer rows than the offset, no row is at the top yet: the view
        will then show the last rows."""
        count = self.model().rowCount()
        shown = -(-self.viewport().height() // max(self.verticalHeader().defaultSectionSize(), 1))
        first = self.rowAt(0)
        if first < 0:
            first = max(count - shown, 0)
        return range(max(first - _MARGIN_ROWS, 0), min(first + shown + _MARGIN_ROWS, count))

    def _follow_labels(self, top_left: QModelIndex, bottom_right: QModelIndex, *_roles) -> None:
        """A row changed (a relabel here, or `mmla label` through the change bus): Labels widens
        at once when the new label list needs more. Only the changed rows in view are measured
        (an outside label a second must stay cheap; the others are when they scroll into view);
        the column narrows at the next reload."""
        if self._wanted is None or not top_left.column() <= _LABELS <= bottom_right.column():
            return
        view = self._rows_in_view()
        rows = range(max(top_left.row(), view.start), min(bottom_right.row() + 1, view.stop))
        needed = self._labels_wanted(rows) if rows else 0
        if needed > self._wanted["labels"]:
            self._wanted["labels"] = needed
            self._fit_columns()

    def _widen_to_view(self, *_args) -> None:
        """Rows scrolled into view (or a taller list): the columns widen if they need more."""
        if self._wanted is None:
            return
        measured = self._measure()
        if any(measured[key] > self._wanted[key] for key in measured):
            self._wanted = {key: max(width, self._wanted[key]) for key, width in measured.items()}
            self._fit_columns()

    def _fit_columns(self, dragged: str | None = None) -> None:
        """Apply `fit_widths` (the transcript to the right edge, ids and Labels as the cells
        need, remembered widths giving way in a narrow window)."""
        if self._wanted is None:
            self._wanted = self._measure()
        widths = fit_widths(self.viewport().width(), self._user_widths, self._wanted, dragged)
        self._sizing = True
        try:
            for column, key in enumerate(COLUMN_KEYS):
                if widths[key] != self.columnWidth(column):
                    self.setColumnWidth(column, widths[key])
        finally:
            self._sizing = False

    def _on_section_resized(self, column: int, _old: int, new: int) -> None:
        """A border the user dragged: kept, and remembered for next time, as far as it leaves
        the transcript its minimum (what shows after giving way is what is remembered)."""
        if self._sizing:
            return
        key = COLUMN_KEYS[column]
        if key not in DEFAULT_WIDTHS:  # the transcript: it always runs to the right edge
            self._fit_columns()
            return
        self._user_widths[key] = new
        self._fit_columns(dragged=key)
        self._user_widths[key] = self.columnWidth(column)
        settings.set_browser_column_width(key, self._user_widths[key])

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._widen_to_view()  # a taller list shows more rows
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
        model, wanted = self.model(), {}
        for position in self._rows_in_view():
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
