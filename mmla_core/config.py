"""Where things live by default: the per-user data dir (platformdirs) and the bundled resources."""

from __future__ import annotations

import os
import sys
from importlib import resources
from pathlib import Path

import platformdirs

APP_NAME = "mmla-studio"
DB_ENV = "MMLA_STUDIO_DB"


def data_dir() -> Path:
    """Per-user data folder; `MMLA_STUDIO_HOME` overrides it (tests, portable installs)."""
    override = os.environ.get("MMLA_STUDIO_HOME")
    return Path(override) if override else Path(platformdirs.user_data_dir(APP_NAME))


def default_db_path() -> Path:
    """The project database used when `--db` is not given (`MMLA_STUDIO_DB` overrides)."""
    override = os.environ.get(DB_ENV)
    return Path(override) if override else data_dir() / "project.sqlite"


def prepared_default_db_path() -> Path:
    """`default_db_path()` with its folder made: the first start creates the default project
    there (any other project's folder must exist: opening never creates folders)."""
    path = default_db_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def resources_dir() -> Path:
    """The bundled `resources/` folder, from a checkout, a wheel or a frozen app alike.

    A PyInstaller build unpacks data files under `sys._MEIPASS` (the one-folder build's
    `_internal/`); look there first, so the frozen app never depends on how its resource
    reader maps the package.
    """
    frozen_root = getattr(sys, "_MEIPASS", None)
    if getattr(sys, "frozen", False) and frozen_root:
        bundled = Path(frozen_root) / "mmla_resources"
        if bundled.is_dir():
            return bundled
    return Path(str(resources.files("mmla_resources")))
