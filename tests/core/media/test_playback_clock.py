"""Playback clocks: transport semantics on a fake wall clock and a simulated sound card."""

import numpy as np
import pytest

from mmla_core.media.playback import (
    MAX_SPEED,
    MIN_SPEED,
    AudioClock,
    Loop,
    WallClock,
    clamp_speed,
    step_speed,
)


class FakeTime:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


class FakeCard:
    """A sound card: asks the clock for a block whenever its buffer has room (at fake time)."""

    def __init__(self, clock: AudioClock, now: FakeTime, *, rate=1000, block=20, latency=0.05):
        self.clock, self.now, self.rate, self.block = clock, now, rate, block
        self.latency_frames = int(latency * rate)
        clock.set_output(rate, latency)
        self.written = 0
        self.played = 0  # frames that have left the speaker
        self.rendered: list[np.ndarray] = []

    def start(self) -> None:
        self.played = self.written  # an abort drops what was queued
        self.fill()

    def fill(self) -> None:
        while self.written - self.played < self.latency_frames:
            times = self.clock.render(self.block, self.written, self.now())
            self.rendered.append(times)
            self.written += self.block

    def run(self, seconds: float, step: float = 0.001) -> None:
        for _ in range(round(seconds / step)):
            self.now.advance(step)
            self.played += step * self.rate
            self.fill()


@pytest.fixture
def now():
    return FakeTime()


def test_speed_clamp_and_steps():
    assert clamp_speed(3) == MAX_SPEED and clamp_speed(0.1) == MIN_SPEED
    assert clamp_speed(float("nan")) == 1.0
    assert step_speed(1.0, +1) == 1.25 and step_speed(1.0, -1) == 0.75
    assert step_speed(2.0, +1) == 2.0 and step_speed(0.5, -1) == 0.5
    assert step_speed(1.1, +1) == 1.25 and step_speed(1.1, -1) == 1.0


def test_wall_clock_play_pause_seek(now):
    clock = WallClock(5.0, now=now)
    assert clock.kind == "wall" and clock.position() == 0.0
    clock.play()
    now.advance(1.25)
    assert clock.position() == pytest.approx(1.25)
    clock.pause()
    now.advance(3.0)
    assert clock.position() == pytest.approx(1.25) and not clock.playing
    clock.seek(4.0)
    clock.play()
    now.advance(0.5)
    assert clock.position() == pytest.approx(4.5)
    clock.seek(-2)
    assert clock.position() == 0.0
    clock.seek(99)
    assert clock.position() == 5.0


def test_wall_clock_speed_rebases(now):
    clock = WallClock(10.0, now=now)
    clock.play()
    now.advance(1.0)
    assert clock.set_speed(2.0) == 2.0
    now.advance(1.0)
    assert clock.position() == pytest.approx(3.0)
    assert clock.set_speed(9) == MAX_SPEED
    clock.set_speed(0.5)
    now.advance(2.0)
    assert clock.position() == pytest.approx(4.0)


def test_wall_clock_stops_at_end_and_restarts(now):
    clock = WallClock(2.0, now=now)
    clock.play()
    now.advance(2.5)
    assert clock.position() == 2.0
    assert not clock.playing and clock.ended
    clock.play()
    assert clock.position() == 0.0 and clock.playing and not clock.ended


def test_loop_wraps_runs_that_start_before_its_end(now):
    clock = WallClock(5.0, now=now)
    assert clock.set_loop(2.0, 1.0) == Loop(1.0, 2.0)  # either order
    clock.seek(0.5)
    clock.play()
    now.advance(1.0)
    assert clock.position() == pytest.approx(1.5)
    now.advance(0.75)  # raw 2.25 -> wrapped
    assert clock.position() == pytest.approx(1.25)
    now.advance(10.0)
    assert 1.0 <= clock.position() < 2.0 and clock.playing


def test_loop_lets_a_run_after_it_play_on(now):
    clock = WallClock(5.0, now=now)
    clock.set_loop(1.0, 2.0)
    clock.seek(3.0)
    clock.play()
    now.advance(1.0)
    assert clock.position() == pytest.approx(4.0)
    assert clock.set_loop(1.0, 1.001) is None  # under 10 ms: no loop
    assert clock.set_loop(None, None) is None and clock.loop is None


def test_wall_clock_loop_set_while_playing_rebases(now):
    clock = WallClock(5.0, now=now)
    clock.play()
    now.advance(1.5)
    clock.set_loop(1.0, 2.0)
    now.advance(1.0)
    assert clock.position() == pytest.approx(1.5)


def test_reset_keeps_speed_and_clears_loop(now):
    clock = WallClock(5.0, now=now)
    clock.set_speed(1.5)
    clock.set_loop(1, 2)
    clock.play()
    clock.reset(3.0)
    assert clock.speed == 1.5 and clock.loop is None and not clock.playing
    assert clock.duration == 3.0 and clock.position() == 0.0


