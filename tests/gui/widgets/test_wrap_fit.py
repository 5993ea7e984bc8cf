"""The compact dialogs grow to show a long error or status whole (`wrap_fit.grow_with_text`):
opened at their own size for their short texts, a long path in the error line was cut (its last
lines drawn under the buttons, the rows above squeezed) in New project, Import file, Import
dataset folder, Delete dataset, Download model and Model checks."""

from __future__ import annotations

import pytest

from mmla_app.curation.import_file_dialog import ImportFileDialog
from mmla_app.curation.import_folder_dialog import ImportFolderDialog
from mmla_app.curation.project_dialogs import open_delete_dataset, open_new_project
from mmla_app.evaluate.download_dialog import DownloadDialog
from mmla_app.probe.probe_checks_dialog import ModelChecksDialog
from mmla_app.widgets.screen_fit import available_size

pytestmark = pytest.mark.gui
WAIT = 15_000


def long_path(root) -> str:
    """A path as long as a shared drive's: 7 long folder names."""
    return str(root.joinpath(*[f"a-rather-long-folder-name-from-the-shared-drive-{i}"
                               for i in range(7)]))


def whole(label) -> bool:
    """The label has the height its text needs at its width: no line cut, none overdrawn."""
    return label.height() >= label.heightForWidth(label.width()) > 0


def shown(qtbot, dialog):
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog


def test_new_project_shows_a_long_refusal_whole(make_window, qtbot, tmp_path):
    window = make_window(tmp_path / "gui.sqlite")
    taken = tmp_path.joinpath(long_path(tmp_path), "project.sqlite")
    taken.parent.mkdir(parents=True)
    taken.write_bytes(b"")
    dialog = shown(qtbot, open_new_project(window))
    opened_at = dialog.height()
    dialog.path_edit.setText(str(taken))
    dialog.create_button.click()
    assert "already exists: open it with File > Open project" in dialog.error.text()
    qtbot.waitUntil(lambda: whole(dialog.error), timeout=WAIT)
    assert opened_at < dialog.height() <= available_size(dialog)[1]
    assert dialog.width() == 560  # taller, not wider


@pytest.mark.parametrize("which", ["file", "folder"])
def test_the_import_dialogs_show_a_long_not_found_whole(make_window, qtbot, tmp_path, which):
    window = make_window(tmp_path / "gui.sqlite")
    dialog = shown(qtbot, ImportFileDialog(window) if which == "file"
                   else ImportFolderDialog(window.project, window))
    edit = dialog.file_edit if which == "file" else dialog.folder_edit
    edit.setText(long_path(tmp_path) + "/and-the-file-or-folder-that-is-not-there")
    dialog.import_button.click()
    assert dialog.error.text().startswith(f"Not a {which}: ")
    qtbot.waitUntil(lambda: whole(dialog.error), timeout=WAIT)


@pytest.mark.parametrize("which", ["delete", "download", "checks"])
def test_the_status_dialogs_show_a_long_failure_whole(make_window, qtbot, tmp_path, which):
    window = make_window(tmp_path / "gui.sqlite")
    if which == "delete":
        dialog = shown(qtbot, open_delete_dataset(window))
        line = dialog.outcome
    else:
        kind = DownloadDialog if which == "download" else ModelChecksDialog
        dialog = shown(qtbot, kind(window.project, window))
        line = dialog.status
        if which == "checks":  # its choices read first (no model: said on the same line)
            qtbot.waitUntil(lambda: "No model yet" in line.text(), timeout=WAIT)
    where = long_path(tmp_path)
    line.setText(f"Failed: {where}/model.safetensors: cut short (its header says 4 GiB, the file "
                 f"holds 1 GiB); {where}/run.sqlite: the disk is full (database or disk is "
                 "full); this change was not saved, everything saved before is intact")
    qtbot.waitUntil(lambda: whole(line), timeout=WAIT)
    assert line.text().endswith("everything saved before is intact")
