"""The waveform pane: bounded drawing at every zoom, seeking, selection, zoom keys, spectrogram."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from mmla_app.player.waveform_pane import WaveformPane, compute_spectrogram

pytestmark = pytest.mark.gui

WAIT_MS = 10_000
RATE = 16000


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory):
    """12 s of noisy speech-like sound (video is tiny): many pyramid levels to zoom through."""
    from mmla_core.media.mp4writer import write_mp4

    rng = np.random.default_rng(0)
    t = np.arange(12 * RATE) / RATE
    sound = (0.5 * np.abs(np.sin(2 * np.pi * 0.5 * t)) * rng.standard_normal(t.size))
    frames = [np.full((32, 32, 3), 90, np.uint8)] * 12
    path = tmp_path_factory.mktemp("wave") / "long.mp4"
    return write_mp4(path, frames, 1, sound.astype(np.float32), RATE)


@pytest.fixture(scope="module")
def silent_video(tmp_path_factory):
    from mmla_core.media.synth import make_clip

    return make_clip(tmp_path_factory.mktemp("wave") / "mute.mp4", with_audio=False,
                     duration_s=0.5, width=64, height=48)


@pytest.fixture
def pane(qtbot):
    """A shown pane; pyqtgraph's 100 moves/s mouse rate limit is lifted for synthetic drags."""
    import pyqtgraph as pg

    limit = pg.getConfigOption("mouseRateLimit")
    pg.setConfigOptions(mouseRateLimit=-1)
    widget = WaveformPane()
    qtbot.addWidget(widget)
    widget.resize(600, 160)
    widget.show()
    qtbot.waitExposed(widget)
    yield widget
    pg.setConfigOptions(mouseRateLimit=limit)


def load(qtbot, pane: WaveformPane, path) -> None:
    with qtbot.waitSignal(pane.loaded, timeout=WAIT_MS):
        pane.load_clip(path)


def pixel_at(pane: WaveformPane, t: float) -> QPoint:
    scene = pane.viewbox.mapViewToScene(QPointF(t, 0.0))
    return pane.plot.mapFromScene(scene)


def settle(qtbot, pane: WaveformPane) -> None:
    """Let the throttled re-query run."""
    pane._requery.flush()
    qtbot.wait(1)


def assert_bounded(pane: WaveformPane) -> None:
    assert 0 < pane.point_count() <= 2 * pane.pixel_width() + 4


# --- drawing ------------------------------------------------------------------------------------

def test_whole_clip_is_drawn_with_at_most_two_points_per_pixel(pane, long_clip, qtbot):
    load(qtbot, pane, long_clip)
    assert pane.view_range() == pytest.approx((0.0, 12.0))
    assert_bounded(pane)
    assert pane.point_count() >= pane.pixel_width() // 2
    x0, x1 = pane.viewbox.viewRange()[0]
    assert (x0, x1) == pytest.approx((0.0, 12.0))


def test_every_zoom_requeries_the_visible_range_only(pane, long_clip, qtbot):
    load(qtbot, pane, long_clip)
    pane.set_position(6.0)
    for _ in range(12):  # down to 10 ms across the pane: raw samples
        pane.zoom(0.5)
        settle(qtbot, pane)
        assert_bounded(pane)
        x0, x1 = pane.view_range()
        data = pane.curve.xData
        assert data.min() >= x0 - (x1 - x0) and data.max() <= x1 + (x1 - x0)
    assert pane.view_range()[1] - pane.view_range()[0] == pytest.approx(0.01, rel=0.01)
    pane.resize(300, 160)
    qtbot.waitUntil(lambda: pane.pixel_width() < 300, timeout=WAIT_MS)
    settle(qtbot, pane)
    assert_bounded(pane)


def test_wheel_zoom_stays_inside_the_clip(pane, long_clip, qtbot):
    load(qtbot, pane, long_clip)
    centre = pixel_at(pane, 6.0)
    for delta in (120, 120, 120, -120, -120, -120, -120, -120):
        qtbot.wait(1)
        pane.viewbox.wheelEvent(_WheelAt(pane, centre, delta))
        settle(qtbot, pane)
        x0, x1 = pane.view_range()
        assert 0.0 <= x0 < x1 <= 12.0
        assert_bounded(pane)


class _WheelAt:
    """The minimum a pyqtgraph ViewBox reads from a wheel event."""

    def __init__(self, pane: WaveformPane, where: QPoint, delta: int) -> None:
        self._scene = pane.plot.mapToScene(where)
        self._delta = delta

    def delta(self) -> int:
        return self._delta

    def orientation(self):
        return Qt.Orientation.Vertical

    def scenePos(self):
        return self._scene

    def pos(self):
        return self._scene

    def accept(self) -> None:
        pass

    def ignore(self) -> None:
        pass


