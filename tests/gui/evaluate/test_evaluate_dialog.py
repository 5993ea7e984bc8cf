"""The Evaluate window, driven through its widgets; the model runs in a real worker process
(the fake engine from tests/support, made the default by the `fake_engines` fixture), and the
assertions are on the database."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt

from mmla_app.evaluate.evaluate_dialog import EvaluateDialog
from mmla_core.store.db import open_store
from tests.support.fake_engine import model_folder

pytestmark = pytest.mark.gui
ENV = ("FAKE_ENGINE_DELAY", "FAKE_ENGINE_EXIT_AFTER", "FAKE_ENGINE_FAIL_LOAD",
       "FAKE_ENGINE_OOM_AFTER", "FAKE_ENGINE_FAIL_CLIPS", "FAKE_INPUT_FAIL_CLIPS")
WAIT = 30_000


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for name in ENV:
        monkeypatch.delenv(name, raising=False)


def db(db_path, sql, params=()):
    from mmla_app.runtime.write_queue import write_queue

    write_queue().drain()
    with open_store(db_path) as store:
        return store.query(sql, params)


@pytest.fixture
def dialog(qtbot, tiny_project, tmp_path, project_of, fake_engines):
    dlg = EvaluateDialog(project_of(tiny_project.db_path))
    qtbot.addWidget(dlg)
    dlg.show()
    dlg.add_model(str(model_folder(tmp_path / "tiny-model")))
    form = dlg.form
    qtbot.waitUntil(lambda: form.model_combo.count() == 1 and form.task_combo.count() > 0,
                    timeout=WAIT)
    form.split_combo.setCurrentIndex(form.split_combo.findData("train"))
    yield dlg
    dlg.reject()


def test_add_model_registers_the_folder(dialog, tmp_path, tiny_project):
    rows = db(tiny_project.db_path, "SELECT name, family, path, weights_hash FROM models")
    assert rows == [{"name": "tiny-model", "family": "text_lm",
                     "path": str((tmp_path / "tiny-model").resolve()),
                     "weights_hash": rows[0]["weights_hash"]}]
    assert rows[0]["weights_hash"].startswith("wh1:")
    assert dialog.form.model_combo.currentData() == "tiny-model"


def test_a_broken_model_folder_is_refused_with_a_message(dialog, tmp_path, qtbot):
    (tmp_path / "empty").mkdir()
    dialog.add_model(str(tmp_path / "empty"))
    qtbot.waitUntil(lambda: "no config.json" in dialog.status.text(), timeout=WAIT)
    assert dialog.form.model_combo.count() == 1


def test_prompt_is_shown_editable_and_checked(dialog, qtbot):
    form = dialog.form
    assert "what is the emotion of this speaker" in form.preview.text()
    assert "I can't believe you did that!" in form.preview.text()  # the first train clip
    assert dialog.run_button.isEnabled()
    form.template_edit.setPlainText("Say {oops}")
    assert "unknown fields" in form.preview.text() and not dialog.run_button.isEnabled()
    form.template_edit.setPlainText("Emotion of: {transcript}? [{labels}]")
    assert form.preview.text().startswith("Emotion of: I can't believe")
    assert dialog.run_button.isEnabled()
    assert form.eval_request()["settings"]["template"] == "Emotion of: {transcript}? [{labels}]"


def test_run_fills_the_database_through_the_worker(dialog, qtbot, tiny_project):
    form = dialog.form
    form.frames_spin.setValue(2)
    form.audio_check.setChecked(False)
    form.template_edit.setPlainText("Emotion of: {transcript}? [{labels}]")
    form.variants_list.item(1).setCheckState(Qt.CheckState.Checked)  # the first recipe
    assert dialog.progress.isHidden()
    with qtbot.waitSignal(dialog.run_finished, timeout=WAIT) as finished:
        qtbot.mouseClick(dialog.run_button, Qt.MouseButton.LeftButton)
        assert dialog.cancel_button.isEnabled()  # returned at once; the worker runs
        assert dialog.progress.isVisible()
    run_id = finished.args[0]
    qtbot.waitUntil(lambda: "ACC" in dialog.status.text(), timeout=WAIT)
    run = db(tiny_project.db_path, "SELECT * FROM runs WHERE id = ?", (run_id,))[0]
    assert run["status"] == "done" and run["split"] == "train" and run["total"] == 4
    rows = db(tiny_project.db_path, "SELECT * FROM predictions WHERE run_id = ?", (run_id,))
    assert len(rows) == 4 and {r["variant"] for r in rows} == {None, "audio_swap"}
    assert {r["num_frames"] for r in rows} == {2} and {r["audio_on"] for r in rows} == {0}
    assert {r["prompt_template"] for r in rows} == {"Emotion of: {transcript}? [{labels}]"}
    assert "Random weights" in dialog.status.text()
    assert dialog.run_button.isEnabled() and not dialog.cancel_button.isEnabled()


def test_the_placement_chosen_reaches_the_engine(dialog, qtbot, tiny_project):
    from mmla_app import settings

    form = dialog.form
    assert form.placement_combo.currentData() == settings.device_map() == ""
    assert "device_map" not in form.eval_request()
    form.placement_combo.setCurrentIndex(form.placement_combo.findData("balanced"))
    assert form.eval_request()["device_map"] == "balanced"
    with qtbot.waitSignal(dialog.run_finished, timeout=WAIT) as finished:
        qtbot.mouseClick(dialog.run_button, Qt.MouseButton.LeftButton)
    run = db(tiny_project.db_path, "SELECT * FROM runs WHERE id = ?", (finished.args[0],))[0]
    assert json.loads(run["settings_json"])["engine"]["device_map"] == {"split:balanced": 1}


def test_worker_crash_is_shown_and_the_run_resumes(dialog, qtbot, tiny_project, monkeypatch):
    monkeypatch.setenv("FAKE_ENGINE_EXIT_AFTER", "1")
    dialog.start()
    qtbot.waitUntil(lambda: "exited unexpectedly" in dialog.status.text(), timeout=WAIT)
    assert dialog.isVisible() and dialog.run_button.isEnabled()
    qtbot.waitUntil(lambda: dialog.resume_combo.count() == 1, timeout=WAIT)
    run_id = dialog.resume_combo.currentData()
    monkeypatch.delenv("FAKE_ENGINE_EXIT_AFTER")
    with qtbot.waitSignal(dialog.run_finished, timeout=WAIT):
        qtbot.mouseClick(dialog.resume_button, Qt.MouseButton.LeftButton)
    rows = db(tiny_project.db_path, "SELECT clip_id FROM predictions WHERE run_id = ?",
              (run_id,))
    assert len(rows) == 2 and len({r["clip_id"] for r in rows}) == 2
    status = db(tiny_project.db_path, "SELECT status FROM runs WHERE id = ?", (run_id,))
    assert status[0]["status"] == "done"


def test_cancel_then_stop_now_keeps_the_window_up(dialog, qtbot, tiny_project, monkeypatch):
    """Alone on the worker, a run that does not stop within the grace period is killed
    without asking (nothing else runs there); it stays resumable."""
    from mmla_app.runtime import model_jobs

    monkeypatch.setenv("FAKE_ENGINE_DELAY", "2")
    monkeypatch.setattr(model_jobs, "STOP_GRACE_S", 0.2)
    dialog.start()
    qtbot.waitUntil(lambda: dialog.run_id is not None, timeout=WAIT)
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    assert dialog.cancel_button.text() == "Stop now"
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)  # its batch outlasts 0.2 s
    qtbot.waitUntil(lambda: dialog.client is None, timeout=WAIT)
    assert "worker was killed" in dialog.status.text() and "Resume" in dialog.status.text()
    assert dialog.kill_box is None  # nobody else's job: nothing to ask
    qtbot.waitUntil(lambda: db(tiny_project.db_path, "SELECT status FROM runs")[0]["status"]
                    == "failed", timeout=WAIT)


def _cancelled_run(db_path) -> int:
    """An evaluation run cut short (Resume lists it), written by another connection."""
    from mmla_core.store.results import finish_run, start_run

    with open_store(db_path) as store:
        run_id = start_run(store, "eval", split="train")
        finish_run(store, run_id, "cancelled")
    return run_id


def test_a_run_cut_short_elsewhere_keeps_the_run_picked_for_resume(dialog, qtbot, tiny_project):
    """Runs change elsewhere (another window's or the CLI's evaluation) while a run is picked
    under Unfinished runs: the list reloads, and Resume still resumes the run picked, not the
    newest one the reload put first."""
    from mmla_app.runtime.change_bus import change_bus
    from mmla_core.changes import RUNS, Changes

    older, _newer = _cancelled_run(tiny_project.db_path), _cancelled_run(tiny_project.db_path)
    change_bus().announce(Changes.of(RUNS), None)  # as the change poll does
    qtbot.waitUntil(lambda: dialog.resume_combo.count() == 2, timeout=WAIT)
    dialog.resume_combo.setCurrentIndex(dialog.resume_combo.findData(older))
    _cancelled_run(tiny_project.db_path)
    change_bus().announce(Changes.of(RUNS), None)
    qtbot.waitUntil(lambda: dialog.resume_combo.count() == 3, timeout=WAIT)
    assert dialog.resume_combo.currentData() == older


def test_mma_bench_prompt_kinds_are_offered_and_sent(dialog):
    form = dialog.form
    form.prompt_combo.setCurrentIndex(form.prompt_combo.findData("audio_focused"))
    assert form.template_text() == form.default_template() != ""
    assert form.custom_template() is None
    request = form.eval_request()
    assert request["settings"]["prompt_kind"] == "audio_focused"
    form.prompt_combo.setCurrentIndex(form.prompt_combo.findData("zero_shot"))
    assert "Based on the text, video, and audio content" in form.preview.text()
    form.prompt_combo.setCurrentIndex(form.prompt_combo.findData("text_sft"))
    assert form.preview.text().startswith("The speaker says: ")
    assert form.custom_template() is None
    assert form.eval_request()["settings"]["prompt_kind"] == "text_sft"


def test_a_processor_that_does_not_fit_the_model_is_refused_at_add(dialog, tmp_path, qtbot,
                                                                   tiny_project):
    """Mel bins of the feature extractor against the audio encoder's: refused when added,
    not as a shape error at the first prediction."""
    folder = model_folder(tmp_path / "omni-mismatch")
    (folder / "config.json").write_text(json.dumps({
        "architectures": ["Qwen2_5OmniThinkerForConditionalGeneration"],
        "model_type": "qwen2_5_omni_thinker", "audio_config": {"num_mel_bins": 128}}))
    (folder / "processor_config.json").write_text(json.dumps({
        "processor_class": "Qwen2_5OmniProcessor",
        "feature_extractor": {"feature_extractor_type": "WhisperFeatureExtractor",
                              "feature_size": 80}}))
    dialog.add_model(str(folder))
    qtbot.waitUntil(lambda: "num_mel_bins 128" in dialog.status.text(), timeout=WAIT)
    assert "80 mel bins" in dialog.status.text()
    assert dialog.form.model_combo.count() == 1
    assert len(db(tiny_project.db_path, "SELECT id FROM models")) == 1


def test_an_adapter_defaults_to_the_settings_its_training_used(dialog, qtbot, tiny_project,
                                                               tmp_path):
    from tests.support.finetune_helpers import add_job

    with open_store(tiny_project.db_path) as store:
        _job, adapter = add_job(store, tmp_path, "meld-sft", ["MELD"], "sft", frames=6,
                                max_pixels=200704, labels="import")
    form = dialog.form
    assert (form.frames_spin.value(), form.prompt_combo.currentData()) == (4, "zero_shot")
    form.adapter_picker.set_adapter_path(adapter)
    qtbot.waitUntil(lambda: form.frames_spin.value() == 6, timeout=WAIT)
    assert form.pixels_spin.value() == 200704 and form.prompt_combo.currentData() == "sft"
    assert form.label_choice.source() == "import"
    assert "Settings of training job" in dialog.hint.text()
    request = form.eval_request()
    assert request["adapter"] == adapter and request["settings"]["num_frames"] == 6


def test_a_model_registered_elsewhere_is_offered_and_the_choice_kept(window, qtbot, tmp_path):
    """`mmla models add` (another connection) while the window is open: the Evaluate window
    lists the model within the change poll, and the model already chosen stays chosen."""
    from mmla_core.store.results import add_model

    dialog = EvaluateDialog(window.project)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.add_model(str(model_folder(tmp_path / "tiny-model")))
    form = dialog.form
    qtbot.waitUntil(lambda: form.model_combo.currentData() == "tiny-model", timeout=WAIT)
    with open_store(window.db_path) as store:
        add_model(store, "cli-model", "qwen2_5_omni", str(tmp_path / "cli-model"))
    qtbot.waitUntil(lambda: form.model_combo.findData("cli-model") >= 0, timeout=WAIT)
    assert form.model_combo.currentData() == "tiny-model"
    dialog.reject()


def test_with_no_model_yet_the_window_says_how_to_add_one_and_shows_no_empty_bar(
        qtbot, tiny_project, tmp_path, project_of):
    """A new project has no model: Run is disabled, and the window says why and what to do
    (it showed a disabled Run above an empty progress bar and nothing else)."""
    dlg = EvaluateDialog(project_of(tiny_project.db_path))
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.waitUntil(lambda: dlg.form.task_combo.count() > 0, timeout=WAIT)
    qtbot.waitUntil(lambda: "No model yet" in dlg.hint.text(), timeout=WAIT)
    assert "Add model" in dlg.hint.text() and not dlg.run_button.isEnabled()
    assert dlg.progress.isHidden()  # no run yet: no empty bar
    dlg.add_model(str(model_folder(tmp_path / "tiny-model")))
    qtbot.waitUntil(lambda: dlg.run_button.isEnabled(), timeout=WAIT)
    assert "No model yet" not in dlg.hint.text() and dlg.hint.isHidden()
    dlg.reject()


def test_each_variant_choice_shows_its_whole_line_on_hover(dialog):
    """The list is narrower than its longest lines ('caption_misleading: ...' was cut): each
    item's tooltip holds the whole text."""
    items = [dialog.form.variants_list.item(i) for i in range(dialog.form.variants_list.count())]
    assert items and all(item.toolTip().startswith(item.text()) for item in items)


