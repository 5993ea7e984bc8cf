"""The pure edits behind the recipes: audio arrays and transcript text in, edited copies out.

Both the in-memory builder (16 kHz mono) and the MP4 writer (the clip's own rate and channels)
call these, so a probe on arrays and a model on the written file see the same conflict.
Audio is float32 shaped (channels, samples); randomness comes only from the seed given.
"""

from __future__ import annotations

import hashlib

import numpy as np

__all__ = [
    "add_noise",
    "derive_seed",
    "fit_length",
    "long_context",
    "prepend_caption",
    "sample_range",
    "shift_audio",
]

FILLER_WORDS = (
    "table window garden river morning paper yellow quietly seven market travel bridge "
    "number winter basket letter orange mountain simple later carpet engine planet coffee "
    "pencil summer island station button circle forest ladder minute silver kitchen rocket "
    "village bottle doctor jacket library machine pocket season tunnel valley wheel answer "
    "balance cabinet dinner elbow feather harbor invoice jungle kettle lantern meadow needle "
    "ocean pattern quarter ribbon saddle thunder umbrella velvet whistle yogurt zipper across "
    "behind during inside through toward under within beside beyond slowly often rarely"
).split()
LETTERS = "abcdefghijklmnopqrstuvwxyz"


def derive_seed(seed: int, *parts: object) -> int:
    """A 63-bit seed for one clip and step: stable across runs, processes and platforms."""
    text = "\x1f".join(str(p) for p in (seed, *parts))
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big") >> 1


def fit_length(audio: np.ndarray, length: int, mode: str = "loop") -> np.ndarray:
    """`audio` (channels, n) trimmed, or looped / padded with silence, to exactly `length`."""
    channels, size = audio.shape
    if size >= length:
        return np.ascontiguousarray(audio[:, :length])
    if mode == "loop" and size > 0:
        repeats = -(-length // size)
        return np.ascontiguousarray(np.tile(audio, (1, repeats))[:, :length])
    out = np.zeros((channels, length), np.float32)
    out[:, :size] = audio
    return out


def sample_range(size: int, rate: int, start_s: float | None, end_s: float | None) -> slice:
    """The samples of [start_s, end_s) (None = clip start / end), clamped to the array."""
    start = 0 if start_s is None else min(size, max(0, round(start_s * rate)))
    end = size if end_s is None else min(size, max(start, round(end_s * rate)))
    return slice(start, end)


def shift_audio(audio: np.ndarray, rate: int, ms: int, start_s: float | None = None,
                end_s: float | None = None) -> np.ndarray:
    """Audio moved `ms` later (+) or earlier (-) against the frames; the length is kept.

    Inside a range only that stretch is replaced by the shifted signal, so the offset applies
    there and the rest of the clip stays in sync. What shifts in from outside the clip is silence.
    """
    size = audio.shape[1]
    delay = round(ms * rate / 1000)
    shifted = np.zeros_like(audio)
    if delay >= 0:
        shifted[:, delay:] = audio[:, : max(size - delay, 0)]
    else:
        shifted[:, : max(size + delay, 0)] = audio[:, -delay:]
    span = sample_range(size, rate, start_s, end_s)
    out = audio.copy()
    out[:, span] = shifted[:, span]
    return out


def add_noise(audio: np.ndarray, rate: int, snr_db: float, seed: int,
              start_s: float | None = None, end_s: float | None = None) -> np.ndarray:
    """White Gaussian noise at `snr_db` against the signal's power over the same range.

    Raises ValueError on silence: a signal-to-noise ratio of nothing is not defined.
    """
    span = sample_range(audio.shape[1], rate, start_s, end_s)
    segment = audio[:, span]
    power = float(np.mean(np.square(segment, dtype=np.float64))) if segment.size else 0.0
    if power <= 0.0:
        raise ValueError("the audio is silent there, so a signal-to-noise ratio is undefined")
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(segment.shape).astype(np.float32)
    noise *= np.float32(np.sqrt(power / 10.0 ** (snr_db / 10.0)))
    out = audio.copy()
    out[:, span] = np.clip(segment + noise, -1.0, 1.0)
    return out


def prepend_caption(transcript: str, caption: str) -> str:
    """MMA-Bench's misleading caption: `Video_caption: <wrong class>.` before the text."""
    line = f"Video_caption: {caption}."
    return f"{line} {transcript}" if transcript else line


def long_context(transcript: str, words: int, style: str, seed: int) -> str:
    """The transcript with `words` irrelevant words (or single letters, MMA-Bench) appended."""
    rng = np.random.default_rng(seed)
    vocabulary = LETTERS if style == "letters" else FILLER_WORDS
    picks = rng.integers(0, len(vocabulary), size=words)
    filler = " ".join(vocabulary[int(i)] for i in picks)
    return f"{transcript} {filler}" if transcript else filler
