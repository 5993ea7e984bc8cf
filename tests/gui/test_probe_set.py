"""The set view (MMA-Bench's table over several clips' probes, running the missing ones) and
the dataset-wide model checks, driven from their dialogs with a tiny model in the worker."""

import pytest
import test_probe_panel
from PySide6.QtCore import Qt

from mmla_core.store.db import open_store

pytestmark = pytest.mark.gui
demo_with_model = test_probe_panel.demo_with_model  # the demo project + a tiny Omni model


def _dev_clips(db_path) -> list[int]:
    with open_store(db_path) as store:
        return [r[0] for r in store.conn.execute(
            "SELECT id FROM clips WHERE split = 'dev' AND parent_clip_id IS NULL ORDER BY id")]


def test_set_dialog_shows_the_table_and_runs_the_missing_probes(qtbot, demo_with_model,
                                                                tmp_path):
    from mmla_app.probe_set_dialog import ProbeSetDialog
    from mmla_core.cli import main
    from mmla_core.probe.sets import set_table

    first, second = _dev_clips(demo_with_model)
    assert main(["--db", str(demo_with_model), "probe", str(first), "--model", "tiny-omni",
                 "--task", "MELD", "--scenarios", "aligned,frames_zeroed"]) == 0
    dialog = ProbeSetDialog(demo_with_model, model=None, task="MELD")
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.split_combo.findData("dev") >= 0, timeout=10_000)
    assert dialog.split_radio.isChecked()  # nothing listed: the dataset split is the set
    dialog.split_combo.setCurrentIndex(dialog.split_combo.findData("dev"))
    try:
        qtbot.mouseClick(dialog.show_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: dialog.table.rowCount() == 2, timeout=10_000)
        assert "1 probed, 1 without a probe" in dialog.status.text()
        assert dialog.table.verticalHeaderItem(1).text() == "frames zeroed"
        assert dialog.table.item(0, 0).text() == "1"
        qtbot.mouseClick(dialog.run_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: "2 probed, 0 without" in dialog.status.text(), timeout=180_000)
        assert dialog.table.rowCount() == 6  # the new probe ran every scenario
        assert dialog.table.item(0, 0).text() == "2"
        with open_store(demo_with_model) as store:
            table = set_table(store, [first, second], "MELD")
        shown = dialog.table.item(0, 1).text()
        value = table.rows[0]["visual_focused"]
        assert shown == ("—" if value is None else f"{value * 100:.1f}")
        out = tmp_path / "table.csv"
        from mmla_core.probe.sets import set_table_csv

        set_table_csv(dialog.table_data, out)
        assert out.read_text().startswith("scenario,n,visual_focused")
    finally:
        dialog.done(0)


def test_dataset_checks_land_as_the_model_layer_beside_a_human_answer(qtbot, demo_with_model):
    from mmla_app.probe_checks_dialog import ModelChecksDialog
    from mmla_core.store.labels import set_check_answer

    with open_store(demo_with_model) as store:
        set_check_answer(store, 1, "visual_only", "no", "alice")
        clips = store.scalar("SELECT count(*) FROM clips WHERE parent_clip_id IS NULL")
    dialog = ModelChecksDialog(demo_with_model)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.model_combo.count() == 1, timeout=10_000)
    try:
        with qtbot.waitSignal(dialog.answered, timeout=180_000):
            qtbot.mouseClick(dialog.run_button, Qt.MouseButton.LeftButton)
        assert dialog.progress.isHidden() and "done" in dialog.status.text()
        with open_store(demo_with_model) as store:
            model_rows = store.scalar("SELECT count(*) FROM check_answers WHERE source = 'model'")
            human = store.query("SELECT clip_id, check_key, answer, annotator FROM check_answers "
                                "WHERE source = 'human'")
        assert model_rows == 4 * clips
        assert human == [{"clip_id": 1, "check_key": "visual_only", "answer": "no",
                          "annotator": "alice"}]
    finally:
        dialog.done(0)
