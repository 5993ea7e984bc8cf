"""Atomic file writes: readers (and a crash) never see half a file."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mmla_core.procs import process_alive

TEMP_NAME = re.compile(r"^\..+\.pid(\d+)\.[^.]+")  # what atomic_path names its temp files
FILE_MODE = 0o644  # mkstemp makes 0600 files; outputs are meant to be shared like any other


@contextmanager
def atomic_path(target: str | os.PathLike[str], suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temp path in the target's folder; on success it replaces `target`.

    The temp name carries the writer's pid (`.<name>.pid<N>.<random><suffix>`), so a later run
    can tell a dead writer's leftover from a live writer's work (`sweep_stale_temps`).
    """
    target = Path(target)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.pid{os.getpid()}.", suffix=suffix,
                               dir=target.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def sweep_stale_temps(folder: str | os.PathLike[str]) -> list[Path]:
    """Delete the temp files of `atomic_path` in `folder` whose writer process is gone.

    A SIGKILLed writer (a variant worker, say) cannot clean up after itself; its half-written
    file stays under a hidden temp name until the next run in that folder removes it here.
    """
    removed: list[Path] = []
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return removed
    for path in entries:
        match = TEMP_NAME.match(path.name)
        if match and path.is_file() and not process_alive(int(match.group(1))):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def write_bytes_atomic(target: str | os.PathLike[str], data: bytes) -> Path:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return Path(target)


def write_text_atomic(target: str | os.PathLike[str], text: str) -> Path:
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(target)