def test_plus_minus_keys_zoom_around_the_playhead(pane, long_clip, qtbot):
    load(qtbot, pane, long_clip)
    pane.set_position(3.0)
    qtbot.keyClick(pane, Qt.Key.Key_Plus)
    x0, x1 = pane.view_range()
    assert x1 - x0 == pytest.approx(6.0) and x0 <= 3.0 <= x1
    qtbot.keyClick(pane, Qt.Key.Key_Plus)
    assert pane.view_range()[1] - pane.view_range()[0] == pytest.approx(3.0)
    for _ in range(4):
        qtbot.keyClick(pane, Qt.Key.Key_Minus)
    assert pane.view_range() == pytest.approx((0.0, 12.0))


def test_playhead_moves_without_emitting_and_pages_a_zoomed_view(pane, long_clip, qtbot):
    load(qtbot, pane, long_clip)
    emitted: list = []
    pane.seek_requested.connect(emitted.append)
    pane.set_position(2.5)
    assert pane.position() == 2.5 and emitted == []
    pane.zoom(1 / 6)  # 2 s wide around 2.5
    pane.set_position(9.0)
    x0, x1 = pane.view_range()
    assert x0 <= 9.0 <= x1 and x1 - x0 == pytest.approx(2.0)


# --- seeking and selection ------------------------------------------------------------------------

def test_click_requests_a_seek(pane, long_clip, qtbot):
    load(qtbot, pane, long_clip)
    with qtbot.waitSignal(pane.seek_requested, timeout=WAIT_MS) as seek:
        qtbot.mouseClick(pane.plot.viewport(), Qt.MouseButton.LeftButton,
                         pos=pixel_at(pane, 4.0))
    assert seek.args[0] == pytest.approx(4.0, abs=2 * 12.0 / pane.pixel_width())
    assert pane.position() == seek.args[0]


def send_mouse(widget, kind, point: QPoint, button, modifiers) -> None:
    """A raw mouse event: QTest's moves carry no modifiers and merge quick presses."""
    buttons = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseButtonRelease else button
    event = QMouseEvent(kind, QPointF(point), QPointF(widget.mapToGlobal(point)), button, buttons,
                        modifiers)
    QApplication.sendEvent(widget, event)


def drag(pane: WaveformPane, t0: float, t1: float, modifiers=Qt.KeyboardModifier.NoModifier):
    viewport, left = pane.plot.viewport(), Qt.MouseButton.LeftButton
    start, end = pixel_at(pane, t0), pixel_at(pane, t1)
    send_mouse(viewport, QEvent.Type.MouseButtonPress, start, left, modifiers)
    for step in np.linspace(0, 1, 6)[1:]:
        point = QPoint(round(start.x() + (end.x() - start.x()) * step), start.y())
        send_mouse(viewport, QEvent.Type.MouseMove, point, left, modifiers)
    send_mouse(viewport, QEvent.Type.MouseButtonRelease, end, left, modifiers)


def shift_drag(pane: WaveformPane, t0: float, t1: float) -> None:
    drag(pane, t0, t1, Qt.KeyboardModifier.ShiftModifier)


def test_shift_drag_selects_a_range_and_escape_clears_it(pane, long_clip, qtbot):
    load(qtbot, pane, long_clip)
    seeks: list = []
    pane.seek_requested.connect(seeks.append)
    tolerance = 2 * 12.0 / pane.pixel_width()
    with qtbot.waitSignal(pane.selection_changed, timeout=WAIT_MS) as chosen:
        shift_drag(pane, 7.0, 3.0)  # right to left works too
    lo, hi = chosen.args[0]
    assert lo == pytest.approx(3.0, abs=tolerance) and hi == pytest.approx(7.0, abs=tolerance)
    assert pane.selection() == (lo, hi) and pane.region.isVisible()
    assert seeks == [] and pane.view_range() == pytest.approx((0.0, 12.0))  # no pan either
    with qtbot.waitSignal(pane.selection_changed, timeout=WAIT_MS) as cleared:
        qtbot.keyClick(pane, Qt.Key.Key_Escape)
    assert cleared.args == [None] and pane.selection() is None


def test_plain_drag_pans_and_clear_selection_emits(pane, long_clip, qtbot):
    load(qtbot, pane, long_clip)
    pane.set_position(6.0)
    pane.zoom(0.25)
    before = pane.view_range()
    drag(pane, before[0] + 1.0, before[0] + 1.5)  # content follows the mouse to the right
    assert pane.view_range()[0] < before[0]
    assert pane.selection() is None
    x0, x1 = pane.view_range()
    with qtbot.waitSignal(pane.selection_changed, timeout=WAIT_MS):
        shift_drag(pane, x0 + 0.1 * (x1 - x0), x0 + 0.6 * (x1 - x0))
    with qtbot.waitSignal(pane.selection_changed, timeout=WAIT_MS) as cleared:
        pane.clear_selection()
    assert cleared.args == [None]


