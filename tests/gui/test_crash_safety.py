"""Never lose work: kill the app (SIGKILL) right after an acknowledged label key press.

The app runs in a child process on a real project file. It presses a label key and a check key
the way a curator does, waits until the panels say the edit is saved (what the curator sees),
prints ACK and is killed at once. The label and answer must be in the database, intact.
"""

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from mmla_core.store.db import open_store

pytestmark = pytest.mark.gui

CHILD = textwrap.dedent("""
    import sys, time
    from PySide6.QtCore import QEventLoop, QSettings, Qt, QTimer
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    app = QApplication(["mmla-kill-test"])
    app.setOrganizationName("mmla-kill-test")
    QSettings().setValue("review/annotator", "alice")
    from mmla_app.main_window import MainWindow

    def wait_until(predicate, timeout_s=30):
        deadline = time.monotonic() + timeout_s
        loop, poll = QEventLoop(), QTimer()
        poll.timeout.connect(lambda: (predicate() or time.monotonic() > deadline) and loop.quit())
        poll.start(10)
        if not predicate():
            loop.exec()
        poll.stop()
        assert predicate(), ("timed out", window.annotation.status.text(),
                             window.checks.status.text())

    window = MainWindow(sys.argv[1], demo=False)
    window.show()
    wait_until(lambda: window.browser.model.rowCount() == 3)
    window.browser.table.select_position(0)
    wait_until(lambda: window.annotation.clip_id is not None and window.checks.clip_id is not None)
    QTest.keyClick(window.browser.table, Qt.Key.Key_3)
    QTest.keyClick(window.browser.table, Qt.Key.Key_N)
    wait_until(lambda: window.annotation.status.text().startswith("Saved")
               and window.checks.status.text() == "Saved")
    print("ACK", flush=True)
    app.exec()
""")


def test_label_survives_sigkill_right_after_acknowledgement(tiny_project, tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", MMLA_STUDIO_AUDIO="off",
               XDG_CONFIG_HOME=str(tmp_path / "config"), MMLA_STUDIO_HOME=str(tmp_path / "h"))
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(tiny_project.db_path)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        for line in child.stdout:
            if line.strip() == "ACK":
                os.kill(child.pid, signal.SIGKILL)
                break
        else:
            pytest.fail(f"the app never acknowledged the edit: {child.stderr.read()[-2000:]}")
    finally:
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    with open_store(tiny_project.db_path) as store:
        assert store.integrity_ok()
        label = store.scalar("SELECT label FROM annotations WHERE annotator = 'alice'")
        answer = store.scalar("SELECT answer FROM check_answers WHERE annotator = 'alice'")
    assert (label, answer) == ("fear", "no")
