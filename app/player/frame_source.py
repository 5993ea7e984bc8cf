"""Video frames for the player: decoded on one worker thread (never the GUI thread), painted
by VideoView.

The GUI asks `frame(k)` for the frame the clock is on. A hit in the small GUI-side cache shows
at once; a miss tells the worker, which decodes it (forward from where it is when no keyframe
lies between, else a seek to the keyframe before it) and sends it back as a QImage. While idle
the worker decodes a few frames past the GUI's cursor, so steady playback always hits the cache
and the shown frame is the clock's frame at every timer tick. Memory is bounded: the cache keeps
frames from BEHIND before the cursor to AHEAD after it, and the worker decodes no further
(AHEAD_PAUSED while paused, so a clip switch does not compete with needless read-ahead).

Requests carry a generation: frames of a clip that is no longer open, and answers to a frame
nobody waits for any more, are dropped. The worker is a plain thread (not the global Qt pool,
which has one thread per core and is needed by short jobs); `close()` joins it.
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, QRectF, QSize, Qt, Signal, Slot
from PySide6.QtGui import QColor, QImage, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from mmla_core.media.decode import FrameClock, MediaError, open_media, video_index
from mmla_core.media.packets import first_video_stream

if TYPE_CHECKING:  # PyAV loads on the worker thread, not when the window starts
    import av

__all__ = ["AHEAD", "BEHIND", "NO_CLIP_TEXT", "FrameSource", "VideoInfo", "VideoView"]

NO_CLIP_TEXT = "No clip"

AHEAD = 10  # frames decoded past the cursor while playing (0.4 s at 25 fps)
AHEAD_PAUSED = 2  # while paused: enough for stepping, and a clip switch is not slowed down
BEHIND = 3  # frames kept before it: stepping back a frame or two is instant
MAX_SIDE = 1280  # larger videos are scaled down in the worker (the view is never bigger)
_FAST_FORMAT = ("bgra", QImage.Format.Format_RGB32) if sys.byteorder == "little" else None


@dataclass(frozen=True)
class VideoInfo:
    """What the player needs to know about an opened video."""

    clock: FrameClock
    width: int
    height: int

    @property
    def end_s(self) -> float:
        """Where the last frame stops being shown: its time plus a typical frame gap."""
        times = self.clock.times
        gap = float(np.median(np.diff(times))) if times.size > 1 else 0.04
        return float(times[-1]) + gap


class _Decoder:
    """Worker-thread side: one open container, decoding forward and seeking when it pays."""

    def __init__(self, path: Path, max_side: int) -> None:
        index, self.origin = video_index(path)
        self.clock = FrameClock(np.asarray(index.seconds(index.pts), np.float64) - self.origin)
        self.time_base = index.time_base
        keys = np.asarray(index.seconds(index.keyframe_pts), np.float64) - self.origin
        self.keyframes = np.unique(self.clock.times_to_frames(keys)) if keys.size else np.zeros(
            1, np.int64)
        self.seek_ok = True  # False once a seek overshot: then decode from the start instead
        self.fresh = False  # True until the first frame after a seek is out
        self.container = open_media(path)
        self.stream = first_video_stream(self.container)
        if self.stream is None:
            self.container.close()
            raise MediaError(f"{path}: has no video stream (audio-only file)")
        self.size = _scaled_size(self.stream, max_side)
        self.next_index: int | None = None  # index of the next frame out; None: not positioned
        self._frames = None

    def info(self) -> VideoInfo:
        return VideoInfo(self.clock, *self.size)

    def reachable(self, index: int) -> bool:
        """Whether decoding forward to `index` costs no more than a seek would."""
        if self.next_index is None or index < self.next_index:
            return False
        if not self.seek_ok:
            return True
        keys_between = (self.keyframes > self.next_index) & (self.keyframes <= index)
        return not bool(np.any(keys_between))

    def seek(self, index: int) -> None:
        """Position before `index` (at the keyframe before it); next_index is then unknown."""
        if not self.seek_ok:
            self.rewind()
            return
        target = float(self.clock.times[index]) + self.origin
        pts = int(np.floor(target / float(self.time_base) + 1e-6))
        self.container.seek(pts, stream=self.stream, backward=True)
        self._frames = self.container.decode(self.stream)
        self.next_index, self.fresh = None, True

    def rewind(self) -> None:
        self.container.seek(0, stream=self.stream, backward=True)
        self._frames = self.container.decode(self.stream)
        self.next_index, self.fresh = 0, False

    def next_frame(self) -> tuple[int, av.VideoFrame] | None:
        """The next decoded frame and its index; None at the end of the stream."""
        if self._frames is None:
            self.rewind()
        frame = next(self._frames, None)
        if frame is None:
            self.next_index = len(self.clock)
            return None
        stamp = frame.time if frame.time is not None else 0.0
        index = self.clock.time_to_frame(stamp - self.origin)
        self.next_index = index + 1
        return index, frame

    def overshot(self, index: int, need: int | None) -> bool:
        """A seek landed after the frame asked for (a demuxer seeking by dts): stop seeking."""
        fresh, self.fresh = self.fresh, False
        if fresh and need is not None and index > need:
            self.seek_ok = False
            self.rewind()
            return True
        return False

    def to_qimage(self, frame: av.VideoFrame) -> QImage:
        width, height = self.size
        # contiguous: FFmpeg pads rows of odd widths (162 px), and QImage needs plain rows
        if _FAST_FORMAT is None:
            pixels = np.ascontiguousarray(frame.to_ndarray(format="rgb24", width=width,
                                                           height=height))
            return QImage(pixels.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()
        fmt, qt_format = _FAST_FORMAT
        pixels = np.ascontiguousarray(frame.to_ndarray(format=fmt, width=width, height=height))
        return QImage(pixels.data, width, height, 4 * width, qt_format).copy()

    def close(self) -> None:
        self._frames = None
        self.container.close()


def _scaled_size(stream: av.VideoStream, max_side: int) -> tuple[int, int]:
    width, height = stream.codec_context.width, stream.codec_context.height
    scale = min(1.0, max_side / max(width, height, 1))
    return max(1, round(width * scale)), max(1, round(height * scale))


class FrameSource(QObject):
    """Frames of one clip at a time for the GUI; see the module docstring."""

    opened = Signal(object)  # VideoInfo of the clip just opened
    failed = Signal(str)  # why the clip has no frames (no video stream, broken file)
    frame_ready = Signal(int, object)  # frame index, QImage: a frame someone waited for
    _from_worker = Signal(int, str, object)  # generation, kind, payload (worker -> GUI)

    def __init__(self, parent: QObject | None = None, *, max_side: int = MAX_SIDE) -> None:
        super().__init__(parent)
        self._max_side = max_side
        self._cond = threading.Condition()
        self._gen = 0
        self._path: Path | None = None
        self._cursor = 0
        self._ahead = AHEAD_PAUSED
        self._need: int | None = None
        self._in_flight: set[int] = set()  # frames sent by the worker, not yet received
        self._stop = False
        self._thread: threading.Thread | None = None
        self._cache: dict[int, QImage] = {}
        self._waiting: int | None = None  # index asked for and not in the cache yet
        self._pinned: int | None = None  # a loop's first frame: kept so a wrap shows at once
        self._length = 0
        self._from_worker.connect(self._on_worker)

    # --- GUI thread API -------------------------------------------------------------------

    def open(self, path: str | Path | None, first_index: int = 0) -> None:
        """Start on a new clip (None: none); `opened` or `failed` follows, then frame_ready."""
        with self._cond:
            self._gen += 1
            self._path = None if path is None else Path(path)
            self._cursor, self._need = first_index, first_index
            self._in_flight.clear()
            self._cond.notify_all()
        self._cache.clear()
        self._pinned, self._length = None, 0
        self._waiting = first_index if path is not None else None
        if path is not None:
            self._ensure_thread()

    def frame(self, index: int) -> QImage | None:
        """The frame now if cached; else None, and `frame_ready(index, image)` follows.

        On a hit, the first frame missing ahead of it is asked for: after a jump into cached
        frames (a loop wrapping to its pinned start) decoding resumes where the cache ends.
        """
        image = self._cache.get(index)
        with self._cond:
            target = index if image is None else self._first_missing_after(index)
            wanted = target is not None and target not in self._in_flight
            changed = index != self._cursor or (wanted and self._need != target)
            self._cursor = index
            if wanted and (image is None or self._need is None):
                self._need = target
            if changed:
                self._cond.notify_all()
        self._waiting = None if image is not None else index
        self._prune()
        return image

    def _first_missing_after(self, index: int) -> int | None:
        last = min(index + self._ahead, self._length - 1)
        return next((i for i in range(index + 1, last + 1)
                     if i not in self._cache and i not in self._in_flight), None)

    def pin(self, index: int | None) -> None:
        """Keep frames from `index` on (AHEAD of them) cached: a loop's start (None: unpin)."""
        self._pinned = index

    def set_playing(self, playing: bool) -> None:
        """Read further ahead while playing than while paused."""
        with self._cond:
            self._ahead = AHEAD if playing else AHEAD_PAUSED
            self._cond.notify_all()

    def cached(self) -> list[int]:
        return sorted(self._cache)

    def close(self) -> None:
        """Stop and join the worker; forget the clip. Safe to call twice."""
        with self._cond:
            self._stop = True
            self._gen += 1
            self._cond.notify_all()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join()
        with self._cond:
            self._stop = False
            self._path, self._need = None, None
            self._in_flight.clear()
        self._cache.clear()
        self._waiting = None

    # --- results on the GUI thread ----------------------------------------------------------

    @Slot(int, str, object)  # emitted on the worker thread: a declared slot (runtime/gui_calls)
    def _on_worker(self, gen: int, kind: str, payload) -> None:
        if gen != self._gen:
            return  # an earlier clip's answer
        if kind == "opened":
            self._length = len(payload.clock)
            self.opened.emit(payload)
        elif kind == "failed":
            self.failed.emit(payload)
        elif kind == "frame":
            index, image = payload
            with self._cond:
                self._in_flight.discard(index)
            self._cache[index] = image
            self._prune()
            if index == self._waiting:
                self._waiting = None
                self.frame_ready.emit(index, image)

    def _prune(self) -> None:
        low, high = self._cursor - BEHIND, self._cursor + AHEAD  # the most ever read ahead
        pin = self._pinned if self._pinned is not None else -AHEAD - 1
        for index in [i for i in self._cache if not low <= i <= high]:
            if index != self._waiting and not pin <= index <= pin + AHEAD:
                del self._cache[index]

    # --- the worker thread --------------------------------------------------------------------

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="mmla-frame-source",
                                            daemon=True)
            self._thread.start()

    def _run(self) -> None:
        decoder, decoder_gen = None, None
        try:
            while True:
                with self._cond:
                    while not self._stop and not self._has_work(decoder, decoder_gen):
                        self._cond.wait()
                    if self._stop:
                        return
                    gen, path = self._gen, self._path
                    cursor, need, ahead = self._cursor, self._need, self._ahead
                if gen != decoder_gen:
                    if decoder is not None:
                        decoder.close()
                    decoder, decoder_gen = self._open(gen, path), gen
                    continue
                self._step(decoder, gen, cursor, need, ahead)
        finally:
            if decoder is not None:
                decoder.close()

    def _has_work(self, decoder: _Decoder | None, decoder_gen: int | None) -> bool:
        if self._gen != decoder_gen:
            return self._path is not None or decoder is not None
        if decoder is None:
            return False
        if self._need is not None:
            return True
        ahead = decoder.next_index
        return ahead is not None and self._cursor <= ahead <= min(
            self._cursor + self._ahead, len(decoder.clock) - 1)

    def _open(self, gen: int, path: Path | None) -> _Decoder | None:
        import av

        if path is None:
            return None
        try:
            decoder = _Decoder(path, self._max_side)
        except (MediaError, av.FFmpegError, OSError) as exc:
            self._from_worker.emit(gen, "failed", _reason(path, exc))
            return None
        self._from_worker.emit(gen, "opened", decoder.info())
        return decoder

    def _step(self, decoder: _Decoder, gen: int, cursor: int, need: int | None,
              ahead: int) -> None:
        """Decode one frame: toward the needed one, or read-ahead past the cursor."""
        import av

        try:
            if need is not None and not decoder.reachable(need):
                decoder.seek(need)
            got = decoder.next_frame()
        except (av.FFmpegError, MediaError) as exc:
            what = "the next frame" if need is None else f"frame {need}"
            self._give_up(gen, need, f"{what} could not be decoded ({exc})")
            decoder.rewind()
            return
        if got is None:
            self._done(need)  # the end: nothing more to show
            return
        index, frame = got
        if decoder.overshot(index, need):
            return
        low = need if need is not None else cursor
        if low <= index <= max(cursor, low) + ahead:
            self._send(gen, index, decoder.to_qimage(frame))
        if need is not None and index >= need:
            self._done(need)

    def _send(self, gen: int, index: int, image: QImage) -> None:
        with self._cond:
            if gen != self._gen:
                return
            self._in_flight.add(index)
        self._from_worker.emit(gen, "frame", (index, image))

    def _done(self, need: int | None) -> None:
        with self._cond:
            if self._need == need:
                self._need = None

    def _give_up(self, gen: int, need: int | None, message: str) -> None:
        self._done(need)
        self._from_worker.emit(gen, "failed", message)


