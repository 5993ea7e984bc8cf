"""Synthetic speakers for demo clips and test media.

Every test in the project, the demo builder and the bad-media corpus make their clips here, so
the clips are deterministic for a seed, small, and need no network or sample data. espeak-ng
gives real speech when it is installed; otherwise a seeded voiced signal stands in for it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import soundfile

from mmla_core.fsutil import write_bytes_atomic
from mmla_core.media.decode import resample_audio
from mmla_core.media.mp4writer import write_mp4

__all__ = [
    "make_clip",
    "make_garbage",
    "make_truncated",
    "make_zero_byte",
    "render_frames",
    "speech_audio",
    "vfr_schedule",
    "write_mp4",
]

ESPEAK_TIMEOUT_S = 30
SPEECH_CHARS_PER_S = 13.0  # roughly espeak-ng's default speaking rate
SYLLABLES_PER_S = 4.5


def speech_audio(text: str, rate: int = 16000, *, seed: int = 0) -> np.ndarray:
    """Speech for `text` as float32 mono at `rate`: espeak-ng when present, else a voiced stand-in.

    The seed picks espeak-ng's pitch (so demo speakers differ) and shapes the stand-in.
    """
    espeak = shutil.which("espeak-ng")
    if espeak:
        spoken = _espeak_speech(espeak, text, rate, seed)
        if spoken is not None:
            return spoken
    return _voiced_standin(text, rate, seed)


def _espeak_speech(exe: str, text: str, rate: int, seed: int) -> np.ndarray | None:
    """Run espeak-ng into a temp wav; None when it fails, so the caller can fall back."""
    pitch = 35 + (seed * 17) % 40
    with tempfile.TemporaryDirectory(prefix="mmla-tts-") as tmp:
        wav = Path(tmp) / "speech.wav"
        try:
            subprocess.run(
                [exe, "-p", str(pitch), "-w", str(wav), "--stdin"],
                input=text.encode("utf-8"),
                capture_output=True,
                timeout=ESPEAK_TIMEOUT_S,
                check=True,
            )
            samples, source_rate = soundfile.read(wav, dtype="float32", always_2d=True)
        except (OSError, subprocess.SubprocessError, RuntimeError, soundfile.LibsndfileError):
            return None
    mono = samples.mean(axis=1)
    if mono.size == 0:
        return None
    return resample_audio(mono, source_rate, rate)


def _voiced_standin(text: str, rate: int, seed: int) -> np.ndarray:
    """Harmonic 'speech' with syllable bursts, about as long as espeak-ng would speak `text`."""
    rng = np.random.default_rng(seed)
    duration_s = 0.25 + max(len(text), 1) / SPEECH_CHARS_PER_S
    t = np.arange(int(duration_s * rate)) / rate
    f0 = 120.0 + 40.0 * rng.random() + 15.0 * np.sin(2 * np.pi * 0.7 * t + rng.random() * 6)
    phase = 2 * np.pi * np.cumsum(f0) / rate
    voice = sum(np.sin(k * phase) / k for k in range(1, 11))
    signal = voice * _syllable_envelope(t, rng) + 0.01 * rng.standard_normal(t.size)
    peak = float(np.abs(signal).max()) or 1.0
    return (0.5 * signal / peak).astype(np.float32)


def _syllable_envelope(t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Raised-cosine bumps at a syllable rate, with short pauses, like a spoken phrase."""
    envelope = np.zeros_like(t)
    centre = 0.15
    while centre < t[-1] - 0.1:
        width = rng.uniform(0.08, 0.16)
        inside = np.abs(t - centre) < width
        envelope[inside] += 0.5 + 0.5 * np.cos(np.pi * (t[inside] - centre) / width)
        centre += 1.0 / SYLLABLES_PER_S * rng.uniform(0.7, 1.4)
    return np.clip(envelope, 0.0, 1.0)


def render_frames(
    n: int,
    width: int,
    height: int,
    *,
    caption: str,
    color: tuple[int, int, int] = (40, 90, 160),
    seed: int = 0,
    mouth_open: Sequence[float] | np.ndarray | None = None,
) -> list[np.ndarray]:
    """Draw `n` RGB frames of a cartoon speaker whose mouth moves, with a caption and frame number.

    `mouth_open` (0..1 per frame) lets a clip's lips follow its own audio, so A/V desync and
    swapped-audio variants are visible to a curator.
    """
    rng = np.random.default_rng(seed)
    bob_phase = rng.random() * 2 * np.pi
    if mouth_open is None:
        mouth_open = np.abs(np.sin(np.arange(n) * 0.6 + bob_phase))
    return [
        _draw_speaker(i, width, height, caption, color, bob_phase, float(mouth_open[i]))
        for i in range(n)
    ]


