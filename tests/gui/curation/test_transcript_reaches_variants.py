"""A transcript edited in the window (F2, Ctrl+Enter), and a label key, reach the clip's
variants, in the database (store.variant_text, variant_labels) and in the browser's rows; Undo
takes the transcript back there too."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from mmla_app.curation.clip_table import COLUMN_KEYS
from mmla_core.store.db import open_store
from mmla_core.store.labels import set_label
from mmla_core.variants.store_ops import create_variant

pytestmark = pytest.mark.gui
WAIT = 15_000  # a write on the writer thread, then the rows re-read: seconds when loaded
TRANSCRIPT = COLUMN_KEYS.index("transcript")


def _shown(window) -> list[str]:
    model = window.browser.model
    return [str(model.index(r, TRANSCRIPT).data() or "") for r in range(model.rowCount())]


def test_the_browser_shows_the_variants_new_text(make_window, tiny_project, qtbot):
    with open_store(tiny_project.db_path) as store:
        create_variant(store, tiny_project.clip_ids[0],
                       [("caption_misleading", {"caption": "fear"})])
    window = make_window(tiny_project.db_path)
    qtbot.waitUntil(lambda: window.browser.model.rowCount() == 4, timeout=WAIT)
    table = window.browser.table
    rect = table.visualRect(window.browser.model.index(0, TRANSCRIPT))  # the Id cell folds
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: window.annotation.clip_id is not None, timeout=WAIT)
    qtbot.keyClick(table, Qt.Key.Key_F2)
    editor = window.transcript.editor
    editor.selectAll()
    qtbot.keyClicks(editor, "Corrected text")
    qtbot.keyClick(editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: "Video_caption: fear. Corrected text" in _shown(window)[1],
                    timeout=WAIT)
    qtbot.keyClick(table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: "Video_caption: fear. I can't believe you did that!"
                    in _shown(window)[1], timeout=WAIT)


def test_a_label_key_reaches_the_variants_copy_in_the_browser(make_window, tiny_project,
                                                              qtbot):
    with open_store(tiny_project.db_path) as store:
        meld = store.scalar("SELECT id FROM tasks WHERE name = 'MELD'")
        set_label(store, tiny_project.clip_ids[0], meld, "fear", "alice")
        create_variant(store, tiny_project.clip_ids[0],
                       [("caption_misleading", {"caption": "joy"})], copy_labels=True)
    window = make_window(tiny_project.db_path)
    qtbot.waitUntil(lambda: window.browser.model.rowCount() == 4, timeout=WAIT)
    model, table = window.browser.model, window.browser.table
    assert model.row_at(1).labels == {"MELD": "fear"}  # alice's, copied
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton,
                     pos=table.visualRect(model.index(0, TRANSCRIPT)).center())
    qtbot.waitUntil(lambda: window.annotation.clip_id is not None, timeout=WAIT)
    qtbot.keyClick(table, Qt.Key.Key_6)  # MELD's 6th label: anger
    qtbot.waitUntil(lambda: model.row_at(1).labels == {"MELD": "anger"}, timeout=WAIT)
