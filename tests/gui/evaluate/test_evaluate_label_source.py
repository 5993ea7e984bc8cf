"""The Evaluate window keeps a label source the project lost while it is open: the person's
`annotator:NAME` stays chosen, is marked, and a run started with it fails with the core's own
message instead of quietly evaluating against curated labels."""

from __future__ import annotations

import pytest

from mmla_app.evaluate.evaluate_dialog import EvaluateDialog
from mmla_app.widgets.label_choice import GONE
from mmla_core.store.catalog import task_by_name
from mmla_core.store.db import open_store
from mmla_core.store.labels import set_label
from tests.support.fake_engine import model_folder

pytestmark = pytest.mark.gui
WAIT = 30_000


def _label_as_bob(db_path, clip_ids, label):
    with open_store(db_path) as store:  # another connection, as `mmla label` would
        task_id, _task = task_by_name(store, "MELD")
        for clip_id in clip_ids:
            set_label(store, clip_id, task_id, label, "bob")


def test_a_lost_label_source_stays_chosen_marked_and_refused(qtbot, tiny_project, tmp_path,
                                                             project_of, fake_engines):
    _label_as_bob(tiny_project.db_path, tiny_project.clip_ids, "joy")
    project = project_of(tiny_project.db_path)
    project.watch()  # other connections' commits reach the bus
    dialog = EvaluateDialog(project)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.add_model(str(model_folder(tmp_path / "tiny-model")))
    form, choice = dialog.form, dialog.form.label_choice
    qtbot.waitUntil(lambda: form.model_combo.count() == 1 and form.task_combo.count() > 0
                    and choice.source_combo.findData("annotator:bob") >= 0, timeout=WAIT)
    form.split_combo.setCurrentIndex(form.split_combo.findData("train"))
    choice.source_combo.setCurrentIndex(choice.source_combo.findData("annotator:bob"))
    assert choice.lost_note.isHidden()

    _label_as_bob(tiny_project.db_path, tiny_project.clip_ids, None)  # bob's labels removed
    qtbot.waitUntil(lambda: choice.source_combo.currentText().endswith(GONE), timeout=WAIT)
    assert choice.source() == "annotator:bob"  # not swapped for curated
    assert form.eval_request()["selection"]["labels"] == "annotator:bob"
    assert not choice.lost_note.isHidden()
    assert "'annotator:bob' has no labels" in choice.lost_note.text()

    dialog.start()
    qtbot.waitUntil(lambda: "nothing to evaluate" in dialog.status.text(), timeout=WAIT)
    assert "annotator:bob" in dialog.status.text()
    with open_store(tiny_project.db_path) as store:
        assert store.query("SELECT id FROM runs") == []  # no curated run in its place
    dialog.reject()
