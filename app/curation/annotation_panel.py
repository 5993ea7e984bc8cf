"""The annotation panel: each task of the clip's dataset as label buttons with their hotkeys, the
curator's current label (who set it, when), other annotators' labels, and a free-text note.

Reads and writes run off the GUI thread. A click or key shows the new label at once, and the
write (`ops.curation.set_label`: `labels.set_label`, one transaction, undoable) goes through the
app's single writer thread, which keeps the curator's writes in the order they were made, and
its change record goes on the change bus with this panel as initiator.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from mmla_app import keymap
from mmla_app.curation.task_dialog import AddTaskDialog
from mmla_app.ops import curation as ops
from mmla_app.runtime.runner import Runner
from mmla_app.widgets.panel_frame import BackgroundWrites, build_panel_frame
from mmla_core.store.dataset_tasks import task_offer
from mmla_core.store.review import clip_label_state

NOTE_SAVE_MS = 700
PANEL_STYLE = """
QLabel#panelTitle { font-weight: 600; font-size: 11pt; }
QFrame#taskBox { border: 1px solid #d5d8de; border-radius: 6px; background: #fafbfc; }
QFrame#taskBox[active="true"] { border: 2px solid #3d6fb6; background: #eef3fb; }
QPushButton#labelButton { text-align: left; padding: 3px 8px; border: 1px solid #c5c9d0;
    border-radius: 4px; background: white; }
QPushButton#labelButton:checked { background: #3d6fb6; color: white; border-color: #2f5a96;
    font-weight: 600; }
QPushButton#labelButton[others="true"] { border: 1px dashed #8a5cc2; }
QLabel#muted { color: #6b7079; }
"""


# --- background jobs (worker threads; no widgets here) -----------------------------------------

def load_annotation_state(store, clip_id: int):
    return clip_label_state(store, clip_id)


def when_text(iso: str) -> str:
    """'14:03' today, else '3 Mar 14:03', in local time, from the store's UTC ISO text."""
    try:
        moment = datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone()
    except (AttributeError, ValueError):
        return ""
    today = datetime.now().astimezone().date()
    return f"{moment:%H:%M}" if moment.date() == today else f"{moment.day} {moment:%b %H:%M}"


# --- one task -------------------------------------------------------------------------------------

