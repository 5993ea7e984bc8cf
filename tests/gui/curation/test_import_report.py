"""File > Import tells the curator what a re-import kept of their work (issue 15, item 1)."""

from __future__ import annotations

import shutil

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from mmla_core.store.db import open_store
from mmla_core.store.labels import set_transcript


def clips_folder(tmp_path, clip_files, names, source: str | None = None):
    """tmp_path/clips holding a copy of each named clip (or of `source` under each name)."""
    folder = tmp_path / "clips"
    folder.mkdir()
    for name in names:
        shutil.copy(clip_files / (source or name), folder / name)
    return folder


def _shown_box(window):
    boxes = [b for b in window.findChildren(QMessageBox) if b.isVisible()]
    return boxes[-1] if boxes else None


def _import_from_the_dialog(window, folder, qtbot) -> None:
    """File > Import dataset folder…, the folder typed in, Import; until the report shows."""
    window.importer.choose_and_import()
    window.import_dialog.folder_edit.setText(str(folder))
    qtbot.mouseClick(window.import_dialog.import_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: _shown_box(window) is not None, timeout=15_000)


def test_reimport_dialog_reports_the_kept_curated_transcript(make_window, tmp_path, clip_files,
                                                             qtbot):
    folder = clips_folder(tmp_path, clip_files, ("a.mp4",))
    (folder / "manifest.csv").write_text("path,split,transcript\na.mp4,test,what!\n")
    window = make_window(tmp_path / "p.sqlite")
    window.importer.start(folder)
    qtbot.waitUntil(lambda: window.browser.model.rowCount() == 1, timeout=15_000)
    with open_store(window.db_path) as store:
        clip_id = store.scalar("SELECT id FROM clips")
        set_transcript(store, clip_id, "What?!", "alice")
    (folder / "manifest.csv").write_text("path,split,transcript\na.mp4,test,what?\n")
    window.importer.start(folder)
    qtbot.waitUntil(lambda: _shown_box(window) is not None, timeout=15_000)
    text = _shown_box(window).text()
    assert "1 kept where the source differs" in text and "manifest.csv:2" in text, text
    assert "'What?!'" in text and "alice" in text
    with open_store(window.db_path) as store:
        assert store.scalar("SELECT transcript FROM clips WHERE id = ?", (clip_id,)) == "What?!"
    _shown_box(window).close()


def test_a_same_named_folder_from_the_dialog_becomes_a_new_dataset(make_window, tmp_path,
                                                                   clip_files, qtbot):
    from mmla_core.store.catalog import list_datasets

    folders = [tmp_path / side / "clips" for side in ("one", "two")]
    for folder in folders:
        folder.mkdir(parents=True)
        shutil.copy(clip_files / "a.mp4", folder / "a.mp4")
    window = make_window(tmp_path / "p.sqlite")
    for number, folder in enumerate(folders, 1):
        window.importer.choose_and_import()  # File > Import dataset folder…
        dialog = window.import_dialog
        dialog.folder_edit.setText(str(folder))  # the name field follows: "clips"
        qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda n=number: window.browser.model.rowCount() == n, timeout=15_000)
    qtbot.waitUntil(lambda: _shown_box(window) is not None, timeout=15_000)
    assert "imported as a new dataset 'clips-2'" in _shown_box(window).text()
    with open_store(window.db_path) as store:
        roots = {d["name"]: d["root"] for d in list_datasets(store)}
    assert roots == {"clips": str(folders[0].resolve()), "clips-2": str(folders[1].resolve())}
    _shown_box(window).close()


def test_reimport_dialog_reports_a_missing_media_file_and_the_clip_keeps_it(
        make_window, tmp_path, clip_files, qtbot):
    folder = clips_folder(tmp_path, clip_files, ("a.mp4", "b.mp4"))
    (folder / "manifest.csv").write_text("path,split,transcript\na.mp4,test,one\nb.mp4,test,two\n")
    window = make_window(tmp_path / "p.sqlite")
    window.importer.start(folder)
    qtbot.waitUntil(lambda: window.browser.model.rowCount() == 2, timeout=15_000)
    (folder / "a.mp4").unlink()
    window.importer.start(folder)
    qtbot.waitUntil(lambda: _shown_box(window) is not None, timeout=15_000)
    text = _shown_box(window).text()
    assert "1 media file missing" in text and "manifest.csv:2" in text, text
    assert f"'a.mp4' is missing ({folder / 'a.mp4'})" in text
    with open_store(window.db_path) as store:
        row = store.query("SELECT media_path, health FROM clips WHERE external_id = 'a'")[0]
    assert row == {"media_path": "a.mp4", "health": "missing_file"}  # not made text-only
    model = window.browser.model
    qtbot.waitUntil(lambda: {model.row_at(i).external_id: model.row_at(i).health
                             for i in range(model.rowCount())}.get("a") == "missing_file",
                    timeout=15_000)
    _shown_box(window).close()


def test_the_dialog_names_the_media_files_a_manifest_leaves_out(make_window, tmp_path,
                                                                clip_files, qtbot):
    """As `mmla import` (tests/core/datasets/test_import_manifest_names_clips.py): the
    manifest names the clips; a.mp4, which its row for `a` no longer names, is not imported."""
    folder = clips_folder(tmp_path, clip_files, ("a.mp4", "a_take2.mp4", "b.mp4"), source="a.mp4")
    (folder / "manifest.csv").write_text("external_id,path\na,a_take2.mp4\nb,b.mp4\n")
    window = make_window(tmp_path / "p.sqlite")
    _import_from_the_dialog(window, folder, qtbot)
    text = _shown_box(window).text()
    assert "clips: not in the manifest: 1 media file (a.mp4), not imported" in text, text
    qtbot.waitUntil(lambda: window.browser.model.rowCount() == 2, timeout=15_000)
    with open_store(window.db_path) as store:
        assert dict(store.conn.execute("SELECT external_id, media_path FROM clips")) == {
            "a": "a_take2.mp4", "b": "b.mp4"}
    _shown_box(window).close()


def test_the_dialog_says_a_jsonl_that_is_not_a_manifest_was_ignored(make_window, tmp_path,
                                                                    clip_files, qtbot):
    """As `mmla import` (tests/core/datasets/test_import_manifest_pick.py): a notes.jsonl
    beside the clips is not their manifest; both clips import and the dialog says why."""
    folder = clips_folder(tmp_path, clip_files, ("a.mp4", "b.mp4"))
    (folder / "notes.jsonl").write_text('{"note": "check the lighting"}\n')
    window = make_window(tmp_path / "p.sqlite")
    _import_from_the_dialog(window, folder, qtbot)
    box = _shown_box(window)
    assert box.windowTitle() == "Imported clips", box.text()  # a note, not a problem
    assert box.text() == "clips: notes.jsonl: not a manifest (no path/id column), ignored"
    qtbot.waitUntil(lambda: window.browser.model.rowCount() == 2, timeout=15_000)
    with open_store(window.db_path) as store:
        assert sorted(r[0] for r in store.conn.execute("SELECT media_path FROM clips")) == [
            "a.mp4", "b.mp4"]
    box.close()
