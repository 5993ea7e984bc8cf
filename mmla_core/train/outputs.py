"""A run's output folder: choosing it, claiming it, and deleting it without touching anything else.

Launch writes a `.mmla-job` marker {job_id, db, created}; delete touches a folder only when it
lies inside this project's runs folder (`<db stem>.train/`) or its marker names this database
(a copy of project.sqlite elsewhere still points at the original's folders: those are left).
It removes the whole folder only when that marker says launch created the folder for this job of
this database and no other job's folder lies inside it; otherwise only the files a run writes.
Two jobs' folders never nest (refused at launch), so deleting one never reaches into another.

Cheap to import (no torch).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from mmla_core.fsutil import write_text_atomic
from mmla_core.store.jobs import other_output_dirs
from mmla_core.train.processes import PID_ROLES

CHECKPOINT_STAGING = ".checkpoint-saving"  # the trainer saves here, then renames (trainer.py)
CHECKPOINT_STATE = "trainer_state.json"     # the last file a checkpoint save writes


MARKER_FILE = ".mmla-job"
LOG_FILE = "train.log"
STOP_FILE = "STOP"
# Written by the launcher before the trainer starts: a fresh run may find these (and only these).
LAUNCH_FILES = ("config.yaml", LOG_FILE, MARKER_FILE, STOP_FILE,
                *(f"{role}.pid" for role in PID_ROLES))
SAMPLES_FILE = "samples.jsonl"  # what the latest (re)start trained and evaluated on
RUN_FILES = (*LAUNCH_FILES, SAMPLES_FILE, "events.jsonl", "best.json", "adapter", "adapter.saving",
             "adapter.old", CHECKPOINT_STAGING)


def runs_root(db_path: Path) -> Path:
    """`<db folder>/<db stem>.train/`: where a run's folder goes when its config names none."""
    return Path(db_path).parent / f"{Path(db_path).stem}.train"


class OutputDirError(ValueError):
    """An output folder a new run may not use (not empty, or nested with another job's)."""


def checkpoint_is_complete(path: Path) -> bool:
    """True when the save of this checkpoint finished: it is renamed into place only then, and
    (for runs older than that) trainer_state.json is written after the weights and optimizer."""
    return (Path(path) / CHECKPOINT_STATE).is_file()


def latest_complete_checkpoint(out: Path) -> tuple[Path | None, list[Path]]:
    """(the newest complete `checkpoint-<step>` in `out`, the newer incomplete ones skipped)."""
    found = sorted((int(p.name.removeprefix("checkpoint-")), p) for p in Path(out).glob(
        "checkpoint-*") if p.name.removeprefix("checkpoint-").isdigit() and p.is_dir())
    skipped: list[Path] = []
    for _, path in reversed(found):
        if checkpoint_is_complete(path):
            return path, skipped
        skipped.append(path)
    return None, skipped


def incomplete_note(skipped: list[Path]) -> str:
    names = ", ".join(p.name for p in skipped)
    return (f"skipped incomplete checkpoint(s) {names} (no {CHECKPOINT_STATE}: the run was "
            "killed while saving)")


def write_samples(out: Path, samples) -> Path:
    """`samples.jsonl`: one line per train and dev sample the run (re)started with: the clip,
    its split, task, label and transcript-bearing prompt as the trainer saw them. The job's
    record of its data: labels and transcripts curated after the launch do not change it."""
    fields = ("split", "clip_id", "task", "label", "answer", "prompt", "media_path", "variant",
              "prompt_kind")
    lines = [json.dumps({f: getattr(s, f) for f in fields}, ensure_ascii=False) for s in samples]
    return write_text_atomic(Path(out) / SAMPLES_FILE, "".join(f"{line}\n" for line in lines))


def read_samples(out: str | Path) -> list[dict]:
    """The samples `write_samples` recorded ([] for a run that has not started, or older)."""
    path = Path(out) / SAMPLES_FILE
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def leftovers(out: Path) -> list[str]:
    """Names in `out` that a fresh run must not start on (an earlier run's adapter, best.json,
    checkpoints...); the launcher's own files do not count."""
    if not out.is_dir():
        return []
    return sorted(p.name for p in out.iterdir()
                  if p.name not in LAUNCH_FILES and not re.fullmatch(r"train\.\d+\.log", p.name))


