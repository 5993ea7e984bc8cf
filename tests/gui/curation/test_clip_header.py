"""The clip header: a clip whose file has a very long name (one word, it cannot wrap) must not
widen the window past the screen; the name is cut in the middle, the whole path in the tooltip."""

from __future__ import annotations

import shutil

import pytest

pytestmark = pytest.mark.gui

LONG_NAME = ("a_very_long_file_name_for_a_clip_recorded_during_the_second_session_of_the_"
             "dialogue_study_speaker_07_take_03_final_version.mp4")


def _add_long_named_clip(project) -> int:
    from mmla_core.media.probe import probe
    from mmla_core.store.catalog import clip_ids_by_key, save_media_info, upsert_clips
    from mmla_core.store.db import open_store

    shutil.copy(project.media_root / "a.mp4", project.media_root / LONG_NAME)
    with open_store(project.db_path) as store:
        upsert_clips(store, project.dataset_id, [{"split": "train", "external_id": "long",
                                                  "media_path": LONG_NAME, "transcript": ""}])
        clip_id = clip_ids_by_key(store, project.dataset_id)[("train", "long")]
        save_media_info(store, [(clip_id, probe(project.media_root / LONG_NAME).clip_columns())])
    return clip_id


def test_a_long_file_name_is_cut_in_the_middle_not_widening_the_window(
        make_window, tiny_project, qtbot):
    clip_id = _add_long_named_clip(tiny_project)
    window = make_window(tiny_project.db_path)
    window.resize(1280, 720)
    qtbot.waitUntil(lambda: window.browser.model.rowCount() == 4, timeout=15_000)
    width = window.width()
    facts = window.header.facts
    assert window.browser.table.select_clip(clip_id)
    qtbot.waitUntil(lambda: "fps" in facts.text(), timeout=10_000)
    qtbot.wait(50)  # let a layout request (a wider minimum) reach the window
    assert window.width() == width
    assert window.minimumSizeHint().width() <= width
    shown = facts.text().splitlines()[-1]
    assert facts.fontMetrics().horizontalAdvance(shown.split("  ·  ")[-1]) <= facts.width()
    assert "…" in shown and shown.endswith("final_version.mp4")
    assert LONG_NAME in facts.toolTip()
