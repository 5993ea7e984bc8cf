"""The clip synthesiser: speech, speaker frames, atomic mp4 writing and broken-file makers."""

import shutil

import numpy as np
import pytest

from mmla_core.media import synth
from mmla_core.media.decode import decode_audio, frame_times
from mmla_core.media.probe import probe


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")
def test_speech_with_espeak():
    audio = synth.speech_audio("hello world, this is a test", 16000)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert 0.8 < audio.size / 16000 < 5.0
    assert np.abs(audio).max() > 0.05


def test_speech_without_espeak_is_seeded(monkeypatch):
    monkeypatch.setattr(synth.shutil, "which", lambda name: None)
    short = synth.speech_audio("hi", 16000, seed=1)
    long = synth.speech_audio("a much longer sentence to say out loud", 16000, seed=1)
    assert long.size > short.size > 0
    np.testing.assert_array_equal(short, synth.speech_audio("hi", 16000, seed=1))
    assert not np.array_equal(short, synth.speech_audio("hi", 16000, seed=2))
    assert np.abs(long).max() == pytest.approx(0.5, abs=0.01)
    assert synth.speech_audio("hi", 8000, seed=1).size == pytest.approx(short.size / 2, abs=2)


def test_speech_falls_back_when_espeak_fails(monkeypatch, tmp_path):
    broken = tmp_path / "espeak-ng"
    broken.write_text("#!/bin/sh\nexit 3\n")
    broken.chmod(0o755)
    monkeypatch.setattr(synth.shutil, "which", lambda name: str(broken))
    assert synth.speech_audio("hello", 16000).size > 0


def test_render_frames():
    frames = synth.render_frames(6, 160, 120, caption="hi there", seed=3)
    assert len(frames) == 6
    assert all(f.shape == (120, 160, 3) and f.dtype == np.uint8 for f in frames)
    assert not np.array_equal(frames[0], frames[3])  # the mouth and frame number move


def test_mouth_follows_given_openness():
    closed, wide = synth.render_frames(2, 160, 120, caption="", mouth_open=[0.0, 1.0])
    assert np.count_nonzero(np.any(closed != wide, axis=2)) > 50


def test_write_video_only_audio_only_and_both(tmp_path):
    frames = synth.render_frames(10, 96, 64, caption="x")
    audio = np.zeros(6400, np.float32)
    assert probe(synth.write_mp4(tmp_path / "v.mp4", frames, 25)).health == "no_audio"
    assert probe(synth.write_mp4(tmp_path / "a.mp4", [], 25, audio)).health == "no_video"
    both = probe(synth.write_mp4(tmp_path / "av.mp4", frames, 25, audio))
    assert both.health == "ok" and (both.width, both.height) == (96, 64)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.mp4", "av.mp4", "v.mp4"]


def test_odd_frame_size_is_made_even(tmp_path):
    frames = synth.render_frames(3, 99, 71, caption="odd")
    info = probe(synth.write_mp4(tmp_path / "odd.mp4", frames, 25))
    assert (info.width, info.height) == (98, 70)


def test_failed_write_leaves_nothing(tmp_path):
    target = tmp_path / "bad.mp4"
    with pytest.raises(ValueError, match="channel"):
        synth.write_mp4(target, None, 25, np.zeros((100, 3), np.float32))
    with pytest.raises(ValueError, match="nothing to write"):
        synth.write_mp4(target, [], 25, None)
    assert list(tmp_path.iterdir()) == []


def test_write_replaces_existing_file(tmp_path):
    target = tmp_path / "clip.mp4"
    target.write_bytes(b"old")
    synth.write_mp4(target, synth.render_frames(3, 64, 64, caption="x"), 25)
    assert probe(target).frame_count == 3


def test_make_clip_exact_durations(good_clip):
    info = probe(good_clip)
    assert info.frame_count == 50
    assert decode_audio(good_clip).size == 32000


def test_make_clip_vfr(vfr_clip):
    gaps = np.diff(frame_times(vfr_clip))
    assert gaps.max() > 1.5 * gaps.min()
    assert frame_times(vfr_clip).size == 50


def test_vfr_schedule_spans_the_clip():
    times = synth.vfr_schedule(50, 25, seed=0)
    assert times.size == 50 and times[0] == 0.0 and np.all(np.diff(times) > 0)
    assert times[-1] < 2.0


def test_make_clip_other_rate(tmp_path):
    path = synth.make_clip(tmp_path / "c.mp4", duration_s=1.0, audio_rate=44100, fps=30)
    info = probe(path)
    assert (info.audio_rate, info.frame_count, info.health) == (44100, 30, "ok")


def test_broken_file_makers(good_clip, tmp_path):
    cut = synth.make_truncated(good_clip, tmp_path / "cut.mp4", keep_fraction=0.3)
    assert cut.stat().st_size == int(good_clip.stat().st_size * 0.3)
    assert synth.make_zero_byte(tmp_path / "z.mp4").stat().st_size == 0
    assert synth.make_garbage(tmp_path / "g.mp4", size=100).stat().st_size == 100
