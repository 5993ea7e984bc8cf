"""The one "Stop the model worker?" question of Stop now (`widgets.stop_button`: Evaluate
window, Probe tab, probe-set and checks windows): asked by `runtime.model_jobs.StopNow` when its
job did not stop within `STOP_GRACE_S` and killing the shared worker would end other windows'
jobs too. Window-modal, never blocks the event loop."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from mmla_app.runtime import model_jobs as jobs_module
from mmla_app.runtime.model_jobs import JobHandle


class KillWorkerQuestion:
    """`ask(others, answer)` for `StopNow`: `subject` names the stuck job ("evaluation"),
    `step` the unit it ends after when kept ("batch"); `box` is the open question, or None."""

    def __init__(self, parent: QWidget, subject: str, step: str):
        self.parent, self.subject, self.step = parent, subject, step
        self.box: QMessageBox | None = None

    def ask(self, others: list[JobHandle], answer: Callable[[bool], None]) -> None:
        names = "; ".join(f"{h.what} ({'running' if h.started else 'waiting its turn'})"
                          for h in others)
        self.box = QMessageBox(
            QMessageBox.Icon.Question, "Stop the model worker?",
            f"The {self.subject} did not stop within {jobs_module.STOP_GRACE_S:g} s. Stopping "
            f"it now kills the project's model worker, and with it {names}.\n\nKill the worker? "
            f"No: the {self.subject} still ends after its current {self.step}.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self.parent)
        self.box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.box.finished.connect(lambda _result: setattr(self, "box", None))
        self.box.accepted.connect(lambda: answer(True))
        self.box.rejected.connect(lambda: answer(False))
        self.box.open()

    def close(self) -> None:
        """The job ended on its own: the question is moot."""
        if self.box is not None:
            self.box.close()
