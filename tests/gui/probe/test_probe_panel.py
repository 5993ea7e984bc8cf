"""The Probe tab on the demo project with a tiny random Omni model in the worker process."""

import pytest
from PySide6.QtCore import Qt

from mmla_core.store.db import open_store

pytestmark = pytest.mark.gui


def test_probe_fills_the_matrix_saves_and_reopens(qtbot, demo_with_model, project_of):
    from mmla_app.probe.probe_panel import ProbePanel

    panel = ProbePanel(project_of(demo_with_model))
    qtbot.addWidget(panel)
    panel.set_clip(1)
    qtbot.waitUntil(lambda: panel.model_combo.count() == 1 and panel.task_combo.count() == 2,
                    timeout=10_000)
    panel.task_combo.setCurrentIndex(panel.task_combo.findData("MELD"))
    qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.result is not None, timeout=180_000)
    try:
        assert len(panel.result.cells) == 18
        assert panel.matrix.item(0, 0).text()  # every cell shown
        assert panel.reliance.text().startswith("Relied on:")
        with open_store(demo_with_model) as store:
            rows = store.scalar("SELECT count(*) FROM predictions p JOIN runs r ON r.id = "
                                "p.run_id WHERE r.kind = 'probe'")
        assert rows == 18
        shown = {(c.scenario, c.prompt): c.scores for c in panel.result.cells}
        run_id = panel.result.run_id
        panel.set_clip(1)  # the clip's past probes are listed; reopen the one just run
        qtbot.waitUntil(lambda: panel.past_combo.findData(run_id) >= 0, timeout=10_000)
        panel.result = None
        panel._open_past(panel.past_combo.findData(run_id))
        qtbot.waitUntil(lambda: panel.result is not None, timeout=10_000)
        assert {(c.scenario, c.prompt): c.scores for c in panel.result.cells} == shown
    finally:
        panel.shutdown()


def test_model_answers_checks_and_a_cell_plays_its_scenario(qtbot, demo_with_model, project_of):
    from mmla_app.probe.probe_panel import ProbePanel
    from mmla_core.store.labels import set_check_answer

    with open_store(demo_with_model) as store:
        set_check_answer(store, 1, "visual_only", "no", "alice")  # a curator's answer first
    panel = ProbePanel(project_of(demo_with_model))
    qtbot.addWidget(panel)
    panel.set_clip(1)
    qtbot.waitUntil(lambda: panel.model_combo.count() == 1, timeout=10_000)
    try:
        with qtbot.waitSignal(panel.checks_answered, timeout=180_000):
            qtbot.mouseClick(panel.checks_button, Qt.MouseButton.LeftButton)
        with open_store(demo_with_model) as store:
            rows = store.query("SELECT check_key, answer, source, annotator FROM check_answers "
                               "WHERE clip_id = 1 ORDER BY annotator, check_key")
        model_rows = [r for r in rows if r["source"] == "model"]
        assert len(model_rows) == 4 and {r["answer"] for r in model_rows} <= {"yes", "no"}
        assert [r for r in rows if r["annotator"] == "alice"] == [
            {"check_key": "visual_only", "answer": "no", "source": "human", "annotator": "alice"}]
        with qtbot.waitSignal(panel.play_requested, timeout=30_000) as played:
            panel.play_scenario(5)  # audio removed
        with open_store(demo_with_model) as store:
            variant = store.query("SELECT parent_clip_id, has_audio FROM clips WHERE id = ?",
                                  (played.args[0],))[0]
        assert variant == {"parent_clip_id": 1, "has_audio": 0}
    finally:
        panel.shutdown()


def test_attention_shares_plot_per_layer(qtbot, tmp_path, project_of):
    from mmla_app.probe.probe_panel import ProbePanel
    from mmla_core.probe.matrix import ProbeCell, ProbeResult

    panel = ProbePanel(project_of(tmp_path / "p.sqlite"))
    qtbot.addWidget(panel)
    panel.show()
    shares = [[0.5, 0.3, 0.2], [0.2, 0.2, 0.6]]
    cell = ProbeCell("aligned", "zero_shot", {"joy": 0.7, "anger": 0.3}, "joy", "joy", True,
                     attention=shares)
    panel.show_result(ProbeResult(1, 1, "MELD", 1, "m", ("aligned",), ("zero_shot",), "joy",
                                  [cell]))
    panel.matrix.setCurrentCell(1, 0)
    panel.matrix.setCurrentCell(0, 0)
    curves = panel.attention_plot.getPlotItem().listDataItems()
    assert panel.attention_plot.isVisible() and len(curves) == 3
    assert list(curves[1].yData) == [0.3, 0.2]  # audio share per layer
    assert "joy" in panel.bars.text() and "← gold" in panel.bars.text()
    panel.shutdown()


