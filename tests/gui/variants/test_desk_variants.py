"""Variants nest under their parent in the browser (fold / unfold), a variant's Variants tab
shows its parent and its siblings, recipes have readable names."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from mmla_app.curation.clip_table import COLUMN_KEYS
from mmla_core.store.browse import BrowseRow, nest_variants
from mmla_core.store.db import open_store
from mmla_core.variants.store_ops import create_variant

pytestmark = pytest.mark.gui
WAIT = 15_000


def row(clip_id: int, parent: int | None = None) -> BrowseRow:
    return BrowseRow(clip_id, "d", "train", f"c{clip_id}", "", None, "ok", parent, None, "")


def test_nesting_is_by_parent_and_folding_hides_the_variants():
    rows = [row(1), row(2), row(3, parent=1), row(4, parent=1), row(5, parent=3)]
    order = [1, 0, 3, 2, 4]  # indexes, e.g. sorted some other way
    assert [rows[i].id for i in nest_variants(rows, order)] == [2, 1, 3, 5, 4]
    assert [rows[i].id for i in nest_variants(rows, order, {1})] == [2, 1]
    assert [rows[i].id for i in nest_variants(rows, [2, 1])] == [3, 2]  # parent filtered out


@pytest.fixture
def with_variants(window, qtbot, tiny_project):
    first = tiny_project.clip_ids[0]
    with open_store(tiny_project.db_path) as store:
        made = [create_variant(store, first, [name]).clip_id
                for name in ("frames_black", "audio_silent")]
    window.reload_clips(made[1])
    qtbot.waitUntil(lambda: window.browser.model.rowCount() == 5, timeout=WAIT)
    return window, first, made


def test_variants_sit_under_their_parent_and_fold(with_variants, qtbot, tiny_project):
    window, first, made = with_variants
    model, table = window.browser.model, window.browser.table
    ids = [model.row_at(r).id for r in range(model.rowCount())]
    assert ids[:3] == [first, *made]  # not appended at the bottom
    assert model.index(0, 0).data() == f"▾ {first}"
    assert model.index(1, COLUMN_KEYS.index("external_id")).data().startswith("↳ ")
    rect = table.visualRect(model.index(0, 0))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert model.rowCount() == 3 and model.index(0, 0).data() == f"▸ {first}"
    assert table.select_clip(made[0])  # a folded variant is unfolded to be shown
    assert model.rowCount() == 5


def test_a_variants_tab_shows_its_parent_and_siblings(with_variants, qtbot):
    window, first, made = with_variants
    panel = window.variants
    window.side_tabs.setCurrentWidget(panel)
    window.browser.table.select_clip(made[1])
    texts = lambda: [panel.variant_list.item(i).text()  # noqa: E731
                     for i in range(panel.variant_list.count())]
    qtbot.waitUntil(lambda: len(texts()) == 3, timeout=WAIT)
    assert texts()[0].startswith(f"↑ parent #{first}")
    assert texts()[2].endswith("← this clip") and f"#{made[1]}" in texts()[2]
    assert panel.status.text() == (f"Clip {made[1]} is a variant of clip {first} "
                                   "(2 variants of it); 0 variants of its own")
    panel.variant_list.setCurrentRow(0)
    assert panel.play_button.isEnabled() and not panel.delete_button.isEnabled()
    assert panel.checks["audio_swap"].text() == "Audio from another clip"
    assert "audio_swap" in panel.checks["audio_swap"].toolTip()
