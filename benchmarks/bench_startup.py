"""Start-up: from launching Python to the main window shown on a project with the demo clips.

Ours: the real `MainWindow` with lazy heavy imports. Baseline, same run: the same launch after
importing torch, transformers and peft up front (what an app that imports its ML stack at module
level pays). Each is a fresh interpreter; medians over a few runs.

    python benchmarks/bench_startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = """
import os, sys, time
os.environ["QT_QPA_PLATFORM"] = "offscreen"
{preload}
from PySide6.QtWidgets import QApplication
from mmla_app.main_window import MainWindow
app = QApplication([])
window = MainWindow(sys.argv[1], demo=False)
window.show()
app.processEvents()
print("SHOWN", flush=True)
window.close()
window.runner.shutdown()
"""


def launch(db: Path, preload: str) -> float:
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", CHILD.format(preload=preload), str(db)],
                            stdout=subprocess.PIPE, text=True)
    for line in proc.stdout:
        if line.startswith("SHOWN"):
            elapsed = time.perf_counter() - start
            break
    else:
        raise RuntimeError("child never showed its window")
    proc.wait()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from mmla_core.demo import ensure_demo
    from mmla_core.store import open_store

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "p.sqlite"
        with open_store(db) as store:
            ensure_demo(store)
        launch(db, "")  # warm the page cache once
        ours = [launch(db, "") for _ in range(args.runs)]
        eager = [launch(db, "import torch, transformers, peft") for _ in range(args.runs)]
    ours_s, eager_s = statistics.median(ours), statistics.median(eager)
    print(f"window shown: lazy imports {ours_s:.2f} s, eager ML imports {eager_s:.2f} s")
    print(f"RESULT startup: shown_s={ours_s:.2f} eager_ml_s={eager_s:.2f} "
          f"ratio={eager_s / ours_s:.1f}")


if __name__ == "__main__":
    main()
