"""The waveform pane: the clip's sound as a min/max envelope, a playhead, seeking and selection.

Drawn from the clip's PeakPyramid for the visible range only (mne-qt-browser's recipe): every
range change re-queries at half the pane's pixel width, so the curve never holds more than
~2 points per pixel whatever the zoom, auto-range stays off and the x limits are the clip. The
pyramid and the spectrogram's STFT are built on pool workers; the GUI thread only slices.

Mouse: click seeks, Shift+drag selects a range (its edges can then be dragged), drag pans,
wheel zooms. Keys: +/- zoom around the playhead, Esc clears the selection.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QVBoxLayout, QWidget
from superqt.utils import create_worker, qthrottled

from mmla_app.player.audio_output import load_clip_audio
from mmla_core.media.decode import MediaError, frame_times
from mmla_core.media.waveform import PeakPyramid

__all__ = ["WaveformPane", "compute_spectrogram"]

REQUERY_MS = 30
MIN_VIEW_S = 0.01  # the closest zoom: 10 ms across the pane
SELECT_MIN_S = 0.01  # a Shift+drag shorter than this selects nothing
FOLLOW_MARGIN = 0.1  # when the playhead leaves the view, it re-enters this far from the left
WAVE_PEN = "#3d6fb6"
PLAYHEAD_PEN = "#e8563f"
SPEC_MAX_COLUMNS = 4000
SPEC_FFT = 512
SPEC_RANGE_DB = 80.0
MESSAGE_MARGIN_PX = 8.0  # the message's wrap width leaves this much either side
# with no curve the axis shows -1..1 with room past the ends: at exactly +-1 the "1.0" label sat
# half above the pane and was cut
EMPTY_PEAK = 1.25



def compute_spectrogram(samples: np.ndarray, rate: int) -> tuple[np.ndarray, float, float]:
    """(dB image (frames, bins), seconds per column, time of column 0's left edge).

    A Hann STFT of 512-point frames, scaled to 0 dB at the loudest bin, floored at -80 dB.

    The hop grows for long clips so the image never has more than SPEC_MAX_COLUMNS columns.
    """
    data = np.asarray(samples, np.float32)
    if data.size < SPEC_FFT:
        data = np.pad(data, (0, SPEC_FFT - data.size))
    hop = max(SPEC_FFT // 4, -(-(data.size - SPEC_FFT) // SPEC_MAX_COLUMNS))
    frames = np.lib.stride_tricks.sliding_window_view(data, SPEC_FFT)[::hop]
    power = np.abs(np.fft.rfft(frames * np.hanning(SPEC_FFT).astype(np.float32), axis=1)) ** 2
    db = 10 * np.log10(power + 1e-12)
    db = np.clip(db - db.max(), -SPEC_RANGE_DB, 0.0).astype(np.float32)
    return db, hop / rate, (SPEC_FFT - hop) / 2 / rate


def _reason(error: str, path: Path | None) -> str:
    """A media error without its leading "<file>: " (the header above names the file)."""
    head, sep, tail = error.partition(": ")
    return tail if sep and path is not None and head.endswith(path.name) else error


def _build_job(gen: int, path: Path):
    """Pool thread: the clip's audio and its peak pyramid; without audio, the video's length."""
    audio = load_clip_audio(path)
    if audio.samples is not None:
        return gen, audio, PeakPyramid.build(audio.samples, audio.rate), 0.0
    return gen, audio, None, _video_duration(path)


def _video_duration(path: Path) -> float:
    """How long the picture of an audio-less clip lasts, so clicks still seek it (0: unknown)."""
    try:
        times = frame_times(path)
    except MediaError:
        return 0.0
    gap = float(np.median(np.diff(times))) if times.size > 1 else 0.04
    return float(times[-1]) + gap


def _spectrogram_job(gen: int, samples: np.ndarray, rate: int):
    return gen, *compute_spectrogram(samples, rate)


@cache
def _wave_viewbox_class() -> type:
    """The view box class, made on first use: pyqtgraph loads with the first pane, not with
    this module."""
    import pyqtgraph as pg

    class _WaveViewBox(pg.ViewBox):
        """x-only pan/zoom; a click reports its time; Shift+drag reports a range being selected."""

        clicked = Signal(float)
        range_dragged = Signal(float, float, bool)  # t0, t1, finished

        def mouseClickEvent(self, ev) -> None:
            if ev.button() == Qt.MouseButton.LeftButton:
                ev.accept()
                self.clicked.emit(self.mapSceneToView(ev.scenePos()).x())
            else:
                super().mouseClickEvent(ev)

        def mouseDragEvent(self, ev, axis=None) -> None:
            if ev.button() == Qt.MouseButton.LeftButton and ev.isStart():
                self._selecting = bool(ev.modifiers() & Qt.KeyboardModifier.ShiftModifier)
            if ev.button() == Qt.MouseButton.LeftButton and getattr(self, "_selecting", False):
                ev.accept()  # the whole gesture selects: letting go of Shift midway does not pan
                start = self.mapSceneToView(ev.buttonDownScenePos()).x()
                here = self.mapSceneToView(ev.scenePos()).x()
                self.range_dragged.emit(start, here, ev.isFinish())
                self._selecting = not ev.isFinish()
            else:
                super().mouseDragEvent(ev, axis)

    return _WaveViewBox


class WaveformPane(QWidget):
    """The sound of one clip, with a playhead that follows the player's clock."""

    seek_requested = Signal(float)
    selection_changed = Signal(object)  # (t0, t1) or None
    loaded = Signal(float)  # the curve of a newly loaded clip is drawn; its duration (s)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._gen = 0
        self._jobs: set = set()
        self._path: Path | None = None
        self._samples: np.ndarray | None = None
        self._rate = 16000
        self.pyramid: PeakPyramid | None = None
        self._duration = 1.0
        self._peak = EMPTY_PEAK
        self._spectrogram_on = False
        self._spectrogram_state = "none"  # none | computing | ready
        self._build()
        self._requery = qthrottled(self._redraw, timeout=REQUERY_MS, leading=True, parent=self)
        self.viewbox.sigXRangeChanged.connect(lambda *_: self._requery())
        self.viewbox.sigResized.connect(lambda *_: self._requery())
        self.viewbox.sigResized.connect(lambda *_: self._place_message())

    def _build(self) -> None:
        import pyqtgraph as pg

        self.viewbox = _wave_viewbox_class()(enableMenu=False)
        self.viewbox.setMouseEnabled(x=True, y=False)
        self.viewbox.disableAutoRange()
        self.plot = pg.PlotWidget(self, viewBox=self.viewbox, background="w")
        self.plot.setMinimumHeight(80)
        self.plot.hideButtons()
        self.plot.getPlotItem().setMenuEnabled(False)
        self.plot.getAxis("left").setWidth(44)
        # a tick label that would stick out past the plot is left out, not drawn cut in half
        self.plot.getAxis("left").setStyle(hideOverlappingLabels=True)
        self.plot.setLabel("bottom", "time", units="s")
        # Blocks are 1-2 px apart: a 2 px pen draws the min/max strokes as a solid envelope.
        self.curve = pg.PlotDataItem(pen=pg.mkPen(WAVE_PEN, width=2))
        self.curve.setSkipFiniteCheck(True)
        self.spectrogram = pg.ImageItem(axisOrder="col-major")
        self.spectrogram.setColorMap(pg.colormap.get("inferno"))
        self.spectrogram.setVisible(False)
        self.playhead = pg.InfiniteLine(0.0, angle=90, movable=False,
                                        pen=pg.mkPen(PLAYHEAD_PEN, width=2))
        self.region = pg.LinearRegionItem(brush=pg.mkBrush(61, 111, 182, 50),
                                          pen=pg.mkPen(61, 111, 182, 160))
        self.region.setVisible(False)
        self.message = pg.TextItem("", color="#6b7079", anchor=(0.5, 0.5))
        document = self.message.textItem.document()
        option = document.defaultTextOption()
        option.setAlignment(Qt.AlignmentFlag.AlignHCenter)  # wrapped lines stay centred
        document.setDefaultTextOption(option)
        for item in (self.spectrogram, self.curve, self.region, self.playhead, self.message):
            self.viewbox.addItem(item)
        self.viewbox.clicked.connect(self._on_click)
        self.viewbox.range_dragged.connect(self._on_range_dragged)
        self.region.sigRegionChangeFinished.connect(self._on_region_moved)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        self._set_limits(1.0)
        self._apply_y_range()
        self._show_message("No clip")

    # --- loading ------------------------------------------------------------------------------

    def load_clip(self, path: Path | None) -> None:
        """Draw `path`'s waveform (built in the background); None clears the pane."""
        self._gen += 1
        self._path = None if path is None else Path(path)
        self._samples, self.pyramid = None, None
        self._spectrogram_state = "none"
        self.spectrogram.clear()
        self.clear_selection()
        if self._path is None:
            self.curve.setData([], [])
            self._peak = EMPTY_PEAK
            self._apply_y_range()
            self._show_message("No clip")
            return
        worker = create_worker(_build_job, self._gen, self._path, _start_thread=False,
                               _ignore_errors=True)
        worker.returned.connect(self._on_built)
        self._run(worker)

    def _run(self, worker) -> None:
        worker.finished.connect(lambda: self._jobs.discard(worker))
        self._jobs.add(worker)
        worker.start()

    def _on_built(self, result) -> None:
        gen, audio, pyramid, video_s = result
        if gen != self._gen:
            return
        self._samples, self._rate, self.pyramid = audio.samples, audio.rate, pyramid
        if pyramid is None:
            self.curve.setData([], [])
            self._set_limits(max(video_s, MIN_VIEW_S) if video_s else 1.0)
            self._peak = EMPTY_PEAK
            self._apply_y_range()
            self._show_message(f"No audio: {_reason(audio.error, self._path)}" if audio.error
                               else "No audio track")
            self.loaded.emit(video_s)
            return
        self._show_message("")
        top_min, top_max = pyramid.levels[-1][0][0], pyramid.levels[-1][1][0]
        self._peak = max(abs(float(top_min)), abs(float(top_max)), 0.05) * 1.1
        self._set_limits(max(pyramid.duration_s, MIN_VIEW_S))
        self._apply_y_range()
        self._redraw()
        if self._spectrogram_on:
            self._request_spectrogram()
        self.loaded.emit(pyramid.duration_s)

    def _set_limits(self, duration: float) -> None:
        self._duration = duration
        self.viewbox.setLimits(xMin=0.0, xMax=duration, minXRange=min(MIN_VIEW_S, duration),
                               maxXRange=duration)
        self.viewbox.setXRange(0.0, duration, padding=0.0)
        self.region.setBounds((0.0, duration))

    def _apply_y_range(self) -> None:
        if self._spectrogram_on:
            top = self._rate / 2
            self.viewbox.setLimits(yMin=0.0, yMax=top)
            self.viewbox.setYRange(0.0, top, padding=0.0)
            self.plot.setLabel("left", "freq", units="Hz")
        else:
            self.viewbox.setLimits(yMin=-self._peak, yMax=self._peak)
            self.viewbox.setYRange(-self._peak, self._peak, padding=0.0)
            self.plot.setLabel("left", units="")

    def _show_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))
        self._place_message()

    def _place_message(self) -> None:
        """Centred, wrapped to the plot's width: a long reason is never cut at both edges."""
        self.message.setTextWidth(max(self.viewbox.width() - 2 * MESSAGE_MARGIN_PX, 60.0))
        x0, x1 = self.viewbox.viewRange()[0]
        y0, y1 = self.viewbox.viewRange()[1]
        self.message.setPos((x0 + x1) / 2, (y0 + y1) / 2)

    # --- drawing ------------------------------------------------------------------------------

    def _redraw(self) -> None:
        """Re-query the pyramid for the visible range at half the pixel width."""
        if self.pyramid is None:
            return
        (x0, x1), width = self.viewbox.viewRange()[0], self.pixel_width()
        times, mins, maxs = self.pyramid.query(max(x0, 0.0), x1, max(width // 2, 1))
        if times.size == 0:
            self.curve.setData([], [])
            return
        half = (times[1] - times[0]) / 2 if times.size > 1 else 0.0
        x = np.repeat(times + half, 2)
        y = np.empty(times.size * 2, np.float32)
        y[0::2], y[1::2] = mins, maxs
        y[2::4], y[3::4] = maxs[1::2], mins[1::2]  # alternate: a triangle, never a sawtooth
        self.curve.setData(x, y)

    def pixel_width(self) -> int:
        return max(int(self.viewbox.width()), 1)

    def point_count(self) -> int:
        data = self.curve.xData
        return 0 if data is None else int(data.size)

    # --- playhead, seeking, selection ---------------------------------------------------------

    def set_position(self, t: float) -> None:
        """Move the playhead (no signal); page the view when it leaves a zoomed-in view."""
        self.playhead.setValue(t)
        x0, x1 = self.viewbox.viewRange()[0]
        width = x1 - x0
        if width < self._duration - 1e-9 and not x0 <= t <= x1:
            start = min(max(t - FOLLOW_MARGIN * width, 0.0), self._duration - width)
            self.viewbox.setXRange(start, start + width, padding=0.0)

    def position(self) -> float:
        return float(self.playhead.value())

    def _on_click(self, t: float) -> None:
        if self._path is None:
            return
        t = min(max(t, 0.0), self._duration)
        self.playhead.setValue(t)
        self.seek_requested.emit(t)

    def _on_range_dragged(self, a: float, b: float, finished: bool) -> None:
        lo, hi = sorted((min(max(a, 0.0), self._duration), min(max(b, 0.0), self._duration)))
        if hi - lo < SELECT_MIN_S:
            if finished:
                self.clear_selection()
            return
        self.region.blockSignals(True)
        self.region.setRegion((lo, hi))
        self.region.blockSignals(False)
        self.region.setVisible(True)
        if finished:
            self.selection_changed.emit((lo, hi))

    def _on_region_moved(self) -> None:
        if self.region.isVisible():
            self.selection_changed.emit(self.selection())

    def selection(self) -> tuple[float, float] | None:
        if not self.region.isVisible():
            return None
        lo, hi = self.region.getRegion()
        return float(lo), float(hi)

    def clear_selection(self) -> None:
        if self.region.isVisible():
            self.region.setVisible(False)
            self.selection_changed.emit(None)

    # --- zoom and keys ------------------------------------------------------------------------

    def zoom(self, factor: float) -> None:
        """Scale the visible span by `factor`: 0.5 zooms in 2x, 2.0 zooms out 2x.

        The playhead stays put on screen when it is in view; else the view's centre does.
        """
        if not factor > 0:
            return
        x0, x1 = self.viewbox.viewRange()[0]
        centre = self.position() if x0 <= self.position() <= x1 else (x0 + x1) / 2
        width = min(max((x1 - x0) * factor, MIN_VIEW_S), self._duration)
        start = min(max(centre - (centre - x0) / (x1 - x0) * width, 0.0), self._duration - width)
        self.viewbox.setXRange(start, start + width, padding=0.0)

    def view_range(self) -> tuple[float, float]:
        x0, x1 = self.viewbox.viewRange()[0]
        return float(x0), float(x1)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom(0.5)
        elif key in (Qt.Key.Key_Minus, Qt.Key.Key_Underscore):
            self.zoom(2.0)
        elif key == Qt.Key.Key_Escape and self.selection() is not None:
            self.clear_selection()
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    # --- spectrogram --------------------------------------------------------------------------

    def toggle_spectrogram(self) -> None:
        """Swap the waveform for a spectrogram (computed in the background once per clip)."""
        self._spectrogram_on = not self._spectrogram_on
        self.curve.setVisible(not self._spectrogram_on)
        self.spectrogram.setVisible(self._spectrogram_on and self._spectrogram_state == "ready")
        self._apply_y_range()
        if self._spectrogram_on and self._spectrogram_state == "none":
            self._request_spectrogram()

    def spectrogram_shown(self) -> bool:
        return self._spectrogram_on and self.spectrogram.isVisible()

    def _request_spectrogram(self) -> None:
        if self._samples is None:
            return
        self._spectrogram_state = "computing"
        worker = create_worker(_spectrogram_job, self._gen, self._samples, self._rate,
                               _start_thread=False, _ignore_errors=True)
        worker.returned.connect(self._on_spectrogram)
        self._run(worker)

    def _on_spectrogram(self, result) -> None:
        gen, image, seconds_per_column, start = result
        if gen != self._gen:
            return
        self._spectrogram_state = "ready"
        self.spectrogram.setImage(image, levels=(-SPEC_RANGE_DB, 0.0))
        self.spectrogram.setRect(QRectF(start, 0.0, image.shape[0] * seconds_per_column,
                                        self._rate / 2))
        self.spectrogram.setVisible(self._spectrogram_on)
