"""Find a sharegpt record's clip in a local folder (MMLA's cluster paths -> a local copy).

MMLA's LLaMA-Factory files name clips by absolute paths on the authors' cluster
(`/mnt/.../Datasets/<DS>/video/<file>.mp4`), its text-only files by a bare `<file>.mp4`. With a
media root (`mmla import --media-root DIR`, the import dialog's media folder) such a path is
looked up by its dataset folder and file name: `DIR/<DS>/video/<file>`, `DIR/<DS>/<file>`,
`DIR/video/<file>`, `DIR/<file>`, where <DS> may also be the Hugging Face folder name of the task
(`CH-SIMSv2.0` for `Ch-sims`). Every candidate is confined to the root (no `..`, no symlink out);
a relative path that escapes is refused outright, never remapped.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath, PureWindowsPath

from mmla_core.paths import PathEscapeError, relative_to_root
from mmla_core.tasks import mmla_task_for_folder

MEDIA_ROOT_HINT = ("pass --media-root DIR to `mmla import` (GUI: the media folder of the import "
                   "dialog) naming a local copy laid out as DIR/<dataset>/video/<file>")


def locate(root: Path, raw: str, dataset: str | None = None) -> tuple[str | None, str]:
    """(path relative to `root`, '') or (None, why not) for one record's media path; the
    importer's write (`common.write_clips`) adds what becomes of the clip."""
    escape: PathEscapeError | None = None
    try:
        relative = relative_to_root(root, raw)
        if (root / relative).is_file():
            return relative, ""
    except PathEscapeError as exc:
        if not _is_absolute(raw):
            return None, str(exc)
        escape = exc
    found = _by_name(root, raw, dataset)
    if found is not None:
        return found, ""
    if escape is not None:
        return None, f"{escape}; no {_name(raw)!r} under it either ({MEDIA_ROOT_HINT})"
    return None, f"media file {raw!r} not found under {root}"


def _is_absolute(raw: str) -> bool:
    return PurePosixPath(raw).is_absolute() or PureWindowsPath(raw).is_absolute()


def _parts(raw: str) -> tuple[str, ...]:
    return PureWindowsPath(raw).parts if "\\" in raw else PurePosixPath(raw).parts


def _name(raw: str) -> str:
    parts = _parts(raw)
    return parts[-1] if parts else ""


def _dataset_folders(raw: str, dataset: str | None) -> list[str]:
    """The dataset folder the path names (`<DS>/video/<file>` or `<DS>/<file>`), then the hint."""
    parts = _parts(raw)[:-1]
    if parts and parts[-1].lower() == "video":
        parts = parts[:-1]
    names = [parts[-1]] if parts else []
    names += [dataset] if dataset else []
    for name in list(names):
        task = mmla_task_for_folder(name)
        if task is not None:
            names += [task.name, *task.folder_aliases]
    return [n for n in dict.fromkeys(names) if _plain(n)]


def _plain(component: str) -> bool:
    """A single path component: never '..', a separator or a drive."""
    return component not in ("", ".", "..") and not any(c in component for c in "/\\:\x00")


def _by_name(root: Path, raw: str, dataset: str | None) -> str | None:
    name = _name(raw)
    if not _plain(name):
        return None
    candidates = [f"{d}/video/{name}" for d in _dataset_folders(raw, dataset)]
    candidates += [f"{d}/{name}" for d in _dataset_folders(raw, dataset)]
    candidates += [f"video/{name}", name]
    for candidate in candidates:
        try:
            relative = relative_to_root(root, candidate)
        except PathEscapeError:
            continue  # a symlink leading out of the root
        if (root / relative).is_file():
            return relative
    return None
