"""Every kind of broken or unusual media file: imported, played, drawn, varied and probed.

The corpus (bad_media.py, >= 30 kinds) is imported as one folder (the same importer as File >
Import) and probed. Each clip then goes through what the app does with it (first frame, audio,
waveform, two variants, probe inputs, a model forward for a few) in a child process that
reports each step, so a segfault in a decoder is seen and survived (the child restarts after the
clip that killed it). Each step must either work or fail with a documented error whose message
names the file (or the clip) and the problem.
"""

from __future__ import annotations

import subprocess
from collections import Counter

import pytest

from mmla_core.store.db import open_store
from tests.support.bad_media import BROKEN, MIN_KINDS, PLAYABLE
from tests.support.children import json_lines, python_child
from tests.support.paths import repo_env

FORWARD = ("good.mp4", "uhd_4k.mp4", "audio_only.mp4")  # one forward each: A+V, 4K, audio only


def run_pipeline(db_path, clip_ids: list[int], omni_dir) -> list[dict]:
    """Each clip through the pipeline child; restarted after a clip that kills it."""
    events: list[dict] = []
    todo = list(clip_ids)
    while todo:
        child = subprocess.run(python_child("media_pipeline.py", db_path, omni_dir, *FORWARD),
                               input="\n".join(map(str, todo)), capture_output=True, text=True,
                               env=repo_env(),
                               timeout=600)
        lines = json_lines(child.stdout)
        events += lines
        done = {e["clip"] for e in lines if e["step"] == "done"}
        if child.returncode == 0:
            break
        started = [e["clip"] for e in lines if e["step"] == "start"]
        dead = started[-1] if started and started[-1] not in done else todo[0]
        events.append({"clip": dead, "step": "process", "outcome": "crash",
                       "error": f"exit {child.returncode}: {child.stderr[-1500:]}"})
        todo = todo[todo.index(dead) + 1:]
    return events


def names_the_problem(event: dict, start: dict) -> bool:
    """A clear per-file error names the file (or the clip by its id) and says what is wrong."""
    path = start["path"]
    error = event["error"]
    named = path.split("/")[-1] in error or f"clip {event['clip']} (" in error
    return named and len(error.replace(path, "")) > 12  # and more than the name: the problem


def test_corpus_has_enough_kinds(corpus):
    assert len(corpus) >= MIN_KINDS, sorted(corpus)


def test_import_gives_every_file_a_health_that_names_it(corpus_project, corpus):
    db_path, kinds = corpus_project
    with open_store(db_path) as store:
        rows = {r["id"]: r for r in store.query("SELECT * FROM clips")}
    assert set(kinds.values()) >= set(corpus) - {"directory_named_mp4"}  # a folder is no clip
    for clip_id, kind in kinds.items():
        row = rows[clip_id]
        assert row["health"] != "unprobed", kind
        assert row["media_path"].split("/")[-1] in row["health_detail"], (kind, row)
        if kind in PLAYABLE:
            assert not {"unreadable", "empty_file", "missing_file"} & set(
                row["health"].split(",")), (kind, row["health_detail"])
        if kind in BROKEN:
            assert row["health"] not in ("ok", "vfr"), kind


def test_every_clip_works_or_fails_clearly_and_nothing_crashes(corpus_project, omni_dir):
    db_path, kinds = corpus_project
    events = run_pipeline(db_path, sorted(kinds), omni_dir)
    starts = {e["clip"]: e for e in events if e["step"] == "start"}
    crashes = [(kinds[e["clip"]], e["step"], e["error"]) for e in events
               if e.get("outcome") == "crash"]
    assert crashes == []
    unclear = [(kinds[e["clip"]], e["step"], e["error"]) for e in events
               if e.get("outcome") == "error" and not names_the_problem(e, starts[e["clip"]])]
    assert unclear == []
    outcome = {(kinds[e["clip"]], e["step"]): e.get("outcome") for e in events}
    for kind in PLAYABLE & set(kinds.values()):  # healthy files: play, draw, probe
        for step in ("first_frame", "audio", "waveform", "probe_inputs", "model_inputs"):
            assert outcome.get((kind, step), "ok") == "ok", (kind, step)
    for kind in BROKEN & set(kinds.values()):  # never probed as if text-only
        assert outcome[(kind, "probe_inputs")] == "error", kind
    forwards = [e for e in events if e["step"] == "forward"]
    assert len(forwards) == len(FORWARD) and {e["outcome"] for e in forwards} == {"ok"}
    tally = Counter(e.get("outcome") for e in events if e["step"] not in ("start", "done"))
    print(f"\nbad media: {len(kinds)} clips of {len(set(kinds.values()))} kinds, "
          f"steps {dict(tally)}")


def test_probe_of_a_folder_named_like_a_clip_is_a_clear_verdict(corpus):
    from mmla_core.media.decode import MediaError, decode_audio, decode_first_frame
    from mmla_core.media.probe import probe

    folder = corpus["directory_named_mp4"]
    info = probe(folder)
    assert info.health == "not_a_file" and str(folder) in info.health_detail
    for decode in (decode_first_frame, decode_audio):
        with pytest.raises(MediaError, match="is a folder"):
            decode(folder)
