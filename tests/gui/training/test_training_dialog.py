"""Train LoRA dialog: fill the form, preview rendered samples, refusals that create no job, YAML
round trip; and (slow) a real short run on a tiny model launched from the GUI, watched to its
end in the Training tab and compared with zero-shot in the results view."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from mmla_app.runtime.project import Project
from mmla_app.training.train_dialog import TrainDialog
from mmla_core.store.db import open_store
from mmla_core.store.results import add_model
from tests.support.train_fixtures import TOY_TASK

pytestmark = pytest.mark.gui
WAIT = 15_000


def open_dialog(qtbot, db_path) -> TrainDialog:
    dialog = TrainDialog(Project(db_path, "alice"))  # a project of its own, as a window's
    qtbot.addWidget(dialog)
    dialog.show()
    form = dialog.form
    qtbot.waitUntil(lambda: form.task_list.count() > 0 and form.model_combo.count() > 0,
                    timeout=WAIT)
    return dialog


def check(widget, key: str, checked: bool = True) -> None:
    for i in range(widget.count()):
        item = widget.item(i)
        if item.data(Qt.ItemDataRole.UserRole) == key:
            item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
            return
    raise AssertionError(f"{key} not in the list")


def job_count(db_path) -> int:
    with open_store(db_path) as store:
        return store.scalar("SELECT count(*) FROM training_jobs")


def test_filled_form_previews_rendered_samples_and_says_ready(qtbot, toy_db):
    dialog = open_dialog(qtbot, toy_db)
    form = dialog.form
    assert form.model_combo.currentData() == "tiny-text"
    assert form.dataset_combo.currentText() == "toy"
    check(form.task_list, TOY_TASK)
    form.steps_spin.setValue(12)
    form.batch_spin.setValue(4)
    with qtbot.waitSignal(dialog.previewed, timeout=WAIT) as shown:
        qtbot.mouseClick(dialog.preview_button, Qt.MouseButton.LeftButton)
    assert shown.args[0]["problems"] == []
    text = dialog.samples_view.toPlainText()
    assert "The speaker says: It is cold cold cold today. Based on the text" in text  # MMLA's
    # text-only SFT form: no period added after the utterance
    assert "⇒ speaking style: sincere" in text
    assert dialog.problems.text() == "Ready to launch: no problem found."
    config = form.config()
    assert (config.tasks, config.mode, config.max_steps, config.batch_size) == (
        [TOY_TASK], "sft", 12, 4)
    dialog.close()


def test_task_without_labelled_clips_is_refused_and_creates_no_job(qtbot, tiny_project,
                                                                    toy_text_model):
    with open_store(tiny_project.db_path) as store:
        add_model(store, "tiny-text", "text_lm", str(toy_text_model))
        from mmla_core.store.catalog import attach_task, ensure_task
        from mmla_core.tasks import builtin_task

        attach_task(store, tiny_project.dataset_id, ensure_task(store, builtin_task("MIntRec")))
    dialog = open_dialog(qtbot, tiny_project.db_path)
    check(dialog.form.task_list, "MELD", False)
    check(dialog.form.task_list, "MIntRec")  # attached to the dataset, but nothing labelled
    with qtbot.waitSignal(dialog.refused, timeout=WAIT) as refused:
        qtbot.mouseClick(dialog.launch_button, Qt.MouseButton.LeftButton)
    assert any("MIntRec" in problem for problem in refused.args[0])
    assert dialog.problems.text().startswith("Launch refused. Fix:")
    assert "MIntRec" in dialog.problems.text()
    assert job_count(tiny_project.db_path) == 0
    assert dialog.launch_button.isEnabled()
    dialog.close()


def test_wrong_values_are_named_before_anything_runs(qtbot, toy_db):
    dialog = open_dialog(qtbot, toy_db)
    check(dialog.form.task_list, TOY_TASK, False)
    dialog.form.lr_edit.setText("fast")
    qtbot.mouseClick(dialog.launch_button, Qt.MouseButton.LeftButton)
    assert "learning rate 'fast' is not a number" in dialog.problems.text()
    dialog.form.lr_edit.setText("1e-4")
    qtbot.mouseClick(dialog.launch_button, Qt.MouseButton.LeftButton)
    assert "tasks is empty" in dialog.problems.text()
    assert job_count(toy_db) == 0
    dialog.close()


def test_sharding_and_gpus_reach_the_config_and_the_fit_check(qtbot, toy_db):
    dialog = open_dialog(qtbot, toy_db)
    form = dialog.form
    check(form.task_list, TOY_TASK)
    form.sharding_combo.setCurrentIndex(form.sharding_combo.findData("zero3"))
    form.gpus_spin.setValue(8)
    config = form.config()
    assert (config.sharding, config.gpus) == ("zero3", 8)
    form.set_config(config)
    assert form.sharding_combo.currentData() == "zero3" and form.gpus_spin.value() == 8
    form.device_combo.setCurrentText("auto")   # CI has no GPU: the Preview says what to do
    with qtbot.waitSignal(dialog.previewed, timeout=WAIT) as shown:
        qtbot.mouseClick(dialog.preview_button, Qt.MouseButton.LeftButton)
    assert any("sharding 'zero3' needs CUDA GPUs" in p for p in shown.args[0]["problems"])
    dialog.close()


def test_yaml_saved_then_loaded_restores_the_form(qtbot, toy_db, tmp_path):
    from mmla_core.train.config import TrainConfig

    dialog = open_dialog(qtbot, toy_db)
    check(dialog.form.task_list, TOY_TASK)
    dialog.form.rank_spin.setValue(32)
    dialog.form.targets_edit.setText("q_proj, k_proj")
    saved = dialog.form.config()
    path = tmp_path / "run.yaml"
    path.write_text(saved.to_yaml())
    dialog.close()
    again = open_dialog(qtbot, toy_db)
    again.load_yaml(str(path))
    assert again.form.config() == saved
    assert TrainConfig.from_yaml(path.read_text()).lora_rank == 32
    again.copy_command()
    from PySide6.QtGui import QGuiApplication

    assert QGuiApplication.clipboard().text() == \
        f"python -m mmla_core.train {path} --db {Path(toy_db).resolve()}"
    again.close()


@pytest.mark.slow
def test_real_short_run_from_the_gui_to_the_results_view(qtbot, make_window, toy_db):
    """Launch on the tiny text model, watch it end in the Training tab, then zero-shot vs SFT."""
    from mmla_app.actions import _open_results, open_train_dialog

    window = make_window(toy_db)
    open_train_dialog(window)
    dialog = window.train_dialog
    form = dialog.form
    qtbot.waitUntil(lambda: form.task_list.count() > 0 and form.model_combo.count() > 0,
                    timeout=WAIT)
    for spin, value in ((form.steps_spin, 12), (form.batch_spin, 4), (form.eval_spin, 6),
                        (form.save_spin, 6), (form.frames_spin, 2), (form.warmup_spin, 0.0),
                        (form.dropout_spin, 0.0)):
        spin.setValue(value)
    form.lr_edit.setText("1e-2")
    form.scheduler_combo.setCurrentText("constant")
    form.device_combo.setCurrentText("cpu")
    with qtbot.waitSignal(dialog.launched, timeout=WAIT) as launched:
        qtbot.mouseClick(dialog.launch_button, Qt.MouseButton.LeftButton)
    job_id = launched.args[0]
    panel = window.training
    assert window.side_tabs.currentWidget() is panel and panel.job_id == job_id
    qtbot.waitUntil(lambda: (panel.current_job() or {}).get("status") in ("done", "failed"),
                    timeout=120_000)
    assert panel.current_job()["status"] == "done", panel.log_view.toPlainText()
    qtbot.waitUntil(lambda: panel.curves.point_count("loss") == 12, timeout=WAIT)
    losses = panel.curves.points["loss"].arrays()[1]
    assert losses[-1] < losses[0]
    assert panel.curves.point_count("eval_accuracy") == 2  # dev, at steps 6 and 12
    assert panel.curves.point_count("test_accuracy") == 1  # the final test run
    assert "test " in panel.throughput.text()
    assert panel.progress_bar.value() == 1000
    zero_shot_like(toy_db, job_id)
    _open_results(window)
    tab = window.results_view.finetune
    qtbot.waitUntil(lambda: tab.runs.rowCount() == 2, timeout=WAIT)
    kinds = {tab.runs.item(r, 1).text(): float(tab.runs.item(r, 8).text()) for r in range(2)}
    assert set(kinds) == {"zero-shot", "SFT"}
    assert kinds["SFT"] > kinds["zero-shot"]
    window.results_view.close()


def zero_shot_like(db_path, job_id: int) -> int:
    """The base model on the test split with the SFT run's own inference settings."""
    import json

    from mmla_core.eval.runs import run_evaluation

    with open_store(db_path) as store:
        run_id = json.loads(store.scalar("SELECT test_run_ids_json FROM training_jobs WHERE "
                                         "id = ?", (job_id,)))[0]
        settings = json.loads(store.scalar("SELECT settings_json FROM runs WHERE id = ?",
                                           (run_id,)))
    return run_evaluation(db_path, model="tiny-text", task=TOY_TASK, dataset="toy",
                          split="test", settings=settings["inference"])


