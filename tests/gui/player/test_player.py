"""The player driven through its public API and the waveform: shown frame, clock, transport
(fixtures in conftest.py; its sound in test_player_sound.py)."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from mmla_app.player.player_widget import PlayerWidget, format_clock
from mmla_app.player.waveform_pane import WaveformPane
from mmla_core.media.decode import FrameClock
from tests.support.player_clips import (
    FPS,
    N_FRAMES,
    WAIT_MS,
    frame_threads,
    index_of,
    shown_colour_index,
    wait_shown,
)

pytestmark = pytest.mark.gui


# --- loading ------------------------------------------------------------------------------------

def test_load_shows_first_frame_and_time(make_player, colour_clip):
    player = make_player(colour_clip)
    assert player.shown_frame_index() == 0 and shown_colour_index(player) == 0
    assert player.time_label.text() == "00:00.000 / 00:02.000 · frame 0/50"
    assert player.speed_label.text() == "1×" and not player.loop_label.isVisible()
    assert player.clock_kind() == "wall" and not player.is_playing()


def test_format_clock():
    assert format_clock(1.24) == "00:01.240"
    assert format_clock(62.0006) == "01:02.001"  # rounds to the millisecond
    assert format_clock(-1) == "00:00.000"


def test_no_clip_and_broken_clip_show_messages(make_player, tmp_path, qtbot):
    player = make_player()
    player.load_clip(None)
    assert player.view.message() == "No clip" and player.current_frame_index() == -1
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video at all" * 100)
    with qtbot.waitSignal(player.notice, timeout=WAIT_MS) as notice:
        player.load_clip(broken)
    assert notice.args[0].startswith("Nothing to play")
    assert player.view.message().startswith("No video:")


# --- play / pause and the shown frame ----------------------------------------------------------

def test_play_pause_advances_on_the_wall_clock(make_player, colour_clip, qtbot):
    player = make_player(colour_clip)
    with qtbot.waitSignal(player.playing_changed, timeout=WAIT_MS) as started:
        player.toggle_play()
    assert started.args == [True] and player.is_playing()
    qtbot.waitUntil(lambda: player.position() > 0.3, timeout=WAIT_MS)
    with qtbot.waitSignal(player.playing_changed, timeout=WAIT_MS) as stopped:
        player.toggle_play()
    assert stopped.args == [False] and not player.is_playing()
    frozen = player.position()
    qtbot.wait(50)
    assert player.position() == frozen > 0.3
    wait_shown(qtbot, player, player.current_frame_index())


def test_shown_frame_follows_the_clock_during_playback(make_player, colour_clip, qtbot):
    player = make_player(colour_clip)
    clock = FrameClock.from_path(colour_clip)
    ticks: list[tuple[int, int]] = []
    shown: list[tuple[int, int]] = []
    player.position_changed.connect(
        lambda t: ticks.append((player.shown_frame_index(), clock.time_to_frame(t))))
    player.frame_shown.connect(lambda i, _t: shown.append((i, index_of(player.view.image()))))
    player.play()
    qtbot.waitUntil(lambda: not player.is_playing(), timeout=WAIT_MS)  # runs to the end
    assert all(i == colour for i, colour in shown)  # every frame shown is the frame it says
    gaps = np.array([abs(a - b) for a, b in ticks])
    assert gaps.max() <= 1
    assert (gaps == 0).mean() >= 0.9
    assert player.position() == pytest.approx(2.0)
    wait_shown(qtbot, player, N_FRAMES - 1)


def test_auto_play_starts_the_next_clip(make_player, colour_clip, talking_clip, qtbot):
    player = make_player(colour_clip)
    player.auto_play = True
    with qtbot.waitSignal(player.playing_changed, timeout=WAIT_MS,
                          check_params_cb=lambda playing: playing):
        player.load_clip(talking_clip)
    assert player.is_playing()
    player.pause()


# --- seeking --------------------------------------------------------------------------------------

def test_step_frames_shows_exactly_the_next_and_previous_frame(make_player, colour_clip, qtbot):
    player = make_player(colour_clip)
    clock = FrameClock.from_path(colour_clip)
    player.seek(clock.frame_to_time(20))
    wait_shown(qtbot, player, 20)
    for step, expected in ((1, 21), (1, 22), (-1, 21), (-3, 18), (10, 28), (-1, 27)):
        player.step_frames(step)
        assert player.current_frame_index() == expected
        assert player.position() == clock.frame_to_time(expected)
        wait_shown(qtbot, player, expected)
    player.seek(0.0)
    player.step_frames(-1)
    assert player.current_frame_index() == 0
    player.seek(2.0)
    player.step_frames(+1)
    assert player.current_frame_index() == N_FRAMES - 1
    wait_shown(qtbot, player, N_FRAMES - 1)


def test_step_pauses_playback(make_player, colour_clip, qtbot):
    player = make_player(colour_clip)
    player.play()
    qtbot.waitUntil(lambda: player.position() > 0.2, timeout=WAIT_MS)
    started = time.monotonic()
    before = player.current_frame_index()
    player.step_frames(1)
    elapsed = time.monotonic() - started
    assert not player.is_playing()
    # the clock runs on between the read and the step's pause: a frame boundary may pass,
    # and one more per 1/FPS s a loaded machine keeps this thread off the CPU meanwhile
    latest = min(before + 2 + int(elapsed * FPS), N_FRAMES - 1)
    assert min(before + 1, N_FRAMES - 1) <= player.current_frame_index() <= latest
    wait_shown(qtbot, player, player.current_frame_index())


def test_jump_one_second_each_way(make_player, colour_clip, qtbot):
    player = make_player(colour_clip)
    player.seek(0.2)
    player.jump(1.0)
    assert player.position() == pytest.approx(1.2)
    wait_shown(qtbot, player, 30)
    player.jump(-1.0)
    assert player.position() == pytest.approx(0.2)
    player.jump(-1.0)
    assert player.position() == 0.0
    player.jump(5.0)
    assert player.position() == pytest.approx(2.0)
    wait_shown(qtbot, player, N_FRAMES - 1)


def test_clicking_the_waveform_seeks_player_and_frame(make_player, colour_clip, qtbot):
    player = make_player(colour_clip)
    pane = WaveformPane()
    qtbot.addWidget(pane)
    pane.resize(500, 120)
    pane.show()
    player.position_changed.connect(pane.set_position)
    pane.seek_requested.connect(player.seek)
    with qtbot.waitSignal(pane.loaded, timeout=WAIT_MS):
        pane.load_clip(colour_clip)
    scene_point = pane.viewbox.mapViewToScene(QPointF(1.3, 0.0))
    with qtbot.waitSignal(pane.seek_requested, timeout=WAIT_MS):
        qtbot.mouseClick(pane.plot.viewport(), Qt.MouseButton.LeftButton,
                         pos=pane.plot.mapFromScene(scene_point))
    seconds_per_pixel = 2.0 / pane.pixel_width()
    assert player.position() == pytest.approx(1.3, abs=2 * seconds_per_pixel)
    expected = FrameClock.from_path(colour_clip).time_to_frame(player.position())
    wait_shown(qtbot, player, expected)
    player.seek(0.5)  # and the other way: the player moves the playhead
    assert pane.position() == pytest.approx(0.5)


# --- speed and loop ----------------------------------------------------------------------------

def test_speed_keys_step_and_clamp(make_player, colour_clip):
    player = make_player(colour_clip)
    steps = []
    for _ in range(6):
        player.speed_up()
        steps.append(player.speed())
    assert steps == [1.25, 1.5, 2.0, 2.0, 2.0, 2.0]
    assert player.speed_label.text() == "2×"
    for _ in range(8):
        player.speed_down()
    assert player.speed() == 0.5 and player.speed_label.text() == "0.5×"
    player.set_speed(7)
    assert player.speed() == 2.0
    player.set_speed(0.01)
    assert player.speed() == 0.5


def test_speed_runs_the_clock_faster(make_player, colour_clip, qtbot):
    player = make_player(colour_clip)
    player.set_speed(2.0)
    player.play()
    qtbot.waitUntil(lambda: player.position() >= 1.0, timeout=WAIT_MS)
    player.pause()
    assert player.speed() == 2.0


def test_loop_wraps_back_to_its_start(make_player, colour_clip, qtbot):
    player = make_player(colour_clip)
    player.set_loop(0.4, 0.8)
    assert player.position() == pytest.approx(0.4)  # entering a loop starts at its beginning
    assert player.loop_label.isVisible() and "00:00.400" in player.loop_label.text()
    positions: list[float] = []
    player.position_changed.connect(positions.append)
    player.play()
    qtbot.waitUntil(lambda: len(positions) > 3 and positions[-1] < max(positions) - 0.1,
                    timeout=WAIT_MS)
    assert min(positions) >= 0.4 and max(positions) < 0.8
    player.pause()  # a still target: while it plays, the next frame can replace the image
    wait_shown(qtbot, player, player.current_frame_index())  # before the last one is painted
    player.set_loop(None, None)
    assert player.loop_range() is None and not player.loop_label.isVisible()


def test_loop_wraps_keep_the_picture_in_step(make_player, colour_clip, qtbot):
    player = make_player(colour_clip)
    clock = FrameClock.from_path(colour_clip)
    player.set_loop(1.0, 1.4)  # frames 25..34
    gaps: list[int] = []
    wraps = [0]
    last = [player.position()]

    def on_position(t: float) -> None:
        if t < last[0]:
            wraps[0] += 1
            assert 25 in player._frames.cached()  # the loop's start was kept for the wrap
        last[0] = t
        if wraps[0]:
            gaps.append(abs(player.shown_frame_index() - clock.time_to_frame(t)))

    player.position_changed.connect(on_position)
    player.play()
    qtbot.waitUntil(lambda: wraps[0] >= 3, timeout=WAIT_MS)
    player.pause()
    assert max(gaps) <= 1 and np.mean(np.array(gaps) == 0) >= 0.9


def test_toggle_loop_uses_the_selection_or_the_clip(make_player, colour_clip):
    player = make_player(colour_clip)
    player.set_selection((1.4, 1.0))
    assert player.loop_range() is None
    player.toggle_loop()
    assert player.loop_range() == (1.0, 1.4) and player.position() == 1.0
    player.toggle_loop()
    assert player.loop_range() is None
    player.set_selection(None)
    player.toggle_loop()
    assert player.loop_range() == (0.0, 2.0)


def test_close_clip_stops_the_decoder(make_player, colour_clip):
    player = make_player(colour_clip)
    player.play()
    assert frame_threads()
    player.close_clip()
    assert not frame_threads() and not player.is_playing()
    assert player.view.message() == "No clip" and player.position() == 0.0


def test_presentations_for_alignment_checks(make_player, colour_clip, qtbot):
    player = make_player(colour_clip)
    player.set_presentation("black_frames")
    assert player.presentation_label.isVisible()
    assert player.presentation_label.text() == "frames hidden"
    player.seek(1.0)
    qtbot.waitUntil(lambda: player.view.painted_index == 25, timeout=WAIT_MS)
    grabbed = player.view.grab().toImage()
    centre = grabbed.pixelColor(grabbed.width() // 2, grabbed.height() // 2)
    assert (centre.red(), centre.green(), centre.blue()) == (0, 0, 0)
    assert index_of(player.view.image()) == 25  # still following the clock underneath
    player.set_presentation("muted")
    assert player.presentation_label.text() == "sound muted"
    grabbed = player.view.grab().toImage()
    assert grabbed.pixelColor(grabbed.width() // 2, grabbed.height() // 2).green() > 100
    player.set_presentation("anything else")
    assert player.presentation() == "full" and not player.presentation_label.isVisible()


def test_deleting_an_unclosed_player_stops_its_decoder(colour_clip, qtbot):
    import shiboken6

    player = PlayerWidget()
    player.load_clip(colour_clip)
    qtbot.waitUntil(player.is_ready, timeout=WAIT_MS)
    assert frame_threads()
    shiboken6.delete(player)  # as when a parent window is deleted without closing it
    assert not frame_threads()


def test_seek_while_playing_plays_on_from_there(make_player, colour_clip, qtbot):
    player = make_player(colour_clip)
    player.play()
    qtbot.waitUntil(lambda: player.position() > 0.1, timeout=WAIT_MS)
    started = time.monotonic()
    player.seek(1.5)
    position, elapsed = player.position(), time.monotonic() - started
    # on from 1.5 by the time that passed (the clock runs on while this thread is descheduled)
    assert player.is_playing() and 1.5 <= position < 1.6 + elapsed
    qtbot.waitUntil(lambda: player.position() > 1.6, timeout=WAIT_MS)
    player.pause()  # a still target (see test_loop_wraps_back_to_its_start)
    wait_shown(qtbot, player, player.current_frame_index())
