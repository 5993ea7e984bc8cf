"""File menu: New project (empty unless the demo is asked for), Open recent, Delete dataset
(with a confirmation saying how much goes), and the folder import's dataset name field."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from mmla_app import settings
from tests.support.gui import confirm_delete, dataset_names, menu_action, status_said

pytestmark = pytest.mark.gui
WAIT = 15_000


def test_new_project_is_empty_and_joins_the_recent_list(window, qtbot, tmp_path, tiny_project):
    menu_action(window, "New project").trigger()
    dialog = window.new_project_dialog
    dialog.path_edit.setText(str(tiny_project.db_path))
    qtbot.mouseClick(dialog.create_button, Qt.MouseButton.LeftButton)
    assert "already exists" in dialog.error.text() and dialog.isVisible()
    new = tmp_path / "study.sqlite"
    dialog.path_edit.setText(str(new))
    qtbot.mouseClick(dialog.create_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.db_path == new and new.exists(), timeout=WAIT)
    qtbot.waitUntil(lambda: window.browser.model.rowCount() == 0, timeout=WAIT)
    assert dataset_names(new) == []
    assert settings.recent_projects()[:2] == [new.resolve(), tiny_project.db_path.resolve()]
    window.recent_menu.aboutToShow.emit()
    back = next(a for a in window.recent_menu.actions() if a.toolTip() == str(
        tiny_project.db_path.resolve()))
    assert back.isEnabled()
    back.trigger()
    qtbot.waitUntil(lambda: window.browser.model.rowCount() == 3, timeout=WAIT)


def test_new_project_makes_its_missing_folder_as_mmla_new_does(window, qtbot, tmp_path):
    menu_action(window, "New project").trigger()
    dialog = window.new_project_dialog
    (tmp_path / "a file").write_text("not a folder")
    dialog.path_edit.setText(str(tmp_path / "a file" / "x.sqlite"))
    qtbot.mouseClick(dialog.create_button, Qt.MouseButton.LeftButton)
    assert "is not a folder" in dialog.error.text() and dialog.isVisible()
    new = tmp_path / "studies" / "2026" / "study.sqlite"
    dialog.path_edit.setText(str(new))
    qtbot.mouseClick(dialog.create_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.db_path == new and new.exists(), timeout=WAIT)
    assert dataset_names(new) == []


def test_the_app_started_on_a_named_new_file_has_no_demo_unless_asked(tmp_path):
    from mmla_app.main import main

    plain, demo = tmp_path / "plain.sqlite", tmp_path / "demo.sqlite"
    assert main([str(plain), "--quit-after", "300"]) == 0
    assert main([str(demo), "--demo", "--quit-after", "300"]) == 0
    assert dataset_names(plain) == [] and dataset_names(demo) == ["demo"]


def test_delete_dataset_says_how_much_goes_then_deletes_after_confirmation(window, qtbot,
                                                                            tiny_project):
    menu_action(window, "Delete dataset").trigger()
    dialog = window.delete_dataset_dialog
    qtbot.waitUntil(lambda: dialog.delete_button.isEnabled(), timeout=WAIT)
    assert "3 clips, 0 variants, 3 labels" in dialog.summary.text()
    qtbot.mouseClick(dialog.delete_button, Qt.MouseButton.LeftButton)
    box = dialog.confirm_box
    assert "3 clips" in box.text() and "cannot be undone" in box.text()
    box.button(QMessageBox.StandardButton.Cancel).click()
    assert dataset_names(tiny_project.db_path) == ["tiny"]
    qtbot.mouseClick(dialog.delete_button, Qt.MouseButton.LeftButton)
    delete = next(b for b in dialog.confirm_box.buttons()
                  if dialog.confirm_box.buttonRole(b) == QMessageBox.ButtonRole.DestructiveRole)
    delete.click()
    qtbot.waitUntil(lambda: dataset_names(tiny_project.db_path) == [], timeout=WAIT)
    qtbot.waitUntil(lambda: window.browser.model.rowCount() == 0, timeout=WAIT)
    assert (tiny_project.media_root / "a.mp4").is_file()  # the media folder is the user's
    qtbot.waitUntil(lambda: "no datasets" in dialog.summary.text(), timeout=WAIT)
    # what went is still said once the list was read again (it shared the summary line)
    assert dialog.outcome.text().startswith("Deleted dataset tiny: 3 clips")
    dialog.close()


def test_folder_import_takes_the_dataset_name(window, qtbot, clip_files):
    menu_action(window, "Import dataset folder").trigger()
    dialog = window.import_dialog
    dialog.folder_edit.setText(str(clip_files / "nope"))
    qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
    assert "Not a folder" in dialog.error.text()
    dialog.folder_edit.setText(str(clip_files))
    assert dialog.name_edit.text() == clip_files.name  # suggested from the folder
    dialog.name_edit.setText("my clips")
    qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "my clips" in dataset_names(window.db_path), timeout=WAIT)
    qtbot.waitUntil(lambda: window.browser.model.rowCount() == 5, timeout=WAIT)


def test_open_with_a_new_name_makes_an_empty_project(window, qtbot, tmp_path):
    from PySide6.QtWidgets import QFileDialog

    from mmla_app.actions import open_chosen

    menu_action(window, "Open project").trigger()
    dialog = window.open_dialog
    assert dialog.fileMode() == QFileDialog.FileMode.AnyFile  # a new name is accepted
    dialog.close()
    new = tmp_path / "fresh.sqlite"
    open_chosen(window, str(new))
    qtbot.waitUntil(lambda: status_said(window, "no datasets yet"),
                    timeout=WAIT)
    assert window.db_path == new and dataset_names(new) == []


# --- ops: each write announces its change record, and the open window follows -----------------

def heard_from(heard, initiator_type) -> list:
    return [changes for changes, who in heard if type(who).__name__ == initiator_type]


@pytest.fixture
def heard():
    from mmla_app.runtime.change_bus import change_bus

    records: list = []
    change_bus().listen(recorder := lambda changes, who: records.append((changes, who)))
    yield records
    change_bus().forget(recorder)


def test_a_delete_goes_on_after_its_dialog_closed_and_the_window_follows(window, qtbot,
                                                                         tiny_project, heard):
    from mmla_core.changes import DATASETS, RUNS

    assert window.browser.dataset_combo.findText("tiny") >= 0
    menu_action(window, "Delete dataset").trigger()
    dialog = window.delete_dataset_dialog
    assert dialog.runner.runner is window.runner  # the project's runner, none of its own
    confirm_delete(qtbot, dialog)
    dialog.close()  # at once: the project, not the dialog, owns the job
    qtbot.waitUntil(lambda: dataset_names(tiny_project.db_path) == [], timeout=WAIT)
    qtbot.waitUntil(lambda: window.browser.model.rowCount() == 0, timeout=WAIT)
    qtbot.waitUntil(lambda: window.browser.dataset_combo.findText("tiny") < 0, timeout=WAIT)
    (changes,) = heard_from(heard, "DeleteDatasetDialog")
    assert changes.touches(DATASETS) and changes.touches(RUNS)


def test_an_import_reaches_the_browser_and_its_dataset_filter(window, qtbot, clip_files,
                                                              heard):
    assert window.runner is window.project.runner
    window.importer.start(clip_files, name="more clips")
    combo = window.browser.dataset_combo
    qtbot.waitUntil(lambda: combo.findText("more clips") >= 0, timeout=WAIT)
    qtbot.waitUntil(lambda: window.browser.model.rowCount() == 5, timeout=WAIT)
    assert "more clips" in dataset_names(window.db_path)
    assert heard_from(heard, "ImportController")  # announced by the op, not only seen later


def test_add_the_demo_clips_reaches_the_open_window(window, qtbot, heard):
    menu_action(window, "Add the demo clips").trigger()
    combo = window.browser.dataset_combo
    qtbot.waitUntil(lambda: combo.findText("demo") >= 0, timeout=60_000)
    assert dataset_names(window.db_path) == ["demo", "tiny"]
    qtbot.waitUntil(lambda: window.browser.model.rowCount() > 3, timeout=WAIT)
    assert heard_from(heard, "MainWindow")
