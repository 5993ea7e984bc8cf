"""CPU of the change watcher (DESIGN rule 13): the idle app polling `data_version` once a second.

The main window is opened offscreen on a project of `--clips` clips and left idle with the
watcher running; baseline, in the same process and for the same time: the same idle window with
the watcher stopped. A second phase has another process commit one label a second (a CLI curator),
so each tick also reads the per-area fingerprints. Printed: CPU as % of one core for each, and
the watcher's extra cost (target: under 1% of one core idle).

    python benchmarks/bench_change_poll.py [--clips 20000] [--seconds 20]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

WRITER = """
import sqlite3, sys, time
db, seconds = sys.argv[1], float(sys.argv[2])
conn = sqlite3.connect(db, timeout=30, isolation_level=None)
task = conn.execute("SELECT id FROM tasks LIMIT 1").fetchone()[0]
clips = [r[0] for r in conn.execute("SELECT id FROM clips LIMIT 500")]
end, i = time.monotonic() + seconds, 0
while time.monotonic() < end:
    conn.execute("INSERT INTO annotations (clip_id, task_id, annotator, label) VALUES (?, ?, "
                 "'cli', 'x') ON CONFLICT DO UPDATE SET label = excluded.label, "
                 "updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')", (clips[i % len(clips)], task))
    i += 1
    time.sleep(1.0)
"""


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _percent_of_core(seconds: float) -> float:
    from PySide6.QtCore import QEventLoop, QTimer

    c0, t0 = _cpu(), time.perf_counter()
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()
    return 100 * (_cpu() - c0) / (time.perf_counter() - t0)


def _project(root: Path, clips: int) -> Path:
    from mmla_core.store.db import open_store

    db = root / "project.sqlite"
    with open_store(db) as store, store.write() as conn:
        conn.execute("INSERT INTO datasets (name, root, source_kind) VALUES ('big', ?, 'folder')",
                     (str(root),))
        conn.executemany("INSERT INTO clips (dataset_id, external_id, split, transcript) "
                         "VALUES (1, ?, 'train', 'words')", ((f"c{i}",) for i in range(clips)))
        conn.execute("INSERT INTO tasks (name, task_key, dimension, labels_json) "
                     "VALUES ('T', 'intent', 'semantics', '[\"x\", \"y\"]')")
        conn.execute("INSERT INTO dataset_tasks VALUES (1, 1)")
    return db


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=20000)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    from PySide6.QtWidgets import QApplication

    from mmla_app.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as tmp:
        db = _project(Path(tmp), args.clips)
        window = MainWindow(db, demo=False)
        window.show()
        deadline = time.monotonic() + 60
        while window.browser.model.rowCount() < args.clips and time.monotonic() < deadline:
            app.processEvents()
        _percent_of_core(2.0)  # settle: first loads, first fingerprints
        watcher = window.project.watcher
        watcher.stop()
        baseline = _percent_of_core(args.seconds)
        watcher.watch(db)
        watching = _percent_of_core(args.seconds)
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(db), str(args.seconds)])
        busy = _percent_of_core(args.seconds)
        writer.wait()
        window.close()
    print(f"idle window, watcher stopped:            {baseline:5.2f}% of one core")
    print(f"idle window, watcher on:                 {watching:5.2f}% of one core")
    print(f"watcher on, outside label every second:  {busy:5.2f}% of one core "
          f"({args.clips} clips; only the labelled row is re-read)")
    ratio = watching / max(baseline, 1e-3)
    print(f"watcher cost idle: {watching - baseline:+.2f} points of one core; ratio {ratio:.2f}x")


if __name__ == "__main__":
    main()
