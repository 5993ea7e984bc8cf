"""Playback clocks: where playback of a clip is, in media seconds, for every pane to follow.

The sound card is the master. `AudioClock.position()` is the media time of the sample leaving
the speaker now: the audio callback's count of output frames, minus the output latency the
device reports, mapped back to media time through the blocks the callback rendered. The picture
and the waveform playhead only ever read this clock, so they cannot drift from what is heard,
whatever the speed, loop or seek history (the A/V-sync complaints of ui_anchors A.3).

`WallClock` is the same transport on `time.perf_counter`, for machines with no sound device.

Both share one transport: play / pause / seek / speed / loop. The loop rule: with a loop
(t0, t1) set, a run of playback that starts before t1 wraps from t1 back to t0; a run that
starts after t1 (the user sought past the loop) plays on to the end. Pure Python and numpy, no
Qt and no sound library, so the arithmetic is tested without hardware; `app/audio_output.py`
feeds an AudioClock from a PortAudio stream.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = [
    "MAX_SPEED",
    "MIN_SPEED",
    "SPEED_STEPS",
    "AudioClock",
    "Loop",
    "PlaybackClock",
    "WallClock",
    "clamp_speed",
    "step_speed",
]

SPEED_STEPS = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0)
MIN_SPEED, MAX_SPEED = SPEED_STEPS[0], SPEED_STEPS[-1]
MIN_LOOP_S = 0.01  # shorter loops would only click: refuse them
HISTORY_S = 0.5  # rendered audio kept for mapping output frames back to media time

Now = Callable[[], float]


def clamp_speed(speed: float) -> float:
    """A playback rate inside [MIN_SPEED, MAX_SPEED] (NaN counts as 1x)."""
    if not math.isfinite(speed):
        return 1.0
    return float(min(max(speed, MIN_SPEED), MAX_SPEED))


def step_speed(speed: float, direction: int) -> float:
    """The next SPEED_STEPS entry above (direction > 0) or below `speed`, clamped at the ends."""
    if direction > 0:
        return next((s for s in SPEED_STEPS if s > speed + 1e-9), MAX_SPEED)
    return next((s for s in reversed(SPEED_STEPS) if s < speed - 1e-9), MIN_SPEED)


@dataclass(frozen=True)
class Loop:
    """A loop region [t0, t1) in media seconds."""

    t0: float
    t1: float

    @property
    def length(self) -> float:
        return self.t1 - self.t0

    def applies(self, run_start: float) -> bool:
        """Whether a run of playback starting at `run_start` is caught by this loop."""
        return run_start < self.t1

    def wrap(self, raw: np.ndarray) -> np.ndarray:
        """Times past t1 folded back into [t0, t1)."""
        return np.where(raw >= self.t1, self.t0 + np.mod(raw - self.t1, self.length), raw)


class PlaybackClock:
    """The shared transport; subclasses say how time runs while playing.

    Thread-safe: the GUI thread drives it, an audio callback thread may feed it.
    """

    kind = ""

    def __init__(self, duration_s: float = 0.0, *, now: Now = time.perf_counter) -> None:
        self._lock = threading.RLock()
        self._now = now
        self._duration = max(float(duration_s), 0.0)
        self._speed = 1.0
        self._loop: Loop | None = None
        self._playing = False
        self._ended = False
        self._pos = 0.0  # the position while paused, or the target of a run not yet audible

    # --- state ------------------------------------------------------------------------------

    @property
    def duration(self) -> float:
        return self._duration

    @property
    def speed(self) -> float:
        return self._speed

    @property
    def loop(self) -> Loop | None:
        return self._loop

    @property
    def playing(self) -> bool:
        """True while running; reading position() at the end of the clip turns it False."""
        with self._lock:
            if self._playing:
                self._running_position(self._now())  # notices the end of the clip
            return self._playing

    @property
    def ended(self) -> bool:
        """True once playback ran off the end (not set by pause or seek)."""
        with self._lock:
            return self._ended

    def position(self) -> float:
        """Media seconds now; stops the clock (ended) when it runs past the clip's end."""
        with self._lock:
            if not self._playing:
                return self._pos
            return self._running_position(self._now())

    # --- transport --------------------------------------------------------------------------

    def reset(self, duration_s: float) -> None:
        """A new clip: paused at 0, no loop; the speed is kept (a curator's setting)."""
        with self._lock:
            self._playing = self._ended = False
            self._duration = max(float(duration_s), 0.0)
            self._pos, self._loop = 0.0, None
            self._stop_run()

    def play(self) -> None:
        with self._lock:
            if self._playing:
                return
            if self._pos >= self._duration:  # at the end: start over (at the loop if any)
                self._pos = self._loop.t0 if self._loop else 0.0
            self._playing, self._ended = True, False
            self._start_run(self._now())

    def pause(self) -> None:
        with self._lock:
            if not self._playing:
                return
            self._pos = self._running_position(self._now())
            self._playing = False
            self._stop_run()

    def seek(self, t: float) -> None:
        with self._lock:
            self._pos = self._clamp(t)
            self._ended = False
            if self._playing:
                self._start_run(self._now())

    def set_speed(self, speed: float) -> float:
        """Set the rate (clamped to 0.5-2x); returns the rate in force."""
        with self._lock:
            self._rebase()
            self._speed = clamp_speed(speed)
            return self._speed

    def set_loop(self, t0: float | None, t1: float | None) -> Loop | None:
        """Loop [t0, t1) (either order); None, or a region under 10 ms, clears the loop."""
        with self._lock:
            self._rebase()
            self._loop = self._make_loop(t0, t1)
            return self._loop

    # --- helpers ----------------------------------------------------------------------------

    def _make_loop(self, t0: float | None, t1: float | None) -> Loop | None:
        if t0 is None or t1 is None:
            return None
        lo, hi = sorted((self._clamp(t0), self._clamp(t1)))
        return Loop(lo, hi) if hi - lo >= MIN_LOOP_S else None

    def _clamp(self, t: float) -> float:
        if not math.isfinite(t):
            return 0.0
        return float(min(max(t, 0.0), self._duration))

    def _finish(self) -> float:
        """Playback ran off the end: stop there."""
        self._playing, self._ended = False, True
        self._pos = self._duration
        self._stop_run()
        return self._duration

    # --- what subclasses define -------------------------------------------------------------

    def _running_position(self, now: float) -> float:
        raise NotImplementedError

    def _start_run(self, now: float) -> None:
        """Playback (re)starts at self._pos."""

    def _stop_run(self) -> None:
        """Playback stopped."""

    def _rebase(self) -> None:
        """Speed or loop is about to change while the clock may be running."""