class TaskBox(QFrame):
    """A task's label buttons (with their keys), its current label and who set it."""

    label_clicked = Signal(int, int)  # task id, label index

    def __init__(self, task_id: int, task, key_texts: list[str], parent: QWidget | None = None):
        super().__init__(parent, objectName="taskBox")
        self.task_id, self.task = task_id, task
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.setSpacing(4)
        self.title = QLabel(f"<b>{task.name}</b> <span style='color:#6b7079'>"
                            f"{task.prompt_word}</span>", self)
        layout.addWidget(self.title)
        self.grid = QGridLayout()
        self.grid.setSpacing(4)
        self.columns = 0
        self.buttons: list[QPushButton] = []
        for i, label in enumerate(task.labels):
            key = key_texts[i] if i < len(key_texts) else ""
            button = QPushButton(f"{key}  {label}" if key else label, self,
                                 objectName="labelButton", checkable=True)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys go to the window's shortcuts
            button.setProperty("tip", f"{label}" + (f"  (key {key})" if key else ""))
            button.setToolTip(button.property("tip"))
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            button.clicked.connect(lambda _=False, i=i: self.label_clicked.emit(self.task_id, i))
            self.buttons.append(button)
        self.button_width = max((b.sizeHint().width() for b in self.buttons), default=80)
        self.set_columns(2)
        layout.addLayout(self.grid)
        self.info = QLabel(self, objectName="muted", wordWrap=True)
        layout.addWidget(self.info)

    def set_columns(self, columns: int) -> None:
        """Lay the buttons out in `columns` columns (the panel picks what fits its width)."""
        if columns == self.columns:
            return
        self.columns = columns
        for i, button in enumerate(self.buttons):
            self.grid.addWidget(button, i // columns, i % columns)
        for column in range(4):
            self.grid.setColumnStretch(column, 1 if column < columns else 0)

    def fit_width(self, width: int) -> None:
        self.set_columns(max(1, min(4, (width - 16) // (self.button_width + 4))))

    def set_active(self, active: bool) -> None:
        self.setProperty("active", "true" if active else "false")
        self.style().unpolish(self)
        self.style().polish(self)

    def show_labels(self, by_annotator: dict[str, tuple[str, str]], annotator: str) -> None:
        mine = by_annotator.get(annotator)
        others = {who: lab for who, (lab, _) in by_annotator.items() if who != annotator}
        for button, label in zip(self.buttons, self.task.labels, strict=True):
            button.setChecked(mine is not None and mine[0] == label)
            chosen_by = [who for who, lab in sorted(others.items()) if lab == label]
            button.setProperty("others", "true" if chosen_by else "false")
            button.setToolTip(button.property("tip") + (
                f"\nchosen by {', '.join(chosen_by)}" if chosen_by else ""))
            button.style().unpolish(button)
            button.style().polish(button)
        line = (f"✓ <b>{mine[0]}</b> · {annotator}, {when_text(mine[1])}" if mine
                else "Not labelled by you yet")
        if others:
            line += "<br>" + " · ".join(f"{who}: {lab}" for who, lab in sorted(others.items()))
        self.info.setText(line)

    def checked_label(self) -> str | None:
        return next((lab for b, lab in zip(self.buttons, self.task.labels, strict=True)
                     if b.isChecked()), None)


# --- the panel ------------------------------------------------------------------------------------

class AnnotationPanel(BackgroundWrites, QWidget):
    """Labels for every task of the clip's dataset, from keys or clicks, plus a note.

    `choose_label(i)` sets label i (0-based; key 1 = 0, key 0 = 9) of the active task;
    `next_task()` moves the active task. `changed(clip_id)` follows every committed write.
    """

    changed = Signal(int)
    message = Signal(str)  # short status text for the status bar

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setStyleSheet(PANEL_STYLE)
        self.db_path: Path | None = None
        self.annotator = ""
        self.clip_id: int | None = None
        self.state = None  # a ClipLabelState (mmla_core.store.review)
        self.boxes: list[TaskBox] = []
        self.active = 0
        self._pending_writes = 0
        self._note_clip: int | None = None
        self._note_dirty = False
        self._build()

    def _build(self) -> None:
        self.who_label = QLabel(self, objectName="muted")
        corner = QWidget(self)
        corner_row = QHBoxLayout(corner)
        corner_row.setContentsMargins(0, 0, 0, 0)
        # another task for a dataset that has some; the empty state has a button of its own
        self.more_tasks_button = QPushButton("Add task…", corner, flat=True)
        self.more_tasks_button.setToolTip("Give this clip's dataset another task to label")
        corner_row.addWidget(self.more_tasks_button)
        corner_row.addWidget(self.who_label)
        frame = build_panel_frame(self, "Labels", "Select a clip to label it.", corner)
        layout, self.empty_label, self.scroll = frame.layout, frame.empty_label, frame.scroll
        self.empty_label.setWordWrap(True)
        self.add_task_button = QPushButton("Add a task…", self)
        self.add_task_button.setToolTip("One of MMLA's 12 tasks, a custom task of this "
                                        "project, or a new one with its labels")
        layout.insertWidget(layout.indexOf(self.empty_label) + 1, self.add_task_button)
        for button in (self.add_task_button, self.more_tasks_button):
            # no focus: the button hides once the task is added, and Qt would hand its focus
            # on to the note, where the next label key would be typed as text
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.clicked.connect(self.add_task)
        self.task_layout = frame.body
        self.note_edit = QPlainTextEdit(self)
        self.note_edit.setPlaceholderText("Note on this clip (saved as you type)")
        self.note_edit.setFixedHeight(64)
        self.note_edit.textChanged.connect(self._on_note_typed)
        self.note_edit.installEventFilter(self)
        layout.addWidget(self.note_edit)
        self.status = QLabel(self, objectName="muted")
        layout.addWidget(self.status)
        self._note_timer = QTimer(self, singleShot=True, interval=NOTE_SAVE_MS)
        self._note_timer.timeout.connect(self.save_note)
        self._show_empty("Select a clip to label it.")

    # --- public API -------------------------------------------------------------------------

    def set_context(self, db_path: str | Path, annotator: str, runner: Runner) -> None:
        """Point the panel at a project and a curator, reading through `runner` (the
        project's); the shown clip is reloaded."""
        self.save_note()
        self.db_path, self.annotator = Path(db_path), annotator
        self._pending_writes = 0  # results of writes to the old context are dropped
        self._use_runner(runner)
        self.who_label.setText(f"as {annotator}" if annotator else "")
        self.set_clip(self.clip_id)

    def set_clip(self, clip_id: int | None) -> None:
        self.save_note()
        changed_clip = clip_id != self.clip_id
        self.clip_id = clip_id
        if clip_id is None or self._runner is None:
            self.state = None
            self._show_empty("Select a clip to label it.")
            return
        if changed_clip:
            self.state = None  # keys wait for this clip's labels: never write to the last one
            self._set_active(0)  # ...nor to a task the curator has not seen on this clip
            for box in self.boxes:
                box.show_labels({}, self.annotator)
            self._set_note_text("")
            self._note_clip = clip_id
        self.refresh()

    def refresh(self) -> None:
        """Re-read the shown clip's labels and notes (in the background)."""
        if self.clip_id is None or self._runner is None:
            return
        self._runner.submit(load_annotation_state, self.clip_id, channel=f"annotation-{id(self)}",
                            on_success=self._on_state, on_error=self._on_error)

    def choose_label(self, index: int) -> bool:
        """Set label `index` of the active task; False (and a message) when there is none."""
        if self.state is None and self.clip_id is not None and self.annotator:
            # The clip is still loading: the writer thread resolves the key against the
            # database, in the order of every key pressed in any panel (undo stays in order).
            self._write(ops.set_label_by_index(self.clip_id, self.active, index, self.annotator))
            return True
        if self.state is None or not self.boxes or not self.annotator:
            self._say("No clip loaded yet" if self.state is None else "No tasks to label")
            return False
        box = self.boxes[self.active]
        if not 0 <= index < len(box.task.labels):
            self._say(f"{box.task.name} has {len(box.task.labels)} labels")
            return False
        label = box.task.labels[index]
        mine = dict(self.state.labels.get(box.task_id, {}))
        mine[self.annotator] = (label, datetime.now().astimezone().isoformat())
        self.state.labels[box.task_id] = mine  # shown at once; the database follows
        box.show_labels(mine, self.annotator)
        self._write(ops.set_label(self.state.clip_id, box.task_id, label, self.annotator),
                    what=f"{box.task.name} = {label}")
        return True

    def next_task(self) -> None:
        if self.boxes:
            self._set_active((self.active + 1) % len(self.boxes))

    def active_task(self):
        return self.boxes[self.active].task if self.boxes else None

    def save_note(self) -> None:
        """Commit the note now if it was edited (also runs on focus-out and after typing)."""
        self._note_timer.stop()
        if not self._note_dirty or self._note_clip is None or self._runner is None:
            return
        self._note_dirty = False
        self._write(ops.set_note(self._note_clip, self.annotator, self.note_edit.toPlainText()))

    def shutdown(self) -> None:
        """Commit a typed note (the window is closing; it closes the project's runner)."""
        self.save_note()

    # --- loading ------------------------------------------------------------------------------

    def _on_state(self, state) -> None:
        if not isValid(self) or state is None or state.clip_id != self.clip_id:
            return
        if self._pending_writes:
            return  # a newer write is on its way; its refresh will follow
        fresh, self.state = self.state is None, state
        self.note_edit.setEnabled(True)
        self._ensure_boxes(state)
        for box in self.boxes:
            box.show_labels(state.labels.get(box.task_id, {}), self.annotator)
        if not self._note_dirty and (fresh or not self.note_edit.hasFocus()):
            self._set_note_text(state.notes.get(self.annotator, ""))
        others = [f"{who}: {text}" for who, text in state.notes.items() if who != self.annotator]
        self.note_edit.setToolTip("\n".join(others))
        if not self.boxes:
            self._show_empty("This dataset has no tasks yet, so there is nothing to label: "
                             "add one (MMLA's or your own, with its labels).")
            self.add_task_button.show()

    def _ensure_boxes(self, state) -> None:
        """Rebuild the task boxes only when the task list changes (clip switches stay cheap)."""
        wanted = [task_id for task_id, _ in state.tasks]
        self.empty_label.hide()
        self.add_task_button.hide()
        self.more_tasks_button.show()
        self.scroll.show()
        if wanted == [b.task_id for b in self.boxes]:
            return
        for box in self.boxes:
            box.deleteLater()
        bindings = keymap.current_bindings()
        self.boxes = []
        for task_id, task in state.tasks:
            keys = [keymap.label_key_text(i, bindings) for i in range(len(task.labels))]
            box = TaskBox(task_id, task, keys, self.scroll.widget())
            box.label_clicked.connect(self._on_label_clicked)
            self.task_layout.insertWidget(self.task_layout.count() - 1, box)
            self.boxes.append(box)
        self._set_active(min(self.active, max(len(self.boxes) - 1, 0)))
        self._fit_boxes()

    def _fit_boxes(self) -> None:
        width = self.scroll.viewport().width()
        for box in self.boxes:
            box.fit_width(width)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_boxes()

    def _set_active(self, index: int) -> None:
        self.active = index
        for i, box in enumerate(self.boxes):
            box.set_active(i == index)
        if self.boxes:
            self.scroll.ensureWidgetVisible(self.boxes[index])

    def _on_label_clicked(self, task_id: int, index: int) -> None:
        self._set_active(next(i for i, b in enumerate(self.boxes) if b.task_id == task_id))
        self.choose_label(index)

    def _show_empty(self, text: str) -> None:
        self.empty_label.setText(text)
        self.empty_label.show()
        self.add_task_button.hide()  # shown by the one empty state it serves
        self.more_tasks_button.hide()
        self.scroll.setVisible(bool(self.boxes) and self.state is not None)
        self.note_edit.setEnabled(self.clip_id is not None)

    # --- tasks -------------------------------------------------------------------------------

    def add_task(self) -> None:
        """Ask which task the clip's dataset gets (what it could get is read first)."""
        if self.clip_id is None or self._runner is None:
            return
        self._runner.submit(task_offer, self.clip_id, channel=f"task-offer-{id(self)}",
                            on_success=self._ask_task, on_error=self._on_error)

    def _ask_task(self, offer) -> None:
        if not isValid(self) or offer is None:
            return
        dataset_id, dataset_name, offered = offer
        dialog = AddTaskDialog(self.db_path, dataset_id, dataset_name, offered, self.window())
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.attached.connect(lambda name: self._say(f"Task {name} added to {dataset_name}"))
        # the label keys are the window's shortcuts: the window must be active again
        dialog.finished.connect(lambda _result: isValid(self) and self.window().activateWindow())
        self.task_dialog = dialog
        dialog.open()

    # --- writing ------------------------------------------------------------------------------

    def has_unsaved(self) -> bool:
        """True while a label key or a shown label has not been committed yet."""
        return self._pending_writes > 0

    def _on_error(self, exc: Exception) -> None:
        if isValid(self):
            self._say(f"Could not load labels: {exc}")

    # --- the note -----------------------------------------------------------------------------

    def _set_note_text(self, text: str) -> None:
        self._note_dirty = False
        if text == self.note_edit.toPlainText():
            return  # keep the cursor where the curator left it
        self.note_edit.blockSignals(True)
        self.note_edit.setPlainText(text)
        self.note_edit.moveCursor(QTextCursor.MoveOperation.End)
        self.note_edit.blockSignals(False)

    def _on_note_typed(self) -> None:
        self._note_dirty = True
        self._note_clip = self.clip_id
        self._note_timer.start()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.note_edit and event.type() == QEvent.Type.FocusOut:
            self.save_note()
        return super().eventFilter(watched, event)
