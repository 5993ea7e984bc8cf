"""Export dialog, LLaMA-Factory: the longest sample counted with a registered model's tokenizer
(or the estimate) and the cutoff_len it needs, shown and written to mmla_export.json."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt

from mmla_app.runtime.project import Project
from mmla_core.store.db import open_store

pytestmark = pytest.mark.gui
WAIT = 30_000


def test_tokens_counted_with_a_registered_models_tokenizer(qtbot, tiny_project, tmp_path):
    from mmla_app.curation.export_dialog import ExportDialog
    from mmla_core.models.tiny import tiny_tokenizer
    from mmla_core.store.results import add_model

    folder = tmp_path / "tok"
    tiny_tokenizer("text_lm").save_pretrained(str(folder))
    with open_store(tiny_project.db_path) as store:
        add_model(store, "tiny-tok", "text_lm", str(folder))
    dialog = ExportDialog(Project(tiny_project.db_path, "alice"))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.tokens_combo.count() == 2, timeout=WAIT)
    dialog.format_combo.setCurrentIndex(dialog.format_combo.findData("llamafactory"))
    assert dialog.tokens_combo.isVisible() and dialog.tokens_combo.currentData() is None
    dialog.tokens_combo.setCurrentIndex(dialog.tokens_combo.findData("tiny-tok"))
    dialog.task_combo.setCurrentText("MELD")
    dialog.mode_combo.setCurrentText("text")
    dialog.splits_edit.setText("train")
    out = tmp_path / "lf"
    dialog.target_edit.setText(str(out))
    with qtbot.waitSignal(dialog.exported, timeout=WAIT) as signal:
        qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    assert "tokens (tokenizer of tiny-tok), cutoff_len 2048" in signal.args[0]
    assert "cutoff_len 2048" in dialog.status.text()
    (entry,) = json.loads((out / "mmla_export.json").read_text()).values()
    assert entry["tokens_counted_with"] == "tokenizer of tiny-tok" and entry["cutoff_len"] == 2048
    dialog.format_combo.setCurrentIndex(dialog.format_combo.findData("csv"))
    assert not dialog.tokens_combo.isVisible()
    dialog.close()
