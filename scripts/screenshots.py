"""Take the user guide's screenshots from the running app on the demo project (offscreen is fine).

    .venv/bin/python scripts/screenshots.py              # every shot, into docs/img/
    .venv/bin/python scripts/screenshots.py --only probe --out /tmp/shots
    .venv/bin/python scripts/screenshots.py --list

The demo is imported into a throw-away database and data folder, so the user's project is never
touched; the probe and results shots build a tiny random Qwen2.5-Omni (no download, predictions
are noise, the pictures show the layout). Each shot is one function registered with `@shot`:
to add one, write a function that takes the `Studio` and returns the saved path. Shots run in the
order they are defined and share one window, so a later shot sees what an earlier one made.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "docs" / "img"
WINDOW_SIZE = (1600, 960)
SCREEN_SIZE = (1600, 1000)
CLIP_ROW = 0  # demo_01
CLIP_AT_S = 1.2  # seconds into the clip: the speaker mid-word
TINY_MODEL = "tiny-omni"
PROBE_TASK = "MELD"
ANNOTATOR = "ana"


@dataclass
class Studio:
    """The running app on a throw-away demo project, shared by every shot."""

    app: object
    window: object
    db_path: Path
    workdir: Path
    out_dir: Path
    extras: dict = field(default_factory=dict)

    def save(self, widget, name: str) -> Path:
        self.window.statusBar().clearMessage()  # transient notices ("no sound device", ...)
        path = self.out_dir / f"{name}.png"
        if not widget.grab().save(str(path)):
            raise OSError(f"could not write {path}")
        return path


SHOTS: dict[str, Callable[[Studio], Path]] = {}


def shot(name: str):
    """Register a shot; its PNG is docs/img/<name>.png."""
    def register(func: Callable[[Studio], Path]) -> Callable[[Studio], Path]:
        SHOTS[name] = func
        return func
    return register


# --- waiting for the app (the event loop must run, worker threads must get the GIL) -------------

def wait_until(predicate: Callable[[], bool], what: str, timeout_s: float = 120.0) -> None:
    """Run the event loop until `predicate()` holds (QEventLoop.exec lets worker threads run;
    a QTest.qWait polling loop keeps the GIL and starves them)."""
    from PySide6.QtCore import QEventLoop, QTimer

    if predicate():
        return
    loop, poll = QEventLoop(), QTimer()
    deadline = time.monotonic() + timeout_s
    poll.timeout.connect(lambda: (predicate() or time.monotonic() > deadline) and loop.quit())
    poll.start(20)
    loop.exec()
    poll.stop()
    if not predicate():
        raise TimeoutError(f"timed out waiting for {what}")


def settle(ms: int = 300) -> None:
    """Let queued repaints and signal hops land before a grab."""
    deadline = time.monotonic() + ms / 1000
    wait_until(lambda: time.monotonic() > deadline, "a repaint")


def select_clip(studio: Studio, row: int = CLIP_ROW, at_s: float = CLIP_AT_S) -> None:
    """Select a row, wait for its frame, waveform and labels, then show the frame at `at_s`."""
    window = studio.window
    wait_until(lambda: window.browser.model.rowCount() > 0, "the clip list")
    window.browser.table.setFocus()
    window.browser.table.select_position(min(row, window.browser.model.rowCount() - 1))
    wait_until(lambda: window.player.is_ready() and window.waveform.point_count() > 0,
               "the clip's frame and waveform")
    window.player.seek(at_s)
    frame = window.player.current_frame_index()
    wait_until(lambda: window.player.shown_frame_index() == frame, "the frame at the seek")
    wait_until(lambda: not window.runner.busy, "background jobs")


def tiny_model(studio: Studio) -> str:
    """Build and register a tiny random Qwen2.5-Omni once per session; returns its name."""
    if "model" not in studio.extras:
        from mmla_core.models.registry import inspect_model
        from mmla_core.models.tiny import build_tiny
        from mmla_core.store.db import open_store
        from mmla_core.store.results import add_model

        folder = build_tiny(studio.workdir / "tiny-omni", "qwen2_5_omni")
        check = inspect_model(folder)
        with open_store(studio.db_path) as store:
            add_model(store, TINY_MODEL, check.family, str(check.path),
                      weights_hash=check.weights_hash, random_weights=True)
        studio.extras["model"] = TINY_MODEL
    return studio.extras["model"]


def widen_side_panel(studio: Studio, share: float) -> None:
    """Give the right-hand tabs `share` of the window (the Probe matrix needs room)."""
    width = studio.window.width()
    side = int(width * share)
    browser = int((width - side) * 0.45)
    studio.window.splitter.setSizes([browser, width - side - browser, side])


# --- the shots ------------------------------------------------------------------------------------

@shot("main_window")
def main_window(studio: Studio) -> Path:
    """Curating: the clip browser, the player on a clip, the waveform, labels and checks."""
    studio.window.side_tabs.setCurrentIndex(0)
    select_clip(studio)
    settle()
    return studio.save(studio.window, "main_window")


@shot("variants")
def variants(studio: Studio) -> Path:
    """The Variants tab after "MMA-Bench set" built the clip's conflict variants."""
    window = studio.window
    select_clip(studio)
    panel = window.variants
    window.side_tabs.setCurrentWidget(panel)
    wait_until(lambda: panel.mmabench_button.isEnabled(), "the variants panel")
    built: list[int] = []
    panel.variants_changed.connect(built.append)
    panel.mmabench_button.click()
    wait_until(lambda: bool(built), "the MMA-Bench variants", timeout_s=180)
    wait_until(lambda: panel.variant_list.count() >= 5, "the variant list")
    wait_until(lambda: not window.runner.busy, "the clip list reload")
    settle(600)
    return studio.save(window, "variants")


