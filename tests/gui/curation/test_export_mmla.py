"""The Export dialog writes MMLA's layout as `mmla export mmla` does: the curated label and
transcript in the TSVs, each clip's video beside them, the text-only clip text-only."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from mmla_app.curation.export_dialog import ExportDialog
from mmla_app.runtime.project import Project
from mmla_core.store.db import open_store
from mmla_core.store.labels import set_label, set_transcript

pytestmark = pytest.mark.gui


def test_the_dialog_exports_mmlas_layout_with_the_curated_values(qtbot, tiny_project, tmp_path):
    with open_store(tiny_project.db_path) as store:
        meld = store.scalar("SELECT id FROM tasks WHERE name = 'MELD'")
        set_label(store, tiny_project.clip_ids[0], meld, "anger", "alice")
        set_transcript(store, tiny_project.clip_ids[0], "You did THAT?", "alice")
    dialog = ExportDialog(Project(tiny_project.db_path, "alice"))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.dataset_combo.count() == 1, timeout=10_000)
    dialog.format_combo.setCurrentIndex(dialog.format_combo.findData("mmla"))
    assert dialog.splits_edit.text() == "train,dev,test" and dialog.splits_edit.isVisible()
    assert not dialog.mode_combo.isVisible()
    dialog.task_combo.setCurrentIndex(dialog.task_combo.findText("MELD"))
    dialog.target_edit.setText(str(tmp_path / "out"))
    with qtbot.waitSignal(dialog.exported, timeout=10_000) as signal:
        qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    assert "wrote train.tsv (2), dev.tsv (1)" in signal.args[0]
    folder = tmp_path / "out" / "MELD"
    assert (folder / "train.tsv").read_text().splitlines() == [
        "id\tutterance\temotion", "utt_a\tYou did THAT?\tanger",
        "utt_b\tThat is wonderful news.\tjoy"]
    assert sorted(p.name for p in (folder / "video").iterdir()) == ["MELD_utt_a.mp4",
                                                                    "MELD_utt_b.mp4"]
