"""Ranks that cannot write the project database: per-rank JSONL shards, merged in afterwards.

SQLite is not safe on a network file system (its locks do not hold there), so the ranks of a
launch over several machines must not all write one project file. With `--db-mode shards` (or
`auto`, when the database is on a network file system or not writable) a rank opens the project
read-only, to plan its samples and read its clips, and appends what it would have written to
files in the run folder that every rank can reach:

- evaluation: `run.json` (the run's plan, and the engine that answered) and
  `predictions.rank<R>.jsonl`, one prediction per line, flushed and synced per batch;
  `status.rank<R>.json` says how that rank ended. Re-running the same launch with the same
  folder resumes: the samples already in the shards are skipped.
- training: rank 0's `events.jsonl` (written in every mode) and `status.json`.

`mmla runs merge RUN_FOLDER` (eval.shard_merge) folds a folder into the project database: the
evaluation becomes a run (found again by its launch key, so a second merge adds nothing), the
training a job (found by its output folder). A half-written last line (a rank killed
mid-write) is skipped and reported.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["DB_MODES", "MergeReport", "ShardError", "ShardRecorder", "database_unreachable",
           "read_jsonl", "resolve_db_mode"]

DB_MODES = ("auto", "direct", "shards")
PLAN_FILE = "run.json"
NETWORK_FS = ("nfs", "nfs4", "cifs", "smbfs", "smb3", "lustre", "gpfs", "beegfs", "glusterfs",
              "fuse.sshfs", "9p", "ceph", "fuse.ceph", "afs", "panfs", "wekafs")


class ShardError(RuntimeError):
    """A run folder that cannot be written or merged; the message says why."""


def _mount_type(path: Path) -> str | None:
    """The file system type of the mount holding `path` (Linux /proc/mounts), else None."""
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return None
    target = str(path.resolve())
    best: tuple[str, str | None] = ("", None)
    for line in mounts:
        parts = line.split()
        if len(parts) < 3:
            continue
        inside = target == parts[1] or target.startswith(parts[1].rstrip("/") + "/")
        if inside and len(parts[1]) > len(best[0]):   # the deepest mount point holding it
            best = (parts[1], parts[2])
    return best[1]


def database_unreachable(db_path: str | Path) -> str | None:
    """Why this process should not write the database (None: it may)."""
    path = Path(db_path)
    if not path.is_file():
        return f"{path} does not exist here"
    fstype = _mount_type(path)
    if fstype in NETWORK_FS:
        return f"{path} is on a network file system ({fstype}), where SQLite's locks do not hold"
    if not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)):
        return f"{path} (or its folder) is not writable here"
    return None


def resolve_db_mode(mode: str, db_path: str | Path) -> tuple[str, str]:
    """("direct" | "shards", why) for --db-mode auto | direct | shards."""
    if mode not in DB_MODES:
        raise ShardError(f"db mode {mode!r} is not one of {', '.join(DB_MODES)}")
    if mode != "auto":
        return mode, f"--db-mode {mode}"
    why = database_unreachable(db_path)
    return ("shards", why) if why else ("direct", "the database is writable here")


def read_jsonl(path: Path) -> tuple[list[dict], list[str]]:
    """(rows, problems): a line that does not parse is skipped and reported; the last line
    without its newline is a write cut short (a killed rank)."""
    text = path.read_text(encoding="utf-8", errors="replace")
    lines = text.split("\n")
    rows, problems = [], []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if not isinstance(row, dict):
                raise ValueError("not an object")
        except ValueError:
            cut = number == len(lines) and not text.endswith("\n")
            problems.append(f"{path.name}:{number}: " + (
                "half-written last line (the rank stopped mid-write), skipped" if cut
                else "unreadable line (not a JSON object; a write cut short?), skipped"))
            continue
        rows.append(row)
    return rows, problems


def _write_atomically(path: Path, payload: dict) -> None:
    staging = path.with_name(f".{path.name}.{os.getpid()}")
    staging.write_text(json.dumps(payload, sort_keys=True, indent=1), encoding="utf-8")
    os.replace(staging, path)


class ShardRecorder:
    """What one evaluation rank writes instead of the database (see the module notes)."""

    def __init__(self, folder: str | Path, rank: int):
        self.folder, self.rank = Path(folder), rank
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ShardError(f"{self.folder}: cannot create the run folder ({exc})") from exc
        self.path = self.folder / f"predictions.rank{rank}.jsonl"

    def plan(self) -> dict:
        path = self.folder / PLAN_FILE
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}

    def write_plan(self, plan: dict) -> None:
        """Rank 0 writes the plan (and later the engine); a rank alone in its world too."""
        if self.rank == 0:
            _write_atomically(self.folder / PLAN_FILE, {**self.plan(), **plan})

    def done_keys(self) -> set[str]:
        """Sample keys answered (not errors) in any rank's shard of this folder."""
        keys: set[str] = set()
        for shard in sorted(self.folder.glob("predictions.rank*.jsonl")):
            rows, _ = read_jsonl(shard)
            keys.update(r["sample_key"] for r in rows if r.get("sample_key") and
                        not r.get("error"))
        return keys

    def write(self, rows: list[dict]) -> None:
        with open(self.path, "a+b") as handle:   # a killed earlier run's cut line stays alone
            if handle.tell() and (handle.seek(-1, os.SEEK_END), handle.read(1))[1] != b"\n":
                handle.write(b"\n")
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.writelines(json.dumps(row, sort_keys=True) + "\n" for row in rows)
            handle.flush()
            os.fsync(handle.fileno())

    def finish(self, status: str, message: str) -> None:
        _write_atomically(self.folder / f"status.rank{self.rank}.json",
                          {"status": status, "message": message})


@dataclass
class MergeReport:
    kind: str                  # eval | train
    target_id: int             # the run id or the training job id
    added: int = 0             # rows folded in by this merge
    already: int = 0           # rows the database had already
    status: str = ""
    problems: list[str] = field(default_factory=list)

    def describe(self) -> str:
        what = "run" if self.kind == "eval" else "training job"
        rows = "predictions" if self.kind == "eval" else "events"
        lines = [f"{what} {self.target_id}: {self.added} {rows} added, {self.already} already "
                 f"there; status {self.status}"]
        return "\n".join(lines + [f"skipped {p}" for p in self.problems])
