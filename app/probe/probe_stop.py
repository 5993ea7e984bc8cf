"""The Probe tab's Cancel, then Stop now (the Evaluate window's semantics, through the project's
`ModelJobs`: `StopNow`): the first press stops the job after its current row; the second, for a
row that does not end (a model stuck in one long pass), cancels again, waits `STOP_GRACE_S`
and then kills the shared model worker: at once when nothing else uses it, after a question
naming the other jobs otherwise. The killed job's run is marked failed by the worker's client."""

from __future__ import annotations

from PySide6.QtCore import QObject

from mmla_app.runtime import model_jobs as jobs_module
from mmla_app.runtime.model_jobs import StopNow
from mmla_app.widgets.kill_worker_question import KillWorkerQuestion

CANCEL, STOP_NOW = "Cancel", "Stop now"


class ProbeStop(QObject):
    """The tab's Cancel / Stop now button; `panel` has `job`, `cancel_button`, `status` and
    `stopped_by_kill()` (called once the worker was killed: no event comes then)."""

    def __init__(self, panel):
        super().__init__(panel)
        self.panel = panel
        self.question = KillWorkerQuestion(panel, "probe", "row")
        self.stop_now = StopNow(self, ask=self.question.ask, on_killed=panel.stopped_by_kill,
                                on_kept=self._kept, step="row")

    @property
    def box(self):
        """The open "kill the model worker?" question, or None."""
        return self.question.box

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
        self.question.close()

    def _kept(self, why: str) -> None:
        self.panel.cancel_button.setEnabled(True)  # Stop now may be pressed again
        self.panel.status.setText(f"Cancelled, not stopped yet: {why}.")
