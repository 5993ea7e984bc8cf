"""Windows never open larger than the screen they are on (a 1366x768 laptop included)."""

from __future__ import annotations

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget

SCREEN_SHARE = 0.94  # leave room for the title bar and a panel


def available_size(widget: QWidget) -> tuple[int, int]:
    """Width and height a window may take on the widget's screen (the primary one before it
    is shown)."""
    screen = widget.screen() or QGuiApplication.primaryScreen()
    if screen is None:
        return 10_000, 10_000
    area = screen.availableGeometry()
    return int(area.width() * SCREEN_SHARE), int(area.height() * SCREEN_SHARE)


def fit_resize(widget: QWidget, width: int, height: int) -> None:
    """`resize(width, height)`, shrunk to fit the screen."""
    max_width, max_height = available_size(widget)
    widget.resize(min(width, max_width), min(height, max_height))
