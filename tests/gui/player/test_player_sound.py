"""The player's sound: no device (the wall clock, said once), audio-only clips, and the null
ALSA device driving the audio clock."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from mmla_app.player.audio_output import NO_DEVICE_NOTICE
from mmla_app.player.player_widget import AUDIO_ONLY_TEXT
from tests.support.player_clips import WAIT_MS, load, sounddevice_or_skip

pytestmark = pytest.mark.gui

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
