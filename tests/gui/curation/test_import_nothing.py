"""An import from the app that finds no clip is a failure: "Import failed" with the importer's
words (the path, the kind, what it looks for), not "Imported ... with problems", and the project
is unchanged (tests/core/datasets/test_import_nothing.py checks every table from the CLI)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from tests.gui.curation.test_import_kind import choose_kind, imported_rows, open_on, shown_box
from tests.support.gui import status_said

pytestmark = pytest.mark.gui
WAIT = 15_000


def test_an_mmla_import_of_a_folder_no_mmla_dataset_is_named_fails(make_window, qtbot,
                                                                      tmp_path):
    folder = tmp_path / "myclips"
    folder.mkdir()
    (folder / "train.tsv").write_text("id\tutterance\tintent\na1\tthank you\tThank\n")
    window = make_window(tmp_path / "gui.sqlite")
    before = imported_rows(window.db_path)
    dialog = open_on(window, folder)
    choose_kind(dialog, "mmla")
    qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: shown_box(window) is not None, timeout=WAIT)
    box = shown_box(window)
    assert box.windowTitle() == "Import failed", box.text()
    assert f"{folder} (imported as MMLA tree):" in box.text()
    assert "no clip to import as MMLA tree" in box.text()
    assert "'myclips' is not an MMLA dataset folder name (known: MIntRec" in box.text()
    assert "--kind" not in box.text()  # the kind in the dialog's words, no command-line flag
    assert status_said(window, "Import of myclips failed")
    qtbot.waitUntil(lambda: window.importer.progress.isHidden(), timeout=WAIT)
    assert imported_rows(window.db_path) == before  # no empty dataset left behind
    box.close()
