"""The set view (MMA-Bench's table over several clips' probes, running the missing ones) and
the dataset-wide model checks, driven from their dialogs with a tiny model in the worker."""

import pytest
from PySide6.QtCore import Qt

from mmla_core.store.db import open_store

pytestmark = pytest.mark.gui


def _dev_clips(db_path) -> list[int]:
    with open_store(db_path) as store:
        return [r[0] for r in store.conn.execute(
            "SELECT id FROM clips WHERE split = 'dev' AND parent_clip_id IS NULL ORDER BY id")]


def test_set_dialog_shows_the_table_and_runs_the_missing_probes(qtbot, demo_with_model,
                                                                tmp_path, project_of):
    from mmla_app.probe.probe_set_dialog import ProbeSetDialog
    from mmla_core.cli import main
    from mmla_core.probe.sets import set_table

    first, second = _dev_clips(demo_with_model)
    assert main(["--db", str(demo_with_model), "probe", str(first), "--model", "tiny-omni",
                 "--task", "MELD", "--scenarios", "aligned,frames_zeroed"]) == 0
    dialog = ProbeSetDialog(project_of(demo_with_model), model=None, task="MELD")
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


def test_dataset_checks_land_as_the_model_layer_beside_a_human_answer(qtbot, demo_with_model,
                                                                      project_of):
    from mmla_app.probe.probe_checks_dialog import ModelChecksDialog
    from mmla_core.store.labels import set_check_answer

    with open_store(demo_with_model) as store:
        set_check_answer(store, 1, "visual_only", "no", "alice")
        clips = store.scalar("SELECT count(*) FROM clips WHERE parent_clip_id IS NULL")
    dialog = ModelChecksDialog(project_of(demo_with_model))
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


class FakeClient:
    """A WorkerClient stand-in: numbered requests, events handed in by the test."""

    def __init__(self):
        self.sent, self.events, self.stopped = [], [], False

    def probe_set(self, *args, **kwargs) -> int:
        self.sent.append(args)
        return len(self.sent)

    def op_of(self, request: int) -> str:
        return "probe_set"  # the only op this stand-in takes

    def poll(self) -> list[dict]:
        events, self.events = self.events, []
        return events

    def stop(self, timeout=5.0) -> None:
        self.stopped = True


def test_events_reach_their_own_request_and_a_crash_reaches_every_one(qtbot, tmp_path):
    from mmla_app.probe.probe_jobs import WorkerJob
    from mmla_app.runtime.model_jobs import model_jobs

    jobs = model_jobs(tmp_path / "p.sqlite")
    jobs.client = client = FakeClient()
    first, second = WorkerJob(tmp_path / "p.sqlite"), WorkerJob(tmp_path / "p.sqlite")
    assert first.jobs is second.jobs is jobs  # one owner, one worker per project
    ended, failed = [], []
    for job in (first, second):
        job.finished.connect(ended.append)
        job.failed.connect(failed.append)
    assert first.start("probe_set", [1], "MELD", model="m")
    assert not first.start("probe_set", [2], "MELD", model="m")  # refused while it runs
    assert second.start("probe_set", [3], "MELD", model="m")
    assert client.sent == [([1], "MELD"), ([3], "MELD")]
    client.events = [{"type": "finished", "request": 0, "status": "cancelled"},
                     {"type": "finished", "request": 2, "status": "done"}]
    jobs.poll()  # a late end of an unknown request is dropped; request 2 is the second job's
    assert first.running and not second.running and [e["status"] for e in ended] == ["done"]
    second.start("probe_set", [4], "MELD", model="m")
    client.events = [{"type": "crashed", "message": "boom"}]
    jobs.poll()
    assert failed == ["boom", "boom"] and not first.running and not second.running
    first.shutdown()
    jobs.release()  # this test's own use
    assert not client.stopped  # the second job still uses the worker
    second.shutdown()
    assert client.stopped and jobs.client is None  # its last user gone, the model is freed


def test_run_clicked_twice_reads_and_probes_the_set_once(qtbot, tiny_project, monkeypatch,
                                                         project_of):
    import threading

    from mmla_app.probe import probe_set_dialog

    release, reads = threading.Event(), []

    def slow_load_table(store, *args):
        reads.append(args)
        release.wait(5)
        return [1, 2], None

    monkeypatch.setattr(probe_set_dialog, "load_table", slow_load_table)
    dialog = probe_set_dialog.ProbeSetDialog(project_of(tiny_project.db_path), task="MELD")
    qtbot.addWidget(dialog)
    started = []
    monkeypatch.setattr(dialog.job, "start", lambda *a, **k: started.append(a) or True)
    dialog.model_combo.addItem("m", "m")
    dialog.task_combo.addItem("MELD", "MELD")
    try:
        qtbot.mouseClick(dialog.run_button, Qt.MouseButton.LeftButton)
        assert not dialog.run_button.isEnabled()  # before the set is even read
        qtbot.mouseClick(dialog.run_button, Qt.MouseButton.LeftButton)
        dialog.run_missing()
        release.set()
        qtbot.waitUntil(lambda: len(started) == 1, timeout=10_000)
        qtbot.wait(200)
        assert len(reads) == 1 and len(started) == 1
    finally:
        release.set()
        dialog.done(0)


