"""Benchmark: MMLA-layout import (61k rows) and resumable media probing.

    python benchmarks/bench_import.py [--rows 61000] [--videos 360] [--quick]

Builds a synthetic MMLA tree (12 dataset folders, row counts in MMLA's proportions, a few hundred
real tiny videos; the other rows import text-only), then times:
- `import_mmla` into a fresh database, against a named baseline: a naive importer that inserts
  row by row, each clip and label in its own transaction, via sqlite-utils `table.insert`
  (run on a subset and extrapolated linearly; printed as such);
- an unchanged re-import (incremental: adds 0);
- `probe_pending` on the videos in worker processes, interrupted after two batches and resumed,
  against probing the same files in this process (workers=1).
Target: all 61k rows import in well under 60 s on 2 cores.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: tests.support

from mmla_core.datasets import import_mmla, probe_pending
from mmla_core.media.synth import make_clip
from mmla_core.store import open_store
from mmla_core.store.catalog import clips_to_probe
from mmla_core.tasks import mmla_task_for_folder
from tests.support.mmla_tree import make_mmla_tree

# MMLA's train/dev/test sizes (reference/seeds_systems.md 1.2; UR-FUNNY train estimated)
MMLA_SIZES = {
    "MIntRec": (1334, 445, 445), "MIntRec2.0": (6165, 1106, 2033), "MELD": (9989, 1109, 2610),
    "IEMOCAP": (5237, 521, 1622), "MELD-DA": (6992, 999, 1998), "IEMOCAP-DA": (6590, 942, 1884),
    "MOSI": (1284, 229, 686), "CH-SIMSv2.0": (2722, 647, 1031), "UR-FUNNY-v2": (7614, 980, 994),
    "MUStARD": (414, 138, 138), "AnnoMi-client": (3123, 461, 1129),
    "AnnoMi-therapist": (3161, 472, 1140),
}
NAIVE_SUBSET = 3000
PROBE_BATCH = 16


def scaled_sizes(rows: int) -> dict[str, dict[str, int]]:
    total = sum(sum(v) for v in MMLA_SIZES.values())
    sizes = {
        name: {s: max(1, round(n * rows / total)) for s, n in zip(("train", "dev", "test"), v,
                                                                strict=True)}
        for name, v in MMLA_SIZES.items()
    }
    drift = rows - sum(sum(v.values()) for v in sizes.values())
    sizes["MELD"]["train"] += drift  # land exactly on --rows
    return sizes


def naive_import(store, root: Path, limit: int) -> int:
    """The baseline: per row, a stat per candidate video name and one transaction per insert."""
    clips, annotations, done = store.db["clips"], store.db["annotations"], 0
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        task = mmla_task_for_folder(folder.name)
        dataset_id = store.db["datasets"].insert(
            {"name": task.name, "root": str(folder), "source_kind": "mmla"}).last_pk
        task_id = store.db["tasks"].lookup(
            {"name": task.name}, {"task_key": task.task_key, "dimension": task.dimension,
                                  "labels_json": "[]"})
        for split in ("train", "dev", "test"):
            with (folder / f"{split}.tsv").open(encoding="utf-8", newline="") as handle:
                for row in csv.DictReader(handle, delimiter="\t"):
                    if done >= limit:
                        return done
                    video = next((f"video/{p}_{row['id']}.mp4" for p in (task.name, folder.name)
                                  if (folder / f"video/{p}_{row['id']}.mp4").exists()), None)
                    clip_id = clips.insert({
                        "dataset_id": dataset_id, "split": split, "external_id": row["id"],
                        "media_path": video, "transcript": row["utterance"],
                        "health": "unprobed" if video else "text_only"}).last_pk
                    label = task.canonical_label(row[task.task_key])
                    if label:
                        annotations.insert({"clip_id": clip_id, "task_id": task_id,
                                            "annotator": "import", "label": label})
                    done += 1
    return done


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - start


def bench_import(work: Path, root: Path, rows: int) -> None:
    with open_store(work / "naive.sqlite") as naive_store:
        naive_rows, naive_s = timed(naive_import, naive_store, root, min(NAIVE_SUBSET, rows))
    naive_full_s = naive_s * rows / naive_rows
    with open_store(work / "fast.sqlite") as store:
        reports, fast_s = timed(import_mmla, store, root)
        imported = sum(r.clips for r in reports)
        again, again_s = timed(import_mmla, store, root)
    text_only = sum(r.text_only for r in reports)
    issues = sum(len(r.issues) for r in reports)
    print(f"baseline  naive row-by-row sqlite-utils insert, 1 transaction per row: {naive_rows} "
          f"rows in {naive_s:.2f} s = {naive_rows / naive_s:,.0f} rows/s "
          f"(measured on a {naive_rows}-row subset, extrapolated to {rows}: {naive_full_s:.1f} s)")
    print(f"import_mmla: {imported} rows in {fast_s:.2f} s = {imported / fast_s:,.0f} rows/s "
          f"({len(reports)} datasets, {text_only} text-only, {issues} issues)")
    print(f"re-import unchanged: added {sum(r.added for r in again)}, "
          f"unchanged {sum(r.unchanged for r in again)} in {again_s:.2f} s")
    assert imported == rows and sum(r.added for r in again) == 0
    print(f"RESULT import: rows={imported} s={fast_s:.2f} rows_per_s={imported / fast_s:.0f} "
          f"ratio_vs_naive={naive_full_s / fast_s:.1f} (naive extrapolated from {naive_rows} rows)")


def bench_probe(work: Path, root: Path) -> None:
    workers = os.cpu_count() or 1
    with open_store(work / "fast.sqlite") as store:
        total = len(clips_to_probe(store))
        batches = []

        def stop_after_two(done: int, _total: int) -> None:
            batches.append(done)
            if len(batches) == 2:
                raise KeyboardInterrupt  # what a user's cancel looks like to the prober

        start = time.perf_counter()
        try:
            probe_pending(store, workers=workers, batch=PROBE_BATCH, progress=stop_after_two)
        except KeyboardInterrupt:
            pass
        first_s = time.perf_counter() - start
        stamps = dict(store.conn.execute("SELECT id, probed_at FROM clips WHERE probed_at "
                                         "IS NOT NULL").fetchall())
        counts, resume_s = timed(probe_pending, store, workers=workers, batch=PROBE_BATCH)
        kept = sum(1 for i, s in store.conn.execute("SELECT id, probed_at FROM clips")
                   if i in stamps and s == stamps[i])
        left = len(clips_to_probe(store))
    pool_s = first_s + resume_s
    print(f"probe: run 1 stopped by its progress callback after {len(stamps)} of {total} files "
          f"({first_s:.2f} s, incl. starting the fork server); run 2 resumed and probed "
          f"{sum(counts.values())} ({counts}) in {resume_s:.2f} s; run 1's {kept} results kept "
          f"(not probed twice), {left} left unprobed")
    assert len(stamps) + sum(counts.values()) == total and kept == len(stamps) and left == 0
    with open_store(work / "inline.sqlite") as store:
        import_mmla(store, root)
        _, inline_s = timed(probe_pending, store, workers=1, batch=PROBE_BATCH)
    print(f"baseline  probing in this process (workers=1): {total} files in {inline_s:.2f} s = "
          f"{total / inline_s:,.1f} files/s")
    print(f"RESULT probe: files={total} workers={workers} s={pool_s:.2f} "
          f"files_per_s={total / pool_s:.1f} ratio_vs_inline={inline_s / pool_s:.2f} "
          f"(interrupted + resumed, worker start-up included)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=61000)
    parser.add_argument("--videos", type=int, default=360, help="real videos in the tree")
    parser.add_argument("--quick", action="store_true", help="6,100 rows and 60 videos")
    args = parser.parse_args()
    rows, videos = (6100, 60) if args.quick else (args.rows, args.videos)
    with tempfile.TemporaryDirectory(prefix="mmla-bench-") as tmp:
        work = Path(tmp)
        start = time.perf_counter()
        per_dataset = max(1, videos // len(MMLA_SIZES))
        # one MIntRec-like clip (2.4 s average, 320x240, H.264+AAC), copied per video
        clip = make_clip(work / "clip.mp4", text="a typical utterance", duration_s=2.4)
        make_mmla_tree(work / "mmla", scaled_sizes(rows), with_video=per_dataset,
                       clip_source=clip)
        print(f"tree: {rows} rows over {len(MMLA_SIZES)} folders, {per_dataset} videos each, "
              f"built in {time.perf_counter() - start:.1f} s; cpus={os.cpu_count()}")
        bench_import(work, work / "mmla", rows)
        bench_probe(work, work / "mmla")


if __name__ == "__main__":
    main()
