"""The player never shows another clip's error (issue 15, item 11).

Under load the bad-media GUI test once saw the 4K clip's player say "No video: ...
truncated_moov_end.mp4": the clip opened before it. Both races are forced here with gates on
the frame thread, so the test does not depend on timing: (1) the previous clip's failure
arrives late, after the next clip was asked for; (2) the next clip's first frame is slow, and
the previous clip's message stayed on screen meanwhile.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from mmla_app.player import frame_source
from mmla_app.player.player_widget import PlayerWidget
from tests.support.bad_media import _clip, _truncated

pytestmark = pytest.mark.gui
WAIT_MS = 20_000


@pytest.fixture
def gated(monkeypatch, tmp_path):
    """(broken clip, good clip, gates): a closed gate holds the frame thread at that clip."""
    broken = _truncated(0.6, faststart=False)(tmp_path / "truncated_moov_end.mp4")
    good = _clip(width=320, height=240)(tmp_path / "next_clip.mp4")
    gates = {broken: threading.Event(), good: threading.Event()}
    real_init, real_next = frame_source._Decoder.__init__, frame_source._Decoder.next_frame

    def init(self, path, max_side):
        self.gate = gates.get(Path(path))
        if Path(path) == broken:
            self.gate.wait(30)  # opening the broken clip: its failure comes late
        real_init(self, path, max_side)

    def next_frame(self):
        if self.gate is not None:
            self.gate.wait(30)  # the good clip's frames come late
        return real_next(self)

    monkeypatch.setattr(frame_source._Decoder, "__init__", init)
    monkeypatch.setattr(frame_source._Decoder, "next_frame", next_frame)
    yield broken, good, gates
    for gate in gates.values():
        gate.set()


@pytest.fixture
def player(qtbot):
    widget = PlayerWidget()
    qtbot.addWidget(widget)
    widget.resize(320, 280)
    widget.show()
    shown: list[str] = []
    real = widget.view.set_message
    widget.view.set_message = lambda text: (shown.append(text), real(text))[1]
    widget.messages = shown
    yield widget
    widget.close()


def test_a_late_failure_of_the_last_clip_never_reaches_the_next(qtbot, gated, player):
    broken, good, gates = gated
    player.load_clip(broken)  # the frame thread is stuck opening it
    player.load_clip(good)
    since = len(player.messages)
    gates[broken].set()  # now the broken clip's failure is sent: for a clip nobody shows
    qtbot.waitUntil(lambda: player._video_state == "ok", timeout=WAIT_MS)
    gates[good].set()
    qtbot.waitUntil(lambda: player.view.image() is not None, timeout=WAIT_MS)
    assert not [m for m in player.messages[since:] if broken.name in m], player.messages
    assert player.view.message() == ""


def test_the_last_clips_error_is_not_left_up_while_the_next_loads(qtbot, gated, player):
    broken, good, gates = gated
    gates[broken].set()
    player.load_clip(broken)
    qtbot.waitUntil(lambda: player.view.message().startswith("No video: "), timeout=WAIT_MS)
    assert broken.name in player.view.message()
    player.load_clip(good)  # its first frame is held back
    qtbot.waitUntil(lambda: player._video_state == "ok", timeout=WAIT_MS)
    assert broken.name not in player.view.message()
    assert player.view.message() == f"Loading {good.name}…"
    gates[good].set()
    qtbot.waitUntil(lambda: player.view.image() is not None, timeout=WAIT_MS)
    assert player.view.message() == ""
