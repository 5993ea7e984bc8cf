"""What the Probe tab asks: the questions (each one's text editable) and the rows (MMA-Bench's
in-memory scenarios plus the clip's existing variants).

A question's text starts as the task's default (MMLA's task prompt, MMA-Bench's visual- and
audio-focused questions); only texts that differ from the default are sent with the probe and
saved in its run settings, so a reopened probe shows what it asked.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QGridLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from mmla_core.probe.matrix import DEFAULT_PROMPTS, DEFAULT_SCENARIOS

PROMPT_TITLES = {"zero_shot": "Task prompt", "visual_focused": "Visual-focused question",
                 "audio_focused": "Audio-focused question"}
EDITOR_LINES = 3


def _checked_box(text: str, parent: QWidget) -> QCheckBox:
    box = QCheckBox(text, parent)
    box.setChecked(True)
    return box


class ProbeOptions(QTabWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.defaults: dict[str, str] = {}
        self.prompt_boxes: dict[str, QCheckBox] = {}
        self.editors: dict[str, QPlainTextEdit] = {}
        self.addTab(self._questions_tab(), "Questions")
        self.addTab(self._rows_tab(), "Scenarios && variants")

    def _questions_tab(self) -> QWidget:
        page = QWidget(self)
        layout = QVBoxLayout(page)
        layout.setContentsMargins(4, 4, 4, 4)
        for kind in DEFAULT_PROMPTS:
            box = _checked_box(PROMPT_TITLES[kind], page)
            editor = QPlainTextEdit(page)
            editor.setToolTip("Fields: {transcript} {task} {labels}. Edited texts are saved "
                              "with the probe.")
            line = editor.fontMetrics().lineSpacing()
            editor.setFixedHeight(line * EDITOR_LINES + 12)
            box.toggled.connect(editor.setEnabled)
            self.prompt_boxes[kind], self.editors[kind] = box, editor
            layout.addWidget(box)
            layout.addWidget(editor)
        self.reset_button = QPushButton("Reset texts to the defaults", page,
                                        clicked=self.reset_texts)
        layout.addWidget(self.reset_button, 0, Qt.AlignmentFlag.AlignLeft)
        return page

    def _rows_tab(self) -> QWidget:
        page = QWidget(self)
        grid = QGridLayout(page)
        grid.setContentsMargins(4, 4, 4, 4)
        self.scenario_boxes = {key: _checked_box(key.replace("_", " "), page)
                               for key in DEFAULT_SCENARIOS}
        for i, box in enumerate(self.scenario_boxes.values()):
            grid.addWidget(box, i // 2, i % 2)
        grid.addWidget(QLabel("Existing variants of this clip (extra rows):", page), 3, 0, 1, 2)
        self.variant_list = QListWidget(page)
        self.variant_list.setMaximumHeight(90)
        grid.addWidget(self.variant_list, 4, 0, 1, 2)
        grid.setRowStretch(5, 1)  # the rows stay together at the top
        return page

    # --- prompt texts -------------------------------------------------------------------------

    def set_defaults(self, defaults: dict[str, str]) -> None:
        """A new task's default texts; an editor the user has not changed follows them."""
        for kind, editor in self.editors.items():
            old = self.defaults.get(kind)
            if old is None or editor.toPlainText() == old:
                editor.setPlainText(defaults.get(kind, ""))
        self.defaults = dict(defaults)

    def reset_texts(self) -> None:
        for kind, editor in self.editors.items():
            editor.setPlainText(self.defaults.get(kind, ""))

    def templates(self) -> dict[str, str]:
        """The chosen questions whose text was edited: {prompt kind: text}."""
        return {kind: editor.toPlainText() for kind, editor in self.editors.items()
                if self.prompt_boxes[kind].isChecked()
                and editor.toPlainText() != self.defaults.get(kind)}

    def show_templates(self, templates: dict[str, str]) -> None:
        """A reopened probe's texts: the edited ones it saved, the defaults for the rest."""
        for kind, editor in self.editors.items():
            editor.setPlainText(templates.get(kind) or self.defaults.get(kind, ""))

    def chosen_prompts(self) -> list[str]:
        return [k for k, box in self.prompt_boxes.items() if box.isChecked()]

    # --- rows ---------------------------------------------------------------------------------

    def chosen_scenarios(self) -> list[str]:
        return [k for k, box in self.scenario_boxes.items() if box.isChecked()]

    def set_variants(self, variants: list[dict]) -> None:
        """The clip's written variants ({id, label, external_id}); those already listed keep
        their check (a reload after someone else's change must not undo the person's picks)."""
        checked = set(self.chosen_variants())
        self.variant_list.clear()
        for v in variants:
            item = QListWidgetItem(f"variant {v['id']}: {v['label'] or '?'}")
            item.setToolTip(v.get("external_id") or "")
            item.setData(Qt.ItemDataRole.UserRole, int(v["id"]))
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if int(v["id"]) in checked
                               else Qt.CheckState.Unchecked)
            self.variant_list.addItem(item)
        if not variants:
            none = QListWidgetItem("(none written yet: Variants tab)")
            none.setFlags(Qt.ItemFlag.NoItemFlags)
            self.variant_list.addItem(none)

    def variant_title(self, clip_id: int) -> str:
        for i in range(self.variant_list.count()):
            item = self.variant_list.item(i)
            if item.data(Qt.ItemDataRole.UserRole) == clip_id:
                return item.text()
        return f"variant {clip_id}"

    def chosen_variants(self) -> list[int]:
        items = (self.variant_list.item(i) for i in range(self.variant_list.count()))
        return [int(item.data(Qt.ItemDataRole.UserRole)) for item in items
                if item.checkState() == Qt.CheckState.Checked]
