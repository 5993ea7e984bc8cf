"""The issue's "done when", as a curator does it: 20 clips labelled and checked from the keyboard
alone, one mistake undone, the window closed without any save step, everything there on reopening.
"""

import shutil

import pytest
from PySide6.QtCore import Qt

from mmla_app.runtime.write_queue import write_queue
from mmla_core.store.catalog import (
    attach_task,
    clip_ids_by_key,
    ensure_task,
    save_media_info,
    upsert_clips,
    upsert_dataset,
)
from mmla_core.store.db import open_store
from mmla_core.tasks import builtin_task

pytestmark = pytest.mark.gui
CLIPS = 20


@pytest.fixture
def twenty_clip_project(tmp_path, clip_files):
    from mmla_core.media.probe import probe

    media = tmp_path / "media"
    shutil.copytree(clip_files, media)
    db_path = tmp_path / "p.sqlite"
    facts = probe(media / "a.mp4").clip_columns()
    with open_store(db_path) as store:
        dataset_id = upsert_dataset(store, "twenty", str(media), "folder")
        attach_task(store, dataset_id, ensure_task(store, builtin_task("MELD")))
        upsert_clips(store, dataset_id, [
            {"external_id": f"utt_{i:02d}", "split": "test", "media_path": "a.mp4",
             "transcript": f"line {i}"} for i in range(CLIPS)
        ])
        save_media_info(store, [(cid, facts) for cid in clip_ids_by_key(store, dataset_id)
                                .values()])
    return db_path


def press(qtbot, window, key, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    qtbot.keyClick(window.browser.table, key, modifier)


def test_twenty_clips_by_keyboard_then_reopen(make_window, twenty_clip_project, qtbot):
    window = make_window(twenty_clip_project)
    qtbot.waitUntil(lambda: window.browser.model.rowCount() == CLIPS, timeout=10_000)
    # the window opens on the first clip not reviewed yet, with the keyboard in the table
    for number in range(CLIPS):
        qtbot.waitUntil(lambda n=number: window.current_row is not None
                        and window.current_row.external_id == f"utt_{n:02d}", timeout=10_000)
        press(qtbot, window, Qt.Key.Key_5)           # MELD: joy
        for _ in range(4):
            press(qtbot, window, Qt.Key.Key_Y)       # every check: yes
        qtbot.waitUntil(lambda: not window.annotation.has_unsaved()
                        and not window.checks.has_unsaved(), timeout=10_000)
        press(qtbot, window, Qt.Key.Key_Return)      # reviewed (accept) -> next clip
        write_queue().drain()
    press(qtbot, window, Qt.Key.Key_3)  # a mistake on the last clip: fear instead of joy
    qtbot.waitUntil(lambda: not window.annotation.has_unsaved(), timeout=10_000)
    write_queue().drain()
    press(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # undo it
    write_queue().drain()
    window.close()

    again = make_window(twenty_clip_project)
    qtbot.waitUntil(lambda: again.browser.model.rowCount() == CLIPS, timeout=10_000)
    model = again.browser.model
    assert [model.row_at(r).labels for r in range(CLIPS)] == [{"MELD": "joy"}] * CLIPS
    assert {model.row_at(r).verdict for r in range(CLIPS)} == {"accept"}
    with open_store(twenty_clip_project) as store:
        yes = store.scalar("SELECT count(*) FROM check_answers WHERE answer = 'yes'")
        undone = store.scalar("SELECT count(*) FROM edit_history WHERE state = 'undone'")
    assert (yes, undone) == (4 * CLIPS, 1)  # the undo took back the mistake, nothing else
