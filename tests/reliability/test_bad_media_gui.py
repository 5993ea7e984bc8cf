"""The real main window opens every bad-media clip (player + waveform) and survives.

The window runs in a child process (tests/support/gui_corpus_child.py) on a copy of the
corpus project and shows each clip in turn. It must get every clip ready, never lose a worker
thread to an exception, show a frame for every clip with playable video, and show an error (video
area, waveform or status bar) that names the file for every broken one.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.support.bad_media import AUDIO_ONLY, BROKEN, PLAYABLE
from tests.support.children import child_env, json_lines, python_child

pytestmark = pytest.mark.gui
AUDIO_ONLY_TEXT = "Audio only: this clip has no video"


def show_every_clip(db_path, tmp_path) -> tuple[list[dict], list[str]]:
    """Each clip's JSON line, and a note per crash (the child restarts after a fatal clip)."""
    shown, crashes, start = [], [], 0
    while True:
        child = subprocess.run(python_child("gui_corpus_child.py", db_path, start),
                               capture_output=True, text=True, timeout=600,
                               env=child_env(tmp_path))
        shown += json_lines(child.stdout)
        if "Traceback" in child.stderr:
            crashes.append(child.stderr[child.stderr.index("Traceback"):][:2000])
        if child.returncode == 0 and "DONE" in child.stdout:
            return shown, crashes
        crashes.append(f"exit {child.returncode} after {len(shown)} clips: "
                       f"{child.stderr[-1500:]}")
        start = len(shown) + 1


def test_main_window_shows_every_corpus_clip_or_its_error(corpus_project, tmp_path):
    source, kinds = corpus_project
    db_path = tmp_path / "project.sqlite"
    shutil.copy(source, db_path)
    shown, crashes = show_every_clip(db_path, tmp_path)
    assert crashes == []
    assert len(shown) == len(kinds) and all(s["ready"] for s in shown)
    by_kind = {kinds[s["clip"]]: s for s in shown}
    for kind in PLAYABLE - AUDIO_ONLY:
        if kind in by_kind:
            assert by_kind[kind]["frame"], (kind, by_kind[kind])
    for kind in PLAYABLE & AUDIO_ONLY:
        if kind in by_kind:
            assert (by_kind[kind]["video"], by_kind[kind]["waveform"]) == (AUDIO_ONLY_TEXT, "")
    for kind in BROKEN & set(by_kind):
        seen = by_kind[kind]
        errors = [seen["video"], seen["waveform"], *seen["notices"]]
        assert any(text.startswith(("No video:", "No audio:", "Nothing to play:"))
                   for text in errors), (kind, seen)
    slowest = max(s["seconds"] for s in shown)
    print(f"\nGUI: {len(shown)} corpus clips shown, {len(crashes)} crashes, "
          f"slowest {slowest:.2f} s")