class WallClock(PlaybackClock):
    """The transport on the computer's monotonic clock: playback without a sound device."""

    kind = "wall"

    def __init__(self, duration_s: float = 0.0, *, now: Now = time.perf_counter) -> None:
        super().__init__(duration_s, now=now)
        self._anchor_wall = 0.0  # perf_counter time at which playback was at self._pos

    def _start_run(self, now: float) -> None:
        self._anchor_wall = now

    def _rebase(self) -> None:
        if self._playing:
            now = self._now()
            self._pos = self._running_position(now)
            self._anchor_wall = now

    def _running_position(self, now: float) -> float:
        raw = self._pos + max(now - self._anchor_wall, 0.0) * self._speed
        if self._loop is not None and self._loop.applies(self._pos):
            return float(self._loop.wrap(np.asarray(raw)))
        if raw >= self._duration:
            return self._finish()
        return raw


@dataclass
class _Block:
    """One audio callback's output: media times (s) of its samples, NaN past the clip's end."""

    start: int  # index of its first frame in the output stream
    times: np.ndarray

    @property
    def stop(self) -> int:
        return self.start + self.times.size


class AudioClock(PlaybackClock):
    """The transport driven by the sound card: position = what is audible now.

    The audio callback calls `render(frames, out_start)` for each block it hands to the device:
    the clock answers the media time of every output sample (advancing its read head by speed,
    wrapping loops) and remembers the block. `position()` takes the output frame being heard,
    `out_start of the latest block + (now - its callback time) * out_rate - latency * out_rate`,
    never past what was rendered, and looks up that frame's media time. Between callbacks it
    therefore moves smoothly with the wall clock, and when the device stalls, it stalls too.
    A callback that comes late makes the estimate late by as much (a few ms); the heard frame
    is held from going backwards, so the picture never steps back when it catches up.
    """

    kind = "audio"

    def __init__(
        self,
        duration_s: float = 0.0,
        *,
        out_rate: int = 16000,
        latency_s: float = 0.0,
        now: Now = time.perf_counter,
    ) -> None:
        super().__init__(duration_s, now=now)
        self._out_rate = int(out_rate)
        self._latency_s = max(float(latency_s), 0.0)
        self._head = 0.0  # media time of the next sample to render
        self._blocks: deque[_Block] = deque(maxlen=4096)
        self._cb_start = 0  # output frame index of the latest block
        self._cb_wall = 0.0  # when the callback rendered it
        self._last_heard = -math.inf  # heard frames never go backwards within a run

    @property
    def out_rate(self) -> int:
        return self._out_rate

    @property
    def latency_s(self) -> float:
        return self._latency_s

    def set_output(self, out_rate: int, latency_s: float) -> None:
        """The device's sample rate and the output latency it reports."""
        with self._lock:
            self._out_rate = int(out_rate)
            self._latency_s = max(float(latency_s), 0.0)

    def render(self, frames: int, out_start: int, now: float | None = None) -> np.ndarray | None:
        """Media times (s) of the next `frames` output samples, or None (paused: play silence).

        Called from the audio callback with the stream's running frame count `out_start`.
        """
        with self._lock:
            self._cb_start = int(out_start)
            self._cb_wall = self._now() if now is None else now
            if not self._playing or frames <= 0:
                return None
            step = self._speed / self._out_rate
            raw = self._head + np.arange(frames + 1, dtype=np.float64) * step
            times = self._fold(raw)
            self._head = float(times[-1]) if math.isfinite(times[-1]) else self._duration
            block = _Block(int(out_start), times[:-1])
            self._remember(block)
            return block.times

    def _fold(self, raw: np.ndarray) -> np.ndarray:
        """Apply the loop, or mark samples past the end with NaN."""
        if self._loop is not None and self._loop.applies(self._head):
            return self._loop.wrap(raw)
        return np.where(raw < self._duration, raw, np.nan)

    def _remember(self, block: _Block) -> None:
        heard = block.start - self._latency_s * self._out_rate
        keep_from = heard - HISTORY_S * self._out_rate
        while self._blocks and self._blocks[0].stop < keep_from:
            self._blocks.popleft()
        self._blocks.append(block)

    def _start_run(self, now: float) -> None:
        self._head = self._pos
        self._blocks.clear()  # blocks of an earlier run no longer map to this one
        self._last_heard = -math.inf

    def _stop_run(self) -> None:
        self._blocks.clear()

    def heard_frame(self, now: float) -> float:
        """The output frame index audible at `now` (fractional), per the latest callback."""
        with self._lock:
            elapsed = max(now - self._cb_wall, 0.0)
            return self._cb_start + (elapsed - self._latency_s) * self._out_rate

    def _running_position(self, now: float) -> float:
        if not self._blocks:
            return self._pos  # the device has not asked for this run's audio yet
        frame = min(self.heard_frame(now), self._blocks[-1].stop - 1)
        frame = self._last_heard = max(frame, self._last_heard)  # a late callback: hold still
        if frame < self._blocks[0].start:
            return self._pos  # still hearing what was queued before the run started
        block = next(b for b in reversed(self._blocks) if frame >= b.start)
        t = float(block.times[min(int(frame - block.start), block.times.size - 1)])
        return self._finish() if math.isnan(t) else t
