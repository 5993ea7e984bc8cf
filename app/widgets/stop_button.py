"""Cancel, then Stop now, on one button: the Evaluate window, the Probe tab, the probe-set
dialog and the model-checks dialog (through the project's `ModelJobs`:
`runtime.model_jobs.StopNow`). The first press cancels the window's own request, which stops
after its current step (row, clip); the second, for a step that does not end (a model stuck in
one long pass), cancels again, waits `STOP_GRACE_S` and then kills the shared model worker: at
once when nothing else uses it, after `KillWorkerQuestion` names the other jobs otherwise. The
killed job's run is marked failed by the worker's client; rows already written are kept."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QLabel, QPushButton, QWidget

from mmla_app.runtime import model_jobs as jobs_module
from mmla_app.runtime.model_jobs import JobHandle, StopNow
from mmla_app.widgets.kill_worker_question import KillWorkerQuestion

CANCEL, STOP_NOW = "Cancel", "Stop now"


class StopButton(QObject):
    """Drives `button` (Cancel / Stop now) and says what happens in `status`. `handle()` is the
    window's running request (None when idle); `on_killed()` once Stop now killed the worker
    under it (no event of the request comes then). `subject` names the job in the question
    ("probe"), `step` the unit it stops after ("row"); `cancel` is the button's first text."""

    def __init__(self, parent: QWidget, button: QPushButton, status: QLabel, *,
                 handle: Callable[[], JobHandle | None], on_killed: Callable[[], None],
                 subject: str, step: str, cancel: str = CANCEL):
        super().__init__(parent)
        self.button, self.status, self.handle, self.step = button, status, handle, step
        self.cancel_text = cancel
        self.question = KillWorkerQuestion(parent, subject, step)
        self.stop_now = StopNow(self, ask=self.question.ask, on_killed=on_killed,
                                on_kept=self._kept, step=step)

    @property
    def box(self):
        """The open "kill the model worker?" question, or None."""
        return self.question.box

    @property
    def cancelling(self) -> bool:
        """Cancel was pressed: progress lines leave the status to this button."""
        return self.button.text() != self.cancel_text

    def press(self) -> None:
        handle = self.handle()
        if handle is None or self.stop_now.stopping:
            return
        if not self.cancelling:
            handle.cancel()
            self.button.setText(STOP_NOW)
            self.status.setText(f"Cancelling after the current {self.step}… (Stop now if it "
                                "is stuck)")
            return
        self.stop_now.start(handle)
        self.button.setEnabled(False)
        self.status.setText(f"Stopping: waiting up to {jobs_module.STOP_GRACE_S:g} s for the "
                            f"current {self.step} to end…")

    def reset(self) -> None:
        """The job ended (or was killed, or its window closes): Cancel again, no question
        left open."""
        self.stop_now.ended()
        self.button.setText(self.cancel_text)
        self.question.close()

    def _kept(self, why: str) -> None:
        self.button.setEnabled(True)  # Stop now may be pressed again
        self.status.setText(f"Cancelled, not stopped yet: {why}.")
