"""The clip panel: first frame, transcript, media facts and labels of the selected clip.

What the clip-list row already holds (transcript, probe facts) is shown at once; the first frame
and the per-task labels come from two background requests on their own runner channels, so a
newer selection always wins and the GUI thread never decodes or queries.
"""

from __future__ import annotations

import errno
from functools import partial
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QPixmap, QResizeEvent
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QSizePolicy,
    QStackedWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mmla_app.clip_table import format_duration
from mmla_app.theme import health_colour
from mmla_app.workers import Runner

EMPTY_TEXT = "Select a clip to see its first frame, transcript and labels."
FRAME_CHANNEL = "clip_frame"
LABELS_CHANNEL = "clip_labels"


# --- background jobs (run on worker threads; no widgets here) ----------------------------------

def load_first_frame(dataset_root: str, media_path: str) -> QImage:
    """Decode the clip's first frame into a QImage (QImage, unlike QPixmap, is thread-safe)."""
    from mmla_core.media.decode import decode_first_frame
    from mmla_core.paths import confine

    path = confine(dataset_root, media_path)
    if not path.is_file():
        raise FileNotFoundError(errno.ENOENT, "media file not found", str(path))
    return rgb_to_qimage(decode_first_frame(path))


def rgb_to_qimage(rgb) -> QImage:
    """An (H, W, 3) uint8 RGB array as a QImage that owns its pixels."""
    import numpy as np

    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    height, width, _ = rgb.shape
    return QImage(rgb.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()


def load_clip_labels(store, clip_id: int, dataset_id: int) -> list[tuple[str, str | None, str]]:
    """(task, label or None, annotator) for every label of the clip and every unlabelled task."""
    from mmla_core.store.catalog import tasks_for_dataset
    from mmla_core.store.labels import labels_for_clip

    labels = labels_for_clip(store, clip_id)
    task_names = [task.name for _, task in tasks_for_dataset(store, dataset_id)]
    task_names += [r["task"] for r in labels if r["task"] not in task_names]
    rows: list[tuple[str, str | None, str]] = []
    for name in dict.fromkeys(task_names):
        mine = [(name, r["label"], r["annotator"]) for r in labels if r["task"] == name]
        rows += mine or [(name, None, "")]
    return rows


def no_video_reason(row: dict) -> str | None:
    """Why this clip has no frame to show, known without touching the file (or None)."""
    if not row.get("media_path"):
        return "text-only clip (no media file)"
    if row.get("has_video") == 0:
        return "the media file has no video stream (audio only)"
    return None


def frame_error_text(exc: BaseException) -> str:
    if isinstance(exc, FileNotFoundError):
        return f"media file not found: {exc.filename or exc}"
    if type(exc).__name__ in ("MediaError", "PathEscapeError"):
        return str(exc)
    return f"could not decode the first frame ({type(exc).__name__}: {exc})"


# --- widgets -----------------------------------------------------------------------------------

class FrameLabel(QLabel):
    """Shows one frame scaled to fit (aspect kept), or a message in its place."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("frame")
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setWordWrap(True)
        self.setMinimumSize(320, 200)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self._source: QPixmap | None = None

    def set_image(self, image: QImage) -> None:
        self._source = QPixmap.fromImage(image)
        self._rescale()

    def set_message(self, text: str) -> None:
        self._source = None
        self.clear()
        self.setText(text)

    def source_size(self):
        return None if self._source is None else self._source.size()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._rescale()

    def _rescale(self) -> None:
        if self._source is None:
            return
        size = self.contentsRect().size()
        if size.width() < 2 or size.height() < 2:
            return
        self.setPixmap(self._source.scaled(
            size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation,
        ))


class ClipView(QWidget):
    """Everything about one clip; `show_clip(row)` with a clip-list row dict, or None."""

    frame_shown = Signal(int)         # clip id
    frame_failed = Signal(int, str)   # clip id, the message shown
    labels_shown = Signal(int)        # clip id

    def __init__(self, runner: Runner, parent: QWidget | None = None):
        super().__init__(parent)
        self._runner = runner
        self.clip_id: int | None = None
        self.stack = QStackedWidget(self)
        self.empty_label = QLabel(EMPTY_TEXT, objectName="emptyState",
                                  alignment=Qt.AlignmentFlag.AlignCenter, wordWrap=True)
        self.stack.addWidget(self.empty_label)
        self.stack.addWidget(self._build_details())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack)

    # --- layout -------------------------------------------------------------------------------

    def _build_details(self) -> QWidget:
        page = QWidget(self)
        self.title = QLabel(objectName="clipTitle")
        self.subtitle = QLabel(objectName="clipSubtitle")
        self.frame = FrameLabel(page)
        self.transcript = QPlainTextEdit(page, readOnly=True)
        self.transcript.setPlaceholderText("(no transcript)")
        self.transcript.setFixedHeight(self.fontMetrics().lineSpacing() * 3 + 14)
        bottom = QHBoxLayout()
        bottom.addWidget(self._build_facts(), 1)
        bottom.addWidget(self._build_labels(), 1)
        layout = QVBoxLayout(page)
        layout.setContentsMargins(4, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.subtitle)
        layout.addWidget(self.frame, 1)
        layout.addWidget(QLabel("Transcript", objectName="muted"))
        layout.addWidget(self.transcript)
        layout.addLayout(bottom)
        return page

    def _build_facts(self) -> QGroupBox:
        box = QGroupBox("Media", self)
        form = QFormLayout(box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.facts: dict[str, QLabel] = {}
        for key, caption in (("duration", "Duration"), ("video", "Video"), ("audio", "Audio")):
            self.facts[key] = QLabel(objectName="factValue", wordWrap=True)
            form.addRow(caption, self.facts[key])
        self.health_badge = QLabel(objectName="healthBadge")
        badge_row = QHBoxLayout()
        badge_row.addWidget(self.health_badge)
        badge_row.addStretch(1)
        form.addRow("Health", badge_row)
        self.health_detail = QLabel(objectName="muted", wordWrap=True)
        form.addRow("", self.health_detail)
        self.facts["file"] = QLabel(objectName="factValue", wordWrap=True)
        form.addRow("File", self.facts["file"])
        return box

    def _build_labels(self) -> QGroupBox:
        box = QGroupBox("Labels", self)
        self.labels_tree = QTreeWidget(box)
        self.labels_tree.setHeaderLabels(["Task", "Label", "Annotator"])
        self.labels_tree.setRootIsDecorated(False)
        self.labels_tree.setUniformRowHeights(True)
        self.labels_tree.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        header = self.labels_tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        QVBoxLayout(box).addWidget(self.labels_tree)
        return box

    # --- showing a clip -----------------------------------------------------------------------

    def show_clip(self, row: dict | None) -> None:
        self._runner.cancel(FRAME_CHANNEL)
        self._runner.cancel(LABELS_CHANNEL)
        self.clip_id = None if row is None else int(row["id"])
        if row is None:
            self.stack.setCurrentIndex(0)
            return
        self.title.setText(row.get("external_id") or f"clip {row['id']}")
        split = row.get("split") or "unsplit"
        self.subtitle.setText(f"{row.get('dataset_name', '')} · {split} · clip #{row['id']}")
        self.transcript.setPlainText(row.get("transcript") or "")
        self._show_facts(row)
        self.stack.setCurrentIndex(1)
        self._request_labels(row)
        self._request_frame(row)

    def _show_facts(self, row: dict) -> None:
        self.facts["duration"].setText(_duration_text(row))
        self.facts["video"].setText(_video_text(row))
        self.facts["audio"].setText(_audio_text(row))
        self.facts["file"].setText(row.get("media_path") or "— (text only)")
        health = row.get("health") or "unprobed"
        self.health_badge.setText(health.replace("_", " "))
        self.health_badge.setStyleSheet(f"background: {health_colour(health)};")
        detail = _detail_text(row)
        self.health_detail.setText(detail)
        self.health_detail.setVisible(bool(detail))

    def _request_frame(self, row: dict) -> None:
        clip_id = int(row["id"])
        reason = no_video_reason(row)
        if reason is not None:
            self._frame_failed(clip_id, reason)
            return
        self.frame.set_message("Loading frame…")
        self._runner.submit(
            load_first_frame, row.get("dataset_root") or "", row["media_path"],
            channel=FRAME_CHANNEL, with_store=False,
            on_success=partial(self._on_frame, clip_id),
            on_error=lambda exc: self._frame_failed(clip_id, frame_error_text(exc)),
        )

    def _on_frame(self, clip_id: int, image: QImage) -> None:
        if clip_id != self.clip_id:
            return
        self.frame.set_image(image)
        self.frame_shown.emit(clip_id)

    def _frame_failed(self, clip_id: int, reason: str) -> None:
        if clip_id != self.clip_id:
            return
        message = f"No video: {reason}"
        self.frame.set_message(message)
        self.frame_failed.emit(clip_id, message)

    def _request_labels(self, row: dict) -> None:
        clip_id = int(row["id"])
        self._set_label_rows([("…", "loading", "")])
        self._runner.submit(
            load_clip_labels, clip_id, int(row["dataset_id"]), channel=LABELS_CHANNEL,
            on_success=partial(self._on_labels, clip_id),
            on_error=lambda exc: self._on_labels(clip_id, [("error", str(exc), "")]),
        )

    def _on_labels(self, clip_id: int, rows: list[tuple[str, str | None, str]]) -> None:
        if clip_id != self.clip_id:
            return
        self._set_label_rows(rows)
        self.labels_shown.emit(clip_id)

    def _set_label_rows(self, rows: list[tuple[str, str | None, str]]) -> None:
        self.labels_tree.clear()
        for task, label, annotator in rows:
            item = QTreeWidgetItem([task, label if label is not None else "—", annotator])
            if label is None:
                item.setForeground(1, self.palette().placeholderText())
            self.labels_tree.addTopLevelItem(item)

    def label_rows(self) -> list[tuple[str, str, str]]:
        """What the labels panel shows, as (task, label, annotator) text."""
        tree = self.labels_tree
        return [tuple(tree.topLevelItem(i).text(c) for c in range(3))
                for i in range(tree.topLevelItemCount())]


# --- fact formatting ---------------------------------------------------------------------------

def _duration_text(row: dict) -> str:
    text = format_duration(row.get("duration_s"))
    video, audio = row.get("video_duration_s"), row.get("audio_duration_s")
    if video is not None and audio is not None and abs(video - audio) > 0.05:
        text += f"  (video {video:.2f} s, audio {audio:.2f} s)"
    return text


def _detail_text(row: dict) -> str:
    """The probe's sentence without its leading "<file path>: " (the File row names the file)."""
    detail = row.get("health_detail") or ""
    head, sep, tail = detail.partition(": ")
    media = row.get("media_path") or ""
    if sep and media and head.endswith(Path(media).name):
        return tail
    return detail


def _video_text(row: dict) -> str:
    if row.get("has_video") == 0:
        return "none"
    if not row.get("width"):
        return "—"
    parts = [f"{row['width']}×{row['height']}"]
    if row.get("fps"):
        parts.append(f"{row['fps']:.3g} fps" + (" (VFR)" if row.get("is_vfr") else ""))
    if row.get("video_codec"):
        parts.append(row["video_codec"])
    return " · ".join(parts)


def _audio_text(row: dict) -> str:
    if row.get("has_audio") == 0:
        return "none"
    if not row.get("audio_rate"):
        return "—"
    parts = [f"{row['audio_rate']} Hz"]
    if row.get("audio_channels"):
        parts.append(f"{row['audio_channels']} ch")
    if row.get("audio_codec"):
        parts.append(row["audio_codec"])
    return " · ".join(parts)