@shot("probe")
def probe(studio: Studio) -> Path:
    """The Probe tab: six scenarios x three questions answered by a (tiny) model."""
    window = studio.window
    tiny_model(studio)
    panel = window.probe
    window.side_tabs.setCurrentWidget(panel)
    widen_side_panel(studio, 0.42)
    select_clip(studio)
    panel.set_clip(window.current_row.id)  # reload its choices: the model was just added
    wait_until(lambda: panel.model_combo.count() > 0 and panel.task_combo.count() > 0,
               "the probe's model and task lists")
    panel.task_combo.setCurrentIndex(max(panel.task_combo.findData(PROBE_TASK), 0))
    panel.result = None
    panel.run_button.click()
    wait_until(lambda: panel.result is not None, "the probe", timeout_s=600)
    panel.matrix.setCurrentCell(1, 0)  # audio swap x task question: its label bars show
    settle(600)
    return studio.save(window, "probe")


@shot("results")
def results(studio: Studio) -> Path:
    """Tools > Results: two evaluation runs with MMA-Bench's conflict variants (audio heard vs
    not), compared per variant."""
    from PySide6.QtCore import Qt

    from mmla_app.evaluate.results_view import ResultsView
    from mmla_core.eval.runs import run_evaluation

    model = tiny_model(studio)
    runs = [run_evaluation(studio.db_path, model=model, task=PROBE_TASK, dataset="demo",
                           split="test", variants="mmabench", name=name,
                           settings={"num_frames": 2, "audio_on": audio})
            for name, audio in (("audio on", True), ("audio off", False))]
    view = ResultsView(studio.window.project, studio.window)
    view.setWindowFlag(Qt.WindowType.Window)
    view.resize(1500, 760)
    view.show()
    wait_until(lambda: view.runs_table.rowCount() >= 2, "the runs list")
    shown: list = []
    view.compared.connect(shown.append)
    view.select_runs(runs)
    wait_until(lambda: bool(shown), "the comparison")
    settle(600)
    path = studio.save(view, "results")
    view.close()
    return path


