"""A/V sync: over a whole clip's playback on the audio clock, how far is the picture from the sound?

Plays a 60 s 640x360 25 fps clip (`--quick`: 10 s) through the real player on ALSA's null
device (HOME points at a temp folder whose ~/.asoundrc is `pcm.!default { type null }`, so
PortAudio opens a real stream and the AudioClock is the master). A PlayerWidget and a
WaveformPane are wired as in the main window.

Measured: at every player tick, the shown frame index minus `FrameClock.time_to_frame(audio
clock)` read at that moment (target: never more than 1 frame). Also reported: the same at
independent probe moments (a 7 ms timer unrelated to the player's), which also catches the
times the GUI thread was held up (by other processes on the same cores) and could not repaint.

Baseline, started at the same moment: a free-running frame timer (a QTimer firing every
1/fps that shows the next frame each time, the way a naive player advances), compared with
the same audio clock at the same moments.

    python benchmarks/bench_av_sync.py [--seconds 60] [--quick]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

FPS = 25
PROBE_MS = 7


def point_alsa_at_the_null_device(root: Path) -> None:
    """Before PortAudio loads: a HOME whose ALSA default output is the null device."""
    real_home = Path.home()
    home = root / "home"
    home.mkdir()
    (home / ".asoundrc").write_text("pcm.!default { type null }\n")
    os.environ.setdefault("XDG_CACHE_HOME", str(real_home / ".cache"))  # keep the font cache
    os.environ["HOME"] = str(home)
    os.environ.pop("MMLA_STUDIO_AUDIO", None)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


class Recorder:
    """Drift samples of the player and of the naive frame timer against the audio clock."""

    def __init__(self, player, frames) -> None:
        self.player, self.frames = player, frames
        self.naive_frame = 0
        self.tick: list[int] = []
        self.probe: list[int] = []
        self.naive: list[int] = []
        self.wall_start = self.pos_start = None

    def audio_frame(self) -> int:
        return self.frames.time_to_frame(self.player.position())

    def on_tick(self, _position: float) -> None:
        if self.player.is_playing():
            audio = self.audio_frame()
            self.tick.append(self.player.shown_frame_index() - audio)
            self.naive.append(self.naive_frame - audio)

    def on_probe(self) -> None:
        if self.player.is_playing():
            self.probe.append(self.player.shown_frame_index() - self.audio_frame())

    def on_naive(self) -> None:
        self.naive_frame = min(self.naive_frame + 1, len(self.frames) - 1)


def build(clip: Path):
    from PySide6.QtWidgets import QVBoxLayout, QWidget

    from mmla_app.player.player_widget import PlayerWidget
    from mmla_app.player.waveform_pane import WaveformPane

    window = QWidget()
    player, wave = PlayerWidget(), WaveformPane()
    layout = QVBoxLayout(window)
    layout.addWidget(player, 3)
    layout.addWidget(wave, 1)
    player.position_changed.connect(wave.set_position)
    wave.seek_requested.connect(player.seek)
    window.resize(800, 600)
    window.show()
    player.load_clip(clip)
    wave.load_clip(clip)
    return window, player


def play_through(app, player, frames, seconds: float) -> tuple[Recorder, float, float]:
    from PySide6.QtCore import QEventLoop, Qt, QTimer

    end = time.perf_counter() + 20
    while not player.is_ready() and time.perf_counter() < end:
        app.processEvents()
    if player.clock_kind() != "audio":
        raise SystemExit(f"no audio clock ({player.silent_reason}); is libportaudio2 installed?")
    recorder = Recorder(player, frames)
    naive = QTimer(interval=round(1000 / FPS))  # default coarse timer, as a naive player uses
    naive.timeout.connect(recorder.on_naive)
    probe = QTimer(interval=PROBE_MS, timerType=Qt.TimerType.PreciseTimer)
    probe.timeout.connect(recorder.on_probe)
    player.position_changed.connect(recorder.on_tick)
    loop = QEventLoop()  # a real, sleeping event loop: timers fire as they would in the app
    player.playing_changed.connect(lambda playing: playing or loop.quit())
    QTimer.singleShot(round((seconds + 10) * 1000), loop.quit)
    player.play()
    naive.start()
    probe.start()
    start = time.perf_counter()
    loop.exec()
    wall = time.perf_counter() - start
    naive.stop()
    probe.stop()
    return recorder, wall, player.position()


def worst(samples: list[int]) -> int:
    return max((abs(s) for s in samples), default=0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--quick", action="store_true", help="a 10 s clip")
    args = parser.parse_args()
    seconds = 10.0 if args.quick else args.seconds
    with tempfile.TemporaryDirectory(prefix="mmla-avsync-") as tmp:
        point_alsa_at_the_null_device(Path(tmp))
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from PySide6.QtWidgets import QApplication

        from mmla_core.media.decode import FrameClock
        from mmla_core.media.synth import make_clip

        app = QApplication([])
        clip = make_clip(Path(tmp) / "long.mp4", text="keeping picture and sound together",
                         duration_s=seconds, width=640, height=360, fps=FPS, seed=5)
        frames = FrameClock.from_path(clip)
        window, player = build(clip)
        recorder, wall, position = play_through(app, player, frames, seconds)
        output = player.output()
        paced, underflows = output.paced, output.underflows
        player.close_clip()
        window.close()
    report(recorder, seconds, wall, position, paced, underflows)
    return 0


def report(rec: Recorder, seconds, wall, position, paced, underflows) -> None:
    ours, anytime, naive = worst(rec.tick), worst(rec.probe), worst(rec.naive)
    exact = sum(1 for s in rec.tick if s == 0) / max(len(rec.tick), 1)
    print(f"played {position:.2f} s of a {seconds:g} s clip in {wall:.2f} s wall "
          f"(audio clock / wall = {position / wall:.4f}; null sink paced={paced}, "
          f"underflows={underflows})")
    print(f"ours:  {len(rec.tick)} ticks, worst drift {ours} frame(s), shown == clock frame at "
          f"{exact:.1%} of ticks; {len(rec.probe)} independent probes, worst {anytime}")
    print(f"naive: worst drift {naive} frame(s), at the end {rec.naive[-1] if rec.naive else 0}")
    verdict = "PASS" if ours <= 1 else "FAIL"
    ratio = naive / max(ours, 1)
    print(f"RESULT av_sync: clip={seconds:g}s 640x360 {FPS}fps clock=audio(null ALSA) "
          f"ticks={len(rec.tick)} worst_drift_frames={ours} probe_worst_frames={anytime} "
          f"exact_ticks={exact:.3f} target<=1 {verdict} baseline=free_running_frame_timer "
          f"worst_drift_frames={naive} ratio={ratio:.1f}x")


if __name__ == "__main__":
    raise SystemExit(main())
