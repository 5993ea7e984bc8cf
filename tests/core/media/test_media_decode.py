"""Frame-exact decoding, the frame<->time clock, and 16 kHz mono audio from any input."""

from fractions import Fraction
from types import SimpleNamespace

import av
import numpy as np
import pytest
import soundfile

from mmla_core.media import synth
from mmla_core.media.decode import (
    FrameClock,
    MediaError,
    decode_audio,
    decode_first_frame,
    decode_frames_at,
    frame_times,
    resample_audio,
    sample_times,
    undecodable_frame,
)
from mmla_core.media.packets import StreamIndex

N_FRAMES, FPS = 40, 25
STEP = 50  # colour step between codes: far above H.264's error on flat frames


def code_colour(i: int) -> tuple[int, int, int]:
    return (30 + STEP * (i % 5), 30 + STEP * (i // 5 % 5), 30 + STEP * (i // 25))


def read_code(rgb: np.ndarray) -> int:
    r, g, b = (np.round((rgb.reshape(-1, 3).mean(axis=0) - 30) / STEP)).astype(int)
    return int(r + 5 * g + 25 * b)


@pytest.fixture(scope="module")
def numbered_clip(tmp_path_factory):
    """Each frame a flat colour that encodes its index; GOP of 10 with B-frames."""
    frames = [np.full((240, 320, 3), code_colour(i), np.uint8) for i in range(N_FRAMES)]
    path = tmp_path_factory.mktemp("decode") / "numbered.mp4"
    return synth.write_mp4(path, frames, FPS, keyframe_interval=10)


@pytest.fixture(scope="module")
def numbered_vfr_clip(tmp_path_factory):
    frames = [np.full((120, 160, 3), code_colour(i), np.uint8) for i in range(N_FRAMES)]
    times = synth.vfr_schedule(N_FRAMES, FPS, seed=5)
    path = tmp_path_factory.mktemp("decode") / "numbered_vfr.mp4"
    return synth.write_mp4(path, frames, FPS, vfr_times=times, keyframe_interval=10), times


def test_frame_times_of_cfr_clip(numbered_clip):
    times = frame_times(numbered_clip)
    assert times.dtype == np.float64
    np.testing.assert_allclose(times, np.arange(N_FRAMES) / FPS, atol=1e-9)


def test_frames_exactly_on_boundaries(numbered_clip):
    times = np.arange(N_FRAMES) / FPS
    frames = decode_frames_at(numbered_clip, times)
    assert frames.shape == (N_FRAMES, 240, 320, 3) and frames.dtype == np.uint8
    assert [read_code(f) for f in frames] == list(range(N_FRAMES))


def test_frames_between_boundaries(numbered_clip):
    period = 1 / FPS
    mid = (np.arange(N_FRAMES) + 0.5) * period
    just_before = np.arange(1, N_FRAMES) * period - 1e-4
    assert [read_code(f) for f in decode_frames_at(numbered_clip, mid)] == list(range(N_FRAMES))
    got = [read_code(f) for f in decode_frames_at(numbered_clip, just_before)]
    assert got == list(range(N_FRAMES - 1))


def test_out_of_range_times_clamp(numbered_clip):
    frames = decode_frames_at(numbered_clip, [-1.0, 99.0])
    assert [read_code(f) for f in frames] == [0, N_FRAMES - 1]


def test_any_order_and_repeats_match_sequential_decode(numbered_clip):
    with av.open(str(numbered_clip)) as container:
        reference = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    order = np.random.default_rng(0).integers(0, N_FRAMES, 60)
    frames = decode_frames_at(numbered_clip, order / FPS + 0.01)
    for index, frame in zip(order, frames, strict=True):
        np.testing.assert_array_equal(frame, reference[index])


def test_vfr_frames_by_timestamp(numbered_vfr_clip):
    path, written = numbered_vfr_clip
    times = frame_times(path)
    np.testing.assert_allclose(times, written, atol=1e-4)
    assert [read_code(f) for f in decode_frames_at(path, times)] == list(range(N_FRAMES))
    gaps_mid = (times[:-1] + times[1:]) / 2
    assert [read_code(f) for f in decode_frames_at(path, gaps_mid)] == list(range(N_FRAMES - 1))


def test_frame_clock_round_trip(numbered_vfr_clip):
    path, _ = numbered_vfr_clip
    clock = FrameClock.from_path(path)
    assert len(clock) == N_FRAMES
    for i in range(N_FRAMES):
        assert clock.time_to_frame(clock.frame_to_time(i)) == i
        if i:
            assert clock.time_to_frame(clock.frame_to_time(i) - 1e-4) == i - 1
    assert clock.time_to_frame(-5.0) == 0
    assert clock.time_to_frame(1e6) == N_FRAMES - 1
    with pytest.raises(IndexError):
        clock.frame_to_time(N_FRAMES)


def test_frame_clock_rejects_empty():
    with pytest.raises(ValueError):
        FrameClock(np.array([]))


def test_downscale_keeps_aspect(numbered_clip):
    frames = decode_frames_at(numbered_clip, [0.0, 0.5], max_side=160)
    assert frames.shape == (2, 120, 160, 3)
    assert [read_code(f) for f in frames] == [0, 12]
    assert decode_frames_at(numbered_clip, [0.0], max_side=1000).shape == (1, 240, 320, 3)


def test_empty_request(numbered_clip):
    assert decode_frames_at(numbered_clip, []).shape == (0, 240, 320, 3)


def test_first_frame(numbered_clip, good_clip):
    assert read_code(decode_first_frame(numbered_clip)) == 0
    assert decode_first_frame(good_clip).shape == (240, 320, 3)


def test_sample_times():
    np.testing.assert_allclose(sample_times(2.0, num_frames=5), [0, 0.5, 1, 1.5, 2])
    np.testing.assert_allclose(sample_times(2.0, fps=2), [0, 0.5, 1, 1.5])
    assert sample_times(0.1, fps=2).tolist() == [0.0]
    with pytest.raises(ValueError):
        sample_times(2.0)


def test_sample_times_snap_to_real_frames(numbered_vfr_clip):
    path, _ = numbered_vfr_clip
    clock = FrameClock.from_path(path)
    picked = sample_times(1.6, num_frames=8, clock=clock)
    assert picked[0] == clock.times[0] and picked[-1] == clock.times[-1]
    assert set(picked) <= set(clock.times)
    assert set(sample_times(1.6, fps=2, clock=clock)) <= set(clock.times)


def test_audio_of_good_clip_is_exact_length(good_clip):
    audio = decode_audio(good_clip)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert audio.size == 32000  # the AAC tail padding is cut off
    assert np.abs(audio).max() > 0.05


def test_audio_is_aligned_despite_aac_priming(tmp_path):
    signal = np.zeros(32000, np.float32)
    signal[12000:12040] = 0.9  # a click at 0.75 s
    path = synth.write_mp4(tmp_path / "click.m4a", None, 25, signal)
    audio = decode_audio(path)
    assert abs(int(np.argmax(np.abs(audio))) - 12020) < 40


@pytest.mark.parametrize(
    ("rate", "channels"), [(8000, 1), (22050, 2), (44100, 2), (48000, 2), (48000, 6)]
)
def test_audio_from_any_rate_and_layout(tmp_path, rate, channels):
    t = np.arange(int(1.5 * rate)) / rate
    tone = 0.3 * np.sin(2 * np.pi * 440 * t)
    path = tmp_path / f"tone_{rate}_{channels}.wav"
    soundfile.write(path, np.repeat(tone[:, None], channels, axis=1).astype(np.float32), rate)
    audio = decode_audio(path)
    assert abs(audio.size - 1.5 * 16000) <= 16
    spectrum = np.abs(np.fft.rfft(audio))
    assert np.argmax(spectrum) * 16000 / audio.size == pytest.approx(440, abs=2)


def test_audio_from_stereo_aac_at_48k(tmp_path):
    stereo = np.zeros((48000, 2), np.float32)
    stereo[:, 0] = 0.2
    path = synth.write_mp4(tmp_path / "stereo.mp4", None, 25, stereo, audio_rate=48000)
    assert decode_audio(path).size == 16000


def test_audio_on_video_only_file_names_the_file(video_only_clip):
    with pytest.raises(MediaError, match=r"video_only\.mp4.*no audio stream"):
        decode_audio(video_only_clip)


def test_frames_on_audio_only_file_names_the_file(audio_only_clip):
    with pytest.raises(MediaError, match=r"audio_only\.m4a.*no video stream"):
        decode_frames_at(audio_only_clip, [0.0])
    with pytest.raises(MediaError, match="no video stream"):
        decode_first_frame(audio_only_clip)


@pytest.mark.parametrize("maker", ["missing", "folder", "garbage", "zero"])
def test_bad_files_raise_media_error(tmp_path, maker):
    target = {
        "missing": lambda: tmp_path / "gone.mp4",
        "folder": lambda: tmp_path,
        "garbage": lambda: synth.make_garbage(tmp_path / "junk.mp4"),
        "zero": lambda: synth.make_zero_byte(tmp_path / "empty.mp4"),
    }[maker]()
    for call in (decode_audio, decode_first_frame, frame_times):
        with pytest.raises(MediaError, match=str(target.name)):
            call(target)


def test_resample_audio():
    tone = np.sin(2 * np.pi * 300 * np.arange(44100) / 44100).astype(np.float32)
    out = resample_audio(tone, 44100, 16000)
    assert out.dtype == np.float32 and abs(out.size - 16000) <= 16
    assert resample_audio(tone, 44100, 44100) is not tone


def test_seeks_to_the_keyframe_instead_of_decoding_everything(numbered_clip, monkeypatch):
    from mmla_core.media import decode

    decoded = []
    original_restart = decode._ForwardDecoder._restart

    def counting_restart(self):
        original_restart(self)
        inner = self.frames
        self.frames = (decoded.append(f.pts) or f for f in inner)

    monkeypatch.setattr(decode._ForwardDecoder, "_restart", counting_restart)
    frames = decode_frames_at(numbered_clip, [35 / FPS])
    assert read_code(frames[0]) == 35
    assert len(decoded) <= 10  # one GOP (keyframes every 10 frames), not 36 frames


class _StamplessDecoder:
    """A container whose decoded frames carry neither pts nor dts (a raw .h264 stream decodes
    like this; a damaged one can, next to packets that do have timestamps)."""

    def seek(self, *args, **kwargs) -> None:
        pass

    def decode(self, stream):
        return iter([SimpleNamespace(pts=None, dts=None) for _ in range(3)])


def test_frames_without_timestamps_count_as_decoded():
    """It compared the missing stamp with the target (None > int: a TypeError that escaped
    the health check); such a frame is taken where it comes, as the decode loop takes it."""
    pts = np.array([0, 512, 1024], np.int64)
    index = StreamIndex(Fraction(1, 12800), pts, pts[:1], 1536, True, "")
    assert undecodable_frame(_StamplessDecoder(), object(), index) is None
