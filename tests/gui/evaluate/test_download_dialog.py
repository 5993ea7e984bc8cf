"""The Hub download dialog with a mocked download (no network: `download_model` replaced by a
fake for the test): progress, Cancel, `downloaded`."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from mmla_app.evaluate import download_dialog
from mmla_app.evaluate.download_dialog import DownloadDialog
from mmla_core.models.download import DownloadCancelled, DownloadError

pytestmark = pytest.mark.gui
WAIT = 10_000


class FakeDownload:
    """Reports progress in steps; with `gate`, waits for it between steps (or for cancel)."""

    def __init__(self, path: Path, *, gate: threading.Event | None = None, error=None):
        self.path, self.gate, self.error = path, gate, error
        self.calls: list[str] = []
        self.started = threading.Event()

    def __call__(self, repo_id, *, progress=None, cancel=None, **_):
        self.calls.append(repo_id)
        total = 4_000_000_000  # > 2**31: the bar must not overflow
        for step in range(5):
            progress(step * total // 4, total, f"model-{step}.safetensors")
            self.started.set()
            if self.gate is not None:
                while not self.gate.is_set():
                    if cancel.is_set():
                        raise DownloadCancelled(f"{repo_id}: download cancelled")
                    time.sleep(0.01)
        if self.error is not None:
            raise self.error
        return self.path


@pytest.fixture
def make_dialog(qtbot, monkeypatch, project_of, tmp_path):
    def make(fake) -> DownloadDialog:
        monkeypatch.setattr(download_dialog, "download_model", fake)
        dialog = DownloadDialog(project_of(tmp_path / "p.sqlite"))
        qtbot.addWidget(dialog)
        dialog.show()
        return dialog

    return make


def test_download_moves_the_bar_and_emits_the_folder(qtbot, tmp_path, make_dialog):
    fake = FakeDownload(tmp_path / "snap")
    dialog = make_dialog(fake)
    values = []
    dialog.progress_bar.valueChanged.connect(values.append)
    dialog.repo_edit.setText(" acme/tiny ")
    assert dialog.progress_bar.isHidden()  # no empty bar before a download (it read as a field)
    with qtbot.waitSignal(dialog.downloaded, timeout=WAIT) as signal:
        dialog.download_button.click()
        assert dialog.progress_bar.isVisible()
    assert signal.args == [str(tmp_path / "snap")]
    assert fake.calls == ["acme/tiny"]
    assert values[-1] == dialog.progress_bar.maximum()
    assert len(set(values)) >= 3, "the bar moves with the reported bytes"
    qtbot.waitUntil(lambda: not dialog.running, timeout=WAIT)
    assert not dialog.isVisible()


def test_cancel_stops_the_download_and_keeps_the_dialog(qtbot, tmp_path, make_dialog):
    fake = FakeDownload(tmp_path / "snap", gate=threading.Event())
    dialog = make_dialog(fake)
    emitted = []
    dialog.downloaded.connect(emitted.append)
    dialog.repo_edit.setText("acme/tiny")
    dialog.download_button.click()
    assert fake.started.wait(5)
    qtbot.waitUntil(lambda: "model-0" in dialog.status.text(), timeout=WAIT)
    assert dialog.running and not dialog.download_button.isEnabled()
    dialog.cancel_button.click()
    qtbot.waitUntil(lambda: not dialog.running, timeout=WAIT)
    assert "Cancelled" in dialog.status.text() and "resumes" in dialog.status.text()
    assert dialog.isVisible() and dialog.download_button.isEnabled() and emitted == []
    dialog.cancel_button.click()  # not running: Cancel closes
    assert not dialog.isVisible()


def test_errors_are_shown_and_bad_ids_refused(qtbot, tmp_path, make_dialog):
    fake = FakeDownload(tmp_path, error=DownloadError("acme/x: no network: download on a "
                                                      "connected machine or copy the folder"))
    dialog = make_dialog(fake)
    dialog.repo_edit.setText("not-an-id")
    dialog.download_button.click()
    assert fake.calls == [] and "ORG/NAME" in dialog.status.text()
    dialog.repo_edit.setText("acme/x")
    dialog.download_button.click()
    qtbot.waitUntil(lambda: not dialog.running, timeout=WAIT)
    assert "no network" in dialog.status.text() and dialog.isVisible()


def test_evaluate_form_download_button_registers_through_add_model(qtbot, tmp_path,
                                                                   monkeypatch, project_of):
    from mmla_app.evaluate.evaluate_form import EvaluateForm

    fake = FakeDownload(tmp_path / "snap")
    monkeypatch.setattr(download_dialog, "download_model", fake)
    form = EvaluateForm(project_of(tmp_path / "p.sqlite"))
    qtbot.addWidget(form)
    form.show()
    assert form.download_button.text() == "Download…"
    form.download_button.click()
    dialog = form.download_dialog
    assert dialog.isVisible()
    dialog.repo_edit.setText("acme/tiny")
    with qtbot.waitSignal(form.add_model_requested, timeout=WAIT) as signal:
        dialog.download_button.click()
    assert signal.args == [str(tmp_path / "snap")]
    qtbot.waitUntil(lambda: not dialog.running, timeout=WAIT)
