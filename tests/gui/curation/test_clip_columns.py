"""The clip list's columns at the browser widths of a 1366x768 and a 1600x1000 screen: the clip's
id and name, its labels and the start of its transcript are in view without sideways scrolling
(the transcript used to start 144 px past the edge at 1366x768); External ids and Labels follow
what their cells hold, Labels also after a relabel; a border the user drags is kept and
remembered, and gives way, on screen, when the window is too narrow for it and the transcript."""

from __future__ import annotations

from dataclasses import replace

import pytest
from PySide6.QtCore import Qt

from mmla_app import settings
from mmla_app.curation.clip_table import COLUMN_KEYS, ClipTableModel, ClipTableView
from mmla_core.store.browse import BrowseRow
from tests.support.gui import visible_text

pytestmark = pytest.mark.gui
LABELS = COLUMN_KEYS.index("labels")
TRANSCRIPT = COLUMN_KEYS.index("transcript")
IN_VIEW = [COLUMN_KEYS.index(key) for key in ("id", "external_id", "labels", "verdict",
                                              "reviewed_by")]
BROWSER_1366, BROWSER_1600 = 484, 535  # the browser's width in the window at those screens
BROWSER_1920 = 690
TRANSCRIPT_SHOWN = 150  # px of transcript in view: about 25 characters, the utterance's start
LABEL_SETS = [{"MIntRec": "thank", "MELD": "joy"}, {"MIntRec": "complain", "MELD": "anger"},
              {"MIntRec": "ask for help", "MELD": "neutral"}]


def _rows() -> list[BrowseRow]:
    return [BrowseRow(id=n, dataset="demo", split="train", external_id=f"demo_{n:02}",
                      transcript="Thank you so much, this is wonderful!", duration_s=2.8,
                      health="ok", parent_clip_id=None, media_path=None, media_root="",
                      recipe_json=None, labels=labels)
            for n, labels in enumerate(LABEL_SETS, start=1)]


def _view(qtbot, width: int, rows: list[BrowseRow] | None = None) -> ClipTableView:
    model = ClipTableModel()
    model.set_rows(_rows() if rows is None else rows, "alice")
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


def transcript_shown(view: ClipTableView) -> int:
    """How many px of the Transcript column are inside the list, with no sideways scroll."""
    left = view.horizontalHeader().sectionViewportPosition(TRANSCRIPT)
    right = min(left + view.columnWidth(TRANSCRIPT), view.viewport().width())
    return right - left if 0 <= left < view.viewport().width() else 0


@pytest.mark.parametrize("width", [BROWSER_1366, BROWSER_1600])
def test_name_labels_and_the_start_of_the_transcript_are_in_view(qtbot, width):
    view = _view(qtbot, width)
    assert view.horizontalScrollBar().value() == 0
    assert all(_on_screen(view, column) for column in IN_VIEW)
    assert transcript_shown(view) >= TRANSCRIPT_SHOWN
    assert view.columnWidth(LABELS) >= 96


def test_a_wider_browser_shows_more_transcript(qtbot):
    narrow, wide = _view(qtbot, BROWSER_1366), _view(qtbot, BROWSER_1600)
    assert transcript_shown(wide) > transcript_shown(narrow)
    # the transcript ends at the list's right edge: no gap, and nothing more of it hidden
    for view in (narrow, wide):
        header = view.horizontalHeader()
        assert header.sectionViewportPosition(TRANSCRIPT) + view.columnWidth(TRANSCRIPT) == \
            view.viewport().width()


def test_labels_show_whole_where_the_browser_has_room(qtbot):
    view = _view(qtbot, BROWSER_1600)
    needed = view.sizeHintForColumn(LABELS)  # 'ask for help, neutral' unelided
    assert view.columnWidth(LABELS) >= needed > 96


def test_long_ids_keep_their_distinct_end_and_show_whole_where_there_is_room(qtbot):
    rows = [replace(row, external_id=f"Ses01F_impro01_F00{n}")  # IEMOCAP's ids
            for n, row in enumerate(_rows())]
    narrow = _view(qtbot, BROWSER_1366, rows)
    shown = [visible_text(narrow, position) for position in range(3)]
    assert [text[-4:] for text in shown] == ["F000", "F001", "F002"]  # cut in the middle
    assert transcript_shown(narrow) >= TRANSCRIPT_SHOWN
    wide = _view(qtbot, BROWSER_1920, rows)
    assert [visible_text(wide, position) for position in range(3)] == \
        [row.external_id for row in rows]
    assert transcript_shown(wide) > TRANSCRIPT_SHOWN