def test_probe_runs_only_the_chosen_scenarios_and_questions(qtbot, demo_with_model, project_of):
    from mmla_app.probe.probe_panel import ProbePanel

    panel = ProbePanel(project_of(demo_with_model))
    qtbot.addWidget(panel)
    panel.set_clip(2)
    qtbot.waitUntil(lambda: panel.model_combo.count() == 1, timeout=10_000)
    for key, box in panel.scenario_boxes.items():
        box.setChecked(key in ("aligned", "frames_zeroed"))
    panel.prompt_boxes["visual_focused"].setChecked(False)
    panel.prompt_boxes["audio_focused"].setChecked(False)
    try:
        qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: panel.result is not None, timeout=180_000)
        assert {(c.scenario, c.prompt) for c in panel.result.cells} == {
            ("aligned", "zero_shot"), ("frames_zeroed", "zero_shot")}
        assert panel.status.text() == "2 of 2 cells"
        panel.scenario_boxes["aligned"].setChecked(False)
        panel.run_probe()  # refused: every cell is compared with the aligned clip
        assert "aligned" in panel.status.text()
    finally:
        panel.shutdown()


def test_edited_prompt_and_existing_variant_match_the_cli(qtbot, demo_with_model, capsys,
                                                          project_of):
    from mmla_app.probe.probe_panel import ProbePanel
    from mmla_core.cli import main
    from mmla_core.probe import load_probe
    from mmla_core.variants.store_ops import create_variant

    with open_store(demo_with_model) as store:
        variant = create_variant(store, 1, ["frames_black"]).clip_id
        model_path = store.scalar("SELECT path FROM models")
    visual = "{transcript}\nWhat is SEEN? Options: [{labels}]. One class."
    panel = ProbePanel(project_of(demo_with_model))
    qtbot.addWidget(panel)
    panel.set_clip(1)
    qtbot.waitUntil(lambda: panel.options.variant_list.count() == 1 and
                    bool(panel.options.editors["visual_focused"].toPlainText()), timeout=10_000)
    panel.task_combo.setCurrentIndex(panel.task_combo.findData("MELD"))
    assert "visual content" in panel.options.editors["visual_focused"].toPlainText()
    for key, box in panel.scenario_boxes.items():
        box.setChecked(key == "aligned")
    panel.prompt_boxes["zero_shot"].setChecked(False)
    panel.prompt_boxes["audio_focused"].setChecked(False)
    panel.options.editors["visual_focused"].setPlainText(visual)
    panel.options.variant_list.item(0).setCheckState(Qt.CheckState.Checked)
    try:
        qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: panel.result is not None, timeout=120_000)
        gui = panel.result
        assert gui.scenarios == ("aligned", f"variant:{variant}")
        assert panel.matrix.verticalHeaderItem(1).text() == f"variant {variant}: frames_black"
        assert panel.matrix.item(1, 0).text()
        assert gui.templates == {"visual_focused": visual}
        # the same probe from the CLI gives the same numbers
        assert main(["--db", str(demo_with_model), "probe", "1", "--model", model_path,
                     "--task", "MELD", "--scenarios", "aligned", "--prompts", "visual_focused",
                     "--prompt-visual", visual, "--variants", str(variant)]) == 0
        out = capsys.readouterr().out
        with open_store(demo_with_model) as store:
            cli = load_probe(store, int(out.split("probe run ", 1)[1].split(":", 1)[0]))
        for a, b in zip(gui.cells, cli.cells, strict=True):
            assert (a.scenario, a.prompt, a.predicted) == (b.scenario, b.prompt, b.predicted)
            assert a.scores == pytest.approx(b.scores, abs=1e-6)
        # reopened, the probe shows the text it asked (once the past probes list it: the CLI
        # call above held the event loop, so the list's reload may not have landed yet)
        qtbot.waitUntil(lambda: panel.past_combo.findData(gui.run_id) >= 0, timeout=10_000)
        panel.past_combo.setCurrentIndex(panel.past_combo.findData(gui.run_id))
        panel.options.reset_texts()
        panel.result = None
        panel._open_past(0)
        qtbot.waitUntil(lambda: panel.result is not None, timeout=10_000)
        assert panel.options.editors["visual_focused"].toPlainText() == visual
        with qtbot.waitSignal(panel.play_requested, timeout=5_000) as played:
            panel.play_scenario(1)
        assert played.args == [variant]
    finally:
        panel.shutdown()


