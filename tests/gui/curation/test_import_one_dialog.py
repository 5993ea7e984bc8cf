"""A dropped folder that reads two ways is asked about in one import dialog at a time: the
folder dialog already open on it asks there; one open on another folder is left as the person
has it, and the dropped folder is asked about once that dialog closes (never a second dialog
over the first)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from mmla_app.curation.import_folder_dialog import ImportFolderDialog
from tests.gui.curation.test_import_kind import choose_kind, imported_rows, open_on
from tests.support.gui import status_said
from tests.support.mmla_tree import clip_folder

pytestmark = pytest.mark.gui
WAIT = 15_000


def shown_dialogs(window) -> list[ImportFolderDialog]:
    return [d for d in window.findChildren(ImportFolderDialog) if d.isVisible()]


def test_a_two_way_folder_dropped_while_the_dialog_is_open_waits_for_it(
        make_window, qtbot, tmp_path, two_way_folder):
    other = clip_folder(tmp_path / "other")
    window = make_window(tmp_path / "gui.sqlite")
    dialog = open_on(window, other)
    dialog.name_edit.setText("my name")  # the person's unfinished choice
    window.importer.start(two_way_folder)  # what a drop of the folder does
    qtbot.waitUntil(lambda: status_said(window, "recordings could be imported two ways: choose "
                                        "what it is once the open import dialog is closed"),
                    timeout=WAIT)
    assert shown_dialogs(window) == [dialog]  # no second dialog over it
    assert dialog.folder_edit.text() == str(other) and dialog.name_edit.text() == "my name"
    dialog.reject()
    qtbot.waitUntil(lambda: len(shown_dialogs(window)) == 1
                    and shown_dialogs(window)[0] is not dialog, timeout=WAIT)
    asked = window.import_dialog
    assert asked.folder_edit.text() == str(two_way_folder)
    assert "raw/take1.mp4" in asked.error.text() and "“What it is”" in asked.error.text()
    choose_kind(asked, "mmla")
    qtbot.mouseClick(asked.import_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: status_said(window, "Imported recordings"), timeout=WAIT)
    assert [d[:2] for d in imported_rows(window.db_path)["datasets"]] == [("MIntRec", "mmla")]


def test_the_dialog_open_on_the_dropped_folder_asks_there(make_window, qtbot, tmp_path,
                                                         two_way_folder):
    window = make_window(tmp_path / "gui.sqlite")
    dialog = open_on(window, two_way_folder)
    window.importer.start(two_way_folder)  # dropped again while its dialog is open
    qtbot.waitUntil(lambda: "raw/take1.mp4" in dialog.error.text(), timeout=WAIT)
    assert shown_dialogs(window) == [dialog] and window.import_dialog is dialog
    assert dialog.focusWidget() is dialog.kind_combo
    assert status_said(window, "recordings could be imported two ways: choose what it is")
