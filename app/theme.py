"""Look and feel: Fusion style, a clean sans-serif font, a little stylesheet, health colours."""

from __future__ import annotations

from PySide6.QtGui import QFont, QFontDatabase, QFontInfo, QGuiApplication
from PySide6.QtWidgets import QApplication

_SANS_FAMILIES = ("Inter", "Noto Sans", "Segoe UI", "Helvetica Neue", "Cantarell", "Ubuntu",
                  "DejaVu Sans", "Liberation Sans", "Arial")

HEALTH_COLOURS = {
    "ok": "#2e9d5b",         # green
    "text_only": "#5b7bb5",  # slate blue: nothing wrong, just no media
    "unprobed": "#8a8f98",   # grey: not checked yet
}
PROBLEM_COLOUR = "#d08a1c"   # amber: something to look at
BROKEN_COLOUR = "#c8453b"    # red: unusable
ERROR_STYLE = f"color: {BROKEN_COLOUR};"  # a label saying what is wrong
_BROKEN_WORDS = ("missing", "unreadable", "empty", "not_a_file", "broken", "corrupt")

STYLESHEET = """
QLabel#emptyState { color: #8a8f98; font-size: 11pt; }
QLabel#clipTitle { font-size: 12pt; font-weight: 600; }
QLabel#clipSubtitle { color: #6b7079; }
QLabel#frame { background: #1f2126; color: #c9ccd2; border-radius: 4px; padding: 8px; }
QLabel#healthBadge { color: white; border-radius: 8px; padding: 1px 8px; font-weight: 600; }
QLabel#factValue { color: #2b2d31; }
QLabel#muted { color: #8a8f98; }
QGroupBox { font-weight: 600; margin-top: 8px; }
QGroupBox::title { subcontrol-origin: margin; left: 2px; padding: 0 2px; }
QTableView { selection-background-color: #3d6fb6; }
QSplitter::handle { background: transparent; }
"""


def health_colour(health: str | None) -> str:
    """Badge colour for a clip's health string (`ok`, `unprobed`, `text_only` or problems)."""
    if not health:
        return HEALTH_COLOURS["unprobed"]
    if health in HEALTH_COLOURS:
        return HEALTH_COLOURS[health]
    lowered = health.lower()
    return BROKEN_COLOUR if any(w in lowered for w in _BROKEN_WORDS) else PROBLEM_COLOUR


def ui_font() -> QFont:
    """The system UI font, or a proportional sans-serif one where the platform offers a fixed one
    (the offscreen and minimal platforms can default to a monospace face)."""
    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.GeneralFont)
    if not QFontInfo(font).fixedPitch() and font.family():
        return font
    available = set(QFontDatabase.families())
    family = next((f for f in _SANS_FAMILIES if f in available), None)
    sans = QFont(family) if family else QFont()
    sans.setStyleHint(QFont.StyleHint.SansSerif)
    sans.setPointSizeF(max(font.pointSizeF(), 9.5))
    return sans


def apply_theme(app: QApplication | QGuiApplication) -> None:
    """App-wide style and font; the stylesheet is set on the main window (it cascades)."""
    if isinstance(app, QApplication):
        app.setStyle("Fusion")
    app.setFont(ui_font())
