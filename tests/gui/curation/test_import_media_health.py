"""File > Import of a folder with a file that cannot be read: the status line says the media's
health ('1 unreadable'), and, since that line is replaced within seconds (the player's notice on
the first clip), one dialog says it too and where to find those clips; all-ok media say nothing."""

from __future__ import annotations

import shutil

from PySide6.QtWidgets import QMessageBox

from tests.support.gui import status_said


def _shown_box(window):
    boxes = [b for b in window.findChildren(QMessageBox) if b.isVisible()]
    return boxes[-1] if boxes else None


def test_an_unreadable_file_is_said_after_the_import(make_window, tmp_path, clip_files, qtbot):
    folder = tmp_path / "takes"
    folder.mkdir()
    shutil.copy(clip_files / "a.mp4", folder / "good.mp4")
    (folder / "broken.mp4").write_bytes(bytes(range(256)) * 20)
    window = make_window(tmp_path / "p.sqlite")
    window.importer.start(folder)
    qtbot.waitUntil(lambda: _shown_box(window) is not None, timeout=20_000)
    assert status_said(window, "Imported takes: 2 new clips, 0 problems reported; "
                               "media: 1 unreadable")
    box = _shown_box(window)
    assert box.windowTitle() == "Imported takes with problems"
    assert "Media: 1 unreadable" in box.text() and "“problem”" in box.text()
    box.close()


def test_healthy_media_add_nothing_to_the_summary(make_window, tmp_path, clip_files, qtbot):
    folder = tmp_path / "fine"
    folder.mkdir()
    shutil.copy(clip_files / "a.mp4", folder / "good.mp4")
    window = make_window(tmp_path / "p.sqlite")
    window.importer.start(folder)
    qtbot.waitUntil(lambda: status_said(window, "Imported fine: 1 new clip, 0 problems "
                                                "reported"), timeout=20_000)
    assert not any("media:" in line for line in window.status_lines)
    assert _shown_box(window) is None
