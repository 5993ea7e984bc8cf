"""The Train dialog while the project changes outside it (another connection, as `mmla models
add`, an import or a dataset delete would): its model and dataset lists follow the change poll,
and every value the person set or chose stays; a chosen dataset that disappears is said and
stays chosen, never swapped for another."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from mmla_app import settings
from mmla_app.training.train_dialog import TrainDialog
from mmla_app.widgets.label_choice import GONE
from mmla_core.datasets.remove import remove_dataset
from mmla_core.store.db import open_store
from mmla_core.store.results import add_model
from tests.support.train_fixtures import TOY_TASK, add_toy_dataset

pytestmark = pytest.mark.gui
WAIT = 15_000


def _checked(widget) -> list[str]:
    return [widget.item(i).data(Qt.ItemDataRole.UserRole) for i in range(widget.count())
            if widget.item(i).checkState() == Qt.CheckState.Checked]


def check(widget, key: str) -> None:
    for i in range(widget.count()):
        if widget.item(i).data(Qt.ItemDataRole.UserRole) == key:
            widget.item(i).setCheckState(Qt.CheckState.Checked)


def test_lists_follow_outside_changes_and_keep_what_the_person_set(qtbot, toy_db,
                                                                   project_of, tmp_path):
    project = project_of(toy_db)
    project.watch()  # other connections' commits reach the bus
    settings.remember_train_config(toy_db, {"name": "last-launch", "model": "tiny-text",
                                            "tasks": [TOY_TASK], "dataset": "toy",
                                            "max_steps": 99})
    dialog = TrainDialog(project)
    qtbot.addWidget(dialog)
    dialog.show()
    form = dialog.form
    qtbot.waitUntil(lambda: form.name_edit.text() == "last-launch"
                    and form.task_list.count() > 0, timeout=WAIT)
    form.name_edit.setText("mine")  # the person edits after the last launch's settings
    form.steps_spin.setValue(7)
    form.lr_edit.setText("3e-4")
    check(form.task_list, TOY_TASK)
    with open_store(toy_db) as store:  # `mmla models add` and an import, meanwhile
        add_model(store, "cli-model", "qwen2_5_omni", str(tmp_path / "cli-model"))
        add_toy_dataset(store, name="toy2", media=False)
    qtbot.waitUntil(lambda: form.model_combo.findData("cli-model") >= 0
                    and form.dataset_combo.findData("toy2") >= 0, timeout=WAIT)
    qtbot.waitUntil(lambda: _checked(form.task_list) == [TOY_TASK], timeout=WAIT)
    assert (form.name_edit.text(), form.steps_spin.value(), form.lr_edit.text()) == (
        "mine", 7, "3e-4")  # not the last launch's settings again
    assert form.model_combo.currentData() == "tiny-text"
    assert form.dataset_combo.currentData() == "toy"
    assert form.config().name == "mine"

    with open_store(toy_db) as store:  # the chosen dataset is deleted elsewhere
        remove_dataset(store, "toy")
    qtbot.waitUntil(lambda: form.dataset_combo.currentText().endswith(GONE), timeout=WAIT)
    assert form.dataset_combo.currentData() == "toy"  # still chosen, not swapped for toy2
    assert "Dataset 'toy' is no longer in the project" in dialog.problems.text()
    qtbot.waitUntil(lambda: form.task_list.count() == 1, timeout=WAIT)
    assert _checked(form.task_list) == [TOY_TASK] and form.name_edit.text() == "mine"
    dialog.close()
