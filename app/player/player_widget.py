"""The player: the clip's picture and a transport bar, slaved to one master clock.

The clock is the sound card's (`AudioClock`, fed by `AudioOutput`) whenever there is a device
and the clip has sound, else the wall clock (`WallClock`), with one notice saying so. A ~60 Hz
timer reads the clock and shows `FrameClock.time_to_frame(position)`: the picture follows the
sound, never the other way round. Every seek goes through the clock, so seeking from any pane
(waveform click, keys, transcript) moves the picture and, through `position_changed`, every
other pane. Frames come from `FrameSource` (a worker thread); the clip's audio from a pool job.

The picture is painted from QImages by a plain QWidget: QVideoWidget cannot be grabbed offscreen
and has its own clock, which is exactly what this design avoids.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PySide6.QtCore import QCoreApplication, Qt, QTimer, Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QHBoxLayout, QLabel, QStyle, QToolButton, QVBoxLayout, QWidget
from superqt.utils import create_worker

from mmla_app.player.audio_output import NO_DEVICE_NOTICE, ClipAudio, load_audio_and_device
from mmla_app.player.frame_source import NO_CLIP_TEXT, FrameSource, VideoInfo, VideoView
from mmla_core.media.playback import (
    AudioClock,
    PlaybackClock,
    WallClock,
    clamp_speed,
    step_speed,
)

__all__ = ["PlayerWidget", "VideoView", "format_clock"]

TICK_MS = 16  # ~60 Hz: a 25-50 fps frame change is never more than one tick late
AUDIO_ONLY_TEXT = "Audio only: this clip has no video"
LOADING_TEXT = "Loading {name}…"  # until the new clip's first frame (or its error) arrives
PRESENTATIONS = {  # how an alignment check shows the clip (mmla_core.checks SHOWN keys)
    "full": "",
    "muted": "sound muted",
    "black_frames": "frames hidden",
}




def format_clock(seconds: float) -> str:
    """MM:SS.mmm (minutes grow past 59 rather than adding hours)."""
    millis = round(max(seconds, 0.0) * 1000)
    return f"{millis // 60000:02d}:{millis // 1000 % 60:02d}.{millis % 1000:03d}"


class _Teardown:
    """Stops the decoder thread and the sound stream if the widget is deleted unclosed.

    Holds no reference to the widget: it runs from `destroyed`, when the C++ side is gone.
    """

    def __init__(self, frames: FrameSource) -> None:
        self.frames = frames
        self.output = None

    def __call__(self, *_args) -> None:
        self.frames.close()
        if self.output is not None:
            self.output.close()
            self.output = None


class PlayerWidget(QWidget):
    """Video + transport for one clip at a time; the public API the main window drives."""

    position_changed = Signal(float)
    playing_changed = Signal(bool)
    frame_shown = Signal(int, float)  # frame index, its time
    notice = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.auto_play = False  # play as soon as a newly loaded clip is ready (a setting)
        self._frames = FrameSource(self)
        self._frames.opened.connect(self._on_video_opened)
        self._frames.failed.connect(self._on_video_failed)
        self._frames.frame_ready.connect(self._on_frame_ready)
        self._audio_clock = AudioClock()
        self._wall_clock = WallClock()
        self._clock: PlaybackClock = self._wall_clock
        self._output = None
        self._output_state = "unknown"  # unknown | opening | ready | none
        self._told_silent = False
        self.silent_reason = ""  # why there is no sound output, when there is none
        self._gen = 0
        self._jobs: set = set()
        self._timer = QTimer(self, interval=TICK_MS, timerType=Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._tick)
        self._speed = 1.0
        self._presentation = "full"
        self._reset_clip_state(None, 0.0)
        self._build()
        self._teardown = _Teardown(self._frames)
        self.destroyed.connect(self._teardown)
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.close_clip)

    def _reset_clip_state(self, path: Path | None, duration_hint: float) -> None:
        self._path = path
        self._duration_hint = duration_hint
        self._video: VideoInfo | None = None
        self._video_state = "loading" if path is not None else "none"  # loading|ok|none
        self._audio: ClipAudio | None = None
        self._ready = False
        self._play_when_ready = False
        self._pending_seek: float | None = None
        self._selection: tuple[float, float] | None = None
        self._loop_on = False
        self._shown_index = -1
        self._wanted = 0
        self._last_pos: float | None = None

    def _build(self) -> None:
        self.view = VideoView(self)
        self.play_button = QToolButton(self, autoRaise=True)
        self.play_button.setToolTip("Play / pause")
        self.play_button.clicked.connect(self.toggle_play)
        self.time_label = QLabel(self, objectName="playerTime")
        self.speed_label = QLabel("1×", self, objectName="playerSpeed")
        self.speed_label.setToolTip("Playback speed (pitch follows speed)")
        self.loop_label = QLabel(self, objectName="playerLoop")
        self.presentation_label = QLabel(self, objectName="playerPresentation")
        bar = QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 2)
        bar.addWidget(self.play_button)
        bar.setSpacing(12)
        bar.addWidget(self.time_label, 1)
        bar.addWidget(self.presentation_label)
        bar.addWidget(self.loop_label)
        bar.addWidget(self.speed_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.view, 1)
        layout.addLayout(bar)
        self._refresh_bar()

    # --- loading ------------------------------------------------------------------------------

    def load_clip(self, path: Path | None, *, duration_s: float | None = None) -> None:
        """Show and get ready to play `path` (None: no clip). Returns at once; frames follow."""
        was_playing = self.is_playing()
        self._halt()
        self._gen += 1
        target = Path(path) if path is not None else None
        self._reset_clip_state(target, float(duration_s or 0.0))
        for clock in (self._audio_clock, self._wall_clock):
            clock.reset(self._duration_hint)
        self._frames.open(target)
        if target is None:
            self.view.set_message(NO_CLIP_TEXT)
        else:  # never leave the last clip's frame or error up while this one loads
            self.view.set_message(LOADING_TEXT.format(name=target.name))
            self._start_audio_job(target)
        self._refresh_bar()
        if was_playing:
            self.playing_changed.emit(False)

    def close_clip(self) -> None:
        """Unload the clip, stop the sound stream and the decoding thread."""
        was_playing = self.is_playing()
        self._halt()
        self._gen += 1
        self._reset_clip_state(None, 0.0)
        self._frames.close()
        if self._output is not None:
            self._output.close()
        self._output, self._output_state = None, "unknown"
        self._teardown.output = None
        self._clock = self._wall_clock
        self._wall_clock.reset(0.0)
        self.view.set_message(NO_CLIP_TEXT)
        self._refresh_bar()
        if was_playing:
            self.playing_changed.emit(False)

    def _start_audio_job(self, path: Path) -> None:
        open_device = self._output_state == "unknown"
        if open_device:
            self._output_state = "opening"
        worker = create_worker(load_audio_and_device, self._gen, path, self._audio_clock,
                               open_device, _start_thread=False, _ignore_errors=True)
        worker.returned.connect(self._on_audio_job)
        worker.finished.connect(lambda: self._jobs.discard(worker))
        self._jobs.add(worker)
        worker.start()

    def _on_audio_job(self, result) -> None:
        gen, audio, device = result
        if device is not None:
            self._take_output(*device)
        if gen == self._gen:
            self._audio = audio
        self._maybe_ready()

    def _take_output(self, output, reason: str) -> None:
        if self._path is None and output is not None:  # closed while it was opening
            output.close()
            output = None
        self._output = self._teardown.output = output
        self._output_state = "ready" if output is not None else "none"
        if output is not None:
            output.muted = self._presentation == "muted"
        if output is None:
            self.silent_reason = reason

    def _on_video_opened(self, info: VideoInfo) -> None:
        self._video, self._video_state = info, "ok"
        self._maybe_ready()

    def _on_video_failed(self, message: str) -> None:
        if self._video_state != "loading":
            self.notice.emit(message)  # a frame that would not decode mid-clip
            return
        self._video_state = "none"
        no_stream = "no video stream" in message
        self.view.set_message(AUDIO_ONLY_TEXT if no_stream else f"No video: {message}")
        self._maybe_ready()

    def _maybe_ready(self) -> None:
        if self._ready or self._path is None or self._video_state == "loading":
            return
        if self._audio is None or self._output_state == "opening":
            return
        self._ready = True
        has_sound = self._audio.samples is not None
        if has_sound and self._output is None and not self._told_silent:
            self._told_silent = True
            self.notice.emit(NO_DEVICE_NOTICE)
        if self._video is None and not has_sound:
            self.notice.emit(f"Nothing to play: {self._audio.error or self._path}")
        self._clock = self._audio_clock if has_sound and self._output else self._wall_clock
        if self._clock is self._audio_clock:
            self._output.set_source(self._audio.samples, self._audio.rate)
        self._clock.reset(self._duration())
        self._clock.set_speed(self._speed)
        self._apply_loop()
        if self._pending_seek is not None:
            self._clock.seek(self._pending_seek)
        self._show_position(self._clock.position())
        if self._play_when_ready or self.auto_play:
            self.play()

    def _duration(self) -> float:
        video_end = self._video.end_s if self._video is not None else 0.0
        audio_end = self._audio.duration_s if self._audio is not None else 0.0
        return max(video_end, audio_end) or self._duration_hint

    # --- transport ----------------------------------------------------------------------------

    def play(self) -> None:
        if not self._ready:
            self._play_when_ready = self._path is not None
            return
        if self._clock.playing:
            return
        self._clock.play()
        if self._clock is self._audio_clock:
            self._output.start()
        self._timer.start()
        self._playing_now(True)

    def pause(self) -> None:
        self._play_when_ready = False
        if not self._ready or not self._clock.playing:
            return
        self._halt()
        self._show_position(self._clock.position())
        self._playing_now(False)

    def toggle_play(self) -> None:
        if self.is_playing() or self._play_when_ready:
            self.pause()
        else:
            self.play()

    def _halt(self) -> None:
        """Stop sound and ticks (no signals): pause, clip switch, close."""
        self._timer.stop()
        if self._output is not None:
            self._output.stop()
        self._clock.pause()
        self._frames.set_playing(False)

    def _playing_now(self, playing: bool) -> None:
        self._frames.set_playing(playing and self.is_playing())
        self._refresh_bar()
        self.playing_changed.emit(playing)

    def seek(self, t: float) -> None:
        """Go to media time `t` (clamped to the clip); playing goes on from there."""
        if not math.isfinite(t):
            return
        if not self._ready:
            self._pending_seek = t
            return
        audio_running = self._clock is self._audio_clock and self._clock.playing
        if audio_running:
            self._output.stop()  # drop the queued old audio: the seek is heard at once
        self._clock.seek(t)
        if audio_running:
            self._output.start()
        self._show_position(self._clock.position())

    def jump(self, seconds: float) -> None:
        self.seek(self.position() + seconds)

    def step_frames(self, n: int) -> None:
        """Pause and show the frame `n` frames away, exactly (at its own timestamp)."""
        if not self._ready or self._video is None:
            return
        self.pause()
        frames = self._video.clock
        target = int(np.clip(self.current_frame_index() + int(n), 0, len(frames) - 1))
        self.seek(frames.frame_to_time(target))

    def set_speed(self, x: float) -> None:
        self._speed = clamp_speed(x)
        self._clock.set_speed(self._speed)
        self._refresh_bar()

    def speed_up(self) -> None:
        self.set_speed(step_speed(self._speed, +1))

    def speed_down(self) -> None:
        self.set_speed(step_speed(self._speed, -1))

    def speed(self) -> float:
        return self._speed

    # --- loop ---------------------------------------------------------------------------------

    def set_loop(self, t0: float | None, t1: float | None) -> None:
        """Loop [t0, t1) from now on (None, None: stop looping and forget the range)."""
        if t0 is None or t1 is None:
            self._selection, self._loop_on = None, False
        else:
            self._selection, self._loop_on = (min(t0, t1), max(t0, t1)), True
        self._apply_loop(enter=True)

    def set_selection(self, selection: tuple[float, float] | None) -> None:
        """The range `toggle_loop` loops (wire WaveformPane.selection_changed here)."""
        self._selection = None if selection is None else (min(selection), max(selection))
        if self._loop_on and self._selection is None:
            self._loop_on = False
        self._apply_loop()

    def toggle_loop(self) -> None:
        """Loop the current selection (the whole clip when none), or stop looping."""
        self._loop_on = not self._loop_on
        self._apply_loop(enter=self._loop_on)

    def loop_range(self) -> tuple[float, float] | None:
        loop = self._clock.loop if self._ready else None
        return None if loop is None else (loop.t0, loop.t1)

    def _apply_loop(self, *, enter: bool = False) -> None:
        if self._ready:
            region = self._selection or (0.0, self._clock.duration)
            loop = self._clock.set_loop(*region) if self._loop_on else self._clock.set_loop(
                None, None)
            pin = None if loop is None or self._video is None else (
                self._video.clock.time_to_frame(loop.t0))
            self._frames.pin(pin)
            if enter and loop is not None and not loop.t0 <= self.position() < loop.t1:
                self.seek(loop.t0)  # start the loop from its beginning
        self._refresh_bar()

    # --- presentation (alignment checks) -------------------------------------------------------

    def set_presentation(self, shown: str) -> None:
        """Show the clip as an alignment check needs: "full", "muted" (picture, no sound) or
        "black_frames" (sound, frames painted black). Unknown keys mean "full". The clock, the
        position and the frame tracking are the same in every mode."""
        self._presentation = shown if shown in PRESENTATIONS else "full"
        self.view.set_blackout(self._presentation == "black_frames")
        if self._output is not None:
            self._output.muted = self._presentation == "muted"
        self._refresh_bar()

    def presentation(self) -> str:
        return self._presentation

    # --- state --------------------------------------------------------------------------------

    def position(self) -> float:
        if not self._ready:
            return self._pending_seek or 0.0
        return self._clock.position()

    def duration(self) -> float:
        return self._clock.duration if self._ready else self._duration_hint

    def is_playing(self) -> bool:
        return self._ready and self._clock.playing

    def current_frame_index(self) -> int:
        """The frame for the clock's time (-1 without video); the one shown, once painted."""
        if self._video is None:
            return -1
        return self._video.clock.time_to_frame(self.position())

    def shown_frame_index(self) -> int:
        return self._shown_index

    def clock_kind(self) -> str:
        return self._clock.kind

    def is_ready(self) -> bool:
        return self._ready

    def output(self):
        """The AudioOutput in use (None without a device): benchmarks read its state."""
        return self._output

    # --- the tick -----------------------------------------------------------------------------

    def _tick(self) -> None:
        position = self._clock.position()
        if not self._clock.playing:  # ran off the end of the clip
            self._halt()
            self._playing_now(False)
        self._show_position(position)

    def _show_position(self, position: float) -> None:
        if self._video is not None:
            index = self._video.clock.time_to_frame(position)
            self._wanted = index
            if index != self._shown_index:
                image = self._frames.frame(index)
                if image is not None:
                    self._show_frame(index, image)
        if position != self._last_pos:
            self._last_pos = position
            self.position_changed.emit(position)
        self._refresh_time(position)

    def _on_frame_ready(self, index: int, image: QImage) -> None:
        if index == self._wanted and index != self._shown_index:
            self._show_frame(index, image)

    def _show_frame(self, index: int, image: QImage) -> None:
        self._shown_index = index
        self.view.set_frame(index, image)
        self.frame_shown.emit(index, self._video.clock.frame_to_time(index))

    # --- transport bar ------------------------------------------------------------------------

    def _refresh_bar(self) -> None:
        icon = (QStyle.StandardPixmap.SP_MediaPause if self.is_playing()
                else QStyle.StandardPixmap.SP_MediaPlay)
        self.play_button.setIcon(self.style().standardIcon(icon))
        self.speed_label.setText(f"{self._speed:g}×")
        self.presentation_label.setText(PRESENTATIONS[self._presentation])
        self.presentation_label.setVisible(self._presentation != "full")
        loop = self.loop_range()
        self.loop_label.setVisible(loop is not None)
        if loop is not None:
            self.loop_label.setText(f"⟲ {format_clock(loop[0])}–{format_clock(loop[1])}")
        self._refresh_time(self.position())

    def _refresh_time(self, position: float) -> None:
        text = f"{format_clock(position)} / {format_clock(self.duration())}"
        if self._video is not None:
            index = self._video.clock.time_to_frame(position)
            text += f" · frame {index}/{len(self._video.clock)}"
        if text != self.time_label.text():
            self.time_label.setText(text)

    def closeEvent(self, event) -> None:
        self.close_clip()
        super().closeEvent(event)
