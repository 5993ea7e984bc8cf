"""The clip browser's variant rows say which variant they are at the app's default sizes: the
recipe runs on into the empty Labels / Verdict / Reviewed by cells (the External id column alone
cut every recipe to '↳ captio…'), while the columns a curator uses keep their widths."""

from __future__ import annotations

import json

import pytest

from mmla_app.curation.clip_table import COLUMN_KEYS, ClipTableModel, ClipTableView
from mmla_core.store.browse import BrowseRow
from tests.support.gui import visible_text

pytestmark = pytest.mark.gui
EXTERNAL_ID = COLUMN_KEYS.index("external_id")
# the browser's width on a 1366x768 screen (the left panel is about 420-485 px wide there)
BROWSER_WIDTH_1366 = 430
RECIPES = [("caption_misleading", {"mode": "prepend", "caption": "praise"}),
           ("context_long", {"words": 10000, "style": "letters"}),
           ("audio_swap", {"donor_clip_id": 6}), ("frames_black", {}),
           ("audio_removed", {}), ("audio_silent", {})]


def _row(clip_id: int, parent: int | None = None, step=None, labels=None) -> BrowseRow:
    recipe = json.dumps({"steps": [{"name": step[0], "params": step[1]}]}) if step else None
    return BrowseRow(id=clip_id, dataset="demo", split="train", external_id=f"demo_{clip_id:02}",
                     transcript="Thank you so much", duration_s=2.8, health="ok",
                     parent_clip_id=parent, media_path=None, media_root="",
                     recipe_json=recipe, labels=labels or {})


def _view(qtbot, rows, height: int = 400) -> ClipTableView:
    model = ClipTableModel()
    model.set_rows(rows, "ana")
    view = ClipTableView(model)
    qtbot.addWidget(view)
    view.resize(BROWSER_WIDTH_1366, height)
    view.show()
    qtbot.waitExposed(view)
    return view


def test_each_variant_row_shows_its_whole_recipe(qtbot):
    rows = [_row(1, labels={"MIntRec": "thank"}),
            *(_row(9 + i, 1, step) for i, step in enumerate(RECIPES))]
    view = _view(qtbot, rows)
    widths = [view.columnWidth(c) for c in range(EXTERNAL_ID + 1, EXTERNAL_ID + 4)]
    shown = [visible_text(view, position) for position in range(1, len(rows))]
    assert shown == ["↳ caption prepended: 'praise'", "↳ +10000 letters of context",
                     "↳ audio ← clip 6", "↳ frames black", "↳ audio removed", "↳ audio silent"]
    assert visible_text(view, 0) == "demo_01"  # a clip's own row: its id, in its own cell
    assert view.columnSpan(0, EXTERNAL_ID) == 1
    assert [view.columnWidth(c) for c in range(EXTERNAL_ID + 1, EXTERNAL_ID + 4)] == widths


def test_a_labelled_variant_keeps_its_labels_and_the_distinct_end_of_its_recipe(qtbot):
    false_caption = ("caption_misleading", {"mode": "prepend", "caption": "a false caption"})
    rows = [_row(1), _row(2, 1, false_caption, labels={"MIntRec": "thank"}),
            _row(3, 1, ("caption_misleading", {"mode": "prepend", "caption": "other words"}),
                 labels={"MIntRec": "thank"})]
    view = _view(qtbot, rows)
    assert view.columnSpan(1, EXTERNAL_ID) == 1  # its Labels cell shows its labels
    first, second = visible_text(view, 1), visible_text(view, 2)
    assert "…" in first and first != second  # cut in the middle: the captions' ends differ
    assert first.endswith("ption'") and second.endswith("ords'")


def test_only_rows_in_view_get_a_span_and_scrolling_brings_them(qtbot):
    rows = [_row(1), *(_row(2 + i, 1, RECIPES[i % len(RECIPES)]) for i in range(400))]
    view = _view(qtbot, rows, height=300)
    assert view.columnSpan(1, EXTERNAL_ID) == 4
    assert view.columnSpan(399, EXTERNAL_ID) == 1  # far below the view: no span (cheap)
    view.scrollToBottom()
    qtbot.waitUntil(lambda: view.columnSpan(399, EXTERNAL_ID) == 4, timeout=5_000)
    assert view.columnSpan(1, EXTERNAL_ID) == 1


def test_a_row_update_that_changes_no_span_leaves_the_spans_alone(qtbot):
    """A label arriving on one row (a key press, another process) must not reset the spans:
    clearing them repaints the whole view (twice the CPU for a CLI label a second on 20,000
    clips)."""
    rows = [_row(1), *(_row(2 + i, 1, RECIPES[i % len(RECIPES)]) for i in range(20))]
    view = _view(qtbot, rows)
    cleared = []
    view.clearSpans = lambda: cleared.append(1)  # the view calls it through self
    view.model().update_row(1, _row(1, labels={"MIntRec": "thank"}))
    assert cleared == [] and view.columnSpan(1, EXTERNAL_ID) == 4
    view.model().update_row(2, _row(2, 1, RECIPES[0], labels={"MIntRec": "thank"}))
    assert cleared == [1]  # that variant's labels now need its cells: spans set again
