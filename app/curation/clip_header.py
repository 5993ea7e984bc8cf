"""The line above the player: which clip this is and its media facts with a health badge.

The browser row gives the title at once; the full clip row (stream facts) comes from a small
background query, so switching clips never waits on SQLite.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from mmla_app.curation.clip_cells import format_duration
from mmla_app.runtime.runner import Runner
from mmla_app.theme import health_colour
from mmla_app.widgets.elided_label import ElidedLabel
from mmla_core.store.catalog import get_clip

FACTS_CHANNEL = "clip_facts"


def load_clip_facts(store, clip_id: int) -> dict | None:
    return get_clip(store, clip_id)


class ClipHeader(QWidget):
    def __init__(self, runner: Runner, parent: QWidget | None = None):
        super().__init__(parent)
        self._runner = runner
        self._clip_id: int | None = None
        self.title = ElidedLabel("No clip selected", objectName="clipTitle")
        self.health_badge = QLabel(objectName="healthBadge")
        self.facts = QLabel(objectName="clipSubtitle", wordWrap=True)
        # a file name is one word that cannot wrap: the facts never ask for more width than
        # they get (a long name would push the window past the screen); the name is elided
        self.facts.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._facts: tuple[list[str], str, str] | None = None  # parts, media name, warning
        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(self.health_badge)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(top)
        layout.addWidget(self.facts)
        self.health_badge.hide()

    def set_row(self, row) -> None:
        """`row` is a BrowseRow or None."""
        self._runner.cancel(FACTS_CHANNEL)
        self._clip_id = None if row is None else row.id
        if row is None:
            self.title.setText("No clip selected")
            self.facts.setText("Pick a clip in the list (Up/Down), or press Shift+N for the "
                               "next unreviewed one.")
            self.health_badge.hide()
            self._facts = None
            self.facts.setToolTip("")
            return
        variant = f" · variant of #{row.parent_clip_id}" if row.parent_clip_id else ""
        self.title.setText(f"{row.external_id}  ·  {row.dataset} · {row.split or 'unsplit'}"
                           f" · #{row.id}{variant}")
        self._show_health(row.health)
        self._set_facts([format_duration(row.duration_s)])
        self._runner.submit(load_clip_facts, row.id, channel=FACTS_CHANNEL,
                            on_success=partial(self._on_facts, row.id))

    def _show_health(self, health: str) -> None:
        self.health_badge.setText(health.replace("_", " "))
        self.health_badge.setStyleSheet(f"background: {health_colour(health)};")
        self.health_badge.show()

    def _on_facts(self, clip_id: int, clip: dict | None) -> None:
        if clip is None or clip_id != self._clip_id:
            return
        parts = [_duration_text(clip), _video_text(clip), _audio_text(clip)]
        media = clip.get("media_path") or ""
        detail = _detail_text(clip)
        self.facts.setToolTip("\n".join(t for t in (media, detail) if t))
        self._show_health(clip.get("health") or "unprobed")
        warn = clip.get("health") not in (None, "ok", "text_only", "unprobed") and detail
        self._set_facts(parts if media else [*parts, "text only"], media,
                        f"⚠ {detail}" if warn else "")

    def _set_facts(self, parts: list[str], media: str = "", warning: str = "") -> None:
        self._facts = (parts, media, warning)
        self._render_facts()

    def _render_facts(self) -> None:
        """The facts with the media file's name cut in the middle to the width there is."""
        if self._facts is None:
            return  # the no-clip hint, set as it is
        parts, media, warning = self._facts
        if media:
            room = max(self.facts.width(), self.fontMetrics().horizontalAdvance("M") * 12)
            parts = [*parts, self.facts.fontMetrics().elidedText(
                media, Qt.TextElideMode.ElideMiddle, room)]
        text = "  ·  ".join(p for p in parts if p)
        self.facts.setText(f"{text}\n{warning}" if warning else text)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._render_facts()


def _duration_text(row: dict) -> str:
    text = format_duration(row.get("duration_s"))
    video, audio = row.get("video_duration_s"), row.get("audio_duration_s")
    if video is not None and audio is not None and abs(video - audio) > 0.05:
        text += f" (video {video:.2f} s, audio {audio:.2f} s)"
    return text


def _detail_text(row: dict) -> str:
    """The probe's sentence without its leading "<file path>: " (the facts name the file)."""
    detail = row.get("health_detail") or ""
    head, sep, tail = detail.partition(": ")
    media = row.get("media_path") or ""
    if sep and media and head.endswith(Path(media).name):
        return tail
    return detail


def _video_text(row: dict) -> str:
    if row.get("has_video") == 0:
        return "no video"
    if not row.get("width"):
        return ""
    parts = [f"{row['width']}×{row['height']}"]
    if row.get("fps"):
        parts.append(f"{row['fps']:.3g} fps" + (" (VFR)" if row.get("is_vfr") else ""))
    if row.get("video_codec"):
        parts.append(row["video_codec"])
    return " ".join(parts)


def _audio_text(row: dict) -> str:
    if row.get("has_audio") == 0:
        return "no audio"
    if not row.get("audio_rate"):
        return ""
    channels = f" {row['audio_channels']} ch" if row.get("audio_channels") else ""
    codec = f" {row['audio_codec']}" if row.get("audio_codec") else ""
    return f"{row['audio_rate']} Hz{channels}{codec}"
