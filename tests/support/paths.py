"""Where the repository and its test data are, and an environment whose Python finds `tests`.

A child process started with `subprocess` (the CLI, a torchrun rank, a script under
tests/support) gets the parent's environment, not its sys.path: `repo_env` puts the repository
root on PYTHONPATH so "tests.support.fake_engine:load" and `-m tests.support.NAME` resolve there.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TEST_DATA = REPO / "tests" / "data"


def repo_env(env: dict[str, str] | None = None, **extra: str) -> dict[str, str]:
    """`env` (default: this process's environment) with the repository root first on PYTHONPATH."""
    env = dict(os.environ if env is None else env, **extra)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    return env