def _draw_speaker(
    index: int,
    width: int,
    height: int,
    caption: str,
    color: tuple[int, int, int],
    bob_phase: float,
    mouth: float,
) -> np.ndarray:
    """One frame: background colour, face, eyes, mouth, caption, frame number."""
    frame = np.empty((height, width, 3), np.uint8)
    frame[:] = color
    unit = min(width, height)
    cx = width // 2 + int(0.03 * unit * np.sin(index * 0.15 + bob_phase))
    cy = int(height * 0.45)
    radius = max(int(unit * 0.3), 4)
    cv2.circle(frame, (cx, cy), radius, (235, 200, 170), -1, cv2.LINE_AA)
    for side in (-1, 1):
        eye = (cx + side * radius // 3, cy - radius // 4)
        cv2.circle(frame, eye, max(radius // 10, 1), (30, 30, 30), -1, cv2.LINE_AA)
    mouth_axes = (max(radius // 3, 2), max(int(radius * 0.25 * float(np.clip(mouth, 0, 1))), 1))
    cv2.ellipse(frame, (cx, cy + radius // 2), mouth_axes, 0, 0, 360, (120, 20, 40), -1)
    scale = max(unit / 480.0, 0.3)
    _put_caption(frame, caption, scale)
    _put_text(frame, f"#{index:04d}", (8, int(24 * scale) + 6), scale)
    return frame


def _put_caption(frame: np.ndarray, caption: str, scale: float) -> None:
    """The caption along the bottom, shrunk (then wrapped onto two lines) to fit the width."""
    height, width = frame.shape[:2]
    lines = [caption]
    while _text_width(caption, scale) > width - 16 and scale > 0.35:
        scale *= 0.9
    if _text_width(caption, scale) > width - 16:
        words = caption.split()
        lines = [" ".join(words[: len(words) // 2]), " ".join(words[len(words) // 2 :])]
    line_height = int(30 * scale) + 4
    for row, line in enumerate(reversed(lines)):
        _put_text(frame, line, (8, height - 10 - row * line_height), scale)


def _text_width(text: str, scale: float) -> int:
    return cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)[0][0]


def _put_text(frame: np.ndarray, text: str, origin: tuple[int, int], scale: float) -> None:
    """White text with a dark outline, readable on any background colour.

    The outline is the same 1-px text stamped around the origin: a thicker Hershey stroke would
    also widen every glyph's advance and the two layers would drift apart along the line.
    """
    font = cv2.FONT_HERSHEY_SIMPLEX
    x, y = origin
    for dx, dy in ((-1, -1), (-1, 1), (1, -1), (1, 1), (0, 2), (2, 0)):
        cv2.putText(frame, text, (x + dx, y + dy), font, scale, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(frame, text, origin, font, scale, (255, 255, 255), 1, cv2.LINE_AA)


def vfr_schedule(n: int, fps: float, *, seed: int = 0) -> np.ndarray:
    """Per-frame times (s) whose gaps vary between 0.5 and 1.5 frame periods; spans n/fps."""
    rng = np.random.default_rng(seed)
    gaps = rng.choice([0.5, 1.0, 1.5], size=n) / fps
    gaps[: min(n, 3)] = [0.5 / fps, 1.5 / fps, 1.0 / fps][: min(n, 3)]  # always really variable
    gaps *= (n / fps) / gaps.sum()
    return np.concatenate([[0.0], np.cumsum(gaps[:-1])])


def _fit_length(samples: np.ndarray, length: int, lead: int) -> np.ndarray:
    """Place `samples` after `lead` samples of silence, padded or cut to exactly `length`."""
    out = np.zeros(length, np.float32)
    body = samples[: max(length - lead, 0)]
    out[lead : lead + body.size] = body
    return out


def _mouth_from_audio(audio: np.ndarray, n_frames: int) -> np.ndarray:
    """Per-frame loudness (0..1) so the drawn mouth opens when the voice is loud."""
    chunks = np.array_split(np.abs(audio), max(n_frames, 1))
    level = np.array([chunk.mean() if chunk.size else 0.0 for chunk in chunks])
    peak = float(level.max()) or 1.0
    return np.clip(level / peak * 1.2, 0.0, 1.0)


def make_clip(
    path: str | os.PathLike[str],
    *,
    text: str = "hello",
    duration_s: float = 2.0,
    width: int = 320,
    height: int = 240,
    fps: float = 25,
    with_audio: bool = True,
    with_video: bool = True,
    vfr: bool = False,
    audio_rate: int = 16000,
    seed: int = 0,
) -> Path:
    """A talking-speaker clip whose audio and video both last exactly `duration_s`."""
    n_frames = round(duration_s * fps)
    audio = None
    if with_audio:
        speech = speech_audio(text, audio_rate, seed=seed)
        audio = _fit_length(speech, round(duration_s * audio_rate), lead=int(0.1 * audio_rate))
    frames = None
    if with_video:
        mouth = _mouth_from_audio(audio, n_frames) if audio is not None else None
        red, green, blue = (int(c) for c in np.random.default_rng(seed).integers(20, 180, 3))
        frames = render_frames(n_frames, width, height, caption=text, color=(red, green, blue),
                               seed=seed, mouth_open=mouth)
    vfr_times = vfr_schedule(n_frames, fps, seed=seed) if (vfr and with_video) else None
    write_mp4(path, frames, fps, audio, audio_rate, vfr_times=vfr_times)
    return Path(path)


def make_truncated(
    src: str | os.PathLike[str], dst: str | os.PathLike[str], keep_fraction: float = 0.3
) -> Path:
    """Copy only the first `keep_fraction` of `src`'s bytes: an interrupted download or copy."""
    data = Path(src).read_bytes()
    return write_bytes_atomic(dst, data[: int(len(data) * keep_fraction)])


def make_zero_byte(dst: str | os.PathLike[str]) -> Path:
    """An empty file with a media name, as a failed export leaves behind."""
    return write_bytes_atomic(dst, b"")


def make_garbage(dst: str | os.PathLike[str], size: int = 4096, *, seed: int = 0) -> Path:
    """Random bytes with a media name: a file that is not media at all."""
    data = np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8).tobytes()
    return write_bytes_atomic(dst, data)
