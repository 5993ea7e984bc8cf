"""V: play each alignment check's own view (muted video, black frames, or the full clip).

Off by default, so labelling always sees and hears the whole clip; when on, the player follows
the check the curator is on."""

from __future__ import annotations


class CheckView:
    def __init__(self, player):
        self.player = player
        self.on = False
        self.shown = "full"  # the current check's view

    def focus(self, _key: str, shown: str) -> None:
        """The curator moved to a check judged on `shown` (checks panel signal)."""
        self.shown = shown
        self.player.set_presentation(shown if self.on else "full")

    def toggle(self) -> str:
        """Switch check views on or off; returns the status line that says which."""
        self.on = not self.on
        self.player.set_presentation(self.shown if self.on else "full")
        state = "on: each check plays its own view" if self.on else "off: full clip"
        return f"Check views {state} (V)"
