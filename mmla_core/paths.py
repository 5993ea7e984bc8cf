"""Keep manifest paths inside their dataset root (DESIGN rule 8).

A manifest, a TSV id or a sharegpt record is untrusted input: `../../etc/passwd`, an absolute path
elsewhere, or a symlink planted in the dataset folder must not make the app read (or later export,
or hand to a model) a file outside the folder the user chose. `confine` resolves the path the way
the OS will open it (symlinks followed) and refuses anything that lands outside the root.
"""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path


class PathEscapeError(ValueError):
    """A path that resolves outside the root it must stay in."""

    def __init__(self, path: str | os.PathLike, root: str | os.PathLike, why: str):
        self.path = str(path)
        self.root = str(root)
        super().__init__(f"path {self.path!r} {why} (dataset root: {self.root})")


def confine(root: str | os.PathLike, relative: str | os.PathLike) -> Path:
    """The resolved absolute path of `relative` under `root`, or PathEscapeError.

    `relative` may be absolute only if it lies inside `root`. `..` that stays inside is fine;
    `..` or a symlink (anywhere along the path) that leads out is refused. The file need not exist.
    """
    raw = os.fspath(relative)
    if "\x00" in raw:
        raise PathEscapeError(raw, root, "contains a NUL byte")
    if not raw.strip():
        raise PathEscapeError(raw, root, "is empty")
    base = Path(root).resolve()
    candidate = Path(raw)
    joined = candidate if candidate.is_absolute() else base / candidate
    try:
        resolved = joined.resolve()
    except RuntimeError:  # Python < 3.13 raises this for a loop; later ones return the path
        raise PathEscapeError(raw, base, "is a symbolic link loop") from None
    except OSError as exc:
        raise PathEscapeError(raw, base, f"cannot be resolved ({exc.strerror})") from None
    except ValueError:  # a lone surrogate (from a JSON escape): no file can have this name
        raise PathEscapeError(raw, base, "is not a valid file name (invalid Unicode)") from None
    try:
        looped = _is_loop(resolved)
    except OSError as exc:  # e.g. a name longer than the file system allows
        raise PathEscapeError(raw, base, f"cannot be used ({exc.strerror})") from None
    if looped:
        raise PathEscapeError(raw, base, "is a symbolic link loop")
    if resolved != base and not resolved.is_relative_to(base):
        why = "is outside the dataset root"
        if not candidate.is_absolute():
            why = "escapes the dataset root" + (
                " through '..'" if ".." in candidate.parts else " through a symlink"
            )
        raise PathEscapeError(raw, base, why)
    return resolved


def _is_loop(path: Path) -> bool:
    """Python 3.13 resolves a loop without raising: stat then fails with ELOOP."""
    if not path.is_symlink():
        return False
    try:
        path.stat()
    except OSError as exc:
        return exc.errno == errno.ELOOP
    return False


def is_confined(root: str | os.PathLike, relative: str | os.PathLike) -> bool:
    try:
        confine(root, relative)
    except PathEscapeError:
        return False
    return True


def relative_to_root(root: str | os.PathLike, path: str | os.PathLike) -> str:
    """`path`, confined to `root`, as the POSIX relative string stored in the database.

    The lexical path is kept (a symlink inside the root stays a link name), so what the user sees
    matches their folder; `confine` has already checked where it really leads.
    """
    resolved = confine(root, path)
    candidate = Path(os.fspath(path))
    for base in (Path(root).absolute(), Path(root).resolve()):
        lexical = Path(os.path.normpath(candidate if candidate.is_absolute() else base / candidate))
        if lexical.is_relative_to(base):
            return lexical.relative_to(base).as_posix()
    return resolved.relative_to(Path(root).resolve()).as_posix()


class ForeignMediaError(PathEscapeError):
    """A variant row whose recorded media file is not its own (another variant's, say)."""


def check_own_media(recipe_json: str | None, media_path: str | os.PathLike) -> None:
    """Refuse a variant's media file whose name lacks the variant's content key.

    A variant that owns its media is written as `...~<key[:10]>.mp4`, so the key in the name
    proves the file is this variant's. Projects made before long names kept their key could
    record two variants on one cut-off name: playing, probing or deleting either would use the
    other's file. Such rows are refused here (`mmla variants make` again rebuilds them).
    """
    if not recipe_json:
        return

    try:
        recipe = json.loads(recipe_json)
    except ValueError:
        return
    key = recipe.get("key") if isinstance(recipe, dict) else None
    if not recipe.get("owns_media") or not isinstance(key, str) or not key:
        return
    if key[:10] not in Path(os.fspath(media_path)).name:
        raise ForeignMediaError(media_path, Path(os.fspath(media_path)).parent,
                                f"is not this variant's own media (its name lacks the "
                                f"variant's key {key[:10]}; run `mmla variants make` again "
                                "to rebuild it)")
