"""Pick a LoRA adapter: the project's trained adapters by name, or any folder.

Wherever an adapter is chosen (probe panel, Evaluate window) the runs trained in this project
(`control.trained_adapters`: finished jobs that exported `<output_dir>/adapter`) are offered by
job, task and dev accuracy, filtered to the chosen base model when one is given; a folder can
still be typed or browsed. `adapter_path()` is None for the base model.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QFileDialog, QHBoxLayout, QPushButton, QWidget
from shiboken6 import isValid

from mmla_app.runtime.project import Project
from mmla_core.store.db import open_store, peek_schema_version
from mmla_core.store.schema import SCHEMA_VERSION
from mmla_core.train.control import trained_adapters

BASE_MODEL = "none (base model)"


def load_trained_adapters(db_path: str, model: str | None = None) -> list[dict]:
    """Worker job: the project's trained adapters, those of `model` only when given.

    Pickers reload when a project is opened, while the window's own job may still be creating
    or migrating the file: a project not at the current schema yet is only peeked at (read-only)
    and has nothing to offer, so this never runs migrations concurrently with that job."""
    path = Path(db_path)
    if not path.is_file():
        return []
    if peek_schema_version(path, timeout=30) != SCHEMA_VERSION:
        return []
    with open_store(path) as store:
        return [a for a in trained_adapters(store) if model is None or a["model"] == model]


def adapter_title(adapter: dict) -> str:
    """'#3 meld-sft · SFT MELD · dev 70.0%'."""
    best = adapter.get("best_eval_accuracy")
    dev = "" if best is None else f" · dev {best:.1%}"
    mode = (adapter.get("mode") or "sft").upper()
    return f"#{adapter['job_id']} {adapter['name']} · {mode} {', '.join(adapter['tasks'])}{dev}"


class AdapterPicker(QWidget):
    """Editable combo (base model, trained adapters, typed folder) + a Browse… button."""

    changed = Signal()
    loaded = Signal(int)  # how many trained adapters are offered

    def __init__(self, project: Project, parent: QWidget | None = None):
        super().__init__(parent)
        self.runner = project.runner.scope("adapters")
        self.combo = QComboBox(self, editable=True)
        self.combo.setToolTip("A LoRA adapter trained in this project, or a folder with "
                              "adapter_config.json + adapter_model.safetensors")
        self.combo.addItem(BASE_MODEL, "")
        self.combo.currentTextChanged.connect(lambda _text: self.changed.emit())
        browse = QPushButton("…", self, clicked=self.browse)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.combo, 1)
        layout.addWidget(browse)

    def reload(self, model: str | None = None) -> None:
        """Offer the trained adapters (of `model`, when given), keeping the current choice."""
        self.runner.submit(load_trained_adapters, str(self.runner.db_path), model,
                           channel="adapters", with_store=False, on_success=self._on_adapters)

    def _on_adapters(self, adapters: list[dict]) -> None:
        if not isValid(self):
            return
        keep = self.adapter_path()
        self.combo.blockSignals(True)
        self.combo.clear()
        self.combo.addItem(BASE_MODEL, "")
        for adapter in adapters:
            self.combo.addItem(adapter_title(adapter), adapter["adapter_path"])
            self.combo.setItemData(self.combo.count() - 1, adapter["adapter_path"],
                                   Qt.ItemDataRole.ToolTipRole)
        self.combo.blockSignals(False)
        self.set_adapter_path(keep)
        self.loaded.emit(len(adapters))

    def adapter_path(self) -> str | None:
        text = self.combo.currentText().strip()
        index = self.combo.findText(text)
        if index >= 0:
            return self.combo.itemData(index) or None
        return None if text in ("", BASE_MODEL) else text

    def set_adapter_path(self, path: str | None) -> None:
        index = self.combo.findData(path or "")
        if index >= 0:
            self.combo.setCurrentIndex(index)
        else:
            self.combo.setEditText(path)

    def browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "LoRA adapter folder")
        if folder:
            self.set_adapter_path(folder)

    def shutdown(self) -> None:
        self.runner.close()