def test_probe_tab_and_evaluate_window_offer_the_trained_adapters(qtbot, demo_with_model,
                                                                   tmp_path, project_of):
    from pathlib import Path

    from mmla_app.evaluate.evaluate_dialog import EvaluateDialog
    from mmla_app.probe.probe_panel import ProbePanel
    from mmla_core.store.jobs import update_job
    from tests.support.finetune_helpers import add_job

    with open_store(demo_with_model) as store:
        job_id, adapter = add_job(store, tmp_path, "meld-sft", ["MELD"], "sft")
        Path(adapter).mkdir(parents=True)
        update_job(store, job_id, status="done")
    panel = ProbePanel(project_of(demo_with_model))
    qtbot.addWidget(panel)
    panel.set_context(demo_with_model)  # as the window does once the project is open
    dialog = EvaluateDialog(panel.project)
    qtbot.addWidget(dialog)
    for picker in (panel.adapter_picker, dialog.form.adapter_picker):
        qtbot.waitUntil(lambda p=picker: p.combo.count() == 2, timeout=10_000)
        assert "meld-sft" in picker.combo.itemText(1)
        picker.combo.setCurrentIndex(1)
        assert picker.adapter_path() == adapter
    assert dialog.form.eval_request()["adapter"] == adapter
    panel.shutdown()
    dialog.done(0)


def test_probe_tab_and_evaluate_window_share_one_model_worker(qtbot, demo_with_model, project_of):
    """One model copy: the Evaluate window's run goes to the Probe tab's worker process (the
    same pid), queued behind the tab's probe, and each gets its own result."""
    from mmla_app.evaluate.evaluate_dialog import EvaluateDialog
    from mmla_app.probe.probe_panel import ProbePanel

    panel = ProbePanel(project_of(demo_with_model))
    qtbot.addWidget(panel)
    panel.set_clip(1)
    dialog = EvaluateDialog(panel.project)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: panel.task_combo.count() == 2 and dialog.form.valid, timeout=10_000)
    panel.task_combo.setCurrentIndex(panel.task_combo.findData("MELD"))
    finished = []
    dialog.run_finished.connect(finished.append)
    try:
        qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
        probe_pid = panel.jobs.pid
        request = {**dialog.form.eval_request(), "task": "MELD"}
        dialog.run_request({**request, "settings": {**request["settings"], "num_frames": 2}})
        assert probe_pid is not None and dialog.jobs.pid == probe_pid
        qtbot.waitUntil(lambda: panel.result is not None and bool(finished), timeout=180_000)
        assert dialog.jobs.pid == probe_pid and len(panel.result.cells) == 18
        with open_store(demo_with_model) as store:
            kinds = {r["id"]: r["kind"] for r in store.query("SELECT id, kind FROM runs")}
        assert kinds[panel.result.run_id] == "probe" and kinds[finished[0]] == "eval"
    finally:
        panel.shutdown()
        dialog.done(0)


def test_a_long_status_never_covers_the_matrix_and_stop_now_stays_in_view(qtbot, tiny_project,
                                                                          project_of):
    """At a 1366x768 window's tab size a three-line status (Stop now's "the model worker was
    killed ...") pushes the plots down instead of drawing the legend over the matrix's last
    row; Run probe and Cancel / Stop now are outside the controls' scroll area."""
    from PySide6.QtWidgets import QScrollArea

    from mmla_app.probe.probe_panel import ProbePanel

    panel = ProbePanel(project_of(tiny_project.db_path))
    qtbot.addWidget(panel)
    panel.resize(450, 700)
    panel.show()
    qtbot.waitExposed(panel)
    try:
        panel.status.setText("Probe stopped: the model worker was killed. " + "Probe run 12 is "
                             "marked failed (the cells it finished are kept): probe the clip "
                             "again for a whole probe (Run probe again, or mmla probe). " * 2)
        order = (panel.matrix, panel.legend, panel.reliance, panel.status)

        def stacked() -> bool:
            tops = [w.mapTo(panel, w.rect().topLeft()).y() for w in order]
            bottoms = [top + w.height() for top, w in zip(tops, order, strict=True)]
            return all(bottom <= top for bottom, top in zip(bottoms, tops[1:], strict=False)) \
                and panel.status.height() >= panel.status.heightForWidth(panel.status.width())

        qtbot.waitUntil(stacked, timeout=5_000)
        for button in (panel.run_button, panel.cancel_button):
            parent = button.parentWidget()
            while parent is not None and not isinstance(parent, QScrollArea):
                parent = parent.parentWidget()
            assert parent is None, f"{button.text()} scrolls with the controls"
    finally:
        panel.shutdown()
