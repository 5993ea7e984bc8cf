"""Imports asked while another runs wait their turn: none replaces another, each reports
(File > Import dataset folder / Import file / drops, one after another)."""

from __future__ import annotations

import shutil

import pytest

from mmla_core.store.catalog import list_datasets
from mmla_core.store.db import open_store
from tests.support.gui import status_said

pytestmark = pytest.mark.gui
WAIT = 30_000
NAMES = ("first", "second", "third")


def clip_folders(tmp_path, clip_files) -> list:
    """One folder per name in NAMES, each holding one clip."""
    folders = []
    for name in NAMES:
        folder = tmp_path / name
        folder.mkdir()
        shutil.copy(clip_files / "a.mp4", folder / f"{name}.mp4")
        folders.append(folder)
    return folders


def test_three_imports_back_to_back_all_land_and_each_reports(make_window, tmp_path,
                                                              clip_files, qtbot):
    folders = clip_folders(tmp_path, clip_files)
    window = make_window(tmp_path / "p.sqlite")
    said = window.status_lines   # every line shown (tests/gui/conftest.py make_window)
    for folder in folders:  # no event loop in between: the first is still running
        window.importer.start(folder, name=folder.name)
    assert window.runner._channels["import"].running  # the second and third wait
    qtbot.waitUntil(lambda: sum(m.startswith("Imported ") for m in said) == 3, timeout=WAIT)
    reports = [m for m in said if m.startswith("Imported ")]
    assert [m.split(":")[0] for m in reports] == [f"Imported {n}" for n in NAMES]  # in order
    assert all("1 new clip" in m for m in reports)
    assert "2 imports still to go" in reports[0] and "still to go" not in reports[2]
    assert any("will import after the 2 imports before it" in m for m in said)
    with open_store(window.db_path) as store:
        assert sorted(d["name"] for d in list_datasets(store)) == sorted(NAMES)
    qtbot.waitUntil(lambda: window.browser.model.rowCount() == 3, timeout=WAIT)
    assert window.importer.progress.isHidden()


def test_closing_the_window_while_imports_wait_asks_first(make_window, tmp_path, clip_files,
                                                          qtbot):
    """Imports not started yet would be dropped by closing: the window says so and stays open
    on Cancel; once they have landed it closes without asking."""
    from PySide6.QtWidgets import QMessageBox

    folders = clip_folders(tmp_path, clip_files)
    window = make_window(tmp_path / "p.sqlite")
    window.show()
    for folder in folders:
        window.importer.start(folder, name=folder.name)
    window.close()
    box = window.quit_box
    assert "2 imports waiting for the one running will not start" in box.text(), box.text()
    box.button(QMessageBox.StandardButton.Cancel).click()
    assert window.isVisible()
    qtbot.waitUntil(lambda: window.browser.model.rowCount() == 3, timeout=WAIT)
    qtbot.waitUntil(lambda: not window.importer.waiting, timeout=WAIT)
    window.close()  # nothing waits now: no question
    assert not window.isVisible()
    with open_store(window.db_path) as store:
        assert len(list_datasets(store)) == 3


def test_progress_arriving_after_the_window_is_deleted_is_dropped(tmp_path, qtbot):
    """An import's last progress report can still be queued when the window goes (closed while
    the import ran): delivering it must not touch the deleted progress bar (CI once failed at
    teardown with 'Internal C++ object (QProgressBar) already deleted')."""
    from PySide6.QtCore import QCoreApplication
    from shiboken6 import delete

    from mmla_app.main_window import MainWindow

    window = MainWindow(tmp_path / "p.sqlite", demo=False)  # not qtbot's: this test deletes it
    window.show()
    qtbot.waitUntil(lambda: status_said(window, "no datasets yet"),
                    timeout=WAIT)
    importer = window.importer
    importer.report_progress(1, 2, "a: probing")  # as the import's thread does: queued
    window.close()
    delete(window)
    QCoreApplication.processEvents()  # the queued report arrives now: no error may escape
    assert not importer.waiting
