"""Probing a folder of small clips: in-process probe() vs one ffprobe subprocess per file.

A dataset import probes every clip (MMLA's datasets hold thousands). Baseline, same run, same
files: `ffprobe -v error -show_streams -show_format -of json FILE`, which is what a script
that shells out would do (and it reads less: no packet scan, no VFR check, no health verdict).
Files are distinct small mp4s (sizes, rates, VFR, audio-only, video-only vary) in a temp dir;
the audio-only, video-only and VFR ones are flagged by the probe on purpose, and each clip's
flags are checked against the ones it was made with (exit 1 when one differs).

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
from collections import Counter
from pathlib import Path

import numpy as np

from mmla_core.media import synth
from mmla_core.media.probe import probe

SIZES = [(64, 48), (96, 64), (128, 96), (160, 90)]


def intended_flags(i: int) -> set[str]:
    """The health flags clip `i` is made to have: every 11th has no video stream (audio-only),
    of the others every 13th has no audio stream and every 7th a variable frame rate. The probe
    flags these on purpose (the import marks them so a user sees them), so a share of the
    clips is 'unhealthy' by design: 28 of the first 100."""
    if i % 11 == 5:
        return {"no_video"}
    return {flag for flag, made in (("no_audio", i % 13 == 6), ("vfr", i % 7 == 3)) if made}


def make_files(folder: Path, count: int) -> list[Path]:
    """`count` distinct short clips, some with the flaws `intended_flags` names."""
    paths = []
    for i in range(count):
        rng = np.random.default_rng(i)
        width, height = SIZES[i % len(SIZES)]
        fps = (25, 30, 24)[i % 3]
        n_frames = int(rng.integers(8, 20))
        flags = intended_flags(i)
        frames = [] if "no_video" in flags else _frames(rng, n_frames, width, height)
        audio = None if "no_audio" in flags else _tone(rng, n_frames / fps)
        vfr = synth.vfr_schedule(n_frames, fps, seed=i) if "vfr" in flags else None
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


def health_report(infos) -> tuple[str, list[str]]:
    """('N flagged, all by design: k vfr, ...', a line per clip whose flags differ from the
    ones it was made with: a probe defect, or a clip maker that did not make what it meant)."""
    tally: Counter[str] = Counter()
    wrong = []
    for i, info in enumerate(infos):
        found = set(info.problems)
        tally.update(found)
        if found != intended_flags(i):
            wrong.append(f"{Path(info.path).name}: made with {sorted(intended_flags(i)) or 'ok'}"
                         f", probed {info.health} ({info.health_detail})")
    flagged = sum(info.health != "ok" for info in infos)
    kinds = ", ".join(f"{n} {flag}" for flag, n in tally.most_common())
    verdict = "all by design" if not wrong else f"{len(wrong)} NOT as made"
    return f"{flagged} flagged unhealthy, {verdict}: {kinds or 'none'}", wrong


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
    health, wrong = health_report(infos)
    print(f"probe():   {ours:8.3f} s  {count / ours:9.0f} files/s  ({health})")
    print("           (by design: every 11th clip is audio-only -> no_video; of the others "
          "every 13th has no audio track -> no_audio, every 7th a variable frame rate -> vfr)")
    for line in wrong:
        print(f"  unexpected: {line}", file=sys.stderr)
    print(f"ffprobe:   {theirs:8.3f} s  {count / theirs:9.0f} files/s")
    print(f"agreement (streams + frame count): {agreed}/{count}")
    print(
        f"RESULT bench_probe: files={count} probe={ours:.3f}s ({count / ours:.0f} files/s) "
        f"ffprobe_cli={theirs:.3f}s ({count / theirs:.0f} files/s) ratio={theirs / ours:.1f}"
    )
    return 1 if wrong else 0


if __name__ == "__main__":
    raise SystemExit(main())
