"""Key bindings for the whole app: the defaults, the curator's remaps, and conflict detection.

Every keyboard action has an id (`play_pause`, `label_1`, ...). Remaps are stored in QSettings
under `keymap/<id>` as portable key text ("" = deliberately unbound); only differences from the
defaults are stored, so a later release can change a default. Two actions on one key would make
Qt fire neither (an "ambiguous" shortcut, the silent failure Label Studio users report), so
`find_conflicts` names every clash, including clashes with the fixed menu shortcuts.

Labels 1-10 of the active task are on 1..9, 0; tasks with more labels (MIntRec has 20,
MIntRec2.0 has 30) continue on Ctrl+1..0 and Alt+1..0. Check "No" is N, so "next unreviewed"
defaults to Shift+N.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from PySide6.QtCore import QSettings
from PySide6.QtGui import QKeySequence

SETTINGS_GROUP = "keymap"
LABEL_TIERS = (("label_", "", "Label"), ("label_ctrl_", "Ctrl+", "Label"),
               ("label_alt_", "Alt+", "Label"))
MAX_LABEL_KEYS = 10 * len(LABEL_TIERS)


@dataclass(frozen=True)
class KeyAction:
    id: str
    text: str
    default: str   # portable key text ('' = no default key)
    group: str


def _digit(i: int) -> str:
    return str((i + 1) % 10)  # 0..9 -> keys 1..9, 0


def _label_actions() -> list[KeyAction]:
    actions = []
    for tier, (prefix, modifier, _) in enumerate(LABEL_TIERS):
        for i in range(10):
            number = tier * 10 + i + 1
            actions.append(KeyAction(f"{prefix}{_digit(i)}", f"Label {number} of the active task",
                                     f"{modifier}{_digit(i)}", "Labels"))
    return actions


ACTIONS: tuple[KeyAction, ...] = (
    KeyAction("play_pause", "Play / pause", "Space", "Playback"),
    KeyAction("frame_back", "Previous frame", "Left", "Playback"),
    KeyAction("frame_forward", "Next frame", "Right", "Playback"),
    KeyAction("jump_back", "Back 1 s", "Shift+Left", "Playback"),
    KeyAction("jump_forward", "Forward 1 s", "Shift+Right", "Playback"),
    KeyAction("speed_down", "Slower", "[", "Playback"),
    KeyAction("speed_up", "Faster", "]", "Playback"),
    KeyAction("speed_reset", "Normal speed (1x)", "\\", "Playback"),
    KeyAction("loop", "Loop selection", "L", "Playback"),
    KeyAction("zoom_in", "Zoom waveform in", "=", "Playback"),
    KeyAction("zoom_out", "Zoom waveform out", "-", "Playback"),
    KeyAction("spectrogram", "Spectrogram on/off", "S", "Playback"),
    KeyAction("prev_clip", "Previous clip", "Up", "Review"),
    KeyAction("next_clip", "Next clip", "Down", "Review"),
    KeyAction("next_unreviewed", "Next unreviewed clip", "Shift+N", "Review"),
    KeyAction("review_next", "Mark reviewed and go to next", "Return", "Review"),
    KeyAction("next_task", "Next task", "T", "Labels"),
    *_label_actions(),
    KeyAction("check_yes", "Answer check: Yes", "Y", "Checks"),
    KeyAction("check_no", "Answer check: No", "N", "Checks"),
    KeyAction("check_unsure", "Answer check: Unsure", "U", "Checks"),
    KeyAction("check_view", "Play each check's view (muted / black frames)", "V", "Checks"),
    KeyAction("undo", "Undo", "Ctrl+Z", "Edit"),
    KeyAction("redo", "Redo", "Ctrl+Shift+Z", "Edit"),
    KeyAction("filter", "Find clips", "Ctrl+F", "Edit"),
    KeyAction("edit_transcript", "Edit transcript", "F2", "Edit"),
)
_BY_ID = {a.id: a for a in ACTIONS}

# Menu shortcuts that are not remappable (app/actions.py); a remap onto one is a conflict.
RESERVED: dict[str, str] = {
    "Ctrl+N": "New project", "Ctrl+O": "Open project", "Ctrl+I": "Import dataset folder",
    "Ctrl+E": "Export",
    "Ctrl+Q": "Quit", "F1": "Help and keyboard shortcuts", "Ctrl+,": "Settings",
    "Ctrl+Shift+E": "Evaluate", "Ctrl+Shift+R": "Results", "Ctrl+Shift+T": "Train LoRA",
}


def action(action_id: str) -> KeyAction:
    try:
        return _BY_ID[action_id]
    except KeyError:
        raise KeyError(f"unknown key action {action_id!r}") from None


def normalise(keys: str | QKeySequence) -> str:
    """Portable text of the first key combination ('' for none), so 'ctrl+z' == 'Ctrl+Z'."""
    sequence = keys if isinstance(keys, QKeySequence) else QKeySequence(keys or "")
    if sequence.isEmpty():
        return ""
    return QKeySequence(sequence[0]).toString(QKeySequence.SequenceFormat.PortableText)


def default_bindings() -> dict[str, str]:
    return {a.id: normalise(a.default) for a in ACTIONS}


def current_bindings(settings: QSettings | None = None) -> dict[str, str]:
    """{action id: portable key text}: the defaults with the curator's remaps applied."""
    settings = settings or QSettings()
    bindings = default_bindings()
    settings.beginGroup(SETTINGS_GROUP)
    try:
        for action_id in settings.childKeys():
            if action_id in bindings:
                bindings[action_id] = normalise(str(settings.value(action_id) or ""))
    finally:
        settings.endGroup()
    return bindings


