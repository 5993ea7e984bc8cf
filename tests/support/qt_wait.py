"""Run the Qt event loop until a condition holds (the child scripts' one way to wait).

QEventLoop.exec lets worker threads and queued signals run; a sleep-and-poll loop would starve
them. Returns whether the condition held before the timeout.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QEventLoop, QTimer


def run_until(predicate, timeout_s: float = 30.0, poll_ms: int = 5) -> bool:
    deadline = time.monotonic() + timeout_s
    loop, poll = QEventLoop(), QTimer()
    poll.timeout.connect(lambda: (predicate() or time.monotonic() > deadline) and loop.quit())
    poll.start(poll_ms)
    if not predicate():
        loop.exec()
    poll.stop()
    return predicate()
