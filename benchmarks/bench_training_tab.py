"""CPU of the whole Training tab (poll + GUI update + drawing) watching a running job.

A writer process adds ~10 events/s and 10 log lines/s to a job that already has a long history
(20,000 events by default); the tab is shown offscreen with a real event loop. Baseline, in the
same process: the same event loop for the same time with no tab (what Qt costs idle). Printed:
CPU of each as % of one core (target for the tab: under 2%).

    python benchmarks/bench_training_tab.py [--history 20000] [--seconds 15]
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
db, job, step, log, seconds = sys.argv[1:6]
job, step, seconds = int(job), int(step), float(seconds)
conn = sqlite3.connect(db, timeout=30, isolation_level=None)
with open(log, "a") as f:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        step += 1
        conn.execute("INSERT INTO training_events (job_id, step, kind, loss, samples_per_s) "
                     "VALUES (?, ?, 'train', ?, 3.0)", (job, step, 1.0 / step))
        f.write(f"step {step}\\n"); f.flush()
        time.sleep(0.1)
"""


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _spin(seconds: float) -> None:
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def _percent_of_core(seconds: float) -> float:
    c0, t0 = _cpu(), time.perf_counter()
    _spin(seconds)
    return 100 * (_cpu() - c0) / (time.perf_counter() - t0)


def _running_job(root: Path, history: int) -> tuple[Path, int]:
    from mmla_core.store.db import open_store
    from mmla_core.store.jobs import create_job, update_job
    from mmla_core.train.config import TrainConfig

    db = root / "bench.sqlite"
    with open_store(db) as store:
        config = TrainConfig(name="bench", model="m", tasks=["MELD"], max_steps=10 * history)
        job = create_job(store, "bench", config.to_dict(), str(root))
        update_job(store, job, status="running", pid=os.getpid(),
                   log_path=str(root / "train.log"))
        rows = [(job, s, "eval" if s % 50 == 0 else "train", 1.0 / s,
                 0.5 if s % 50 == 0 else None) for s in range(1, history + 1)]
        with store.write() as conn:
            conn.executemany("INSERT INTO training_events (job_id, step, kind, loss, "
                             "eval_accuracy) VALUES (?, ?, ?, ?, ?)", rows)
    return db, job


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--history", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args(argv)
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory(prefix="bench-tab-") as tmp:
        root = Path(tmp)
        db, job = _running_job(root, args.history)
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(db), str(job),
                                   str(args.history), str(root / "train.log"),
                                   str(args.seconds * 2 + 10)])
        try:
            baseline = _percent_of_core(args.seconds)
            from mmla_app.runtime.project import Project
            from mmla_app.training.training_panel import TrainingPanel

            panel = TrainingPanel(Project(db, "bench"))
            panel.resize(360, 860)
            panel.show()
            _spin(4)  # the first load of the history is not the steady state
            tab = _percent_of_core(args.seconds)
            points = panel.curves.point_count("loss")
            panel.shutdown()
            _spin(0.5)
        finally:
            writer.kill()
    print(f"history {args.history} events, writer ~10 events/s, {args.seconds:.0f} s each")
    print(f"  baseline (event loop, no tab): {baseline:.2f}% of one core")
    print(f"  Training tab watching the job: {tab:.2f}% of one core  (target < 2%), "
          f"{points} loss points drawn")
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main())
