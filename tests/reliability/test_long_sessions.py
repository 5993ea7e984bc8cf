"""Memory stays flat over a long session: 500 clips opened and closed, 200 probes run.

Each session runs in its own process (tests/support/long_session_child.py) that reports its
resident memory after a warm-up and at the end. Bounds are generous on purpose: they catch a leak
of a decoded clip or a model input per iteration (hundreds of MB over the run), not allocator
noise. The probe run also fills SQLite's page cache (up to 64 MiB by design) as predictions
accumulate. CI opens 60 clips; `-m long` runs the full sessions.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from mmla_core.store.db import open_store
from mmla_core.store.labels import import_labels
from mmla_core.tasks import builtin_task
from tests.support.bad_media import AUDIO_ONLY, PLAYABLE
from tests.support.children import child_env, python_child

pytestmark = pytest.mark.gui


def run_session(args: list, tmp_path, timeout: int) -> dict:
    child = subprocess.run(python_child("long_session_child.py", *args), capture_output=True,
                           text=True, timeout=timeout, env=child_env(tmp_path))
    assert child.returncode == 0, child.stderr[-3000:]
    result = json.loads(child.stdout.strip().splitlines()[-1])
    print(f"\n{args[0]} x{result['count']}: {result['warmup_mb']} MB after warm-up, "
          f"{result['end_mb']} MB at the end (growth {result['growth_mb']} MB) in "
          f"{result['seconds']} s; samples {result['samples']}")
    return result


def playable_files(corpus) -> list[str]:
    """The corpus clips a curator can play, audio-only ones included, in a fixed order."""
    return [str(corpus[k]) for k in sorted(PLAYABLE | AUDIO_ONLY) if k in corpus
            and k not in ("symlink",)]


def test_sixty_clips_opened_and_closed_keep_memory_flat(corpus, tmp_path):
    result = run_session(["clips", 60, *playable_files(corpus)], tmp_path, timeout=300)
    assert result["growth_mb"] < 60


@pytest.mark.long
def test_five_hundred_clips_opened_and_closed_keep_memory_flat(corpus, tmp_path):
    result = run_session(["clips", 500, *playable_files(corpus)], tmp_path, timeout=1200)
    assert result["growth_mb"] < 100


@pytest.mark.long
def test_two_hundred_probes_keep_memory_flat(labelled_project, omni_dir, tmp_path):
    with open_store(labelled_project) as store:  # gold labels: the misleading caption needs them
        task_id = store.scalar("SELECT id FROM tasks WHERE name = 'MELD'")
        labels = builtin_task("MELD").labels
        import_labels(store, [(r["id"], task_id, labels[r["id"] % len(labels)])
                              for r in store.query("SELECT id FROM clips")])
    result = run_session(["probes", 200, labelled_project, omni_dir], tmp_path, timeout=3600)
    assert result["predictions"] == 200 * 18  # six scenarios x three prompts per probe
    assert result["growth_mb"] < 150