@shot("train_dialog")
def train_dialog(studio: Studio) -> Path:
    """Tools > Train LoRA…: the form filled for MELD on the demo, with Preview's samples."""
    from mmla_app.actions import open_train_dialog
    from mmla_core.train.config import TrainConfig

    window = studio.window
    tiny_model(studio)
    open_train_dialog(window)
    dialog = window.train_dialog
    wait_until(lambda: dialog.form.model_combo.count() > 0, "the dialog's models")
    wait_until(lambda: dialog.form.task_list.count() > 0, "the dataset's tasks")
    dialog.form.set_config(TrainConfig(
        name="demo-meld-sft", model=TINY_MODEL, tasks=[PROBE_TASK], dataset="demo",
        max_steps=40, eval_every=8, save_every=20, frames=2, fps=2.0, max_pixels=56 * 56,
        learning_rate=1e-3, warmup_ratio=0.1, device="cpu", lora_rank=8))
    shown: list = []
    dialog.previewed.connect(shown.append)
    dialog.preview_button.click()
    wait_until(lambda: bool(shown), "the sample preview")
    settle(400)
    studio.extras["train_dialog"] = dialog
    return studio.save(dialog, "train_dialog")


@shot("training")
def training(studio: Studio) -> Path:
    """The Training tab watching the run launched from the dialog until it ends."""
    from mmla_core.store.db import open_store

    window = studio.window
    if "train_dialog" not in studio.extras:
        train_dialog(studio)
    dialog = studio.extras.pop("train_dialog")
    launched: list[int] = []
    dialog.launched.connect(launched.append)
    dialog.launch_button.click()
    wait_until(lambda: bool(launched), "the launch")
    dialog.close()

    def ended() -> bool:
        with open_store(studio.db_path) as store:
            status = store.scalar("SELECT status FROM training_jobs WHERE id = ?",
                                  (launched[0],))
        return status in ("done", "stopped", "failed")

    wait_until(ended, "the training run", timeout_s=900)
    widen_side_panel(studio, 0.36)
    window.side_tabs.setCurrentWidget(window.training)
    window.training.select_job(launched[0])
    settle(2500)  # two polls: the final events and the log
    return studio.save(window, "training")


# --- running ----------------------------------------------------------------------------------

def open_studio(db_path: Path, workdir: Path, out_dir: Path) -> Studio:
    from PySide6.QtWidgets import QApplication

    from mmla_app import settings
    from mmla_app.main import DESKTOP_FILE, set_app_identity
    from mmla_app.main_window import MainWindow
    from mmla_app.theme import apply_theme

    app = QApplication.instance() or QApplication([DESKTOP_FILE])
    set_app_identity(app)
    apply_theme(app)
    settings.set_annotator(ANNOTATOR)  # in the throw-away settings folder
    window = MainWindow(db_path, demo=True)
    window.resize(*WINDOW_SIZE)
    window.show()
    wait_until(lambda: window.browser.model.rowCount() > 0, "the demo project")
    return Studio(app, window, db_path, workdir, out_dir)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for the PNGs")
    parser.add_argument("--only", default="", help="comma-separated shot names (default: all)")
    parser.add_argument("--list", action="store_true", help="list the shots and exit")
    args = parser.parse_args(argv)
    args.names = [n.strip() for n in args.only.split(",") if n.strip()] or list(SHOTS)
    unknown = [n for n in args.names if n not in SHOTS]
    if unknown:
        parser.error(f"unknown shot(s) {unknown}; known: {', '.join(SHOTS)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list:
        for name, func in SHOTS.items():
            print(f"{name:14} {(func.__doc__ or '').strip()}")
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mmla-shots-") as tmp:
        if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
            from layout_check import configure_screen  # scripts/ is on the path

            # a screen as large as the shots (offscreen's default is 800x800, and windows
            # open no larger than their screen)
            configure_screen(*SCREEN_SIZE, Path(tmp))
        os.environ["MMLA_STUDIO_HOME"] = tmp
        os.environ.setdefault("XDG_CONFIG_HOME", str(Path(tmp) / "config"))
        studio = open_studio(Path(tmp) / "demo.sqlite", Path(tmp), args.out)
        try:
            for name in args.names:
                started = time.monotonic()
                path = SHOTS[name](studio)
                print(f"{name}: wrote {path} ({time.monotonic() - started:.1f} s)", flush=True)
        finally:
            studio.window.close()
            studio.window.runner.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
