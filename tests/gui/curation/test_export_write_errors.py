"""The Export dialog's ELAN export goes on past a clip whose file cannot be written and names
that clip, its path and why, as `mmla export-eaf` does (tests/core/datasets)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from mmla_app.curation.export_dialog import ExportDialog
from mmla_app.runtime.project import Project
from mmla_core.store.db import open_store

pytestmark = pytest.mark.gui


def test_an_unwritable_clip_is_named_and_the_others_are_written(qtbot, tiny_project, tmp_path):
    out = tmp_path / "eaf"
    (out / "train_utt_a.eaf").mkdir(parents=True)  # a folder where utt_a's file should go
    dialog = ExportDialog(Project(tiny_project.db_path, "alice"))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.dataset_combo.count() == 1, timeout=10_000)
    dialog.format_combo.setCurrentIndex(dialog.format_combo.findData("eaf"))
    dialog.target_edit.setText(str(out))
    with qtbot.waitSignal(dialog.exported, timeout=10_000) as signal:
        qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    summary = signal.args[0]
    assert (out / "train_utt_b.eaf").is_file() and (out / "train_utt_a.eaf").is_dir()
    assert "Wrote 1 .eaf files" in summary and "1 unwritable" in summary
    with open_store(tiny_project.db_path) as store:
        clip = store.scalar("SELECT id FROM clips WHERE external_id = 'utt_a'")
    assert f"Not written: clip {clip} (utt_a, train): {out / 'train_utt_a.eaf'}: " in summary
    assert "Not written" in dialog.status.text() and dialog.export_button.isEnabled()
