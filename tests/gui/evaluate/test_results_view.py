"""The Results view on real runs (fake engine, in process): metrics side by side, the confusion
matrix, disagreements, and double-click opening the clip in the main window."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt

from mmla_app.evaluate.results_view import ResultsView
from mmla_core.eval.runs import run_evaluation
from mmla_core.store.db import open_store
from mmla_core.store.results import add_model
from tests.support.fake_engine import clip_input, load

pytestmark = pytest.mark.gui
WAIT = 15_000


def evaluate(project, **settings) -> int:
    return run_evaluation(project.db_path, model="m", task="MELD", dataset="tiny", split=None,
                          settings={"num_frames": 2, **settings}, engine_factory=load,
                          input_factory=clip_input)


@pytest.fixture
def two_runs(tiny_project):
    """Audio on vs off: the fake engine answers differently on some clips."""
    return tiny_project, evaluate(tiny_project), evaluate(tiny_project, audio_on=False)


@pytest.fixture
def view(qtbot, two_runs, project_of):
    project = two_runs[0]
    widget = ResultsView(project_of(project.db_path))
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitUntil(lambda: widget.runs_table.rowCount() == 2, timeout=WAIT)
    yield widget
    widget.close()


def test_lists_runs_newest_first_with_accuracy(view, two_runs):
    _, first, second = two_runs
    ids = [int(view.runs_table.item(r, 0).text()) for r in range(2)]
    assert ids == [second, first]
    assert view.runs_table.item(0, 7).text() == "done"
    assert view.runs_table.item(0, 6).text() == "3 / 3"


def test_one_run_shows_metrics_confusion_and_its_mistakes(view, qtbot, two_runs):
    _, first, _ = two_runs
    with qtbot.waitSignal(view.compared, timeout=WAIT) as shown:
        view.select_runs([first])
    report = shown.args[0][0]
    assert view.metrics_table.rowCount() == 1
    assert view.metrics_table.item(0, 3).text() == f"{report.metrics.percent()['ACC']:.2f}"
    assert view.confusion_table.rowCount() == 7  # MELD's labels, in MMLA's order
    assert view.confusion_table.horizontalHeaderItem(0).text() == "neutral"
    total = sum(int(view.confusion_table.item(r, c).text() or 0)
                for r in range(7) for c in range(7))
    assert total == 3
    wrong = 3 - report.metrics.correct
    assert view.disagreements.rowCount() == wrong
    assert f"#{first} gold labels: curated (adjudicated 0, person 0, import 3" in \
        view.status.text()


def test_two_runs_side_by_side_and_double_click_opens_the_clip(view, qtbot, two_runs, window):
    _, first, second = two_runs
    with qtbot.waitSignal(view.compared, timeout=WAIT):
        view.select_runs([first, second])
    assert view.metrics_table.rowCount() == 2
    assert view.confusion_run.count() == 2
    table = view.disagreements
    assert table.columnCount() == 6
    assert table.horizontalHeaderItem(4).text() == f"Run {first}"
    assert table.rowCount() >= 1, "the fake engine answers differently without audio"
    view.clip_requested.connect(window.browser.table.select_clip)  # the lead's wiring
    clip_id = int(table.item(0, 0).text())
    view.tabs.setCurrentWidget(table)
    with qtbot.waitSignal(view.clip_requested, timeout=WAIT) as opened:
        rect = table.visualItemRect(table.item(0, 1))
        qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        qtbot.mouseDClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert opened.args == [clip_id]
    qtbot.waitUntil(lambda: window.current_row is not None and window.current_row.id == clip_id,
                    timeout=WAIT)


def test_a_finished_run_stays_selected_when_a_change_poll_reload_replaces_its_own(
        view, qtbot, two_runs):
    """Evaluate's end asks `reload(select=[run])`; the change poll sees the worker's commit
    and asks a plain reload before the first one's rows arrive (the newer replaces the older
    on the runs channel): the finished run is still selected and compared."""
    from mmla_app.runtime.change_bus import change_bus
    from mmla_core.changes import RUNS, Changes

    _, first, _ = two_runs
    with qtbot.waitSignal(view.compared, timeout=WAIT) as shown:
        view.reload(select=[first])
        change_bus().announce(Changes.of(RUNS), None)  # as ProjectWatcher does
    assert view.selected_runs() == [first]
    assert [report.run_id for report in shown.args[0]] == [first]


def test_an_eval_from_the_gui_fills_the_results_view(qtbot, tiny_project, project_of,
                                                      fake_engines):
    """Evaluate window -> worker process -> database -> Results view, as a user does it."""
    from mmla_app.evaluate.evaluate_dialog import EvaluateDialog

    project = project_of(tiny_project.db_path)
    dialog = EvaluateDialog(project)
    qtbot.addWidget(dialog)
    view = ResultsView(project)
    qtbot.addWidget(view)
    dialog.run_finished.connect(lambda run_id: view.reload(select=[run_id]))  # lead's wiring
    with open_store(tiny_project.db_path) as store:
        add_model(store, "m", "qwen2_5_omni", "/models/m")
    dialog._refresh_choices()
    qtbot.waitUntil(lambda: dialog.run_button.isEnabled(), timeout=WAIT)
    try:
        with qtbot.waitSignal(view.compared, timeout=WAIT * 2) as shown:
            dialog.start()
    finally:
        dialog.reject()
    assert view.runs_table.rowCount() == 1 and view.selected_runs() == [1]
    assert shown.args[0][0].metrics.n == 1  # no test split here: the first one, dev (1 clip)
    view.close()


def test_zero_shot_vs_fine_tuned_flags_other_settings_and_reruns_comparably(
        qtbot, tiny_project, tmp_path, project_of, fake_engines):
    from tests.support.finetune_helpers import add_job

    with open_store(tiny_project.db_path) as store:
        _job, adapter = add_job(store, tmp_path, "meld-sft", ["MELD"], "sft")
    zero = evaluate(tiny_project)  # 2 frames, MMLA's zero-shot prompt
    tuned = run_evaluation(tiny_project.db_path, model="m", task="MELD", dataset="tiny",
                           split=None, adapter=adapter, engine_factory=load,
                           input_factory=clip_input,
                           settings={"num_frames": 4, "max_pixels": 100352, "prompt_kind": "sft"})
    view = ResultsView(project_of(tiny_project.db_path))
    qtbot.addWidget(view)
    view.show()
    tab = view.finetune
    qtbot.waitUntil(lambda: tab.runs.rowCount() == 2, timeout=WAIT)
    # the same line as `mmla runs finetune`: the runs named in the order of their values
    assert (f"MELD zero-shot run {zero} vs SFT run {tuned}: num_frames 2 vs 4, "
            "max_pixels 151200 vs 100352, prompt_kind zero_shot vs sft") in tab.flags.text()
    assert tab.summary.item(0, 4).text().endswith(" !") and tab.rerun_button.isEnabled()
    with qtbot.waitSignal(tab.rerun_started, timeout=WAIT) as started:
        qtbot.mouseClick(tab.rerun_button, Qt.MouseButton.LeftButton)
    assert started.args[0]["settings"]["num_frames"] == 4
    with qtbot.waitSignal(tab.rerun_dialog.run_finished, timeout=WAIT * 2) as finished:
        pass
    with open_store(tiny_project.db_path) as store:
        run = store.query("SELECT adapter_path, settings_json FROM runs WHERE id = ?",
                          (finished.args[0],))[0]
    inference = json.loads(run["settings_json"])["inference"]
    assert run["adapter_path"] is None
    assert (inference["num_frames"], inference["max_pixels"], inference["prompt_kind"]) == (
        4, 100352, "sft")
    tab.rerun_dialog.reject()
    view.close()


def test_export_run_writes_the_chosen_format_off_the_gui_thread(view, qtbot, two_runs, tmp_path,
                                                                 monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    project, first, _ = two_runs
    view.select_runs([first])
    target = tmp_path / "samples.jsonl"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(
        lambda *a, **k: (str(target), "lmms-eval samples (*.jsonl)")))
    view.export_button.click()
    qtbot.waitUntil(lambda: "Exported" in view.export_status.text(), timeout=WAIT)
    records = [json.loads(line) for line in target.read_text().splitlines()]
    with open_store(project.db_path) as store:
        answered = store.scalar("SELECT count(*) FROM predictions WHERE run_id = ? "
                                "AND error IS NULL", (first,))
    assert len(records) == answered and {"doc_id", "target", "resps"} <= set(records[0])
    assert "(lmms-eval)" in view.export_status.text()
    # the comparison the selection started lands in its own line, whenever it finishes
    qtbot.waitUntil(lambda: len(view.reports) == 1, timeout=WAIT)
    assert "Exported" in view.export_status.text()
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(
        lambda *a, **k: (str(tmp_path / "run.txt"), "CSV (*.csv)")))
    view.export_button.click()
    qtbot.waitUntil(lambda: "Could not export" in view.export_status.text(), timeout=WAIT)
    assert "cannot tell the format" in view.export_status.text()
    assert not (tmp_path / "run.txt").exists()
