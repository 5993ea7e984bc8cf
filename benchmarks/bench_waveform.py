"""Waveform drawing for one hour of 16 kHz audio: PeakPyramid vs min/max over raw samples.

Build: PeakPyramid.build (target < 2 s) against the naive cost of ONE full-width view computed
from raw samples (np.min/np.max per pixel bucket): the pyramid pays for itself after a few views.
Query: 1000 random zoom/pan windows (log-uniform widths from 10 ms to the whole hour, random
positions) at 1600 px; PeakPyramid.query (target < 2 ms mean) against the naive baseline of
computing the same view's per-pixel min/max from raw samples. Same audio, same windows.

    python benchmarks/bench_waveform.py [--minutes 60] [--queries 1000] [--quick]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from mmla_core.media.waveform import PeakPyramid

RATE = 16000
PIXELS = 1600


def speech_like(seconds: float, seed: int = 0) -> np.ndarray:
    """Noise under a 4 Hz syllable envelope with pauses, float32: loud and quiet stretches."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    signal = rng.standard_normal(n, dtype=np.float32)
    t = np.arange(0, n, 160, dtype=np.float32) / RATE  # envelope at 100 Hz, then repeated
    envelope = np.abs(np.sin(2 * np.pi * 4 * t)) * (np.sin(2 * np.pi * 0.1 * t) > -0.3)
    signal *= np.repeat(envelope.astype(np.float32), 160)[:n] * 0.3
    return signal


def naive_view(samples: np.ndarray, t0: float, t1: float, pixels: int):
    """Per-pixel min/max straight from raw samples (what a plot without a pyramid does)."""
    first, last = int(t0 * RATE), int(np.ceil(t1 * RATE))
    window = samples[first:last]
    per_pixel = max(window.size // pixels, 1)
    usable = window[: window.size // per_pixel * per_pixel].reshape(-1, per_pixel)
    return usable.min(axis=1), usable.max(axis=1)


def random_windows(duration: float, count: int, seed: int = 1) -> list[tuple[float, float]]:
    rng = np.random.default_rng(seed)
    widths = 10 ** rng.uniform(np.log10(0.01), np.log10(duration), count)
    starts = rng.uniform(0, 1, count) * (duration - widths)
    return list(zip(starts, starts + widths, strict=True))


def time_each(function, windows) -> np.ndarray:
    costs = np.empty(len(windows))
    for i, (t0, t1) in enumerate(windows):
        start = time.perf_counter()
        function(t0, t1)
        costs[i] = (time.perf_counter() - start) * 1000
    return costs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--quick", action="store_true", help="10 minutes, 200 queries")
    args = parser.parse_args()
    minutes, queries = (10.0, 200) if args.quick else (args.minutes, args.queries)
    samples = speech_like(minutes * 60)
    print(f"audio: {minutes:g} min at {RATE} Hz = {samples.size:,} float32 samples")

    start = time.perf_counter()
    pyramid = PeakPyramid.build(samples, RATE)
    build_s = time.perf_counter() - start
    start = time.perf_counter()
    naive_view(samples, 0, pyramid.duration_s, PIXELS)
    full_view_s = time.perf_counter() - start
    levels = len(pyramid.levels)
    print(f"build: {build_s:.3f} s ({levels} levels); naive full view: {full_view_s:.3f} s")

    windows = random_windows(pyramid.duration_s, queries)
    pyramid.query(*windows[0], PIXELS)  # warm-up
    ours = time_each(lambda a, b: pyramid.query(a, b, PIXELS), windows)
    naive = time_each(lambda a, b: naive_view(samples, a, b, PIXELS), windows)
    sizes = [pyramid.query(a, b, PIXELS)[0].size for a, b in windows]
    print(f"query x{queries}: mean {ours.mean():.3f} ms, p95 {np.percentile(ours, 95):.3f} ms, "
          f"max values returned {max(sizes)} (<= 2 x {PIXELS})")  # fmt: skip
    print(f"naive x{queries}: mean {naive.mean():.3f} ms, p95 {np.percentile(naive, 95):.3f} ms")
    print(
        f"RESULT bench_waveform_build: audio={minutes:g}min build={build_s:.3f}s "
        f"naive_full_view={full_view_s:.3f}s break_even_views={build_s / full_view_s:.1f} "
        f"ratio={full_view_s / build_s:.2f}"
    )
    print(
        f"RESULT bench_waveform_query: queries={queries} px={PIXELS} "
        f"mean={ours.mean():.3f}ms p95={np.percentile(ours, 95):.3f}ms "
        f"naive_mean={naive.mean():.3f}ms naive_p95={np.percentile(naive, 95):.3f}ms "
        f"ratio={naive.mean() / ours.mean():.1f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
