"""A folder of clips imported without a manifest has no task: the Labels panel says so and
offers "Add a task…"; the dialog attaches one of MMLA's tasks or a new one, the buttons appear
at once, and the next label key labels the clip (it is not typed into the note)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

pytestmark = pytest.mark.gui


@pytest.fixture
def taskless_project(tmp_path):
    """One dataset of two text-only clips, no task attached (a folder with no manifest)."""
    from mmla_core.store.catalog import clip_ids_by_key, upsert_clips, upsert_dataset
    from mmla_core.store.db import open_store

    db_path = tmp_path / "taskless.sqlite"
    with open_store(db_path) as store:
        dataset_id = upsert_dataset(store, "recordings", str(tmp_path), "folder")
        upsert_clips(store, dataset_id, [
            {"split": "", "external_id": e, "media_path": None, "transcript": t}
            for e, t in (("take1", "Close the door."), ("take2", "Thank you so much!"))])
        ids = sorted(clip_ids_by_key(store, dataset_id).values())
    return db_path, dataset_id, ids


def _db_state(db_path, dataset_id, clip_id):
    from mmla_core.store.catalog import tasks_for_dataset
    from mmla_core.store.db import open_store
    from mmla_core.store.labels import labels_for_clip

    with open_store(db_path) as store:
        tasks = [task.name for _, task in tasks_for_dataset(store, dataset_id)]
        labels = {(r["annotator"], r["label"]) for r in labels_for_clip(store, clip_id)}
    return tasks, labels


def _panel_on(window, clip_id, qtbot):
    """The Labels panel once it shows the clip's no-task state."""
    qtbot.waitUntil(lambda: window.browser.model.rowCount() == 2, timeout=15_000)
    assert window.browser.table.select_clip(clip_id)
    qtbot.waitUntil(lambda: window.annotation.add_task_button.isVisible(), timeout=5_000)
    return window.annotation


def _open_dialog(panel, qtbot):
    qtbot.mouseClick(panel.add_task_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: getattr(panel, "task_dialog", None) is not None
                    and panel.task_dialog.isVisible(), timeout=5_000)
    return panel.task_dialog


def test_add_an_mmla_task_then_label_from_the_keyboard(make_window, taskless_project, qtbot):
    db_path, dataset_id, clip_ids = taskless_project
    window = make_window(db_path)
    qtbot.waitUntil(lambda: window.browser.model.rowCount() == 2, timeout=15_000)
    window.browser.table.setFocus()
    assert window.browser.table.select_clip(clip_ids[0])
    panel = window.annotation
    qtbot.waitUntil(lambda: panel.add_task_button.isVisible(), timeout=5_000)
    assert "no tasks yet" in panel.empty_label.text()
    assert "add one" in panel.empty_label.text()

    dialog = _open_dialog(panel, qtbot)
    assert "recordings" in dialog.windowTitle()
    dialog.choice.setCurrentIndex(dialog.choice.findData("MELD"))
    qtbot.mouseClick(dialog.add_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: [b.task.name for b in panel.boxes] == ["MELD"], timeout=5_000)
    assert not panel.add_task_button.isVisible() and panel.more_tasks_button.isVisible()
    assert _db_state(db_path, dataset_id, clip_ids[0])[0] == ["MELD"]

    focus = window.focusWidget()
    assert focus is not panel.note_edit
    qtbot.keyClick(focus, Qt.Key.Key_1)
    first = panel.boxes[0].task.labels[0]
    qtbot.waitUntil(lambda: ("alice", first) in _db_state(db_path, dataset_id, clip_ids[0])[1],
                    timeout=5_000)
    assert panel.note_edit.toPlainText() == ""


def test_a_new_task_needs_two_labels_and_the_dialog_says_so(make_window, taskless_project,
                                                             qtbot):
    db_path, dataset_id, clip_ids = taskless_project
    panel = _panel_on(make_window(db_path), clip_ids[1], qtbot)
    dialog = _open_dialog(panel, qtbot)
    dialog.choice.setCurrentIndex(dialog.choice.count() - 1)  # "New task…"
    assert dialog.name_edit.isVisible() and dialog.labels_edit.isVisible()
    dialog.name_edit.setText("Politeness")
    dialog.labels_edit.setText("polite")
    qtbot.mouseClick(dialog.add_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "at least two labels" in dialog.error.text(), timeout=5_000)
    assert dialog.isVisible() and dialog.add_button.isEnabled()
    dialog.labels_edit.setText("polite, neutral, rude")
    qtbot.mouseClick(dialog.add_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: [b.task.name for b in panel.boxes] == ["Politeness"], timeout=5_000)
    assert panel.boxes[0].task.labels == ("polite", "neutral", "rude")
    assert _db_state(db_path, dataset_id, clip_ids[1])[0] == ["Politeness"]


def test_a_task_attached_from_the_command_line_shows_without_a_restart(
        make_window, taskless_project, qtbot):
    from mmla_core.cli import main

    db_path, _dataset_id, clip_ids = taskless_project
    panel = _panel_on(make_window(db_path), clip_ids[0], qtbot)
    assert main(["--db", str(db_path), "tasks", "--attach", "MIntRec",
                 "--dataset", "recordings"]) == 0
    qtbot.waitUntil(lambda: [b.task.name for b in panel.boxes] == ["MIntRec"], timeout=10_000)
    assert not panel.add_task_button.isVisible()
