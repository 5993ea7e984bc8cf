"""Settings: who is annotating, auto-play on the next clip, and the key map with conflict checks.

A remap that lands on a key another action (or a menu) already uses is shown at once, with the
actions it clashes with, and OK stays disabled until it is resolved: two actions on one key make
Qt fire neither, which would look like a dead key.
"""

from __future__ import annotations

from PySide6.QtGui import QBrush, QColor, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QKeySequenceEdit,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mmla_app import keymap, settings
from mmla_app.widgets.placement_combo import placement_combo
from mmla_app.widgets.screen_fit import fit_resize
from mmla_core.store.labels import IMPORT_ANNOTATOR

CONFLICT_BRUSH = QBrush(QColor("#f6d5d2"))


class SettingsDialog(QDialog):
    """Edits the QSettings-backed preferences; nothing is stored unless OK is pressed."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Settings")
        fit_resize(self, 620, 640)
        self.bindings = keymap.current_bindings()
        self.annotator_edit = QLineEdit(settings.annotator(), self)
        self.annotator_edit.setPlaceholderText("Your name, stored with every label")
        self.auto_play_box = QCheckBox("Start playing when moving to another clip", self)
        self.auto_play_box.setChecked(settings.auto_play())
        self.placement_combo = placement_combo(self, settings.device_map())
        form = QFormLayout()
        form.addRow("Annotator", self.annotator_edit)
        form.addRow("Playback", self.auto_play_box)
        form.addRow("Models load on", self.placement_combo)
        self.table = self._build_table()
        self.warning = QLabel(self, wordWrap=True)
        self.warning.setStyleSheet("color: #c8453b;")
        reset = QPushButton("Restore default keys", self)
        reset.clicked.connect(self.restore_defaults)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(QLabel("<b>Keyboard</b> (click a key cell and press the new key)", self))
        layout.addWidget(self.table, 1)
        layout.addWidget(self.warning)
        row = QHBoxLayout()
        row.addWidget(reset)
        row.addStretch(1)
        row.addWidget(self.buttons)
        layout.addLayout(row)
        self.annotator_edit.textChanged.connect(self._validate)
        self._validate()

    def _build_table(self) -> QTableWidget:
        table = QTableWidget(len(keymap.ACTIONS), 3, self)
        table.setHorizontalHeaderLabels(["Action", "Key", "Default"])
        table.verticalHeader().hide()
        header = table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.editors: dict[str, QKeySequenceEdit] = {}
        for row, action in enumerate(keymap.ACTIONS):
            table.setItem(row, 0, QTableWidgetItem(f"{action.group}: {action.text}"))
            table.setItem(row, 2, QTableWidgetItem(keymap.display_text(action.default)))
            editor = QKeySequenceEdit(QKeySequence(self.bindings[action.id]), table)
            editor.setMaximumSequenceLength(1)
            editor.setClearButtonEnabled(True)
            editor.keySequenceChanged.connect(
                lambda seq, a=action.id: self.set_binding(a, seq.toString(
                    QKeySequence.SequenceFormat.PortableText)))
            table.setCellWidget(row, 1, editor)
            self.editors[action.id] = editor
        return table

    # --- editing ----------------------------------------------------------------------------

    def set_binding(self, action_id: str, keys: str) -> None:
        self.bindings[action_id] = keymap.normalise(keys)
        self._validate()

    def restore_defaults(self) -> None:
        self.bindings = keymap.default_bindings()
        for action_id, editor in self.editors.items():
            editor.blockSignals(True)
            editor.setKeySequence(QKeySequence(self.bindings[action_id]))
            editor.blockSignals(False)
        self._validate()

    def conflicts(self) -> dict[str, list[str]]:
        return keymap.find_conflicts(self.bindings)

    def _validate(self) -> None:
        conflicts = self.conflicts()
        clashing = {a for who in conflicts.values() for a in who}
        for row, action in enumerate(keymap.ACTIONS):
            item = self.table.item(row, 0)
            item.setBackground(CONFLICT_BRUSH if action.id in clashing else QBrush())
        problems = []
        if conflicts:
            problems.append("Keys used twice — " + keymap.describe_conflicts(conflicts))
        name = self.annotator_edit.text().strip()
        if not name:
            problems.append("Enter an annotator name.")
        elif name == IMPORT_ANNOTATOR:
            problems.append(f"'{IMPORT_ANNOTATOR}' is reserved for imported labels.")
        self.warning.setText("\n".join(problems))
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(not problems)

    def accept(self) -> None:
        if not self.buttons.button(QDialogButtonBox.StandardButton.Ok).isEnabled():
            return
        settings.set_annotator(self.annotator_edit.text().strip())
        settings.set_auto_play(self.auto_play_box.isChecked())
        settings.set_device_map(self.placement_combo.currentData())
        keymap.save_bindings(self.bindings)
        super().accept()
