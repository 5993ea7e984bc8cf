"""File > Re-check media files: a clip whose file was deleted or replaced after its probe gets
its new health in the browser, and one dialog names each changed file (clip and path)."""

from __future__ import annotations

import os

from PySide6.QtWidgets import QMessageBox

from mmla_core.media.synth import make_clip
from mmla_core.store.db import open_store

WAIT = 15_000


def _shown_box(window):
    boxes = [b for b in window.findChildren(QMessageBox) if b.isVisible()]
    return boxes[-1] if boxes else None


def _menu_action(window, text: str):
    return next(a for a in window.findChildren(type(window.key_actions["undo"]))
                if a.text() == text)


def _browser_health(window) -> dict[str, str]:
    model = window.browser.model
    rows = (model.row_at(i) for i in range(model.rowCount()))
    return {row.external_id: row.health for row in rows if row is not None}


def test_recheck_marks_a_deleted_file_missing_and_reprobes_a_replaced_one(window, tiny_project,
                                                                         qtbot):
    assert _browser_health(window)["utt_a"] == "ok"
    (tiny_project.media_root / "a.mp4").unlink()
    make_clip(tiny_project.media_root / "b.mp4", text="other", duration_s=2.0, width=64,
              height=48)
    _menu_action(window, "Re-check &media files").trigger()
    qtbot.waitUntil(lambda: _shown_box(window) is not None, timeout=WAIT)
    text = _shown_box(window).text()
    assert "2 changed since their probe" in text, text
    assert f"tiny/utt_a ({tiny_project.media_root / 'a.mp4'}): missing" in text
    assert f"tiny/utt_b ({tiny_project.media_root / 'b.mp4'}): size" in text
    qtbot.waitUntil(lambda: _browser_health(window)["utt_a"] == "missing_file", timeout=WAIT)
    with open_store(window.db_path) as store:
        rows = {r["external_id"]: r for r in store.query(
            "SELECT external_id, health, duration_s, media_size FROM clips")}
    assert rows["utt_a"]["health"] == "missing_file" and rows["utt_a"]["duration_s"] is None
    assert rows["utt_b"]["health"] == "ok"
    assert rows["utt_b"]["media_size"] == os.path.getsize(tiny_project.media_root / "b.mp4")
    assert rows["utt_c"]["health"] == "text_only"  # a text-only clip stays text
    _shown_box(window).close()
