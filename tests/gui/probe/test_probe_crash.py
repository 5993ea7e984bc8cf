"""The Probe tab when the model worker dies under its probe: the tab says what happened and
what a rerun does, the probe's run is failed in the database (none left running), and Run
probe again probes the clip in a fresh worker."""

import pytest
from PySide6.QtCore import Qt

from mmla_core.store.db import open_store

pytestmark = pytest.mark.gui


@pytest.fixture
def demo_with_fake_model(tmp_path, fake_engines, monkeypatch):
    from mmla_core.demo import ensure_demo
    from mmla_core.store.results import add_model
    from tests.support.fake_engine import model_folder

    for name in ("FAKE_ENGINE_DELAY", "FAKE_ENGINE_EXIT_AFTER"):
        monkeypatch.delenv(name, raising=False)
    db_path = tmp_path / "p.sqlite"
    with open_store(db_path) as store:
        ensure_demo(store)
        add_model(store, "fake-omni", "qwen2_5_omni", str(model_folder(tmp_path / "model")))
    return db_path


def _runs(db_path) -> dict[int, dict]:
    with open_store(db_path) as store:
        return {r["id"]: r for r in store.query("SELECT id, kind, status, error FROM runs")}


def test_worker_dying_under_a_probe_is_said_and_its_run_failed(qtbot, demo_with_fake_model,
                                                              project_of, monkeypatch):
    from mmla_app.probe.probe_panel import ProbePanel

    panel = ProbePanel(project_of(demo_with_fake_model))
    qtbot.addWidget(panel)
    panel.set_clip(1)
    qtbot.waitUntil(lambda: panel.model_combo.count() == 1 and panel.task_combo.count() == 2,
                    timeout=10_000)
    panel.task_combo.setCurrentIndex(panel.task_combo.findData("MELD"))
    for key in ("visual_focused", "audio_focused"):  # the fake engine answers one by one
        panel.prompt_boxes[key].setChecked(False)
    monkeypatch.setenv("FAKE_ENGINE_EXIT_AFTER", "2")  # the worker dies at the third cell
    try:
        qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: panel.run_button.isEnabled(), timeout=60_000)
        said = panel.status.text()
        assert said.startswith("Probe failed: the model worker exited unexpectedly"), said
        assert "is marked failed" in said and "probe the clip again" in said
        qtbot.waitUntil(lambda: any(r["status"] == "failed" for r in
                                    _runs(demo_with_fake_model).values()), timeout=10_000)
        (failed,) = _runs(demo_with_fake_model).values()
        assert failed["kind"] == "probe" and f"probe run {failed['id']}" in said
        assert "exit code 1" in failed["error"]
        qtbot.waitUntil(lambda: panel.past_combo.findData(failed["id"]) >= 0, timeout=10_000)
        monkeypatch.delenv("FAKE_ENGINE_EXIT_AFTER")
        qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)  # a fresh worker
        qtbot.waitUntil(lambda: panel.result is not None, timeout=60_000)
        assert len(panel.result.cells) == 6 and panel.result.run_id != failed["id"]
        statuses = {r["id"]: r["status"] for r in _runs(demo_with_fake_model).values()}
        assert statuses == {failed["id"]: "failed", panel.result.run_id: "done"}
    finally:
        panel.shutdown()
