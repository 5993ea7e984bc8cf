"""Never lose acknowledged work: SIGKILL the real app at random points during scripted edits.

The app (tests/support/crash_child.py) runs in a child process on a real project file and
performs a script of label / check / transcript edits from the keyboard, printing ACK once the
screen says an edit is saved. The parent kills it at random moments (right after an ACK, or a
random few milliseconds into the next edit), checks the database, restarts the app at the first
unacknowledged edit and goes on. Every acknowledged edit must be in the database after every
kill, and the file must pass `PRAGMA integrity_check`.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from dataclasses import dataclass, field

import pytest

from mmla_core.store.db import open_store
from mmla_core.tasks import builtin_task
from tests.support.children import child_env, python_child

pytestmark = pytest.mark.gui
CHECK_ANSWERS = ("yes", "no", "unsure")


@dataclass
class KillReport:
    edits: int
    acked: list[list] = field(default_factory=list)  # [index, kind, clip id, key, value]
    kills: int = 0
    lost: list[str] = field(default_factory=list)
    integrity_failures: int = 0
    clip_at: list[int] = field(default_factory=list)  # clip id shown at each table position


def make_script(edits: int, clips: int, seed: int) -> list[list]:
    """[position, kind, value]: a curator's mix of labels, check answers and transcript edits."""
    rng = random.Random(seed)
    labels = len(builtin_task("MELD").labels)
    script = []
    for i in range(edits):
        kind = rng.choices(("label", "check", "transcript"), weights=(5, 4, 1))[0]
        value = {"label": lambda: rng.randrange(labels),
                 "check": lambda: rng.choice(CHECK_ANSWERS),
                 "transcript": lambda n=i: f"take {n}: what now?"}[kind]()
        script.append([rng.randrange(clips), kind, value])
    return script


def stored_value(store, kind: str, clip_id: int, key: str):
    if kind == "label":
        return store.scalar("SELECT a.label FROM annotations a JOIN tasks t ON t.id = a.task_id "
                            "WHERE a.clip_id = ? AND t.name = ? AND a.annotator = 'alice'",
                            (clip_id, key))
    if kind == "check":
        return store.scalar("SELECT answer FROM check_answers WHERE clip_id = ? AND "
                            "check_key = ? AND annotator = 'alice'", (clip_id, key))
    return store.scalar("SELECT transcript FROM clips WHERE id = ?", (clip_id,))


def lost_edits(db_path, acked: list[list], in_flight: tuple | None) -> tuple[list[str], bool]:
    """Acknowledged edits whose value is not in the database (the last edit per key wins).

    `in_flight` = (kind, clip position's id) of the edit running at the kill: it may have
    committed without its ACK, so that key may hold its value instead.
    """
    latest = {(kind, clip, key): (index, value) for index, kind, clip, key, value in acked}
    lost = []
    with open_store(db_path) as store:
        ok = store.integrity_ok()
        for (kind, clip, key), (index, value) in latest.items():
            found = stored_value(store, kind, clip, key)
            if found != value and (kind, clip) != in_flight:
                lost.append(f"edit {index} ({kind} {key} = {value!r} on clip {clip}): "
                            f"database has {found!r}")
    return lost, ok


def run_child(db_path, script_path, start: int, tmp_path):
    return subprocess.Popen(python_child("crash_child.py", db_path, script_path, start),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=child_env(tmp_path))


def read_acks(child, report: KillReport, stop_after: int | None) -> str:
    """Collect ACK lines until `stop_after` more arrived (then return) or the script is done."""
    seen = 0
    for line in child.stdout:
        if line.startswith("ACK "):
            report.acked.append(json.loads(line[4:]))
            seen += 1
            if stop_after is not None and seen >= stop_after:
                return "kill"
        elif line.startswith("CLIPS "):
            report.clip_at = json.loads(line[6:])
        elif line.strip() == "DONE":
            return "done"
    return "exited"


def kill_session(db_path, edits: int, kills: int, clips: int, seed: int, tmp_path) -> KillReport:
    rng = random.Random(seed)
    script = make_script(edits, clips, seed)
    script_path = tmp_path / "script.json"
    script_path.write_text(json.dumps(script))
    report = KillReport(edits)
    kill_points = sorted(rng.sample(range(2, edits - 1, 3), kills))  # >= 3 edits apart
    while True:
        start = len(report.acked)
        child = run_child(db_path, script_path, start, tmp_path)
        # kill at the next point (or one ACK later, if the last kill's tail ran past it)
        stop_after = max(1, kill_points.pop(0) - start) if kill_points else None
        outcome = read_acks(child, report, stop_after)
        if outcome == "kill":
            time.sleep(rng.uniform(0.0, 0.08))  # sometimes in the middle of the next edit
        os.kill(child.pid, signal.SIGKILL)
        rest, errors = child.communicate(timeout=60)
        report.acked += [json.loads(line[4:]) for line in rest.splitlines()
                         if line.startswith("ACK ")]
        if outcome == "exited":
            pytest.fail(f"the app exited on its own: {errors[-3000:]}")
        report.kills += 1
        in_flight = None
        if len(report.acked) < edits:
            position, kind, _ = script[len(report.acked)]
            in_flight = (kind, report.clip_at[position])
        lost, ok = lost_edits(db_path, report.acked, in_flight)
        report.lost += lost
        report.integrity_failures += not ok
        if len(report.acked) >= edits:
            return report


def check_report(report: KillReport) -> None:
    print(f"\nkill test: {report.edits} edits, {report.kills} kills survived, "
          f"{len(report.lost)} acknowledged edits lost")
    assert [a[0] for a in report.acked] == sorted({a[0] for a in report.acked})
    assert len(report.acked) == report.edits
    assert report.lost == []
    assert report.integrity_failures == 0


def test_kills_during_scripted_edits_lose_nothing(labelled_project, tmp_path):
    report = kill_session(labelled_project, edits=24, kills=2, clips=6, seed=1, tmp_path=tmp_path)
    check_report(report)
    assert report.kills == 3  # two random kills + the one after the script


@pytest.mark.long
def test_two_hundred_edits_and_ten_kills(labelled_project, tmp_path):
    report = kill_session(labelled_project, edits=200, kills=10, clips=6, seed=7,
                          tmp_path=tmp_path)
    check_report(report)
    assert report.kills == 11
