"""After training: the results view lines up zero-shot vs SFT with the config diff, and a
trained adapter is offered by the adapter picker."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmla_app.evaluate.results_view import ResultsView
from mmla_app.widgets.adapter_picker import BASE_MODEL, AdapterPicker
from mmla_core.store.db import open_store
from mmla_core.store.jobs import update_job
from mmla_core.store.results import add_model
from tests.support.finetune_helpers import add_job, add_run

pytestmark = pytest.mark.gui
WAIT = 10_000
GOLD = ["surprise", "joy", "neutral"]  # the tiny project's MELD labels


@pytest.fixture
def trained(tiny_project, tmp_path):
    """A zero-shot run, and an SFT job (done, adapter exported) with its own test run."""
    with open_store(tiny_project.db_path) as store:
        add_model(store, "tiny-omni", "qwen2_5_omni", str(tmp_path))
        zero = add_run(store, ["neutral"] * 3, gold=GOLD)
        job_id, adapter = add_job(store, tmp_path, "meld-sft", ["MELD"], "sft", lora_rank=16)
        Path(adapter).mkdir(parents=True)
        update_job(store, job_id, status="done")
        sft = add_run(store, ["surprise", "joy", "joy"], gold=GOLD, adapter=adapter,
                      settings={"training_job_id": job_id, "training": {"mode": "sft"}})
    return {"zero": zero, "sft": sft, "job": job_id, "adapter": adapter}


def test_results_view_lines_up_zero_shot_and_sft_with_config_diff(qtbot, tiny_project, trained,
                                                                   project_of):
    view = ResultsView(project_of(tiny_project.db_path))
    qtbot.addWidget(view)
    view.show()
    tab = view.finetune
    view.tabs.setCurrentWidget(tab)
    qtbot.waitUntil(lambda: tab.runs.rowCount() == 2, timeout=WAIT)
    cells = [tab.summary.item(0, c).text() for c in range(tab.summary.columnCount())]
    assert cells[:3] == ["MELD", "tiny-omni", "test"]
    assert cells[3].startswith("33.33 / ") and f"#{trained['zero']}" in cells[3]
    assert cells[4].startswith("66.67 / ") and f"#{trained['sft']}" in cells[4]
    assert [tab.runs.item(r, 1).text() for r in range(2)] == ["zero-shot", "SFT"]
    assert tab.runs.item(1, 4).text() == f"#{trained['job']} meld-sft"
    with qtbot.waitSignal(tab.diffed, timeout=WAIT) as diffed:
        tab.select_pair(trained["zero"], trained["sft"])
    diff = {key: (a, b) for key, a, b in diffed.args[0]}
    assert diff["train.lora_rank"] == (None, 16)
    shown = {tab.diff.item(r, 0).text(): tab.diff.item(r, 2).text()
             for r in range(tab.diff.rowCount())}
    assert shown["adapter"] == trained["adapter"]
    assert shown["train.mode"] == "sft"
    view.close()


def test_a_run_landing_while_two_are_compared_keeps_the_pair_picked(qtbot, tiny_project,
                                                                     trained, project_of):
    """A run finishes (an evaluation, a training's test run) while the person compares two:
    the tab reloads, and the two runs picked, not the two rows that were picked, stay picked
    and compared."""
    view = ResultsView(project_of(tiny_project.db_path))
    qtbot.addWidget(view)
    view.show()
    tab = view.finetune
    qtbot.waitUntil(lambda: tab.runs.rowCount() == 2, timeout=WAIT)
    with qtbot.waitSignal(tab.diffed, timeout=WAIT):
        tab.select_pair(trained["zero"], trained["sft"])
    with open_store(tiny_project.db_path) as store:  # another process
        later = add_run(store, ["joy"] * 3, gold=GOLD)
    with qtbot.waitSignal(tab.loaded, timeout=WAIT):
        tab.reload()  # as a RUNS change does
    assert tab.runs.rowCount() == 3
    picked = {int(tab.runs.item(index.row(), 2).text()) for index in tab.runs.selectedIndexes()}
    assert picked == {trained["zero"], trained["sft"]} and later not in picked
    assert tab.hint.text().startswith(f"Run A = #{trained['zero']}, run B = #{trained['sft']}")
    view.close()


def test_adapter_picker_offers_the_trained_adapter(qtbot, tiny_project, trained, project_of):
    picker = AdapterPicker(project_of(tiny_project.db_path))
    qtbot.addWidget(picker)
    with qtbot.waitSignal(picker.loaded, timeout=WAIT) as loaded:
        picker.reload(model="tiny-omni")
    assert loaded.args == [1]
    assert picker.adapter_path() is None  # the base model stays chosen
    picker.combo.setCurrentIndex(1)
    assert "meld-sft" in picker.combo.currentText() and "MELD" in picker.combo.currentText()
    assert picker.adapter_path() == trained["adapter"]
    with qtbot.waitSignal(picker.loaded, timeout=WAIT) as loaded:
        picker.reload(model="another-model")  # adapters of other base models are not offered
    assert loaded.args == [0]
    assert picker.combo.currentText() == picker.adapter_path() == trained["adapter"]
    picker.combo.setEditText("/some/folder/adapter")  # a typed folder is taken as is
    assert picker.adapter_path() == "/some/folder/adapter"
    picker.set_adapter_path(None)
    assert picker.combo.currentText() == BASE_MODEL and picker.adapter_path() is None
    picker.shutdown()
