"""Re-root a dataset whose folder moved, on purpose and only onto the same files.

An import never re-roots a dataset (its identity is its root: `common.open_dataset`). When the
folder really moved, `mmla datasets move NAME NEWROOT` points the dataset at the new place, but
only if every clip's file is there and is the file that was probed: same size and the same
fingerprint (`variants.plan.media_fingerprint`, stored as `clips.media_hash` at probe time).
Otherwise nothing changes and each mismatch is listed, so labels never end up on other videos.

A clip whose file was never seen (missing at its first probe: 0 bytes and no fingerprint
recorded, or never probed) has nothing to compare: the file at the new root is taken for it
and the report counts it as "first seen here" (the next `mmla media probe` probes it).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from mmla_core.datasets.report import DatasetImportError
from mmla_core.paths import PathEscapeError, confine
from mmla_core.store.catalog import find_dataset, set_dataset_root, source_clips
from mmla_core.store.db import Store
from mmla_core.variants.plan import media_fingerprint


@dataclass
class MoveCheck:
    dataset: str
    old_root: str
    new_root: Path
    checked: int = 0  # files found with the same size (and fingerprint, where one is stored)
    size_only: int = 0  # of those, probed before fingerprints were stored: size checked only
    # "clip (path)" of the files found for clips whose file was never seen: nothing to compare
    first_seen: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def check_move(store: Store, dataset: str | int, new_root: str | os.PathLike) -> MoveCheck:
    """Compare every clip's stored size and fingerprint with the file under `new_root`."""
    row = _dataset_row(store, dataset)
    root = Path(new_root).resolve()
    if not root.is_dir():
        raise DatasetImportError(f"{new_root}: not a folder")
    check = MoveCheck(row["name"], row["root"], root)
    for clip in source_clips(store, row["id"]):
        if not clip["media_path"]:
            continue
        known = _file_was_seen(clip)
        problem = _file_problem(root, clip, media_fingerprint if known else None)
        if problem is None:
            check.checked += known
            check.size_only += known and clip["media_hash"] is None
            if not known:
                check.first_seen.append(f"{clip['external_id']} ({clip['media_path']})")
        else:
            check.problems.append(f"{clip['external_id']} ({clip['media_path']}): {problem}")
    return check


def _file_was_seen(clip: dict) -> bool:
    """Whether a probe recorded the clip's file: a fingerprint, or a size above 0 (probed before
    fingerprints were kept). A file missing at its first probe is recorded as 0 bytes."""
    return clip["media_hash"] is not None or bool(clip["media_size"])


def _file_problem(root: Path, clip: dict, fingerprint) -> str | None:
    """Why the file under `root` is not the clip's; `fingerprint` None: only that it is there."""
    try:
        target = confine(root, clip["media_path"])
        info = os.stat(target)
    except PathEscapeError as exc:
        return str(exc)
    except OSError as exc:
        return f"not found under the new root ({exc.strerror})"
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file"
    if fingerprint is None:
        return None
    if clip["media_size"] is not None and info.st_size != clip["media_size"]:
        return f"{info.st_size} bytes, was {clip['media_size']}: another file"
    if clip["media_hash"] is not None and fingerprint(target) != clip["media_hash"]:
        return "same size but different content: another file"
    return None


def _dataset_row(store: Store, dataset: str | int) -> dict:
    row = find_dataset(store, dataset)
    if row is None:
        raise DatasetImportError(f"no dataset {dataset!r} (see `mmla ls --datasets`)")
    return row


def listed(lines: list[str], limit: int = 20) -> str:
    """The first `limit` lines, one an indented line, then how many more."""
    more = len(lines) - limit
    return "".join(f"\n  {line}" for line in lines[:limit]) + \
        (f"\n  ... and {more} more" if more > 0 else "")


def move_dataset(store: Store, dataset: str | int, new_root: str | os.PathLike) -> MoveCheck:
    """Re-root the dataset when every file checks out; else raise, changing nothing."""
    check = check_move(store, dataset, new_root)
    if check.problems:
        raise DatasetImportError(
            f"dataset {check.dataset!r} not moved to {check.new_root}: "
            f"{len(check.problems)} file(s) differ from the ones probed at {check.old_root}:"
            + listed(check.problems))
    set_dataset_root(store, _dataset_row(store, dataset)["id"], str(check.new_root))
    return check
