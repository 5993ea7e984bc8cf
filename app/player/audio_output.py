"""Sound out through sounddevice (PortAudio), feeding the player's AudioClock.

One output stream per player, opened once (opening costs ~90 ms, so it happens on a worker
thread) and started/aborted on play/pause/seek: aborting drops what is queued in the device,
so a pause or a seek is heard at once. The PortAudio callback asks the AudioClock which media
times the next block holds and reads the clip's samples there by linear interpolation.

**Speed changes pitch.** Playing at 0.5x-2x resamples each block (a tape played faster), it
does not time-stretch; the voice goes up at 2x and down at 0.5x. Speech stays intelligible,
and the sample-exact clock mapping stays simple.

**Sinks that do not keep time.** ALSA's null device (how CI gets a "real" stream) accepts
samples as fast as they are written: the callback would run thousands of times real time. When
the stream gets further ahead of the wall clock than any real device buffers, the callback
sleeps to hold it at real time plus the reported latency. A real device never trips this.

Without PortAudio, without an output device, or with MMLA_STUDIO_AUDIO=off, `open_output`
returns None and a reason; the player then runs on the wall clock and says so once.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mmla_core.media.decode import MediaError, decode_audio, open_media
from mmla_core.media.packets import first_audio_stream
from mmla_core.media.playback import AudioClock

log = logging.getLogger(__name__)

__all__ = [
    "NO_DEVICE_NOTICE",
    "AudioOutput",
    "ClipAudio",
    "load_audio_and_device",
    "load_clip_audio",
    "open_output",
]

NO_DEVICE_NOTICE = "No sound device: playing silently on the wall clock"
MEDIA_RATE = 16000  # decode_audio's rate: what the clip's samples are stored at
AUDIO_SWITCH_ENV = "MMLA_STUDIO_AUDIO"  # "off" forces silent wall-clock playback
PACE_SLACK_S = 0.1  # a real device never gets this far ahead of the wall clock beyond its buffer
CACHE_BYTES = 64 << 20


# --- the clip's audio, decoded once and shared by the player and the waveform pane -----------

@dataclass(frozen=True)
class ClipAudio:
    """A clip's audio track as float32 mono at `rate`; samples None when it has no audio."""

    samples: np.ndarray | None
    rate: int
    error: str | None = None  # set when the file has an audio stream that cannot be decoded

    @property
    def duration_s(self) -> float:
        return 0.0 if self.samples is None else self.samples.size / self.rate


_cache: dict[tuple, ClipAudio] = {}
_cache_lock = threading.Lock()  # also serialises decodes: the second asker gets the cached one


def load_clip_audio(path: str | os.PathLike[str], rate: int = MEDIA_RATE) -> ClipAudio:
    """Decode (or fetch from a small cache) the clip's audio; never raises for bad media."""
    target = Path(path)
    try:
        stat = target.stat()
    except OSError as exc:
        return ClipAudio(None, rate, f"{target}: {exc.strerror or exc}")
    key = (str(target), stat.st_size, stat.st_mtime_ns, rate)
    with _cache_lock:
        if key in _cache:
            return _cache[key]
        try:
            with open_media(target) as container:
                has_audio = first_audio_stream(container) is not None
            audio = ClipAudio(decode_audio(target, rate) if has_audio else None, rate)
        except MediaError as exc:
            audio = ClipAudio(None, rate, str(exc))
        _remember(key, audio)
        return audio


def _remember(key: tuple, audio: ClipAudio) -> None:
    _cache[key] = audio
    while len(_cache) > 1 and sum(_nbytes(a) for a in _cache.values()) > CACHE_BYTES:
        del _cache[next(iter(_cache))]  # oldest first


def _nbytes(audio: ClipAudio) -> int:
    return 0 if audio.samples is None else audio.samples.nbytes


def clear_audio_cache() -> None:
    """Forget decoded audio (benchmarks measure cold clip switches)."""
    with _cache_lock:
        _cache.clear()


# --- the output stream --------------------------------------------------------------------------

def _sounddevice():
    """The sounddevice module, or None and why not (PortAudio missing)."""
    try:
        import sounddevice
    except OSError as exc:  # the wheel does not bundle PortAudio on Linux
        return None, f"PortAudio is not installed ({exc})"
    return sounddevice, ""


def open_output(clock: AudioClock, rate: int = MEDIA_RATE) -> tuple[AudioOutput | None, str]:
    """Open (not start) an output stream feeding `clock`; (None, reason) when there is none.

    Slow (PortAudio set-up): call it off the GUI thread.
    """
    if os.environ.get(AUDIO_SWITCH_ENV, "").strip().lower() in ("off", "0", "none"):
        return None, f"sound output switched off ({AUDIO_SWITCH_ENV})"
    sd, reason = _sounddevice()
    if sd is None:
        return None, reason
    try:
        out_rate = _pick_rate(sd, rate)
        return AudioOutput(sd, clock, out_rate), ""
    except Exception as exc:  # PortAudioError 'Error querying device -1', ALSA failures
        return None, f"no output device ({exc})"


