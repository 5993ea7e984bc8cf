"""Clip switch: from load_clip on the player and the waveform to first frame and curve painted.

A window holds a PlayerWidget above a WaveformPane (offscreen Qt, real paints). Each switch
calls `load_clip` on both and runs the event loop until the new clip's first frame has been
painted and its waveform curve set and painted. Caches (the decoded-audio cache and the video
packet index) are cleared before every switch, so each one is a cold load of a clip from the
OS page cache: what a curator moving to a new clip gets. Median of 30 switches between 4
clips of 5 s at 640x360 (target < 50 ms); `--quick` does 10.

Baseline, in the same run and the same kind of widgets: the naive player that decodes every
frame and the whole audio track on the GUI thread before showing anything, then plots the raw
samples.

    python benchmarks/bench_clip_switch.py [--switches 30] [--quick]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("MMLA_STUDIO_AUDIO", "off")  # what is timed is decoding and painting
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication, QVBoxLayout, QWidget

CLIPS = 4
TIMEOUT_S = 10.0


class PaintCounter(QObject):
    """Counts paint events of a widget (the waveform's viewport)."""

    def __init__(self, widget: QWidget) -> None:
        super().__init__(widget)
        self.count = 0
        widget.installEventFilter(self)

    def eventFilter(self, _obj, event) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.count += 1
        return False


def make_clips(folder: Path) -> list[Path]:
    from mmla_core.media.synth import make_clip

    texts = ["switching to the next clip", "a second speaker", "third one here", "and a fourth"]
    return [make_clip(folder / f"clip{i}.mp4", text=texts[i], duration_s=5.0, width=640,
                      height=360, seed=i) for i in range(CLIPS)]


def clear_caches() -> None:
    from mmla_app.player.audio_output import clear_audio_cache
    from mmla_core.media import decode

    clear_audio_cache()
    decode._video_index_cached.cache_clear()


def wait(app: QApplication, condition) -> None:
    end = time.perf_counter() + TIMEOUT_S
    while not condition():
        app.processEvents()
        if time.perf_counter() > end:
            raise TimeoutError("clip switch did not finish")


class Ours:
    """PlayerWidget + WaveformPane, as the main window uses them."""

    def __init__(self) -> None:
        from mmla_app.player.player_widget import PlayerWidget
        from mmla_app.player.waveform_pane import WaveformPane

        self.window = QWidget()
        self.player, self.wave = PlayerWidget(), WaveformPane()
        layout = QVBoxLayout(self.window)
        layout.addWidget(self.player, 3)
        layout.addWidget(self.wave, 1)
        self.wave_paints = PaintCounter(self.wave.plot.viewport())
        self.wave.loaded.connect(self._on_loaded)
        self.player.frame_shown.connect(self._on_frame)
        self.window.resize(800, 600)
        self.window.show()
        self.loaded_at = self.frame_at = None

    def _on_loaded(self, _duration: float) -> None:
        self.loaded_at = self.wave_paints.count

    def _on_frame(self, index: int, _t: float) -> None:
        if index == 0:
            self.frame_at = self.player.view.paint_count

    def switch(self, app: QApplication, path: Path) -> float:
        clear_caches()
        self.loaded_at = self.frame_at = None
        start = time.perf_counter()
        self.player.load_clip(path)
        self.wave.load_clip(path)
        wait(app, self.done)
        return (time.perf_counter() - start) * 1000

    def done(self) -> bool:
        frame = self.frame_at is not None and self.player.view.paint_count > self.frame_at
        curve = self.loaded_at is not None and self.wave_paints.count > self.loaded_at
        return frame and curve

    def close(self) -> None:
        self.player.close_clip()
        self.window.close()


class Naive:
    """Decode everything on the GUI thread first, then show frame 0 and plot every sample."""

    def __init__(self) -> None:
        import pyqtgraph as pg

        from mmla_app.player.player_widget import VideoView

        self.window = QWidget()
        self.view, self.plot = VideoView(), pg.PlotWidget()
        self.curve = self.plot.plot(pen="b")
        layout = QVBoxLayout(self.window)
        layout.addWidget(self.view, 3)
        layout.addWidget(self.plot, 1)
        self.plot_paints = PaintCounter(self.plot.viewport())
        self.window.resize(800, 600)
        self.window.show()

    def switch(self, app: QApplication, path: Path) -> float:
        from PySide6.QtGui import QImage

        from mmla_app.player.frame_source import _FAST_FORMAT
        from mmla_core.media.decode import decode_audio, open_media

        clear_caches()
        start = time.perf_counter()
        fmt, qt_format = _FAST_FORMAT or ("rgb24", QImage.Format.Format_RGB888)
        with open_media(path) as container:
            frames = [f.to_ndarray(format=fmt) for f in container.decode(video=0)]
        images = [QImage(f.data, f.shape[1], f.shape[0], f.strides[0], qt_format).copy()
                  for f in frames]
        audio = decode_audio(path)
        self.view.set_frame(0, images[0])
        self.curve.setData(np.arange(audio.size) / 16000, audio)
        paints, painted = self.plot_paints.count, self.view.paint_count
        wait(app, lambda: self.plot_paints.count > paints and self.view.paint_count > painted)
        return (time.perf_counter() - start) * 1000

    def close(self) -> None:
        self.window.close()


def run(kind, app: QApplication, clips: list[Path], switches: int) -> list[float]:
    widget = kind()
    try:
        widget.switch(app, clips[-1])  # warm-up: imports, first paint, device probing
        return [widget.switch(app, clips[i % len(clips)]) for i in range(switches)]
    finally:
        widget.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--switches", type=int, default=30)
    parser.add_argument("--quick", action="store_true", help="10 switches, 5 for the baseline")
    args = parser.parse_args()
    switches = 10 if args.quick else args.switches
    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory(prefix="mmla-switch-") as tmp:
        clips = make_clips(Path(tmp))
        ours = run(Ours, app, clips, switches)
        naive = run(Naive, app, clips, max(5, switches // 3))
    ours_median, naive_median = statistics.median(ours), statistics.median(naive)
    p90 = float(np.percentile(ours, 90))
    print(f"ours:  median {ours_median:.1f} ms, p90 {p90:.1f} ms, max {max(ours):.1f} ms "
          f"over {len(ours)} cold switches")
    print(f"naive: median {naive_median:.1f} ms over {len(naive)} switches")
    verdict = "PASS" if ours_median < 50 else "FAIL"
    print(f"RESULT clip_switch: clip=5s 640x360 25fps switches={len(ours)} "
          f"median_ms={ours_median:.1f} p90_ms={p90:.1f} target_ms<50 {verdict} "
          f"baseline=naive_decode_all_then_show median_ms={naive_median:.1f} "
          f"ratio={naive_median / ours_median:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