def test_a_relabel_to_a_long_label_widens_labels_without_a_reload(qtbot):
    rows = [replace(row, labels={"MELD": "joy"}) for row in _rows()]
    view = _view(qtbot, BROWSER_1600, rows)
    model: ClipTableModel = view.model()
    resets: list[int] = []
    model.modelReset.connect(lambda: resets.append(1))
    before = view.columnWidth(LABELS)
    model.update_row(2, replace(rows[1], labels={"MELD": "joy", "MIntRec": "ask for help"}))
    needed = view.sizeHintForColumn(LABELS)
    assert needed > before
    qtbot.waitUntil(lambda: view.columnWidth(LABELS) >= needed, timeout=2_000)
    assert not resets
    assert transcript_shown(view) >= TRANSCRIPT_SHOWN


def test_a_remembered_too_wide_width_does_not_hide_the_transcript(qtbot):
    settings.set_browser_column_width("labels", 400)  # dragged on a wide screen
    settings.set_browser_column_width("external_id", 260)
    view = _view(qtbot, BROWSER_1366)
    assert transcript_shown(view) >= TRANSCRIPT_SHOWN
    assert all(_on_screen(view, column) for column in IN_VIEW)
    assert settings.browser_column_widths() == {"labels": 400, "external_id": 260}
    wide = _view(qtbot, 1400)  # where there is room, the remembered widths show again
    assert (wide.columnWidth(LABELS), wide.columnWidth(COLUMN_KEYS.index("external_id"))) == \
        (400, 260)


def test_a_dragged_border_is_kept_and_remembered(qtbot):
    view = _view(qtbot, BROWSER_1600)
    view.horizontalHeader().resizeSection(LABELS, 150)  # what a drag of its border does
    assert view.columnWidth(LABELS) == 150
    view.resize(BROWSER_1366, 300)  # too narrow for it and the transcript: it gives way
    qtbot.waitUntil(lambda: view.viewport().width() < BROWSER_1366)
    assert transcript_shown(view) >= TRANSCRIPT_SHOWN
    view.resize(BROWSER_1600, 300)
    qtbot.waitUntil(lambda: view.columnWidth(LABELS) == 150)
    assert _view(qtbot, BROWSER_1600).columnWidth(LABELS) == 150  # the next window


def test_a_drag_stops_where_the_transcript_would_leave_the_list(qtbot):
    view = _view(qtbot, BROWSER_1600)
    view.horizontalHeader().resizeSection(LABELS, 450)
    assert transcript_shown(view) >= TRANSCRIPT_SHOWN
    assert settings.browser_column_widths()["labels"] == view.columnWidth(LABELS) < 450


def test_verdict_and_reviewers_are_compact_whole_in_the_tooltip_and_sort_as_before(qtbot):
    reviews = [("accept", "bob, alice"), ("reject", "christina"), (None, "")]
    rows = [replace(row, verdict=verdict, reviewed_by=who)
            for row, (verdict, who) in zip(_rows(), reviews, strict=True)]
    view = _view(qtbot, BROWSER_1366, rows)
    model = view.model()
    verdict, reviewers = COLUMN_KEYS.index("verdict"), COLUMN_KEYS.index("reviewed_by")
    cell = lambda row, column, role=Qt.ItemDataRole.DisplayRole: (  # noqa: E731
        model.index(row, column).data(role))
    assert [cell(r, verdict) for r in range(3)] == ["✓", "✗", ""]
    assert [cell(r, reviewers) for r in range(3)] == ["alice +1", "christina", ""]  # yours first
    tip = Qt.ItemDataRole.ToolTipRole
    assert cell(0, verdict, tip) == "Verdict: accept"
    assert cell(0, reviewers, tip) == "Reviewed by bob, alice"
    assert "demo · train · 2.80 s" in cell(0, COLUMN_KEYS.index("external_id"), tip)
    model.sort(verdict, Qt.SortOrder.DescendingOrder)
    assert [model.row_at(r).verdict for r in range(3)] == ["reject", "accept", None]
    model.sort(reviewers, Qt.SortOrder.AscendingOrder)
    assert [model.row_at(r).reviewed_by for r in range(3)] == ["", "bob, alice", "christina"]
