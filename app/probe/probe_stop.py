"""The Probe tab's Cancel, then Stop now (the Evaluate window's semantics, through the project's
`ModelJobs`: `StopNow`): the first press stops the job after its current row; the second, for a
row that does not end (a model stuck in one long pass), cancels again, waits `STOP_GRACE_S`
and then kills the shared model worker: at once when nothing else uses it, after a question
naming the other jobs otherwise. The killed job's run is marked failed by the worker's client."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QMessageBox

from mmla_app.runtime import model_jobs as jobs_module
from mmla_app.runtime.model_jobs import JobHandle, StopNow

CANCEL, STOP_NOW = "Cancel", "Stop now"


class ProbeStop(QObject):
    """The tab's Cancel / Stop now button; `panel` has `job`, `cancel_button`, `status` and
    `stopped_by_kill()` (called once the worker was killed: no event comes then)."""

    def __init__(self, panel):
        super().__init__(panel)
        self.panel = panel
        self.stop_now = StopNow(self, ask=self._ask, on_killed=panel.stopped_by_kill,
                                on_kept=self._kept, step="row")
        self.box: QMessageBox | None = None

    def press(self) -> None:
        job, button = self.panel.job, self.panel.cancel_button
        if job is None or self.stop_now.stopping:
            return
        if button.text() == CANCEL:
            job.cancel()
            button.setText(STOP_NOW)
            self.panel.status.setText("Cancelling after the current row… (Stop now if it is "
                                      "stuck)")
            return
        self.stop_now.start(job)
        button.setEnabled(False)
        self.panel.status.setText(f"Stopping: waiting up to {jobs_module.STOP_GRACE_S:g} s for "
                                  "the current row to end…")

    def reset(self) -> None:
        """The job ended (or was killed): Cancel again, no question left open."""
        self.stop_now.ended()
        self.panel.cancel_button.setText(CANCEL)
        if self.box is not None:
            self.box.close()

    def _ask(self, others: list[JobHandle], answer: Callable[[bool], None]) -> None:
        names = "; ".join(f"{h.what} ({'running' if h.started else 'waiting its turn'})"
                          for h in others)
        self.box = QMessageBox(
            QMessageBox.Icon.Question, "Stop the model worker?",
            f"The probe did not stop within {jobs_module.STOP_GRACE_S:g} s. Stopping it now "
            f"kills the project's model worker, and with it {names}.\n\nKill the worker? No: "
            "the probe still ends after its current row.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self.panel)
        self.box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.box.finished.connect(lambda _result: setattr(self, "box", None))
        self.box.accepted.connect(lambda: answer(True))
        self.box.rejected.connect(lambda: answer(False))
        self.box.open()  # window-modal, never blocks the event loop

    def _kept(self, why: str) -> None:
        self.panel.cancel_button.setEnabled(True)  # Stop now may be pressed again
        self.panel.status.setText(f"Cancelled, not stopped yet: {why}.")
