"""Probing a folder of small clips: in-process probe() vs one ffprobe subprocess per file.

A dataset import probes every clip (MMLA's datasets hold thousands). Baseline, same run, same
files: `ffprobe -v error -show_streams -show_format -of json FILE`, which is what a script
that shells out would do (and it reads less: no packet scan, no VFR check, no health verdict).
Files are distinct small mp4s (sizes, rates, VFR, audio-only, video-only vary) in a temp dir.

    python benchmarks/bench_probe.py [--files 1000] [--quick]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from mmla_core.media import synth
from mmla_core.media.probe import probe

SIZES = [(64, 48), (96, 64), (128, 96), (160, 90)]


def make_files(folder: Path, count: int) -> list[Path]:
    """`count` distinct short clips: every 7th VFR, every 11th audio-only, every 13th silent."""
    paths = []
    for i in range(count):
        rng = np.random.default_rng(i)
        width, height = SIZES[i % len(SIZES)]
        fps = (25, 30, 24)[i % 3]
        n_frames = int(rng.integers(8, 20))
        frames = [] if i % 11 == 5 else _frames(rng, n_frames, width, height)
        audio = None if (i % 13 == 6 and frames) else _tone(rng, n_frames / fps)
        vfr = synth.vfr_schedule(n_frames, fps, seed=i) if (i % 7 == 3 and frames) else None
        path = folder / f"clip_{i:05d}.mp4"
        synth.write_mp4(path, frames, fps, audio, 16000, vfr_times=vfr)
        paths.append(path)
    return paths


def _frames(rng, n: int, width: int, height: int) -> list[np.ndarray]:
    base = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
    return [np.roll(base, k, axis=1) for k in range(n)]


def _tone(rng, seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * 16000)) / 16000
    return (0.2 * np.sin(2 * np.pi * rng.uniform(200, 800) * t)).astype(np.float32)


def time_probe(paths: list[Path]) -> tuple[float, list]:
    start = time.perf_counter()
    infos = [probe(p) for p in paths]
    return time.perf_counter() - start, infos


def time_ffprobe(paths: list[Path]) -> tuple[float, list[dict]]:
    command = ["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json"]
    start = time.perf_counter()
    outputs = [
        json.loads(subprocess.run([*command, str(p)], capture_output=True, check=True).stdout)
        for p in paths
    ]
    return time.perf_counter() - start, outputs


def agreement(infos, ffprobe_outputs: list[dict]) -> int:
    """Files where both agree on stream presence and the video frame count."""
    same = 0
    for info, out in zip(infos, ffprobe_outputs, strict=True):
        kinds = {s["codec_type"] for s in out.get("streams", [])}
        video = next((s for s in out["streams"] if s["codec_type"] == "video"), None)
        frames = int(video["nb_frames"]) if video else None
        if (info.has_video, info.has_audio) == ("video" in kinds, "audio" in kinds) and (
            info.frame_count == frames
        ):
            same += 1
    return same


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--quick", action="store_true", help="100 files")
    args = parser.parse_args()
    if shutil.which("ffprobe") is None:
        print("ffprobe not found: the baseline needs the ffmpeg CLI", file=sys.stderr)
        return 2
    count = 100 if args.quick else args.files
    with tempfile.TemporaryDirectory(prefix="bench-probe-") as tmp:
        start = time.perf_counter()
        paths = make_files(Path(tmp), count)
        print(f"made {count} distinct clips in {time.perf_counter() - start:.1f} s")
        probe(paths[0])  # warm-up: library load, first open
        ours, infos = time_probe(paths)
        theirs, outputs = time_ffprobe(paths)
        agreed = agreement(infos, outputs)
    flagged = sum(info.health != "ok" for info in infos)
    print(f"probe():   {ours:8.3f} s  {count / ours:9.0f} files/s  ({flagged} flagged unhealthy)")
    print(f"ffprobe:   {theirs:8.3f} s  {count / theirs:9.0f} files/s")
    print(f"agreement (streams + frame count): {agreed}/{count}")
    print(
        f"RESULT bench_probe: files={count} probe={ours:.3f}s ({count / ours:.0f} files/s) "
        f"ffprobe_cli={theirs:.3f}s ({count / theirs:.0f} files/s) ratio={theirs / ours:.1f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
