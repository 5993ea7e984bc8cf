"""User settings (QSettings, keyed by the app identity set in main.py): one place for the keys."""

from __future__ import annotations

import getpass
import hashlib
import json
from pathlib import Path

from PySide6.QtCore import QSettings

ANNOTATOR = "review/annotator"
AUTO_PLAY = "player/auto_play"
RECENT = "project/recent"
LAST_TRAIN = "train/last"  # + a key per project file
DEVICE_MAP = "models/device_map"
BROWSER_COLUMNS = "browser/column_widths"  # JSON {column key: px}: the borders a user dragged
MAX_RECENT = 8
# Where models load (models.placement): "" = one device, split only when a model does not fit it
PLACEMENTS = (("One device (split only when the model does not fit)", ""),
              ("Split over the GPUs, filling them in order (auto)", "auto"),
              ("Split evenly over the GPUs (balanced)", "balanced"),
              ("CPU only", "cpu"))


def _settings() -> QSettings:
    return QSettings()


def annotator() -> str:
    """The curator's name on every label; the OS user name until they set one."""
    value = _settings().value(ANNOTATOR, "")
    if value:
        return str(value)
    try:
        return getpass.getuser() or "curator"
    except (KeyError, OSError):
        return "curator"


def set_annotator(name: str) -> None:
    _settings().setValue(ANNOTATOR, name)


def auto_play() -> bool:
    return str(_settings().value(AUTO_PLAY, "false")).lower() == "true"


def set_auto_play(on: bool) -> None:
    _settings().setValue(AUTO_PLAY, "true" if on else "false")


def recent_projects() -> list[Path]:
    value = _settings().value(RECENT, [])
    items = [value] if isinstance(value, str) else list(value or [])
    return [Path(p) for p in items if p]


def remember_project(path: Path) -> None:
    paths = [str(path.resolve())] + [str(p) for p in recent_projects()
                                     if str(p) != str(path.resolve())]
    _settings().setValue(RECENT, paths[:MAX_RECENT])


def device_map() -> str:
    value = str(_settings().value(DEVICE_MAP, "") or "")
    return value if value in {v for _, v in PLACEMENTS} else ""


def set_device_map(value: str) -> None:
    _settings().setValue(DEVICE_MAP, value or "")


def model_load_kwargs() -> dict:
    """What the model worker loads models with, from the placement setting (empty: defaults)."""
    return {"device_map": device_map()} if device_map() else {}


def _project_key(path: Path) -> str:
    return hashlib.sha1(str(Path(path).resolve()).encode()).hexdigest()[:16]


def last_train_config(db_path: Path) -> dict | None:
    """The Train dialog's settings from the last launch in this project (None: never)."""
    text = _settings().value(f"{LAST_TRAIN}/{_project_key(db_path)}", "")
    try:
        found = json.loads(str(text)) if text else None
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


def remember_train_config(db_path: Path, config: dict) -> None:
    _settings().setValue(f"{LAST_TRAIN}/{_project_key(db_path)}", json.dumps(config))


def browser_column_widths() -> dict[str, int]:
    """The clip list's column widths this user set by dragging ({} when none, or unreadable)."""
    try:
        widths = json.loads(str(_settings().value(BROWSER_COLUMNS, "{}")))
        return {str(k): int(v) for k, v in widths.items() if int(v) > 0}
    except (ValueError, TypeError, AttributeError):
        return {}


def set_browser_column_width(key: str, width: int) -> None:
    _settings().setValue(BROWSER_COLUMNS, json.dumps({**browser_column_widths(), key: width}))