def _pick_rate(sd, wanted: int) -> int:
    """The clip's own rate when the device takes it, else the device's default rate."""
    try:
        sd.check_output_settings(samplerate=wanted, channels=1, dtype="float32")
        return wanted
    except Exception:
        info = sd.query_devices(kind="output")
        return int(info["default_samplerate"])


class AudioOutput:
    """A mono float32 PortAudio stream that plays the current clip where the clock says."""

    def __init__(self, sd, clock: AudioClock, out_rate: int) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._samples = np.zeros(0, np.float32)
        self._media_rate = MEDIA_RATE
        self._frames_out = 0  # running count of frames handed to the device
        self._pace_origin: tuple[float, int] | None = None  # (wall, frames) at the first block
        self._paced = False  # set when the sink proves it does not keep time
        self._stopping = threading.Event()  # cuts a pacing sleep short so abort is quick
        self.muted = False  # play silence (the clock still runs): the "muted video" check
        self.underflows = 0
        self._stream = sd.OutputStream(
            samplerate=out_rate, channels=1, dtype="float32", latency="high",
            callback=self._callback,
        )
        self.out_rate = int(self._stream.samplerate)
        self.latency_s = float(self._stream.latency)
        clock.set_output(self.out_rate, self.latency_s)

    @property
    def active(self) -> bool:
        return bool(self._stream.active)

    @property
    def paced(self) -> bool:
        """True when the device did not keep time and the callback holds it to real time."""
        return self._paced

    def set_source(self, samples: np.ndarray | None, rate: int = MEDIA_RATE) -> None:
        """The clip whose samples the clock's media times refer to (None: silence)."""
        data = np.zeros(0, np.float32) if samples is None else np.asarray(samples, np.float32)
        with self._lock:
            self._samples, self._media_rate = data, int(rate)

    def start(self) -> None:
        if not self._stream.active:
            self._pace_origin = None
            self._stopping.clear()
            self._stream.start()

    def stop(self) -> None:
        """Stop at once, dropping what the device has queued (PortAudio abort)."""
        if self._stream.active:
            self._stopping.set()
            self._stream.abort()

    def close(self) -> None:
        try:
            self.stop()
        finally:
            self._stream.close()

    # --- the PortAudio thread -----------------------------------------------------------------

    def _callback(self, outdata, frames, _time_info, status) -> None:
        now = time.perf_counter()
        if status.output_underflow:
            self.underflows += 1
        start = self._frames_out
        self._frames_out += frames
        times = self._clock.render(frames, start, now)
        if times is None or self.muted:
            outdata.fill(0)
        else:
            outdata[:, 0] = self._read(times)
        self._pace(now, frames)

    def _read(self, times: np.ndarray) -> np.ndarray:
        """Samples at media `times` (NaN or outside the clip: silence), interpolated."""
        with self._lock:
            samples, rate = self._samples, self._media_rate
        out = np.zeros(times.size, np.float32)
        if samples.size == 0:
            return out
        positions = times * rate
        inside = np.isfinite(positions) & (positions >= 0) & (positions <= samples.size - 1)
        where = positions[inside]
        first = where.astype(np.int64)
        second = np.minimum(first + 1, samples.size - 1)
        frac = (where - first).astype(np.float32)
        out[inside] = samples[first] * (1 - frac) + samples[second] * frac
        return out

    def _pace(self, now: float, frames: int) -> None:
        """Hold a sink that swallows samples faster than real time to real time.

        Whatever it swallowed before that was noticed counts as its buffer from then on (the
        clock's latency grows by it), so the clock neither jumps ahead nor stalls.
        """
        if self._pace_origin is None:
            self._pace_origin = (now, self._frames_out - frames)
            return
        wall0, frames0 = self._pace_origin
        lead = (self._frames_out - frames0) / self.out_rate - (now - wall0)
        if not self._paced:
            if lead <= self.latency_s + PACE_SLACK_S + 4 * frames / self.out_rate:
                return
            self._paced = True
            self.latency_s = lead
            self._clock.set_output(self.out_rate, lead)
            log.info("audio sink does not keep time (a null device?): pacing it to real time")
        if lead > self.latency_s:
            self._stopping.wait(lead - self.latency_s)


# --- the player's background job ----------------------------------------------------------

def load_audio_and_device(gen: int, path: Path, clock: AudioClock, open_device: bool):
    """Pool thread: the clip's audio and, the first time, the sound device (slow to open).

    Never raises: a failure becomes the reason the clip plays silently.
    """
    try:
        device = open_output(clock) if open_device else None
    except Exception as exc:
        device = (None, f"sound output failed ({type(exc).__name__}: {exc})")
    try:
        audio = load_clip_audio(path)
    except Exception as exc:
        audio = ClipAudio(None, MEDIA_RATE, f"{path}: audio could not be read ({exc})")
    return gen, audio, device
