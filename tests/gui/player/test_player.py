"""The player driven through its public API and the waveform: shown frame, clock, transport."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QImage

from mmla_app.player.audio_output import NO_DEVICE_NOTICE
from mmla_app.player.player_widget import AUDIO_ONLY_TEXT, PlayerWidget, format_clock
from mmla_app.player.waveform_pane import WaveformPane
from mmla_core.media.decode import FrameClock

pytestmark = pytest.mark.gui

FPS = 25
N_FRAMES = 50  # 2 s
RATE = 16000
WAIT_MS = 10_000


# --- clips ----------------------------------------------------------------------------------

def colour_of(index: int) -> tuple[int, int, int]:
    """Frame `index` is one flat colour that survives H.264: red and blue code the index."""
    return 5 * index, 128, 250 - 5 * index


def index_of(image: QImage) -> int:
    """Which frame a shown image is, read back from its centre pixel."""
    pixel = image.pixelColor(image.width() // 2, image.height() // 2)
    return round((pixel.red() + 250 - pixel.blue()) / 10)


@pytest.fixture(scope="module")
def colour_clip(tmp_path_factory):
    """2 s at 25 fps, 64x48 flat colour frames, a 440 Hz tone: which frame shows is readable."""
    from mmla_core.media.mp4writer import write_mp4

    frames = [np.full((48, 64, 3), colour_of(i), np.uint8) for i in range(N_FRAMES)]
    tone = 0.3 * np.sin(2 * np.pi * 440 * np.arange(2 * RATE) / RATE).astype(np.float32)
    path = tmp_path_factory.mktemp("player") / "colours.mp4"
    return write_mp4(path, frames, FPS, tone, RATE, keyframe_interval=12)


@pytest.fixture(scope="module")
def talking_clip(tmp_path_factory):
    from mmla_core.media.synth import make_clip

    return make_clip(tmp_path_factory.mktemp("player") / "talk.mp4", text="hello",
                     duration_s=1.0, width=160, height=120, seed=3)


@pytest.fixture(scope="module")
def audio_only_clip(tmp_path_factory):
    from mmla_core.media.synth import make_clip

    return make_clip(tmp_path_factory.mktemp("player") / "voice.m4a", text="hi",
                     duration_s=1.0, with_video=False, seed=4)


# --- fixtures: players that are always closed, and no decoder thread left behind ---------------

def sounddevice_or_skip():
    """sounddevice, or skip: without PortAudio its import raises OSError, not ImportError."""
    try:
        import sounddevice
    except (ImportError, OSError) as exc:
        pytest.skip(f"sounddevice unusable: {exc}")
    return sounddevice


def frame_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "mmla-frame-source" and t.is_alive()]


@pytest.fixture(autouse=True)
def _silent(monkeypatch):
    """No test plays through a developer's speakers (one test lifts this on purpose)."""
    monkeypatch.setenv("MMLA_STUDIO_AUDIO", "off")


@pytest.fixture
def make_player(qtbot):
    made: list[PlayerWidget] = []

    def make(path=None) -> PlayerWidget:
        player = PlayerWidget()
        qtbot.addWidget(player)
        player.resize(320, 280)
        player.show()
        made.append(player)
        if path is not None:
            load(qtbot, player, path)
        return player

    yield make
    for player in made:
        player.close()
    assert not frame_threads(), "a frame decoding thread outlived its player"


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


# --- sound: no device, audio-only clips, the null device ---------------------------------------

def test_no_sound_device_plays_on_the_wall_clock_and_says_so_once(
        make_player, colour_clip, talking_clip, qtbot, monkeypatch):
    monkeypatch.delenv("MMLA_STUDIO_AUDIO")
    sounddevice = sounddevice_or_skip()
    try:
        sounddevice.query_devices(kind="output")
        pytest.skip("this machine has a sound device")
    except sounddevice.PortAudioError:
        pass
    notices: list[str] = []
    player = make_player()
    player.notice.connect(notices.append)
    load(qtbot, player, colour_clip)
    load(qtbot, player, talking_clip)
    assert notices == [NO_DEVICE_NOTICE]
    assert player.clock_kind() == "wall" and player.output() is None
    player.play()
    qtbot.waitUntil(lambda: player.position() > 0.1, timeout=WAIT_MS)
    player.pause()


def test_audio_only_clip_plays_without_a_picture(make_player, audio_only_clip, qtbot):
    player = make_player(audio_only_clip)
    assert player.view.message() == AUDIO_ONLY_TEXT
    assert player.current_frame_index() == -1
    assert player.time_label.text() == "00:00.000 / 00:01.000"
    player.play()
    qtbot.waitUntil(lambda: player.position() > 0.1, timeout=WAIT_MS)
    player.pause()


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


NULL_DEVICE_SCRIPT = textwrap.dedent("""
    import json, os, sys
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtWidgets import QApplication
    app = QApplication([])
    from mmla_app.player.player_widget import PlayerWidget
    from mmla_core.media.decode import FrameClock
    import time

    def wait(condition, timeout=20.0):
        end = time.monotonic() + timeout
        while not condition() and time.monotonic() < end:
            app.processEvents()
        return condition()

    clip = sys.argv[1]
    frames = FrameClock.from_path(clip)
    player = PlayerWidget()
    player.resize(200, 160)
    player.show()
    notices = []
    player.notice.connect(notices.append)
    player.load_clip(clip)
    wait(player.is_ready)
    player.play()
    gaps = []
    player.position_changed.connect(
        lambda t: gaps.append(abs(player.shown_frame_index() - frames.time_to_frame(t))))
    wait(lambda: player.position() > 0.5)
    player.set_presentation("muted")
    muted_at = player.position()
    wait(lambda: player.position() > 0.8)
    output = player.output()
    result = {
        "muted": output is not None and output.muted, "ran_muted": player.position() > muted_at,
        "kind": player.clock_kind(), "notices": notices, "position": player.position(),
        "out_rate": output.out_rate if output else None,
        "rendered": output is not None and output.active, "worst_gap": max(gaps[5:]),
    }
    player.close_clip()
    print("RESULT " + json.dumps(result))
""")


def test_null_sound_device_drives_the_audio_clock(colour_clip, tmp_path):
    sounddevice_or_skip()
    home = tmp_path / "home"
    home.mkdir()
    (home / ".asoundrc").write_text("pcm.!default { type null }\n")
    env = dict(os.environ, HOME=str(home), XDG_CACHE_HOME=str(tmp_path / "cache"))
    env.pop("MMLA_STUDIO_AUDIO", None)
    done = subprocess.run([sys.executable, "-c", NULL_DEVICE_SCRIPT, str(colour_clip)],
                          env=env, capture_output=True, text=True, timeout=120)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, done.stdout + done.stderr
    result = json.loads(lines[-1].removeprefix("RESULT "))
    assert result["kind"] == "audio"
    assert result["notices"] == []
    assert result["rendered"] and result["out_rate"] > 0
    assert result["position"] > 0.8
    assert result["worst_gap"] <= 1
    assert result["muted"] and result["ran_muted"]  # muted sound still drives the clock
