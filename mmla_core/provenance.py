"""What a run was made with: library versions and the project's code revision.

Read from package metadata and git, never by importing torch (the GUI records a run without
loading the heavy libraries). The git commit is there only when the code runs from a checkout;
`dirty` says whether that checkout had uncommitted changes, which the commit alone would hide.
"""

from __future__ import annotations

import platform
import subprocess
from functools import lru_cache
from importlib import metadata
from pathlib import Path

__all__ = ["environment", "git_revision"]

LIBRARIES = ("torch", "transformers", "peft", "numpy", "accelerate")
PROJECT_DISTRIBUTION = "mmla-studio"


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


@lru_cache(maxsize=1)
def git_revision() -> dict | None:
    """{commit, dirty} of the checkout this code runs from; None when it is not one."""
    root = Path(__file__).resolve().parent.parent
    if not (root / ".git").exists():
        return None
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"],
                                capture_output=True, text=True, timeout=10, check=True)
        status = subprocess.run(["git", "-C", str(root), "status", "--porcelain",
                                 "--untracked-files=no"],
                                capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit.stdout.strip(), "dirty": bool(status.stdout.strip())}


def environment() -> dict:
    """Versions (None = not installed) and the git revision, as a run stores them."""
    revision = git_revision()
    return {
        "mmla_studio": _version(PROJECT_DISTRIBUTION),
        **{name: _version(name) for name in LIBRARIES},
        "python": platform.python_version(),
        "git_commit": revision["commit"] if revision else None,
        "git_dirty": revision["dirty"] if revision else None,
    }
