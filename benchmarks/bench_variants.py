"""Benchmark: conflict variants against the ffmpeg command lines a curator would run instead.

    python benchmarks/bench_variants.py [--clips 100] [--batch 1000] [--quick]

Clips are distinct 5 s 640x360 25 fps talking-speaker MP4s (H.264 + AAC 16 kHz mono) from the
synthesiser. In the same run, interleaved clip by clip:
- per recipe, the median time to write one variant file (`writer.write_variant` of a plan)
  against the `ffmpeg` CLI (Debian 5.1) command producing the same output (same streams copied,
  same encoder and settings for the re-encoded stream), plus our end-to-end `create_variant`
  (plan + write + probe + database row). frames_black copies packets from a black template
  encoded once per geometry and process, so its median is warm; `first_clip_ms` is the cold
  first clip (x264 encoding the 250-frame template);
- the six MMA-Bench probe inputs of one clip in memory against decoding the clip once;
- `make_variants` over a dataset of --batch clips x 3 recipes (audio_swap, frames_black,
  audio_silent) on all cores, then the resumed run (all present).
Targets (issue 5): audio_swap and audio_silent >= 5x, frames_black >= 1.5x faster than ffmpeg;
six in-memory scenarios < 2x one decode; 1,000 clips x 3 recipes < 60 s on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from mmla_core.datasets import probe_pending
from mmla_core.media.decode import decode_audio, decode_frames_at, frame_times
from mmla_core.media.probe import probe
from mmla_core.media.synth import make_clip
from mmla_core.store import open_store
from mmla_core.store.catalog import (
    attach_task,
    clip_ids_by_key,
    ensure_task,
    upsert_clips,
    upsert_dataset,
)
from mmla_core.store.labels import import_labels
from mmla_core.tasks import builtin_task
from mmla_core.variants.batch import make_variants
from mmla_core.variants.plan import DatasetContext, plan_variant
from mmla_core.variants.presets import mmabench_in_memory
from mmla_core.variants.recipes import parse_spec
from mmla_core.variants.store_ops import create_variant, variants_dir
from mmla_core.variants.writer import write_variant

LABELS = ("joy", "anger", "sadness", "surprise")
WORDS = "the cash register rings while a printer prints a long page of numbers".split()
SAMPLES = 80000  # 5 s at 16 kHz
TARGETS = {"audio_swap": 5.0, "audio_swap_reencode": 5.0, "audio_silent": 5.0,
           "frames_black": 1.5}


def _make_one(args: tuple[str, int, float]) -> str:
    path, seed, duration = args
    rng = np.random.default_rng(seed)
    text = " ".join(rng.choice(WORDS, size=8))
    make_clip(path, text=text, duration_s=duration, width=640, height=360, seed=seed)
    return path


def make_clips(folder: Path, count: int, duration: float, prefix: str, offset: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    jobs = [(str(folder / f"{prefix}{i:04d}.mp4"), offset + i, duration) for i in range(count)]
    with ProcessPoolExecutor(os.cpu_count() or 1) as pool:
        return [Path(p) for p in pool.map(_make_one, jobs)]


def build_project(root: Path, media: Path, names: list[str]) -> tuple[Path, dict[str, int]]:
    db_path = root / "bench.sqlite"
    with open_store(db_path) as store:
        dataset_id = upsert_dataset(store, "bench", str(media), "folder")
        task_id = ensure_task(store, builtin_task("MELD"))
        attach_task(store, dataset_id, task_id)
        upsert_clips(store, dataset_id, [{"split": "train", "external_id": Path(n).stem,
                                          "media_path": n, "transcript": f"clip {n}"}
                                         for n in names])
        keys = clip_ids_by_key(store, dataset_id)
        ids = {Path(n).stem: keys[("train", Path(n).stem)] for n in names}
        import_labels(store, [(cid, task_id, LABELS[i % len(LABELS)])
                              for i, cid in enumerate(ids.values())])
        probe_pending(store, dataset_id)
    return db_path, ids


def run(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - start


def ffmpeg_command(recipe: str, clip: Path, donor: Path, out: Path) -> list[str]:
    """What a curator types for the same output (same copies, same encoder settings)."""
    base = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(clip)]
    if recipe == "audio_swap":  # equal-length donor: both streams copied
        return [*base, "-i", str(donor), "-map", "0:v:0", "-map", "1:a:0", "-c", "copy",
                "-movflags", "+faststart", str(out)]
    if recipe == "audio_swap_reencode":  # shorter donor: looped, cut to the clip's samples
        return [*base, "-stream_loop", "-1", "-i", str(donor), "-map", "0:v:0", "-map",
                "1:a:0", "-c:v", "copy", "-af", f"atrim=end_sample={SAMPLES}", "-c:a", "aac",
                "-aac_coder", "fast", "-movflags", "+faststart", str(out)]
    if recipe == "frames_black":
        return [*base, "-map", "0:v:0", "-map", "0:a:0", "-vf", "drawbox=color=black:t=fill",
                "-c:v", "libx264", "-preset", "ultrafast", "-threads", "1", "-c:a", "copy",
                "-movflags", "+faststart", str(out)]
    if recipe == "audio_silent":
        return [*base, "-map", "0:v:0", "-map", "0:a:0", "-c:v", "copy", "-af", "volume=0",
                "-c:a", "aac", "-aac_coder", "fast", "-movflags", "+faststart", str(out)]
    if recipe == "audio_removed":
        return [*base, "-map", "0:v:0", "-c", "copy", "-movflags", "+faststart", str(out)]
    if recipe == "av_offset":
        return [*base, "-map", "0:v:0", "-map", "0:a:0", "-c:v", "copy", "-af",
                f"adelay=200:all=1,atrim=end_sample={SAMPLES}", "-c:a", "aac", "-aac_coder",
                "fast", "-movflags", "+faststart", str(out)]
    raise ValueError(recipe)


def our_steps(recipe: str, donor_id: int) -> list:
    if recipe.startswith("audio_swap"):
        return [("audio_swap", {"donor_clip_id": donor_id})]
    if recipe == "av_offset":
        return [("av_offset", {"ms": 200})]
    return [recipe]


def bench_per_clip(db_path: Path, ids: dict[str, int], donors: dict[str, int], media: Path,
                   scratch: Path, count: int) -> dict[str, dict[str, float]]:
    """Interleaved per clip: our write, ffmpeg, and our end-to-end create (new key each time)."""
    recipes = ["audio_swap", "audio_swap_reencode", "audio_silent", "frames_black",
               "audio_removed", "av_offset"]
    times = {r: {"ours": [], "ffmpeg": [], "create": []} for r in recipes}
    names = sorted(ids)[:count]
    with open_store(db_path) as store:
        ctx = DatasetContext(store, 1)
        out_dir = variants_dir(store, "bench")
        for i, name in enumerate(names):
            clip = media / f"{name}.mp4"
            for recipe in recipes:
                short = recipe == "audio_swap_reencode"
                donor_name = sorted(donors)[i % len(donors)] if short else names[(i + 1) % count]
                donor_id = donors[donor_name] if short else ids[donor_name]
                donor_path = (media / "donors" if short else media) / f"{donor_name}.mp4"
                plan = plan_variant(ctx, ids[name], our_steps(recipe, donor_id), 0, out_dir)
                start = time.perf_counter()
                write_variant(plan)
                times[recipe]["ours"].append(time.perf_counter() - start)
                out = scratch / f"ff_{recipe}.mp4"
                times[recipe]["ffmpeg"].append(run(ffmpeg_command(recipe, clip, donor_path,
                                                                  out)))
                _check_same(recipe, Path(plan.out_path), out)
                start = time.perf_counter()
                create_variant(store, ids[name], our_steps(recipe, donor_id), seed=1)
                times[recipe]["create"].append(time.perf_counter() - start)
    medians = {r: {k: float(np.median(v)) for k, v in t.items()} for r, t in times.items()}
    for recipe, t in times.items():  # the first clip is cold: frames_black encodes its template
        medians[recipe]["first"] = t["ours"][0]
    return medians


def _check_same(recipe: str, ours: Path, theirs: Path) -> None:
    """Same streams and durations (to an AAC frame); swapped/kept audio equal in content."""
    a, b = probe(ours), probe(theirs)
    assert (a.has_video, a.has_audio) == (b.has_video, b.has_audio), recipe
    assert a.frame_count == b.frame_count, (recipe, a.frame_count, b.frame_count)
    if a.has_audio:
        assert abs(a.audio_duration_s - b.audio_duration_s) <= 1024 / 16000 + 1e-3, recipe
        x, y = decode_audio(ours), decode_audio(theirs)
        n = min(x.size, y.size, 56000)  # ffmpeg's -stream_loop seam is not sample-exact
        if np.abs(y).max() > 0:
            assert np.corrcoef(x[:n], y[:n])[0, 1] > 0.95, recipe


def bench_in_memory(db_path: Path, ids: dict[str, int], media: Path, count: int):
    ours, decode = [], []
    with open_store(db_path) as store:
        for name in sorted(ids)[:count]:
            path = media / f"{name}.mp4"
            start = time.perf_counter()
            decode_frames_at(path, frame_times(path))
            decode_audio(path)
            decode.append(time.perf_counter() - start)
            start = time.perf_counter()
            six = mmabench_in_memory(store, ids[name])
            ours.append(time.perf_counter() - start)
            assert len(six) == 6
    return float(np.median(ours)), float(np.median(decode))


def bench_batch(root: Path, clips: list[Path], total: int) -> tuple[float, float, object]:
    media = root / "batch_media"
    media.mkdir()
    names = []
    for i in range(total):
        name = f"b{i:05d}.mp4"
        shutil.copyfile(clips[i % len(clips)], media / name)
        names.append(name)
    db_path, _ = build_project(root / "batch", media, names)
    specs = parse_spec("audio_swap,frames_black,audio_silent")
    with open_store(db_path) as store:
        start = time.perf_counter()
        report = make_variants(store, "bench", specs, seed=0)
        first = time.perf_counter() - start
        start = time.perf_counter()
        again = make_variants(store, "bench", specs, seed=0)
        resumed = time.perf_counter() - start
    assert not report.failed and again.skipped == report.created == total * 3
    return first, resumed, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=100)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--quick", action="store_true", help="10 clips, batch of 100")
    args = parser.parse_args()
    clips_n, batch_n = (10, 100) if args.quick else (args.clips, args.batch)
    if shutil.which("ffmpeg") is None:
        sys.exit("the ffmpeg CLI is the baseline; install it (apt-get install ffmpeg)")
    root = Path(tempfile.mkdtemp(prefix="bench-variants-"))
    try:
        _run_all(root, clips_n, batch_n)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _run_all(root: Path, clips_n: int, batch_n: int) -> None:
    cores = os.cpu_count()
    start = time.perf_counter()
    media = root / "media"
    clips = make_clips(media, clips_n, 5.0, "c", 0)
    donor_clips = make_clips(media / "donors", max(2, clips_n // 5), 3.7, "d", 10_000)
    print(f"made {len(clips)} clips + {len(donor_clips)} 3.7 s donors in "
          f"{time.perf_counter() - start:.1f} s ({cores} cores)")
    names = [p.name for p in clips] + [f"donors/{p.name}" for p in donor_clips]
    db_path, ids = build_project(root, media, names)
    donors = {k.split("/")[-1]: v for k, v in ids.items() if k.startswith("d")}
    sources = {k: v for k, v in ids.items() if k.startswith("c")}
    per = bench_per_clip(db_path, sources, donors, media, root, clips_n)
    for recipe, t in per.items():
        ratio = t["ffmpeg"] / t["ours"]
        target = TARGETS.get(recipe)
        verdict = ""
        if target is not None:
            verdict = f" target>={target:g}x {'met' if ratio >= target else 'MISSED'}"
        print(f"RESULT variants_{recipe}: clips={clips_n} ours_ms={t['ours'] * 1000:.1f} "
              f"ffmpeg_ms={t['ffmpeg'] * 1000:.1f} ratio={ratio:.1f}x "
              f"first_clip_ms={t['first'] * 1000:.1f} "
              f"create_ms={t['create'] * 1000:.1f} create_ratio={t['ffmpeg'] / t['create']:.1f}x"
              f"{verdict}")
    ours, decode = bench_in_memory(db_path, sources, media, min(clips_n, 20))
    print(f"RESULT variants_in_memory_six: ours_ms={ours * 1000:.1f} decode_once_ms="
          f"{decode * 1000:.1f} ratio={ours / decode:.2f}x target<2x "
          f"{'met' if ours / decode < 2 else 'MISSED'}")
    first, resumed, report = bench_batch(root, clips, batch_n)
    target = 60.0 * batch_n / 1000
    print(f"RESULT variants_batch: clips={batch_n} recipes=3 variants={report.created} "
          f"cores={cores} s={first:.1f} per_variant_ms={first / report.created * 1000:.1f} "
          f"resume_s={resumed:.2f} target<{target:g}s {'met' if first < target else 'MISSED'}")


if __name__ == "__main__":
    main()
