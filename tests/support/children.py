"""Child processes of the reliability tests: the scripts in tests/support, run as modules.

A script runs as `python -m tests.support.NAME` with the repository root on PYTHONPATH, so it
imports its neighbours by package name as the tests do.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.support.paths import repo_env

CHILD_ENV = {"QT_QPA_PLATFORM": "offscreen", "MMLA_STUDIO_AUDIO": "off", "OMP_NUM_THREADS": "1"}


def child_env(tmp_path: Path) -> dict[str, str]:
    """Environment for an app started in a child process: offscreen, no audio, own settings."""
    return repo_env(**CHILD_ENV, XDG_CONFIG_HOME=str(tmp_path / "config"),
                    MMLA_STUDIO_HOME=str(tmp_path / "home"))


def python_child(script: str, *args) -> list[str]:
    """The command line running tests/support/`script` (give it `child_env` or `repo_env`)."""
    return [sys.executable, "-m", f"tests.support.{script.removesuffix('.py')}", *map(str, args)]


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]