def _reason(path: Path, exc: BaseException) -> str:
    text = str(exc)
    return text if str(path) in text else f"{path}: {text}"


class VideoView(QWidget):
    """Paints one frame, aspect kept, centred on dark; or a message in its place."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("videoView")
        self.setMinimumSize(160, 90)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self._image: QImage | None = None
        self._index = -1
        self._message = NO_CLIP_TEXT
        self.painted_index = -1  # the frame index last actually painted (-1: a message)
        self.paint_count = 0
        self._blackout = False

    def sizeHint(self) -> QSize:
        return QSize(480, 270)

    def set_frame(self, index: int, image: QImage) -> None:
        self._image, self._index, self._message = image, index, ""
        self.update()

    def set_message(self, text: str) -> None:
        self._image, self._index, self._message = None, -1, text
        self.update()

    def set_blackout(self, black: bool) -> None:
        """Paint frames black (the audio-only check) while still following them."""
        self._blackout = black
        self.update()

    def image(self) -> QImage | None:
        return self._image

    def message(self) -> str:
        return self._message

    def paintEvent(self, _event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#16171a"))
        if self._image is not None and not self._image.isNull() and self._blackout:
            painter.fillRect(self._fit(self._image), QColor("black"))
        elif self._image is not None and not self._image.isNull():
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawImage(self._fit(self._image), self._image)
        else:
            painter.setPen(QColor("#c9ccd2"))
            painter.drawText(self.rect().adjusted(12, 12, -12, -12),
                             Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                             self._message)
        painter.end()
        self.painted_index = self._index
        self.paint_count += 1

    def _fit(self, image: QImage) -> QRectF:
        scale = min(self.width() / image.width(), self.height() / image.height())
        width, height = image.width() * scale, image.height() * scale
        return QRectF((self.width() - width) / 2, (self.height() - height) / 2, width, height)
