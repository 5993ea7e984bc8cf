"""A SIGKILLed `mmla variants make` takes its workers along; a re-run cleans up (issue 15, item 8).

Before: the pool's forkserver and workers lived on after the kill (60 processes, 3 GB after a
series of kills) and went on writing variant files into the project folder.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from mmla_core.fsutil import TEMP_NAME, atomic_path, sweep_stale_temps
from mmla_core.store.db import open_store
from tests.support.labelled_project import build_labelled_project
from tests.support.processes import alive, descendants, wait_for

RECIPES = "frames_black,audio_silent,audio_noise:snr_db=5,av_offset:ms=200"


def _make(db: Path) -> list[str]:
    return [sys.executable, "-m", "mmla_core", "--db", str(db), "variants", "make",
            "--dataset", "reliability", "--recipes", RECIPES, "--workers", "2"]


def test_killed_variants_make_leaves_no_worker_and_rerun_finishes(tmp_path, speaker_clip):
    db = build_labelled_project(tmp_path / "project", speaker_clip, clips=40)
    out_dir = db.parent / "project.variants" / "reliability"
    child = subprocess.Popen(_make(db), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        workers = wait_for(lambda: len(descendants(child.pid)) >= 3 and descendants(child.pid),
                        timeout=60)
        assert workers, f"the pool never started: {child.stderr.read1().decode()}"
        wait_for(lambda: out_dir.is_dir() and any(out_dir.iterdir()), timeout=60)
        workers |= descendants(child.pid)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    started = time.monotonic()
    leftover = wait_for(lambda: not alive(workers), timeout=10)
    gone_s = time.monotonic() - started
    assert leftover, f"processes of the killed batch still alive: {sorted(alive(workers))}"
    files = sorted(p.name for p in out_dir.iterdir())
    time.sleep(0.5)  # nothing may appear after the workers are gone
    assert sorted(p.name for p in out_dir.iterdir()) == files
    rerun = subprocess.run(_make(db), capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert not [p for p in out_dir.iterdir() if TEMP_NAME.match(p.name)]
    with open_store(db) as store:
        count = store.scalar("SELECT count(*) FROM clips WHERE parent_clip_id IS NOT NULL")
    assert count == 40 * 4 and len([p for p in out_dir.iterdir() if p.suffix == ".mp4"]) == 160
    print(f"\n{len(workers)} processes of the killed batch gone {gone_s:.2f} s after the "
          f"kill; {len(files)} files before the re-run, 160 variants after it")


def test_a_dead_writers_temp_file_is_swept_and_a_live_ones_is_kept(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".a.mp4.pid{dead.pid}.x1y2.mp4"
    stale.write_bytes(b"half")
    with atomic_path(tmp_path / "b.mp4", suffix=".mp4") as live:
        live.write_bytes(b"being written")
        assert sweep_stale_temps(tmp_path) == [stale]
        assert live.is_file()
    assert (tmp_path / "b.mp4").read_bytes() == b"being written"
    assert os.listdir(tmp_path) == ["b.mp4"]
