"""The annotation panel, driven by keys and clicks on real widgets; asserts on the database."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QWidget

from mmla_app import keymap
from mmla_app.curation.annotation_panel import AnnotationPanel
from mmla_app.runtime.write_queue import write_queue
from mmla_core.store.db import open_store
from mmla_core.store.labels import set_label, undo

pytestmark = pytest.mark.gui
WAIT = 15_000  # a write on the writer thread, then a read: seconds on a loaded machine


def labels_of(db_path, clip_id: int, annotator: str = "alice") -> dict[str, str]:
    with open_store(db_path) as store:
        rows = store.query("SELECT t.name, a.label FROM annotations a JOIN tasks t "
                           "ON t.id = a.task_id WHERE a.clip_id = ? AND a.annotator = ?",
                           (clip_id, annotator))
    return {r["name"]: r["label"] for r in rows}


def note_of(db_path, clip_id: int, annotator: str = "alice") -> str | None:
    with open_store(db_path) as store:
        return store.scalar("SELECT note FROM clip_notes WHERE clip_id = ? AND annotator = ?",
                            (clip_id, annotator))


@pytest.fixture
def project(tiny_project):
    """The tiny project plus a second task (MOSI) attached to its dataset."""
    from mmla_core.store.catalog import attach_task, ensure_task
    from mmla_core.tasks import builtin_task

    with open_store(tiny_project.db_path) as store:
        attach_task(store, tiny_project.dataset_id, ensure_task(store, builtin_task("MOSI")))
    return tiny_project


@pytest.fixture
def host(qtbot, project, project_of):
    """A window holding the panel, with the label and next-task keys bound as the app does."""
    window = QWidget()
    layout = QHBoxLayout(window)
    window.filter_edit = QLineEdit(window)
    window.panel = AnnotationPanel(window)
    layout.addWidget(window.filter_edit)
    layout.addWidget(window.panel)
    bindings = keymap.current_bindings()
    for action_id, index in keymap.label_actions():
        QShortcut(QKeySequence(bindings[action_id]), window,
                  lambda i=index: window.panel.choose_label(i))
    QShortcut(QKeySequence(bindings["next_task"]), window, window.panel.next_task)
    qtbot.addWidget(window)
    window.resize(700, 600)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    window.panel.set_context(project.db_path, "alice", project_of(project.db_path).runner)
    return window


def show_clip(qtbot, panel: AnnotationPanel, clip_id: int) -> None:
    panel.set_clip(clip_id)
    qtbot.waitUntil(lambda: panel.state is not None and panel.state.clip_id == clip_id
                    and bool(panel.boxes), timeout=WAIT)


def test_tasks_show_as_label_buttons_with_their_keys(host, qtbot, project):
    panel = host.panel
    show_clip(qtbot, panel, project.clip_ids[0])
    assert [b.task.name for b in panel.boxes] == ["MELD", "MOSI"]
    meld = panel.boxes[0]
    assert [b.text() for b in meld.buttons[:2]] == ["1  neutral", "2  surprise"]
    assert meld.property("active") == "true" and panel.boxes[1].property("active") == "false"
    surprise = meld.buttons[1]
    assert surprise.property("others") == "true"  # the imported label, another annotator's
    assert not any(b.isChecked() for b in meld.buttons)
    assert "import: surprise" in meld.info.text() and "Not labelled by you" in meld.info.text()


def test_number_keys_label_the_active_task_and_commit_at_once(host, qtbot, project):
    panel, clip = host.panel, project.clip_ids[0]
    show_clip(qtbot, panel, clip)
    with qtbot.waitSignal(panel.changed, timeout=10_000) as signal:
        qtbot.keyClick(host, Qt.Key.Key_5)
    assert signal.args == [clip]
    assert labels_of(project.db_path, clip) == {"MELD": "joy"}
    qtbot.waitUntil(lambda: panel.status.text() == "Saved: MELD = joy", timeout=WAIT)
    assert panel.boxes[0].buttons[4].isChecked()
    assert "✓ <b>joy</b> · alice" in panel.boxes[0].info.text()
    qtbot.keyClick(host, Qt.Key.Key_T)
    assert panel.active_task().name == "MOSI"
    qtbot.keyClick(host, Qt.Key.Key_2)
    qtbot.waitUntil(lambda: labels_of(project.db_path, clip).get("MOSI") == "negative",
                    timeout=WAIT)
    qtbot.waitUntil(lambda: panel.status.text() == "Saved: MOSI = negative", timeout=WAIT)
    qtbot.keyClick(host, Qt.Key.Key_T)
    assert panel.active_task().name == "MELD"  # wraps round


def test_a_clip_change_brings_the_keys_back_to_the_first_task(host, qtbot, project):
    """After `T` on one clip, the next clip opens on the dataset's first task: a digit never
    writes to a task the curator has not seen on this clip, and "Saved" names the task."""
    panel, first, second = host.panel, project.clip_ids[0], project.clip_ids[1]
    show_clip(qtbot, panel, first)
    qtbot.keyClick(host, Qt.Key.Key_T)
    qtbot.keyClick(host, Qt.Key.Key_1)
    qtbot.waitUntil(lambda: panel.status.text() == "Saved: MOSI = positive", timeout=WAIT)
    panel.set_clip(second)
    assert panel.active_task().name == "MELD" and panel.boxes[0].property("active") == "true"
    qtbot.keyClick(host, Qt.Key.Key_2)  # maybe before the clip's labels load: same task
    qtbot.waitUntil(lambda: panel.status.text() == "Saved: MELD = surprise", timeout=WAIT)
    assert labels_of(project.db_path, second) == {"MELD": "surprise"}
    assert labels_of(project.db_path, first) == {"MOSI": "positive"}


def test_rapid_keys_land_in_order_and_undo_one_by_one(host, qtbot, project):
    panel, clip = host.panel, project.clip_ids[1]
    show_clip(qtbot, panel, clip)
    for key in (Qt.Key.Key_1, Qt.Key.Key_2, Qt.Key.Key_3, Qt.Key.Key_7):
        qtbot.keyClick(host, key)
    qtbot.waitUntil(lambda: labels_of(project.db_path, clip) == {"MELD": "disgust"}, timeout=WAIT)
    qtbot.waitUntil(lambda: not panel._pending_writes, timeout=WAIT)
    with open_store(project.db_path) as store:
        assert undo(store, "alice").old_value == "fear"
        assert undo(store, "alice").old_value == "surprise"
    panel.refresh()
    qtbot.waitUntil(lambda: panel.boxes[0].buttons[1].isChecked(), timeout=WAIT)


def test_clicking_a_button_picks_its_task_and_label(host, qtbot, project):
    panel, clip = host.panel, project.clip_ids[0]
    show_clip(qtbot, panel, clip)
    qtbot.mouseClick(panel.boxes[1].buttons[0], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: labels_of(project.db_path, clip) == {"MOSI": "positive"}, timeout=WAIT)
    assert panel.active_task().name == "MOSI"


def test_keys_typed_into_a_text_box_do_not_label(host, qtbot, project):
    panel, clip = host.panel, project.clip_ids[0]
    show_clip(qtbot, panel, clip)
    host.filter_edit.setFocus()
    qtbot.keyClicks(host.filter_edit, "123")
    assert host.filter_edit.text() == "123"
    qtbot.wait(100)
    assert labels_of(project.db_path, clip) == {}


def test_labels_past_the_task_and_without_a_clip_are_refused(host, qtbot, project):
    panel = host.panel
    assert panel.choose_label(0) is False  # no clip yet
    show_clip(qtbot, panel, project.clip_ids[0])
    panel.next_task()
    with qtbot.waitSignal(panel.message) as signal:
        assert panel.choose_label(5) is False
    assert signal.args == ["MOSI has 2 labels"]
    panel.set_clip(None)
    assert not panel.scroll.isVisible() and panel.empty_label.isVisible()
    assert panel.choose_label(0) is False


def test_other_annotators_and_undo_show_after_refresh(host, qtbot, project):
    panel, clip = host.panel, project.clip_ids[2]
    with open_store(project.db_path) as store:
        set_label(store, clip, 1, "anger", "bob")
    show_clip(qtbot, panel, clip)
    assert "bob: anger" in panel.boxes[0].info.text()
    assert panel.boxes[0].buttons[5].property("others") == "true"
    assert panel.boxes[0].buttons[5].toolTip() == "anger  (key 6)\nchosen by bob"


def test_note_saves_after_typing_on_focus_out_and_on_clip_switch(host, qtbot, project):
    panel = host.panel
    first, second = project.clip_ids[0], project.clip_ids[1]
    show_clip(qtbot, panel, first)
    panel.note_edit.setFocus()
    qtbot.keyClicks(panel.note_edit, "lips off")
    qtbot.waitUntil(lambda: note_of(project.db_path, first) == "lips off", timeout=WAIT)
    qtbot.keyClicks(panel.note_edit, " by 2 frames")
    host.filter_edit.setFocus()  # focus-out saves at once, not when the typing timer fires
    assert not panel._note_timer.isActive()
    write_queue().drain()
    assert note_of(project.db_path, first) == "lips off by 2 frames"
    panel.note_edit.setFocus()
    qtbot.keyClicks(panel.note_edit, "!")
    show_clip(qtbot, panel, second)  # switching clips saves to the clip it was typed for
    qtbot.waitUntil(lambda: note_of(project.db_path, first) == "lips off by 2 frames!",
                    timeout=WAIT)
    assert panel.note_edit.toPlainText() == "" and note_of(project.db_path, second) is None
    show_clip(qtbot, panel, first)
    qtbot.waitUntil(lambda: panel.note_edit.toPlainText() == "lips off by 2 frames!", timeout=WAIT)


def test_remapped_label_keys_show_on_the_buttons(qtbot, project, project_of):
    bindings = keymap.current_bindings()
    bindings["label_1"], bindings["label_2"] = "Q", "W"
    keymap.save_bindings(bindings)
    panel = AnnotationPanel()
    qtbot.addWidget(panel)
    panel.set_context(project.db_path, "alice", project_of(project.db_path).runner)
    show_clip(qtbot, panel, project.clip_ids[0])
    assert [b.text() for b in panel.boxes[0].buttons[:3]] == ["Q  neutral", "W  surprise",
                                                              "3  fear"]


def test_many_labels_wrap_to_the_panel_width(qtbot, project, project_of):
    from mmla_core.store.catalog import attach_task, ensure_task
    from mmla_core.tasks import builtin_task

    with open_store(project.db_path) as store:
        attach_task(store, project.dataset_id, ensure_task(store, builtin_task("MIntRec2.0")))
    panel = AnnotationPanel()
    qtbot.addWidget(panel)
    panel.resize(330, 700)
    panel.show()
    panel.set_context(project.db_path, "alice", project_of(project.db_path).runner)
    show_clip(qtbot, panel, project.clip_ids[0])
    box = panel.boxes[-1]
    assert len(box.buttons) == 30 and box.buttons[29].text().startswith("Alt 0")
    assert box.columns < 3
    assert all(b.width() <= panel.width() for b in box.buttons)
    panel.resize(900, 700)
    qtbot.waitUntil(lambda: box.columns >= 3, timeout=WAIT)
