"""The player tests' clips read back by colour, and their waits (tests/gui/player/)."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtGui import QImage

from mmla_app.player.player_widget import PlayerWidget

FPS = 25
N_FRAMES = 50  # 2 s
RATE = 16000
WAIT_MS = 10_000


def colour_of(index: int) -> tuple[int, int, int]:
    """Frame `index` is one flat colour that survives H.264: red and blue code the index."""
    return 5 * index, 128, 250 - 5 * index


def index_of(image: QImage) -> int:
    """Which frame a shown image is, read back from its centre pixel."""
    pixel = image.pixelColor(image.width() // 2, image.height() // 2)
    return round((pixel.red() + 250 - pixel.blue()) / 10)


def sounddevice_or_skip():
    """sounddevice, or skip: without PortAudio its import raises OSError, not ImportError."""
    try:
        import sounddevice
    except (ImportError, OSError) as exc:
        pytest.skip(f"sounddevice unusable: {exc}")
    return sounddevice


def frame_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "mmla-frame-source" and t.is_alive()]


def load(qtbot, player: PlayerWidget, path) -> None:
    player.load_clip(path)
    qtbot.waitUntil(player.is_ready, timeout=WAIT_MS)
    if player.current_frame_index() >= 0:
        qtbot.waitUntil(lambda: player.view.painted_index == player.current_frame_index(),
                        timeout=WAIT_MS)


def shown_colour_index(player: PlayerWidget) -> int:
    return index_of(player.view.image())


def wait_shown(qtbot, player: PlayerWidget, index: int) -> None:
    """Frame `index` painted, and the image on screen is that frame. Call it on a paused
    player: playing, a newer frame can be set (not painted yet) after `index` was painted."""
    qtbot.waitUntil(lambda: player.view.painted_index == index, timeout=WAIT_MS)
    assert shown_colour_index(player) == index
