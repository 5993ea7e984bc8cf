"""The Export dialog while the project changes outside it (another connection: an import, a
label source's labels cleared, a dataset removed): its lists follow the change poll and keep
what the person chose; a chosen dataset or label source the project lost stays chosen, marked,
and is said, never swapped for another."""

from __future__ import annotations

import pytest

from mmla_app.curation.export_dialog import ExportDialog
from mmla_app.widgets.label_choice import GONE
from mmla_core.datasets.remove import remove_dataset
from mmla_core.store.db import open_store
from mmla_core.store.labels import set_label
from tests.support.train_fixtures import add_toy_dataset

pytestmark = pytest.mark.gui
WAIT = 15_000


def test_choices_follow_outside_changes_and_keep_what_was_chosen(qtbot, tiny_project,
                                                                  project_of):
    project = project_of(tiny_project.db_path)
    project.watch()  # other connections' commits reach the bus
    clip = tiny_project.clip_ids[0]
    with open_store(tiny_project.db_path) as store:
        set_label(store, clip, 1, "anger", "bob")
    dialog = ExportDialog(project)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.dataset_combo.count() == 1, timeout=WAIT)
    dialog.label_choice.set_source("annotator:bob")
    assert dialog.label_choice.source() == "annotator:bob"

    with open_store(tiny_project.db_path) as store:  # an import meanwhile
        toy = add_toy_dataset(store, name="toy2", media=False)
    qtbot.waitUntil(lambda: dialog.dataset_combo.findData(toy) >= 0, timeout=WAIT)
    assert dialog.dataset_combo.currentData() == tiny_project.dataset_id  # still the first
    assert dialog.task_combo.findText("MELD") >= 0
    dialog.dataset_combo.setCurrentIndex(dialog.dataset_combo.findData(toy))

    with open_store(tiny_project.db_path) as store:  # bob's labels cleared, toy2 removed
        set_label(store, clip, 1, None, "bob")
        remove_dataset(store, "toy2")
    qtbot.waitUntil(lambda: dialog.dataset_combo.currentText().endswith(GONE)
                    and dialog.label_choice.lost() is not None, timeout=WAIT)
    assert dialog.dataset_combo.currentData() == toy  # still chosen, not swapped
    assert dialog.label_choice.source() == "annotator:bob"
    assert dialog.label_choice.source_combo.currentText().endswith(GONE)
    assert "Dataset 'toy2' is no longer in the project" in dialog.status.text()
    dialog.target_edit.setText(str(tiny_project.db_path.parent / "out.csv"))
    dialog.start_export()  # refused: it says which, and nothing is written
    assert "'toy2' is no longer in the project: choose another" in dialog.status.text()
    assert not (tiny_project.db_path.parent / "out.csv").exists()
    dialog.close()