# --- the audio clock ---------------------------------------------------------------------------

def test_audio_clock_is_silent_when_paused(now):
    clock = AudioClock(2.0, out_rate=1000, now=now)
    assert clock.kind == "audio"
    assert clock.render(20, 0) is None


def test_audio_clock_follows_the_sample_counter_minus_latency(now):
    clock = AudioClock(3.0, now=now)
    card = FakeCard(clock, now, rate=1000, block=20, latency=0.05)
    clock.play()
    card.start()
    assert clock.position() == 0.0  # nothing audible yet: the prefill is still in the buffer
    card.run(0.5)
    assert clock.position() == pytest.approx(0.5, abs=0.0021)
    for _ in range(50):  # between callbacks it moves with the wall clock
        card.run(0.004, step=0.004)
        expected = now() - 100.0
        assert clock.position() == pytest.approx(expected, abs=0.0021)


def test_audio_clock_renders_contiguous_media_times(now):
    clock = AudioClock(3.0, now=now)
    card = FakeCard(clock, now, rate=1000, block=20)
    clock.play()
    card.start()
    card.run(0.3)
    times = np.concatenate(card.rendered)
    np.testing.assert_allclose(np.diff(times), 0.001)
    assert times[0] == 0.0


def test_audio_clock_speed_changes_the_read_rate(now):
    clock = AudioClock(10.0, now=now)
    card = FakeCard(clock, now, rate=1000, block=20, latency=0.05)
    clock.set_speed(2.0)
    clock.play()
    card.start()
    card.run(1.0)
    assert clock.position() == pytest.approx(2.0, abs=0.005)
    np.testing.assert_allclose(np.diff(card.rendered[-1]), 0.002)


def test_audio_clock_stalls_with_the_device(now):
    clock = AudioClock(10.0, now=now)
    card = FakeCard(clock, now, rate=1000, block=20, latency=0.05)
    clock.play()
    card.start()
    card.run(0.5)
    stalled_at = card.written - 1  # last frame the device was given
    now.advance(1.0)  # no more callbacks: the device hangs
    assert clock.position() == pytest.approx(stalled_at / 1000, abs=0.001)


def test_audio_clock_seek_waits_for_new_audio(now):
    clock = AudioClock(10.0, now=now)
    card = FakeCard(clock, now, rate=1000, block=20, latency=0.05)
    clock.play()
    card.start()
    card.run(0.5)
    clock.seek(7.0)
    card.start()  # the player aborts and restarts the stream on a seek
    assert clock.position() == 7.0
    card.run(0.2)
    assert clock.position() == pytest.approx(7.2, abs=0.0021)


def test_audio_clock_pause_freezes_what_was_heard(now):
    clock = AudioClock(10.0, now=now)
    card = FakeCard(clock, now, rate=1000, block=20, latency=0.05)
    clock.play()
    card.start()
    card.run(0.4)
    heard = clock.position()
    clock.pause()
    now.advance(1.0)
    assert clock.position() == pytest.approx(heard) and clock.render(20, card.written) is None
    clock.play()
    card.start()
    card.run(0.1)
    assert clock.position() == pytest.approx(heard + 0.1, abs=0.0021)


def test_audio_clock_loop_wraps_in_the_rendered_audio(now):
    clock = AudioClock(5.0, now=now)
    card = FakeCard(clock, now, rate=1000, block=20, latency=0.05)
    clock.set_loop(1.0, 1.5)
    clock.seek(1.0)
    clock.play()
    card.start()
    card.run(2.0)
    times = np.concatenate(card.rendered)
    assert times.min() >= 1.0 and times.max() < 1.5
    assert 1.0 <= clock.position() < 1.5 and clock.playing


def test_audio_clock_ends_when_the_end_is_heard(now):
    clock = AudioClock(1.0, now=now)
    card = FakeCard(clock, now, rate=1000, block=20, latency=0.05)
    clock.play()
    card.start()
    card.run(0.98)
    assert clock.playing
    assert np.isnan(card.rendered[-1]).any()  # the head is already past the end
    card.run(0.05)
    assert clock.position() == 1.0 and not clock.playing and clock.ended


def test_audio_clock_with_late_callbacks_stays_monotonic_and_close(now):
    rng = np.random.default_rng(3)
    clock = AudioClock(20.0, now=now)
    card = FakeCard(clock, now, rate=16000, block=256, latency=0.04)
    clock.play()
    card.start()
    start, last, worst = now(), 0.0, 0.0
    for _ in range(2000):
        step = float(rng.uniform(0.0005, 0.006))
        now.advance(step)
        card.played += step * card.rate
        if rng.random() < 0.8:  # callbacks come late sometimes
            card.fill()
        position = clock.position()
        assert position >= last
        last = position
        worst = max(worst, abs(position - (now() - start)))
    assert worst < 0.02  # half a frame at 25 fps, from callbacks up to ~20 ms late