def refuse_used(out: Path) -> None:
    found = leftovers(out)
    if found:
        shown = ", ".join(found[:5]) + (", ..." if len(found) > 5 else "")
        raise OutputDirError(f"output folder {out} is not empty ({shown}): choose another one "
                             "(a new run would mix its checkpoints and best adapter with what "
                             "is there), or resume the run that wrote them")


def refuse_nested(store, out: Path, job_id: int | None = None) -> None:
    """Refuse `out` when it is inside, equal to, or holds another job's output folder."""
    mine = out.resolve()
    for other in other_output_dirs(store, job_id):
        theirs = Path(other["output_dir"]).resolve()
        if mine == theirs or mine in theirs.parents or theirs in mine.parents:
            how = "is" if mine == theirs else "is inside" if theirs in mine.parents else "holds"
            raise OutputDirError(
                f"output folder {out} {how} the folder of training job {other['id']} "
                f"'{other['name']}' ({theirs}): pick a folder apart from other runs' folders")


def claim(out: Path, job_id: int, db_path: Path) -> None:
    """Create `out` (empty or missing) and mark it as this job's, noting whether we made it."""
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER_FILE).write_text(json.dumps({"job_id": job_id, "db": str(db_path),
                                               "created": created}))


def foreign_note(store, out: Path) -> str | None:
    """Why `out` is not this project's to delete (None when it is): it lies outside this
    project's runs folder and no marker in it says this database launched a run there."""
    root = runs_root(Path(store.path)).resolve()
    mine = out.parent.resolve() / out.name   # a link in the root is ours to unlink, not follow
    if mine.is_relative_to(root) or _marker(out).get("db") == str(Path(store.path).resolve()):
        return None
    return (f"its folder {out} was left: it is outside this project's folder ({root}) and "
            "was not made by this project (a copy of another project's database?)")


def other_project(store, out: Path) -> str | None:
    """The database named by `out`'s marker when it is another one that still exists: the
    folder belongs to a run of that project (this database is a copy), which this one must
    neither resume nor stop. None without a marker (runs from before markers stay usable) or
    when that database is gone (this one was moved or renamed from it)."""
    db = _marker(out).get("db")
    if not isinstance(db, str) or db == str(Path(store.path).resolve()):
        return None
    return db if Path(db).is_file() else None


def remove(store, job: dict, checkpoint_dirs: list[Path]) -> str | None:
    """The whole folder only when it is provably ours alone, else only the files a run writes;
    never follows a link out of the folder (rmtree unlinks links, it does not enter them).
    Nothing when the folder is not this project's: the returned note says so."""
    out = Path(job["output_dir"])
    note = foreign_note(store, out)
    if note is not None:
        return note if out.exists() or out.is_symlink() else None
    if out.is_symlink():
        out.unlink()
        return None
    if not out.is_dir():
        return None
    if _whole_folder_is_ours(store, job, out):
        shutil.rmtree(out)
        return None
    names = [n for n in RUN_FILES if n != MARKER_FILE or _marker(out).get("job_id") == job["id"]]
    logs = list(out.glob("train.*.log"))
    for path in [out / n for n in names] + logs + checkpoint_dirs:
        if path.is_symlink() or path.is_file():
            path.unlink()
        elif path.is_dir():
            shutil.rmtree(path)
    if not any(out.iterdir()):
        out.rmdir()
    return None


def _marker(out: Path) -> dict:
    try:
        marker = json.loads((out / MARKER_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return marker if isinstance(marker, dict) else {}


def _whole_folder_is_ours(store, job: dict, out: Path) -> bool:
    marker = _marker(out)
    if not (marker.get("job_id") == job["id"] and marker.get("created") is True
            and marker.get("db") == str(Path(store.path).resolve())):
        return False
    try:
        refuse_nested(store, out, job["id"])
    except OutputDirError:
        return False
    return True