def test_csv_that_cannot_be_written_says_so(qtbot, tmp_path, monkeypatch, project_of):
    from mmla_app.probe import probe_set_dialog
    from mmla_core.probe.sets import SetTable

    dialog = probe_set_dialog.ProbeSetDialog(project_of(tmp_path / "p.sqlite"))
    qtbot.addWidget(dialog)
    dialog.table_data = SetTable(clips=1, run_ids=[1], rows=[{"scenario": "aligned", "n": 1}])
    (tmp_path / "a-file").write_text("")  # a missing folder is made now; a file is no folder
    target = tmp_path / "a-file" / "t.csv"
    monkeypatch.setattr(probe_set_dialog.QFileDialog, "getSaveFileName",
                        lambda *a, **k: (str(target), ""))
    try:
        dialog.export_csv()
        assert "Cannot write" in dialog.status.text() and str(target) in dialog.status.text()
    finally:
        dialog.done(0)


def test_the_set_dialogs_offer_a_model_registered_elsewhere(qtbot, window, tmp_path):
    """`mmla models add` while the probe-set and model-checks dialogs are open: both list it
    within the change poll, and the model the person picked stays picked (not the one the
    Probe tab opened the set view with)."""
    from mmla_app.probe.probe_checks_dialog import open_model_checks
    from mmla_app.probe.probe_set_dialog import open_probe_set
    from mmla_core.store.results import add_model

    with open_store(window.db_path) as store:
        for name in ("first", "second"):
            add_model(store, name, "qwen2_5_omni", str(tmp_path / name))
    dialogs = [open_probe_set(window, window.project, model=str(tmp_path / "first")),
               open_model_checks(window, window.project)]
    for dialog in dialogs:
        qtbot.waitUntil(lambda d=dialog: d.model_combo.count() == 2, timeout=10_000)
        dialog.model_combo.setCurrentIndex(dialog.model_combo.findText("second"))
    with open_store(window.db_path) as store:  # another process
        add_model(store, "third", "qwen2_5_omni", str(tmp_path / "third"))
    for dialog in dialogs:
        qtbot.waitUntil(lambda d=dialog: d.model_combo.count() == 3, timeout=10_000)
        assert dialog.model_combo.currentText() == "second"
        dialog.done(0)


def test_the_set_dialogs_keep_every_choice_through_outside_changes(qtbot, window, tmp_path):
    """Another process adds a model and a split, then removes the chosen model: the probe-set
    dialog keeps the dataset split, task and model the person chose (the split used to fall
    back to "all splits" as the dataset list was refilled), and a model the project lost
    stays chosen, marked, in both dialogs (`widgets.form_choices.refill_keeping`)."""
    from mmla_app.probe.probe_checks_dialog import open_model_checks
    from mmla_app.probe.probe_set_dialog import open_probe_set
    from mmla_app.widgets.label_choice import GONE
    from mmla_core.store.catalog import upsert_clips
    from mmla_core.store.results import add_model

    with open_store(window.db_path) as store:
        for name in ("first", "second"):
            add_model(store, name, "qwen2_5_omni", str(tmp_path / name))
    set_dialog = open_probe_set(window, window.project, model=str(tmp_path / "first"))
    checks = open_model_checks(window, window.project)
    qtbot.waitUntil(lambda: set_dialog.split_combo.findData("dev") >= 0
                    and checks.model_combo.count() == 2, timeout=10_000)
    set_dialog.split_radio.setChecked(True)
    set_dialog.split_combo.setCurrentIndex(set_dialog.split_combo.findData("dev"))
    set_dialog.task_combo.setCurrentIndex(set_dialog.task_combo.findData("MELD"))
    for dialog in (set_dialog, checks):
        dialog.model_combo.setCurrentIndex(dialog.model_combo.findText("second"))
    try:
        with open_store(window.db_path) as store:  # another process
            add_model(store, "third", "qwen2_5_omni", str(tmp_path / "third"))
            dataset = store.scalar("SELECT id FROM datasets WHERE name = 'tiny'")
            upsert_clips(store, dataset, [{"split": "test", "external_id": "utt_d",
                                           "media_path": None, "transcript": "Later."}])
        qtbot.waitUntil(lambda: set_dialog.split_combo.findData("test") >= 0
                        and checks.model_combo.count() == 3, timeout=10_000)
        assert set_dialog.split_combo.currentData() == "dev"
        assert set_dialog.task_combo.currentData() == "MELD"
        for dialog in (set_dialog, checks):
            assert dialog.model_combo.currentText() == "second"
        with open_store(window.db_path) as store:  # another process: the model is gone
            store.conn.execute("DELETE FROM models WHERE name = 'second'")
            store.conn.commit()
        for dialog in (set_dialog, checks):
            qtbot.waitUntil(lambda d=dialog: d.model_combo.findText("third") == 1,
                            timeout=10_000)
            assert dialog.model_combo.currentText() == "second" + GONE
            assert dialog.model_combo.currentData() == str(tmp_path / "second")
        assert set_dialog.split_combo.currentData() == "dev"
    finally:
        set_dialog.done(0)
        checks.done(0)
