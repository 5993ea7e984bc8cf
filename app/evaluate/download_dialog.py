"""Download a model from the Hugging Face Hub (the one GUI action that uses the network).

A repo id field, Download, a progress bar and Cancel. `mmla_core.models.download.download_model`
runs on a superqt thread worker; its progress callback (worker thread) reaches the bar through
the GUI-thread relay (runtime/gui_calls: dropped once the dialog is deleted), and Cancel sets
the `threading.Event` the download checks between chunks and files. Finished files stay in the
Hugging Face cache, so Download again resumes. On success the dialog emits `downloaded(path)`
(the snapshot folder; the Evaluate form registers it like "Add model…") and closes.
"""

from __future__ import annotations

import threading

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from mmla_app.runtime.gui_calls import gui_callback
from mmla_app.runtime.project import Project
from mmla_app.widgets.wrap_fit import grow_with_text
from mmla_core.models.download import DownloadCancelled, download_model

STEPS = 1000  # the bar's range: byte counts overflow a QProgressBar's int


def _download(repo_id: str, progress, cancel: threading.Event):
    """Job on the project's runner (no Store): the snapshot folder of `repo_id`."""
    return download_model(repo_id, progress=progress, cancel=cancel)


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


class DownloadDialog(QDialog):
    """Repo id -> the snapshot folder in the Hugging Face cache, with progress and Cancel."""

    downloaded = Signal(str)

    def __init__(self, project: Project, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Download a model from the Hugging Face Hub")
        self.runner = project.runner.scope("download")  # closed with the dialog
        self._cancel: threading.Event | None = None
        self._running = False
        self.repo_edit = QLineEdit(self, placeholderText="ORG/NAME, e.g. Qwen/Qwen2.5-Omni-3B")
        self.repo_edit.returnPressed.connect(self.start)
        self.download_button = QPushButton("Download", self)
        self.download_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.clicked.connect(self.cancel)
        self.progress_bar = QProgressBar(self)
        self.progress_bar.setRange(0, STEPS)
        self.progress_bar.hide()  # shown from the first download on: an empty bar read as a field
        self.status = QLabel("Safetensors weights + config and tokenizer files go to the "
                             "Hugging Face cache. Needs the network.", self, wordWrap=True)
        form = QFormLayout()
        form.addRow("Repo id", self.repo_edit)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.download_button)
        buttons.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.status)
        layout.addLayout(buttons)
        self.resize(520, self.sizeHint().height())
        grow_with_text(self)  # a long status (an error, a path) is shown whole

    @property
    def running(self) -> bool:
        return self._running

    def start(self) -> None:
        repo = self.repo_edit.text().strip()
        if self.running:
            return
        if repo.count("/") != 1 or not all(repo.split("/")):
            self.status.setText("Give a Hugging Face id: ORG/NAME.")
            return
        self._cancel = threading.Event()
        self.progress_bar.setValue(0)
        self.progress_bar.show()
        self.status.setText(f"Downloading {repo}…")
        self.download_button.setEnabled(False)
        self.repo_edit.setEnabled(False)
        self._running = True
        report = gui_callback(self, self._on_progress)  # called on the worker thread
        self.runner.submit(_download, repo, report, self._cancel, with_store=False,
                           on_success=self._on_done, on_error=self._on_error)

    def cancel(self) -> None:
        """While downloading: stop at the next chunk (the dialog stays open); else close."""
        if self.running and self._cancel is not None:
            self._cancel.set()
            self.status.setText("Cancelling…")
        else:
            self.reject()

    def reject(self) -> None:
        if self._cancel is not None:
            self._cancel.set()
        super().reject()

    def closeEvent(self, event) -> None:
        if self._cancel is not None:
            self._cancel.set()
        super().closeEvent(event)

    def done(self, result: int) -> None:
        """Closed (Cancel, Esc, the download done): a download going on stops at its next
        chunk; its result is dropped."""
        if self._cancel is not None:
            self._cancel.set()
        self.runner.close()
        super().done(result)

    # --- worker callbacks ---------------------------------------------------------------------

    def _on_progress(self, done: int, total: int, name: str) -> None:
        self.progress_bar.setValue(min(STEPS, done * STEPS // total) if total else 0)
        self.status.setText(f"{name}  ({_size(done)} of {_size(total)})")

    def _on_done(self, path) -> None:
        if not isValid(self):
            return
        self._ended()
        self.progress_bar.setValue(STEPS)
        self.status.setText(f"Downloaded to {path}")
        self.downloaded.emit(str(path))
        self.accept()

    def _on_error(self, exc: Exception) -> None:
        if not isValid(self):
            return
        self._ended()
        if isinstance(exc, DownloadCancelled):
            self.status.setText("Cancelled. Finished files stay in the cache: Download again "
                                "resumes from there.")
        else:
            self.status.setText(str(exc))

    def _ended(self) -> None:
        self._running = False
        self.download_button.setEnabled(True)
        self.repo_edit.setEnabled(True)