def test_variant_choices_are_named_as_the_variants_tab_names_them(dialog):
    """'Audio from another clip', as the Variants tab's check box, not 'audio_swap' (its CLI
    name, which the tooltip gives)."""
    texts = {dialog.form.variants_list.item(i).data(Qt.ItemDataRole.UserRole):
             dialog.form.variants_list.item(i) for i in range(dialog.form.variants_list.count())}
    assert texts["audio_swap"].text().startswith("Audio from another clip: ")
    assert texts["av_offset"].text().startswith("Audio out of sync: ")
    assert "mmla eval --variants audio_swap" in texts["audio_swap"].toolTip()


def test_a_reload_never_replaces_a_finished_runs_summary(dialog, qtbot, tiny_project,
                                                         monkeypatch):
    """After a run the summary stays: a reload whose read fails, and the models removed
    elsewhere ("No model yet"), say so on the form's own line, not over the summary."""
    from mmla_app.evaluate import evaluate_dialog
    from mmla_app.runtime.change_bus import change_bus
    from mmla_core.changes import MODELS, Changes

    with qtbot.waitSignal(dialog.run_finished, timeout=WAIT):
        qtbot.mouseClick(dialog.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "ACC" in dialog.status.text(), timeout=WAIT)
    summary = dialog.status.text()

    def locked(store):
        raise RuntimeError("database is locked")

    with monkeypatch.context() as patch:
        patch.setattr(evaluate_dialog, "load_choices", locked)
        change_bus().announce(Changes.of(MODELS), None)   # as the change poll does
        qtbot.waitUntil(lambda: "database is locked" in dialog.hint.text(), timeout=WAIT)
    assert dialog.status.text() == summary
    with open_store(tiny_project.db_path) as store, store.write() as conn:
        conn.execute("DELETE FROM models")   # removed elsewhere (another connection)
    change_bus().announce(Changes.of(MODELS), None)
    qtbot.waitUntil(lambda: "No model yet" in dialog.hint.text(), timeout=WAIT)
    assert dialog.status.text() == summary and not dialog.run_button.isEnabled()
