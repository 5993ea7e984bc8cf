"""File > Import dataset folder… asks what a folder is, as `mmla import --kind` does: a folder
that reads two ways is refused with what was found and the kind choice focused, then imports as
the kind chosen into the same rows as the CLI's; a kind the folder is not changes nothing."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from mmla_core.cli import main as mmla
from mmla_core.store.db import open_store
from tests.support.gui import menu_action, status_said

pytestmark = pytest.mark.gui
WAIT = 15_000


def imported_rows(db_path) -> dict[str, list[tuple]]:
    """What an import wrote: datasets, clips and their imported labels (not probe results)."""
    with open_store(db_path) as store:
        def rows(sql: str) -> list[tuple]:
            return sorted(tuple(r) for r in store.conn.execute(sql))
        return {
            "datasets": rows("SELECT name, source_kind, root FROM datasets"),
            "clips": rows("SELECT d.name, c.split, c.external_id, c.media_path, c.transcript "
                          "FROM clips c JOIN datasets d ON d.id = c.dataset_id"),
            "labels": rows("SELECT c.external_id, t.name, a.annotator, a.label FROM annotations a "
                           "JOIN clips c ON c.id = a.clip_id JOIN tasks t ON t.id = a.task_id"),
        }


def not_cut(label) -> bool:
    """The wrapped label has the height its text needs (the dialog grows on the text's layout
    request, before it is painted: mmla_app.widgets.wrap_fit.grow_with_text)."""
    return label.height() >= label.heightForWidth(label.width())


def shown_box(window):
    boxes = [b for b in window.findChildren(QMessageBox) if b.isVisible()]
    return boxes[-1] if boxes else None


def choose_kind(dialog, kind: str) -> None:
    dialog.kind_combo.setCurrentIndex(dialog.kind_combo.findData(kind))


def open_on(window, folder):
    menu_action(window, "Import dataset folder").trigger()
    dialog = window.import_dialog
    dialog.folder_edit.setText(str(folder))
    return dialog


@pytest.mark.parametrize("kind", ["mmla", "folder"])
def test_a_two_way_folder_is_refused_then_imports_as_the_kind_chosen_like_the_cli(
        make_window, qtbot, tmp_path, two_way_folder, kind):
    window = make_window(tmp_path / "gui.sqlite")
    dialog = open_on(window, two_way_folder)
    assert dialog.kind_combo.currentData() == "auto"  # Detect automatically is the default
    qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "both an MMLA tree" in dialog.error.text(), timeout=WAIT)
    said = dialog.error.text()
    assert "MIntRec/train.tsv" in said and "raw/take1.mp4" in said, said  # the candidates
    assert "“What it is”" in said and "Folder of clips (every media file a clip" in said
    assert "--kind" not in said  # a GUI user is not sent to a command-line flag
    assert dialog.isVisible() and dialog.focusWidget() is dialog.kind_combo
    qtbot.waitUntil(lambda: not_cut(dialog.error), timeout=WAIT)  # the dialog grew to show it
    assert imported_rows(window.db_path)["datasets"] == []
    choose_kind(dialog, kind)
    qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: status_said(window, "Imported recordings"), timeout=WAIT)
    qtbot.waitUntil(lambda: window.importer.progress.isHidden(), timeout=WAIT)
    gui = imported_rows(window.db_path)
    assert mmla(["--db", str(tmp_path / "cli.sqlite"), "import", str(two_way_folder),
                 "--kind", kind, "--no-probe"]) == 0
    assert gui == imported_rows(tmp_path / "cli.sqlite")
    assert {d[1] for d in gui["datasets"]} == {kind} and len(gui["clips"]) == 3 + (kind == "folder")


def test_a_dropped_two_way_folder_opens_the_dialog_on_it_with_the_choice(
        make_window, qtbot, tmp_path, two_way_folder):
    """A drop has no dialog: the import's own detection refuses, and the dialog opens on it."""
    window = make_window(tmp_path / "gui.sqlite")
    window.importer.start(two_way_folder)  # what a drop of the folder does
    qtbot.waitUntil(lambda: getattr(window, "import_dialog", None) is not None
                    and window.import_dialog.isVisible(), timeout=WAIT)
    dialog = window.import_dialog
    assert dialog.folder_edit.text() == str(two_way_folder)
    assert "raw/take1.mp4" in dialog.error.text() and "“What it is”" in dialog.error.text()
    assert status_said(window, "recordings could be imported two ways: choose what it is")
    assert shown_box(window) is None  # no "Import failed" box: the dialog asks instead
    choose_kind(dialog, "mmla")
    qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: status_said(window, "Imported recordings"), timeout=WAIT)
    assert [d[:2] for d in imported_rows(window.db_path)["datasets"]] == [("MIntRec", "mmla")]


def test_a_two_way_folder_imported_before_is_offered_as_what_it_was(
        make_window, qtbot, tmp_path, two_way_folder):
    """The project's datasets say what the folder was imported as: a re-import (here a drop)
    asks again with that kind chosen; Import re-imports it so."""
    window = make_window(tmp_path / "gui.sqlite")
    dialog = open_on(window, two_way_folder)
    choose_kind(dialog, "folder")
    qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: status_said(window, "Imported recordings: 4 new clips"), timeout=WAIT)
    qtbot.waitUntil(lambda: window.importer.progress.isHidden(), timeout=WAIT)
    first = window.import_dialog
    window.importer.start(two_way_folder)  # dropped again
    qtbot.waitUntil(lambda: window.import_dialog is not first
                    and "imported this folder as Folder of clips before" in
                    window.import_dialog.error.text(), timeout=WAIT)
    dialog = window.import_dialog
    assert dialog.kind_combo.currentData() == "folder" and "raw/take1.mp4" in dialog.error.text()
    qtbot.waitUntil(lambda: not_cut(dialog.error), timeout=WAIT)
    before = imported_rows(window.db_path)
    qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: status_said(window, "Imported recordings: 0 new clips"), timeout=WAIT)
    assert imported_rows(window.db_path) == before  # the same dataset again, no second copy


def test_a_kind_the_folder_is_not_says_what_and_where_and_changes_nothing(
        make_window, qtbot, tmp_path, two_way_folder):
    window = make_window(tmp_path / "gui.sqlite")
    dialog = open_on(window, two_way_folder)
    choose_kind(dialog, "mmla")
    assert not dialog.name_edit.isEnabled()  # an MMLA tree keeps its datasets' own names
    qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: status_said(window, "Imported recordings"), timeout=WAIT)
    qtbot.waitUntil(lambda: window.importer.progress.isHidden(), timeout=WAIT)
    before = imported_rows(window.db_path)
    dialog = open_on(window, two_way_folder / "raw")  # a folder of one clip, no .eaf in it
    choose_kind(dialog, "eaf")
    qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: shown_box(window) is not None, timeout=WAIT)
    text = shown_box(window).text()
    assert f"{two_way_folder / 'raw'} (imported as ELAN .eaf files)" in text, text
    assert "no .eaf files in this folder" in text
    assert status_said(window, "Import of raw failed")
    assert imported_rows(window.db_path) == before
    shown_box(window).close()


def test_a_folder_with_nothing_to_import_is_said_in_the_dialog(make_window, qtbot, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    window = make_window(tmp_path / "gui.sqlite")
    dialog = open_on(window, empty)
    qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "nothing to import" in dialog.error.text(), timeout=WAIT)
    assert dialog.isVisible() and dialog.import_button.isEnabled()
    assert imported_rows(window.db_path)["datasets"] == []
