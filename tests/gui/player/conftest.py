"""Fixtures of the player tests: clips whose shown frame is readable, players always closed."""

from __future__ import annotations

import numpy as np
import pytest

from mmla_app.player.player_widget import PlayerWidget
from tests.support.player_clips import FPS, N_FRAMES, RATE, colour_of, frame_threads, load


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


@pytest.fixture(autouse=True)
def _silent(monkeypatch):
    """No test plays through a developer's speakers (the sound tests lift this on purpose)."""
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
