"""The clip list's columns at the browser widths of a 1366x768 and a 1600x1000 screen: Labels as
wide as the label lists in view need (it was 96 px, 'complain, an…') while Verdict and Reviewed
by stay on screen; the transcript last, taking the rest; a border the user drags is kept and
remembered."""

from __future__ import annotations

import pytest

from mmla_app.curation.clip_table import (
    COLUMN_KEYS,
    MIN_TRANSCRIPT_WIDTH,
    ClipTableModel,
    ClipTableView,
)
from mmla_core.store.browse import BrowseRow

pytestmark = pytest.mark.gui
LABELS = COLUMN_KEYS.index("labels")
TRANSCRIPT = COLUMN_KEYS.index("transcript")
REVIEW = [COLUMN_KEYS.index(key) for key in ("labels", "verdict", "reviewed_by")]
BROWSER_1366, BROWSER_1600 = 484, 535  # the browser's width in the window at those screens
LABEL_SETS = [{"MIntRec": "thank", "MELD": "joy"}, {"MIntRec": "complain", "MELD": "anger"},
              {"MIntRec": "ask for help", "MELD": "neutral"}]


def _rows() -> list[BrowseRow]:
    return [BrowseRow(id=n, dataset="demo", split="train", external_id=f"demo_{n:02}",
                      transcript="Thank you so much, this is wonderful!", duration_s=2.8,
                      health="ok", parent_clip_id=None, media_path=None, media_root="",
                      recipe_json=None, labels=labels)
            for n, labels in enumerate(LABEL_SETS, start=1)]


def _view(qtbot, width: int) -> ClipTableView:
    model = ClipTableModel()
    model.set_rows(_rows(), "alice")
    view = ClipTableView(model)
    qtbot.addWidget(view)
    view.resize(width, 300)
    view.show()
    qtbot.waitExposed(view)
    return view


def _on_screen(view: ClipTableView, column: int) -> bool:
    header = view.horizontalHeader()
    left = header.sectionViewportPosition(column)
    return left >= 0 and left + header.sectionSize(column) <= view.viewport().width()


@pytest.mark.parametrize("width", [BROWSER_1366, BROWSER_1600])
def test_review_columns_stay_on_screen_and_the_transcript_comes_last(qtbot, width):
    view = _view(qtbot, width)
    assert all(_on_screen(view, column) for column in REVIEW)
    assert view.columnWidth(LABELS) >= 96
    assert len(COLUMN_KEYS) - 1 == TRANSCRIPT
    assert view.columnWidth(TRANSCRIPT) >= MIN_TRANSCRIPT_WIDTH


def test_labels_show_whole_where_the_browser_has_room(qtbot):
    view = _view(qtbot, BROWSER_1600)
    needed = view.sizeHintForColumn(LABELS)  # 'ask for help, neutral' unelided
    assert view.columnWidth(LABELS) >= needed > 96


def test_a_dragged_border_is_kept_and_remembered(qtbot):
    view = _view(qtbot, BROWSER_1600)
    view.horizontalHeader().resizeSection(LABELS, 190)  # what a drag of its border does
    view.resize(BROWSER_1366, 300)
    qtbot.waitUntil(lambda: view.viewport().width() < BROWSER_1366)
    assert view.columnWidth(LABELS) == 190
    assert _view(qtbot, BROWSER_1366).columnWidth(LABELS) == 190  # the next window
