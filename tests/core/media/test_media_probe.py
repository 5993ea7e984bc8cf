"""probe(): stream facts of good media and a clear health verdict for bad media, never a raise."""

import os

import numpy as np
import pytest

from mmla_core.media import synth
from mmla_core.media.probe import MediaInfo, _is_variable_rate, probe

CLIP_COLUMNS = {
    "duration_s", "video_duration_s", "audio_duration_s", "fps", "frame_count", "width",
    "height", "video_codec", "audio_codec", "has_video", "has_audio", "audio_rate",
    "audio_channels", "is_vfr", "health", "health_detail", "media_size", "media_mtime",
}  # fmt: skip


def test_good_clip_facts(good_clip):
    info = probe(good_clip)
    assert info.health == "ok", info.health_detail
    assert info.problems == []
    assert info.has_video and info.has_audio and not info.is_vfr
    assert info.fps == pytest.approx(25.0)
    assert info.frame_count == 50
    assert (info.width, info.height) == (320, 240)
    assert info.duration_s == pytest.approx(2.0, abs=0.05)
    assert info.video_duration_s == pytest.approx(2.0, abs=0.01)
    assert info.audio_duration_s == pytest.approx(2.0, abs=0.01)
    assert (info.video_codec, info.audio_codec) == ("h264", "aac")
    assert (info.audio_rate, info.audio_channels) == (16000, 1)
    assert info.container == "mp4"
    assert info.size == os.path.getsize(good_clip)
    assert "good.mp4" in info.health_detail


def test_clip_columns_match_the_clips_table(good_clip):
    columns = probe(good_clip).clip_columns()
    assert set(columns) == CLIP_COLUMNS
    assert columns["has_video"] == 1 and columns["has_audio"] == 1 and columns["is_vfr"] == 0
    assert all(type(columns[k]) is int for k in ("has_video", "has_audio", "is_vfr"))
    assert columns["media_size"] == os.path.getsize(good_clip)


def test_audio_only_file(audio_only_clip):
    info = probe(audio_only_clip)
    assert info.health == "no_video"
    assert info.has_audio and not info.has_video and info.frame_count is None
    assert info.audio_duration_s == pytest.approx(2.0, abs=0.01)
    assert "no video" in info.health_detail


def test_video_only_file(video_only_clip):
    info = probe(video_only_clip)
    assert info.health == "no_audio"
    assert info.has_video and not info.has_audio and info.frame_count == 50


def test_variable_frame_rate_is_detected_from_timestamps(vfr_clip):
    info = probe(vfr_clip)
    assert info.is_vfr
    assert info.problems == ["vfr"]
    assert info.frame_count == 50
    assert info.fps == pytest.approx(25.0, rel=0.05)
    assert info.clip_columns()["is_vfr"] == 1


def test_rounding_jitter_is_not_vfr():
    ntsc_ms = np.round(np.arange(300) * 1000 / 29.97).astype(np.int64)  # 33/34 ms gaps
    assert not _is_variable_rate(ntsc_ms)
    assert not _is_variable_rate(np.arange(0, 50 * 512, 512))
    assert _is_variable_rate(np.array([0, 10, 20, 50, 60, 70, 90, 100]))
    assert not _is_variable_rate(np.array([0, 20, 30, 40, 50, 60, 70]))  # one dropped frame


def test_duration_mismatch(tmp_path):
    frames = synth.render_frames(50, 64, 64, caption="x")
    path = synth.write_mp4(tmp_path / "long_audio.mp4", frames, 25, np.zeros(48000, np.float32))
    info = probe(path)
    assert info.health == "duration_mismatch"
    assert "3.00" in info.health_detail and "2.00" in info.health_detail


def test_small_av_difference_is_tolerated(tmp_path):
    frames = synth.render_frames(50, 64, 64, caption="x")
    audio = np.zeros(int(16000 * 2.05), np.float32)
    assert probe(synth.write_mp4(tmp_path / "near.mp4", frames, 25, audio)).health == "ok"


def test_zero_byte_file(tmp_path):
    info = probe(synth.make_zero_byte(tmp_path / "zero.mp4"))
    assert info.health == "empty_file"
    assert "zero.mp4" in info.health_detail


def test_truncated_file_with_index_at_front(good_clip, tmp_path):
    info = probe(synth.make_truncated(good_clip, tmp_path / "cut.mp4", keep_fraction=0.3))
    assert info.health == "unreadable"
    assert "truncated" in info.health_detail and "cut.mp4" in info.health_detail


def test_slightly_truncated_file_is_caught_by_frame_count(good_clip, tmp_path):
    info = probe(synth.make_truncated(good_clip, tmp_path / "tail.mp4", keep_fraction=0.9))
    assert "unreadable" in info.problems
    assert "vfr" not in info.problems  # gaps left by lost B-frames are not a frame rate


def test_truncated_file_with_index_at_end(tmp_path):
    frames = synth.render_frames(10, 64, 64, caption="x")
    whole = synth.write_mp4(tmp_path / "late_index.mp4", frames, 25, faststart=False)
    info = probe(synth.make_truncated(whole, tmp_path / "late_cut.mp4", keep_fraction=0.5))
    assert info.health == "unreadable"
    assert "late_cut.mp4" in info.health_detail


def test_not_media_at_all(tmp_path):
    info = probe(synth.make_garbage(tmp_path / "noise.mp4"))
    assert info.health == "unreadable"
    assert "cannot be read" in info.health_detail


def test_missing_path(tmp_path):
    info = probe(tmp_path / "nowhere.mp4")
    assert info.health == "missing_file"
    assert "nowhere.mp4" in info.health_detail and info.size == 0


def test_directory(tmp_path):
    info = probe(tmp_path)
    assert info.health == "not_a_file"
    assert str(tmp_path) in info.health_detail


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads anything")
def test_permission_denied(good_clip, tmp_path):
    locked = tmp_path / "locked.mp4"
    locked.write_bytes(good_clip.read_bytes())
    locked.chmod(0)
    try:
        assert probe(locked).health == "unreadable"
    finally:
        locked.chmod(0o644)


def test_permission_error_from_the_decoder_is_unreadable(good_clip, monkeypatch):
    import av

    def denied(*args, **kwargs):
        raise av.error.PermissionError(13, "Permission denied", str(good_clip))

    monkeypatch.setattr(av, "open", denied)
    info = probe(good_clip)
    assert info.health == "unreadable"
    assert "Permission denied" in info.health_detail and "good.mp4" in info.health_detail


@pytest.mark.parametrize("name", ["x.mp4", "", "x.wav", "x.mkv"])
def test_probe_never_raises(tmp_path, name):
    target = tmp_path / name
    if name:
        target.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\xff" * 100)
    info = probe(target)
    assert isinstance(info, MediaInfo) and info.health != "ok"


def test_wav_file_is_audio_only(tmp_path):
    import soundfile

    wav = tmp_path / "tone.wav"
    soundfile.write(wav, np.zeros((8000, 2), np.float32), 8000)
    info = probe(wav)
    assert info.health == "no_video"
    assert (info.audio_rate, info.audio_channels) == (8000, 2)
    assert info.audio_duration_s == pytest.approx(1.0, abs=0.01)