def save_bindings(bindings: Mapping[str, str], settings: QSettings | None = None) -> None:
    """Store what differs from the defaults; refuses a keymap with conflicts."""
    clashes = find_conflicts(bindings)
    if clashes:
        raise ValueError(f"key conflicts: {describe_conflicts(clashes)}")
    settings = settings or QSettings()
    defaults = default_bindings()
    settings.beginGroup(SETTINGS_GROUP)
    try:
        for action_id, default in defaults.items():
            value = normalise(bindings.get(action_id, default))
            if value == default:
                settings.remove(action_id)
            else:
                settings.setValue(action_id, value)
    finally:
        settings.endGroup()
    settings.sync()


def reset_bindings(settings: QSettings | None = None) -> None:
    settings = settings or QSettings()
    settings.remove(SETTINGS_GROUP)
    settings.sync()


def find_conflicts(bindings: Mapping[str, str]) -> dict[str, list[str]]:
    """{key: [action ids, or 'menu: <name>']} for every key bound more than once."""
    users: dict[str, list[str]] = {}
    for key, name in RESERVED.items():
        users.setdefault(normalise(key), []).append(f"menu: {name}")
    for action_id, keys in bindings.items():
        key = normalise(keys)
        if key:
            users.setdefault(key, []).append(action_id)
    return {key: who for key, who in users.items()
            if len(who) > 1 and any(not w.startswith("menu: ") for w in who)}


def conflicts_for(bindings: Mapping[str, str], action_id: str, keys: str) -> list[str]:
    """What else would answer `keys` if `action_id` were bound to it."""
    key = normalise(keys)
    if not key:
        return []
    trial = {**bindings, action_id: key}
    return [w for w in find_conflicts(trial).get(key, []) if w != action_id]


def describe_conflicts(conflicts: Mapping[str, list[str]]) -> str:
    parts = []
    for key, who in conflicts.items():
        names = [w[6:] if w.startswith("menu: ") else action(w).text for w in who]
        parts.append(f"{display_text(key)}: {' / '.join(names)}")
    return "; ".join(parts)


def display_text(keys: str) -> str:
    """The key as the platform writes it (e.g. ⌘Z on macOS)."""
    return QKeySequence(keys).toString(QKeySequence.SequenceFormat.NativeText)


# --- labels of the active task ------------------------------------------------------------------

def label_action_id(index: int) -> str:
    """The action for label `index` (0-based) of the active task."""
    if not 0 <= index < MAX_LABEL_KEYS:
        raise IndexError(f"labels past {MAX_LABEL_KEYS} have no key")
    return f"{LABEL_TIERS[index // 10][0]}{_digit(index % 10)}"


def label_actions() -> list[tuple[str, int]]:
    """(action id, 0-based label index) for every label key, for binding them in one loop."""
    return [(label_action_id(i), i) for i in range(MAX_LABEL_KEYS)]


def label_key_text(index: int, bindings: Mapping[str, str]) -> str:
    """A compact key hint for a label button ('1', '^1' for Ctrl+1, 'Alt 1'); '' if none."""
    if index >= MAX_LABEL_KEYS:
        return ""
    key = bindings.get(label_action_id(index), "")
    return key.replace("Ctrl+", "^").replace("Alt+", "Alt ").replace("Shift+", "⇧")