def test_loaded_yaml_keeps_its_scheduler_and_names_what_the_project_lacks(qtbot, toy_db,
                                                                           tmp_path):
    from dataclasses import replace

    dialog = open_dialog(qtbot, toy_db)
    check(dialog.form.task_list, TOY_TASK)
    saved = dialog.form.config()
    path = tmp_path / "run.yaml"
    path.write_text(replace(saved, lr_scheduler="polynomial").to_yaml())
    dialog.load_yaml(str(path))
    assert dialog.form.scheduler_combo.currentText() == "polynomial"  # not cosine
    assert dialog.form.config() == replace(saved, lr_scheduler="polynomial")
    assert dialog.problems.text() == ""  # everything matched: nothing to say
    path.write_text(replace(saved, dataset="elsewhere", dev_split="validation",
                            tasks=[TOY_TASK, "NOPE"], mode="it").to_yaml())
    dialog.load_yaml(str(path))
    qtbot.waitUntil(lambda: "dev split 'validation'" in dialog.problems.text(), timeout=WAIT)
    text = dialog.problems.text()
    assert "dataset 'elsewhere' is not in this project" in text
    assert "task 'NOPE' not in this dataset" in text
    dialog.close()


def test_yaml_that_cannot_be_written_says_so(qtbot, toy_db, tmp_path, monkeypatch):
    from mmla_app.training import train_dialog

    dialog = open_dialog(qtbot, toy_db)
    check(dialog.form.task_list, TOY_TASK)
    target = tmp_path / "no-such-folder" / "run.yaml"
    monkeypatch.setattr(train_dialog.QFileDialog, "getSaveFileName",
                        lambda *a, **k: (str(target), ""))
    dialog.save_yaml()
    assert f"Cannot write {target}" in dialog.problems.text()
    assert dialog.yaml_path != str(target)  # Copy command line must not name the unwritten file
    dialog.close()
