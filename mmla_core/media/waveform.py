"""Min/max peak pyramid: draw any zoom of an hour of audio in a millisecond.

A waveform view needs, per pixel, the lowest and highest sample under it. Computing that from
raw samples costs O(visible samples); the pyramid stores block mins/maxs at block sizes
64, 128, 256, ... so a view reads about two blocks per pixel whatever the zoom (the approach
of mne-qt-browser and pyqtgraph's peak downsampling). Blocks are aligned to sample 0, so
panning never makes the envelope jitter.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Any

import numpy as np

from mmla_core.fsutil import atomic_path

__all__ = ["BASE_BLOCK", "PeakPyramid"]

BASE_BLOCK = 64  # samples per block at the finest stored level (4 ms at 16 kHz)


def _block_extremes(samples: np.ndarray, block: int) -> tuple[np.ndarray, np.ndarray]:
    """Min and max of each `block`-sized run of samples; a short last block counts too."""
    full = samples.size // block * block
    grid = samples[:full].reshape(-1, block)
    mins, maxs = grid.min(axis=1), grid.max(axis=1)
    if full < samples.size:
        tail = samples[full:]
        mins = np.append(mins, tail.min())
        maxs = np.append(maxs, tail.max())
    return mins, maxs


def _halve(mins: np.ndarray, maxs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The next coarser level: each block merges two neighbours (an odd last one stays alone)."""
    pairs = mins.size // 2 * 2
    coarse_min = np.minimum(mins[0:pairs:2], mins[1:pairs:2])
    coarse_max = np.maximum(maxs[0:pairs:2], maxs[1:pairs:2])
    if pairs < mins.size:
        coarse_min = np.append(coarse_min, mins[-1])
        coarse_max = np.append(coarse_max, maxs[-1])
    return coarse_min, coarse_max


class PeakPyramid:
    """Block min/max arrays of one audio signal at block sizes base_block * 2**level."""

    def __init__(
        self,
        rate: int,
        n_samples: int,
        levels: list[tuple[np.ndarray, np.ndarray]],
        *,
        base_block: int = BASE_BLOCK,
        samples: np.ndarray | None = None,
    ) -> None:
        self.rate = int(rate)
        self.n_samples = int(n_samples)
        self.levels = levels
        self.base_block = int(base_block)
        self.samples = samples  # raw audio for close zooms; None after a samples-less load

    @classmethod
    def build(cls, samples: np.ndarray, rate: int, *, base_block: int = BASE_BLOCK) -> PeakPyramid:
        """Build every level, halving until one block covers the whole signal."""
        raw = np.ascontiguousarray(np.asarray(samples, np.float32).reshape(-1))
        if raw.size == 0:
            return cls(rate, 0, [], base_block=base_block, samples=raw)
        levels = [_block_extremes(raw, base_block)]
        while levels[-1][0].size > 1:
            levels.append(_halve(*levels[-1]))
        return cls(rate, raw.size, levels, base_block=base_block, samples=raw)

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.rate if self.rate else 0.0

    def block_size(self, level: int) -> int:
        """Samples per block at `level` (level 0 is the finest stored one)."""
        return self.base_block << level

    def query(self, t0: float, t1: float, pixels: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(times, mins, maxs) for the window [t0, t1) drawn `pixels` wide.

        Uses the coarsest block size that still gives at least one block per pixel, so it
        returns at most about 2 * pixels blocks; `times` are block start times (s). When a
        pixel covers only a sample or two, raw samples come back as both min and max.
        """
        first, last = self._sample_window(t0, t1)
        if last <= first or pixels <= 0:
            empty = np.empty(0, np.float32)
            return np.empty(0, np.float64), empty, empty
        per_pixel = (last - first) / pixels
        block = 1 << max(int(np.floor(np.log2(max(per_pixel, 1.0)))), 0)
        if block < self.base_block and self.samples is not None:
            return self._from_raw(self.samples, first, last, block)
        return self._from_level(first, last, block)

    def _sample_window(self, t0: float, t1: float) -> tuple[int, int]:
        """Sample range [first, last) under the window; float fuzz must not add a sample."""
        first = int(np.clip(np.floor(t0 * self.rate + 1e-6), 0, self.n_samples))
        last = int(np.clip(np.ceil(t1 * self.rate - 1e-6), 0, self.n_samples))
        return first, last

    def _from_raw(self, samples: np.ndarray, first: int, last: int, block: int):
        """Blocks smaller than the finest level, computed on the fly from raw `samples`."""
        start = first // block * block
        stop = min(-(-last // block) * block, self.n_samples)
        window = samples[start:stop]
        times = (start + np.arange(0, window.size, block)) / self.rate
        if block == 1:
            return times, window.copy(), window.copy()
        mins, maxs = _block_extremes(window, block)
        return times, mins, maxs

    def _from_level(self, first: int, last: int, block: int):
        """Blocks read from the stored level whose block size is `block` (or the nearest)."""
        level = int(np.clip(np.log2(max(block, self.base_block) // self.base_block), 0, None))
        level = min(level, len(self.levels) - 1)
        size = self.block_size(level)
        lo, hi = first // size, -(-last // size)
        mins, maxs = self.levels[level]
        times = np.arange(lo, hi, dtype=np.float64) * size / self.rate
        return times, mins[lo:hi].copy(), maxs[lo:hi].copy()

    def save(self, path: str | os.PathLike[str], *, include_samples: bool = True) -> Path:
        """Write an .npz (no pickle) atomically; without samples it is ~1/16 of the audio size."""
        # Any: np.savez's stub cannot tell these **kwds from its `allow_pickle: bool` keyword
        arrays: dict[str, Any] = {
            "meta": np.asarray([self.rate, self.n_samples, self.base_block], np.int64),
            "offsets": np.cumsum([0] + [m.size for m, _ in self.levels]).astype(np.int64),
            "mins": _concat([m for m, _ in self.levels]),
            "maxs": _concat([m for _, m in self.levels]),
        }
        if include_samples and self.samples is not None:
            arrays["samples"] = self.samples
        with atomic_path(path) as tmp, open(tmp, "wb") as handle:
            np.savez(handle, **arrays)
        return Path(path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> PeakPyramid:
        """Read a pyramid written by save(); refuses pickled content."""
        with np.load(Path(path), allow_pickle=False) as data:
            rate, n_samples, base_block = (int(v) for v in data["meta"])
            offsets, mins, maxs = data["offsets"], data["mins"], data["maxs"]
            samples = data["samples"] if "samples" in data.files else None
        levels = [(mins[a:b], maxs[a:b]) for a, b in itertools.pairwise(offsets)]
        return cls(rate, n_samples, levels, base_block=base_block, samples=samples)


def _concat(arrays: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(arrays) if arrays else np.empty(0, np.float32)
