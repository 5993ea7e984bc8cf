"""Re-check probed media: a file deleted, truncated or replaced since its probe is noticed.

A probe's verdict ('ok', its duration, its streams) describes the file as it was. Each run of
`mmla media probe` (and the GUI's Re-check media, and the probe after an import) first stats
every probed file, one `os.stat` each and no decoding, and compares size and mtime with what
the probe recorded, the same way the probe records them (0 bytes for a file that is not a
regular file). A file gone is marked 'missing_file' at once; a file that changed, or came back,
is probed again with the unprobed ones. Unchanged files are not opened, so a re-run on 20,000
clips costs 20,000 stats.
"""

from __future__ import annotations

import os
import stat
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from mmla_core.datasets.probing import Progress, probe_pending
from mmla_core.store.db import Store
from mmla_core.store.media_state import (
    clip_health,
    mark_media_missing,
    mark_unprobed,
    probed_media,
)


@dataclass(frozen=True)
class MediaChange:
    """One clip whose file is not the one its probe saw."""

    clip_id: int
    dataset: str
    external_id: str
    path: str        # the file as the clip names it (root joined with media_path)
    kind: str        # missing | back | resized | modified | unrecorded
    what: str        # "missing", "found again", "size 1200 -> 600 bytes", "modified ..."
    health: str = ""  # the verdict now (after the re-probe)

    def __str__(self) -> str:
        after = f"; now {self.health}" if self.health else ""
        return f"{self.dataset}/{self.external_id} ({self.path}): {self.what}{after}"


@dataclass
class MediaCheck:
    """What one `check_media` run found and did."""

    changes: list[MediaChange] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # {health: clips} probed this run
    checked: int = 0  # probed files stat-ed

    def summary(self) -> str:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(self.counts.items()))
        what = Counter(c.kind for c in self.changes)
        changed = ", ".join(f"{n} {kind}" for kind, n in sorted(what.items()))
        return (f"{self.checked} probed files re-checked, {len(self.changes)} changed since "
                f"their probe{f' ({changed})' if changed else ''}"
                + (f"; media health of the files probed: {counts}" if counts else ""))


def check_media(store: Store, dataset_id: int | None = None, *, workers: int | None = None,
                progress: Progress | None = None) -> MediaCheck:
    """Re-check the probed files (of one dataset, or all), then probe the unprobed and changed.

    `progress(done, total)` as `probe_pending` calls it (for the files being probed).
    """
    result = MediaCheck()
    result.changes, result.checked = recheck_probed(store, dataset_id)
    result.counts = probe_pending(store, dataset_id, workers=workers, progress=progress)
    verdicts = clip_health(store, [c.clip_id for c in result.changes])
    result.changes = [_with_health(c, verdicts.get(c.clip_id)) for c in result.changes]
    return result


def recheck_probed(store: Store, dataset_id: int | None = None) -> tuple[list[MediaChange], int]:
    """Stat every probed file; mark the missing ones, send the changed ones back to 'unprobed'.

    Returns the changes and how many files were checked.
    """
    rows = probed_media(store, dataset_id)
    changes, missing, changed = [], [], []
    for row in rows:
        path = os.path.normpath(os.path.join(row["root"], row["media_path"]))
        found = _what_changed(row, path)
        if found is None:
            continue
        kind, what = found
        changes.append(MediaChange(row["id"], row["dataset"], row["external_id"], path, kind,
                                   what))
        if kind == "missing":
            missing.append((row["id"], f"{path}: file not found (it was there when probed, "
                                        f"{row['probed_at'] or 'earlier'}; re-probe once it is "
                                        "back)."))
        else:
            changed.append(row["id"])
    if missing:
        mark_media_missing(store, missing)
    if changed:
        mark_unprobed(store, changed)
    return changes, len(rows)


def _what_changed(row: dict, path: str) -> tuple[str, str] | None:
    """None when the file is as probed; else (kind, what differs in a few words)."""
    seen = _file_signature(path)
    if "missing_file" in row["health"].split(","):
        return None if seen is None else ("back", "found again")
    if seen is None:
        return "missing", "missing (file not found)"
    size, mtime = seen
    old_size, old_mtime = row["media_size"], row["media_mtime"]
    if old_size is None or old_mtime is None:
        return "unrecorded", "size and time not recorded at its probe"
    if size != old_size:
        return "resized", f"size {old_size} -> {size} bytes"
    if mtime != old_mtime:
        return "modified", f"modified {_when(old_mtime)} -> {_when(mtime)} (same size)"
    return None


def _file_signature(path: str) -> tuple[int, float] | None:
    """(size, mtime) as `media.probe` records them; None when there is no file at all."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return None
    except OSError:
        return 0, 0.0  # what a probe records for a file it cannot access
    if not stat.S_ISREG(info.st_mode):
        return 0, info.st_mtime  # a folder or a FIFO: probed as not_a_file with 0 bytes
    return info.st_size, info.st_mtime


def _when(mtime: float) -> str:
    return datetime.fromtimestamp(mtime, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _with_health(change: MediaChange, verdict: tuple[str, str] | None) -> MediaChange:
    if verdict is None:
        return change
    return replace(change, health=verdict[0])
