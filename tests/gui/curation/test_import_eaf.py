"""File > Import file… reads an ELAN .eaf into the open project, by the real menu action."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from mmla_app.runtime.write_queue import write_queue
from mmla_core.datasets.eaf import export_eaf
from mmla_core.store.db import open_store
from mmla_core.store.labels import set_check_answer, set_label
from tests.support.gui import menu_action, status_said

pytestmark = pytest.mark.gui


def import_by_dialog(window, qtbot, path) -> None:
    """File > Import file…, the file typed into its dialog, Import clicked."""
    menu_action(window, "Import file").trigger()
    dialog = window.import_file_dialog
    dialog.file_edit.setText(str(path))
    qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)


def test_import_file_reads_an_eaf_into_the_clip_with_its_media(window, tiny_project, qtbot,
                                                               tmp_path):
    a = tiny_project.clip_ids[0]
    with open_store(tiny_project.db_path) as store:  # bob's work, done in another project copy
        task_id = store.scalar("SELECT id FROM tasks WHERE name = 'MELD'")
        set_label(store, a, task_id, "anger", "bob")
        set_check_answer(store, a, "audio_only", "no", "bob")
        export_eaf(store, tmp_path / "eaf", dataset="tiny", split="train")
        with store.write() as conn:
            conn.execute("DELETE FROM annotations WHERE annotator = 'bob'")
            conn.execute("DELETE FROM check_answers WHERE annotator = 'bob'")
    import_by_dialog(window, qtbot, tmp_path / "eaf" / "train_utt_a.eaf")
    qtbot.waitUntil(lambda: status_said(window, "Imported train_utt_a.eaf"),
                    timeout=15_000)
    write_queue().drain()
    with open_store(tiny_project.db_path) as store:
        assert store.scalar("SELECT label FROM annotations WHERE clip_id = ? AND "
                            "annotator = 'bob'", (a,)) == "anger"
        assert store.scalar("SELECT answer FROM check_answers WHERE clip_id = ? AND "
                            "annotator = 'bob'", (a,)) == "no"
        assert store.scalar("SELECT count(*) FROM clips") == 3  # no new clip: found by media
    assert status_said(window, "0 new clips, 0 problems")


def test_a_bad_eaf_file_is_reported_by_name(window, qtbot, tmp_path):
    bad = tmp_path / "broken.eaf"
    bad.write_text("<ANNOTATION_DOCUMENT>", encoding="utf-8")
    import_by_dialog(window, qtbot, bad)
    qtbot.waitUntil(lambda: status_said(window, "Import of broken.eaf failed"),
                    timeout=30_000)  # its one file unreadable: no clip, a failure
    box = next(w for w in window.findChildren(QMessageBox) if w.isVisible())
    assert box.windowTitle() == "Import failed"
    assert f"{bad}: not imported: not a readable XML file" in box.text()
    box.close()


def test_an_eaf_saved_as_xml_imports_when_its_kind_is_chosen(window, tiny_project, qtbot,
                                                              tmp_path):
    """`mmla import FILE --kind eaf` in the dialog: "What it is" says what the suffix does not;
    the media folder (sharegpt only) follows the kind chosen."""
    a = tiny_project.clip_ids[0]
    with open_store(tiny_project.db_path) as store:
        task_id = store.scalar("SELECT id FROM tasks WHERE name = 'MELD'")
        set_label(store, a, task_id, "anger", "bob")
        export_eaf(store, tmp_path / "eaf", dataset="tiny", split="train")
        with store.write() as conn:
            conn.execute("DELETE FROM annotations WHERE annotator = 'bob'")
    saved = (tmp_path / "eaf" / "train_utt_a.eaf").rename(tmp_path / "bob.xml")
    menu_action(window, "Import file").trigger()
    dialog = window.import_file_dialog
    dialog.file_edit.setText(str(saved))
    assert not dialog.media_row.isEnabled()  # detected: not a sharegpt file
    dialog.kind_combo.setCurrentIndex(dialog.kind_combo.findData("sharegpt"))
    assert dialog.media_row.isEnabled()
    dialog.kind_combo.setCurrentIndex(dialog.kind_combo.findData("eaf"))
    assert not dialog.media_row.isEnabled()
    qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: status_said(window, "Imported bob.xml"), timeout=15_000)
    write_queue().drain()
    with open_store(tiny_project.db_path) as store:
        assert store.scalar("SELECT label FROM annotations WHERE clip_id = ? AND "
                            "annotator = 'bob'", (a,)) == "anger"
