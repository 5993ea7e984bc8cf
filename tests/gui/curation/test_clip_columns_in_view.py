"""The clip list measures what External id and Labels need from the rows in view only (and a few
past each edge): Qt's `sizeHintForColumn` read 1,000 Labels cells at every filter keystroke and
sort, 40-90 ms on 61,000 clips. The widths still fit every row in view: after a filter, at the
last rows when a filter leaves fewer rows than the scroll offset, and as rows scroll in."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QModelIndex, Qt

from mmla_app.curation.clip_table import COLUMN_KEYS, ClipTableModel, ClipTableView
from mmla_core.store.browse import BrowseFilter, BrowseRow
from tests.support.gui import visible_text

pytestmark = pytest.mark.gui
LABELS = COLUMN_KEYS.index("labels")
ROWS = 2_000
LONG = {"MIntRec": "ask for help", "MELD": "neutral"}  # 'ask for help, neutral': > 96 px
SHORT = {"MELD": "joy"}
SLACK = 8  # rows past the edges that measuring may read: a scroll step


def _row(n: int, transcript: str = "okay then", labels: dict[str, str] = SHORT) -> BrowseRow:
    return BrowseRow(id=n, dataset="demo", split="train", external_id=f"demo_{n:04}",
                     transcript=transcript, duration_s=2.0, health="ok", parent_clip_id=None,
                     media_path=None, media_root="", recipe_json=None, labels=labels,
                     search=transcript)  # what the filter box matches (browse_rows fills it)


class CountingModel(ClipTableModel):
    """Records every row position read, through `row_at` and through Qt's `data`."""

    def __init__(self):
        super().__init__()
        self.read: set[int] = set()

    def row_at(self, position: int):
        self.read.add(position)
        return super().row_at(position)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        self.read.add(index.row())
        return super().data(index, role)


def _view(qtbot, rows: list[BrowseRow]) -> tuple[ClipTableView, CountingModel]:
    model = CountingModel()
    model.set_rows(rows, "alice")
    view = ClipTableView(model)
    qtbot.addWidget(view)
    view.resize(535, 400)  # the list on a 1600x1000 screen: room for 'ask for help, neutral'
    view.show()
    qtbot.waitExposed(view)
    return view, model


def _in_view(view: ClipTableView) -> range:
    last = view.rowAt(view.viewport().height() - 1)
    return range(view.rowAt(0), (view.model().rowCount() if last < 0 else last + 1))


def _fits(view: ClipTableView, positions) -> bool:
    return all(view.columnWidth(LABELS) >=
               view.sizeHintForIndex(view.model().index(p, LABELS)).width() for p in positions)


def test_a_filter_fits_labels_to_the_rows_it_brings_into_view(qtbot):
    """Long labels 500 rows down are not in view (the 1,000-row measure widened for them);
    the filter that brings them to the top widens Labels, and clearing it narrows it again."""
    rows = [_row(n, "please help" if n % 50 == 0 and n >= 500 else "okay then",
                 LONG if n % 50 == 0 and n >= 500 else SHORT) for n in range(ROWS)]
    view, model = _view(qtbot, rows)
    assert view.columnWidth(LABELS) == 96  # 'joy' in every row in view
    model.read.clear()
    model.set_filter(BrowseFilter(text="help"))
    qtbot.waitUntil(lambda: view.rowAt(0) == 0)
    assert _fits(view, _in_view(view))
    assert visible_text(view, 0, LABELS) == "ask for help, neutral"  # whole, not cut with '…'
    model.set_filter(BrowseFilter())
    assert view.columnWidth(LABELS) == 96


def test_measuring_after_a_filter_or_a_sort_reads_only_the_rows_in_view(qtbot):
    rows = [_row(n, "okay then" if n % 3 else "sorry no", LONG if n % 7 == 0 else SHORT)
            for n in range(ROWS)]
    view, model = _view(qtbot, rows)
    for change in (lambda: model.set_filter(BrowseFilter(text="sorry")),
                   lambda: view.horizontalHeader().setSortIndicator(LABELS,
                                                                    Qt.SortOrder.DescendingOrder)):
        model.read.clear()
        change()  # reset or re-ordered, measured and fitted: what remains is to paint
        read = set(model.read)
        qtbot.waitUntil(lambda: view.rowAt(0) >= 0)
        shown = _in_view(view)
        assert set(shown) <= read  # every row in view was measured...
        assert min(read) >= shown.start - SLACK and max(read) < shown.stop + SLACK  # ...no more
        assert _fits(view, shown)


def test_a_filter_leaving_fewer_rows_than_the_scroll_offset_measures_the_last_rows(qtbot):
    """Scrolled far down, a filter keeps the offset; with fewer rows the view then shows the
    last ones: those are measured, not the first."""
    rows = [_row(n, "okay then" if n % 10 else "sorry no",
                 LONG if n % 10 == 0 and n > 1_500 else SHORT) for n in range(ROWS)]
    view, model = _view(qtbot, rows)
    view.scrollTo(model.index(1_200, 0), ClipTableView.ScrollHint.PositionAtTop)
    qtbot.waitUntil(lambda: view.rowAt(0) == 1_200)
    model.read.clear()
    model.set_filter(BrowseFilter(text="sorry"))  # 200 rows; the last 50 have the long labels
    read = set(model.read)
    qtbot.waitUntil(lambda: 0 <= view.rowAt(0) < 200)
    shown = _in_view(view)
    assert shown.stop == 200 and set(shown) <= read
    assert min(read) >= shown.start - SLACK
    assert _fits(view, shown) and view.columnWidth(LABELS) > 96


def test_labels_widen_as_long_labels_scroll_into_view_or_are_given_out_of_view(qtbot):
    rows = [_row(n, labels=LONG if n == 1_500 else SHORT) for n in range(ROWS)]
    view, model = _view(qtbot, rows)
    assert view.columnWidth(LABELS) == 96
    model.update_row(300, _row(300, labels={"MIntRec": "complain", "MELD": "surprise"}))
    assert view.columnWidth(LABELS) == 96  # out of view: measured when it scrolls in
    view.scrollTo(model.index(300, 0))
    qtbot.waitUntil(lambda: _fits(view, [300]) and view.columnWidth(LABELS) > 96)
    relabelled = view.columnWidth(LABELS)
    view.scrollTo(model.index(1_500, 0))
    qtbot.waitUntil(lambda: _fits(view, [1_500]) and view.columnWidth(LABELS) > relabelled)
    assert visible_text(view, 1_500, LABELS) == "ask for help, neutral"