# --- spectrogram and odd clips -------------------------------------------------------------------

def test_spectrogram_toggles(pane, long_clip, qtbot):
    load(qtbot, pane, long_clip)
    pane.toggle_spectrogram()
    qtbot.waitUntil(pane.spectrogram_shown, timeout=WAIT_MS)
    assert not pane.curve.isVisible()
    assert pane.viewbox.viewRange()[1] == pytest.approx((0.0, RATE / 2))
    image = pane.spectrogram.image
    assert image.shape[1] == 257 and image.shape[0] > 100
    assert pane.spectrogram.boundingRect().width() > 0
    pane.toggle_spectrogram()
    assert pane.curve.isVisible() and not pane.spectrogram_shown()
    assert_bounded(pane)


def test_compute_spectrogram_finds_a_tone():
    t = np.arange(RATE) / RATE
    image, per_column, start = compute_spectrogram(np.sin(2 * np.pi * 1000 * t), RATE)
    assert image.max() == 0.0 and image.min() >= -80.0
    peak_bin = int(np.argmax(image.mean(axis=0)))
    assert peak_bin * RATE / 512 == pytest.approx(1000, abs=RATE / 512)
    assert per_column == pytest.approx(128 / RATE) and start >= 0


def test_clip_without_audio_and_no_clip(pane, silent_video, long_clip, qtbot):
    load(qtbot, pane, silent_video)
    assert pane.message.isVisible() and pane.message.toPlainText() == "No audio track"
    assert pane.point_count() == 0
    assert pane.view_range() == pytest.approx((0.0, 0.48))  # 12 frames: still seekable
    with qtbot.waitSignal(pane.seek_requested, timeout=WAIT_MS) as seek:
        qtbot.mouseClick(pane.plot.viewport(), Qt.MouseButton.LeftButton,
                         pos=pixel_at(pane, 0.25))
    assert seek.args[0] == pytest.approx(0.25, abs=0.01)
    load(qtbot, pane, long_clip)
    assert not pane.message.isVisible()
    pane.load_clip(None)
    assert pane.point_count() == 0 and pane.message.toPlainText() == "No clip"


def drawn_tick_labels(pane: WaveformPane) -> dict[float, bool]:
    """The left axis's tick labels as pyqtgraph draws them: value -> wholly inside the plot."""
    from PySide6.QtGui import QImage, QPainter

    axis, view = pane.plot.getAxis("left"), pane.plot
    image = QImage(8, 8, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    try:
        specs = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    inside = {}
    for rect, _flags, text in specs[2] if specs else []:
        on_view = view.mapFromScene(axis.mapRectToScene(rect)).boundingRect()
        inside[float(text)] = view.viewport().rect().contains(on_view)
    return inside


@pytest.mark.parametrize("size", [(402, 155), (505, 195)])  # its size at 1366x768, 1600x1000
def test_no_clip_axis_labels_are_drawn_whole(qtbot, size):
    widget = WaveformPane()
    qtbot.addWidget(widget)
    widget.resize(*size)
    widget.show()
    qtbot.waitExposed(widget)
    labels = drawn_tick_labels(widget)
    assert {-1.0, 0.0, 1.0} <= set(labels)
    assert all(labels.values()), labels


def test_clearing_a_clip_brings_back_the_whole_empty_axis(qtbot, pane, long_clip):
    load(qtbot, pane, long_clip)
    pane.load_clip(None)
    labels = drawn_tick_labels(pane)
    assert 1.0 in labels and all(labels.values()), labels


def test_an_unreadable_file_says_why_wrapped_inside_the_plot(pane, tmp_path, qtbot):
    """Not the path twice and an errno on one line cut at both edges: the reason, wrapped."""
    broken = tmp_path / "a_recording_with_a_rather_long_name_that_is_broken.mp4"
    broken.write_bytes(bytes(range(256)) * 20)
    pane.resize(360, 160)
    load(qtbot, pane, broken)
    text = pane.message.toPlainText()
    assert text.startswith("No audio: cannot be opened as media (")
    assert str(broken) not in text and "Errno" not in text
    shown = pane.message.mapRectToScene(pane.message.boundingRect())
    plot = pane.viewbox.sceneBoundingRect()
    assert plot.left() <= shown.left() and shown.right() <= plot.right()
