"""Write H.264 + AAC mp4 files in-process with PyAV (no ffmpeg CLI needed).

Used by the clip synthesiser and by anything that must turn arrays back into a playable file
(variants for export or playback). Writes are atomic: a temp file in the target folder is
renamed over the target only once the muxer has finished, so a crash never leaves half a clip.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from mmla_core.fsutil import atomic_path

if TYPE_CHECKING:
    import av

__all__ = ["write_mp4"]

VFR_TIME_BASE = Fraction(1, 90000)  # the MPEG clock: fine enough for any frame timing
AAC_FRAME = 1024
AUDIO_LAYOUTS = {1: "mono", 2: "stereo", 6: "5.1"}


def write_mp4(
    path: str | os.PathLike[str],
    frames_rgb: Sequence[np.ndarray] | None,
    fps: float,
    audio: np.ndarray | None = None,
    audio_rate: int = 16000,
    *,
    vfr_times: Sequence[float] | np.ndarray | None = None,
    faststart: bool = True,
    keyframe_interval: int | None = None,
) -> Path:
    """Mux RGB frames (libx264 yuv420p) and float audio (AAC) into `path`, atomically.

    `frames_rgb` None or empty writes an audio-only mp4; `audio` None writes video only.
    `vfr_times` gives each frame its own presentation time (s): a real variable-frame-rate file.
    `audio` is (samples,) mono or (samples, channels) for 1, 2 or 6 channels.
    `keyframe_interval` fixes the GOP (and turns off scene-cut keyframes): seek tests use it.
    """
    frames = list(frames_rgb) if frames_rgb is not None else []
    if not frames and audio is None:
        raise ValueError(f"{path}: nothing to write (no frames and no audio)")
    if vfr_times is not None and len(vfr_times) != len(frames):
        raise ValueError(f"{path}: {len(vfr_times)} vfr_times for {len(frames)} frames")
    target = Path(path)
    with atomic_path(target, suffix=".mp4") as tmp:
        video_options = _x264_options(keyframe_interval)
        _mux(str(tmp), frames, fps, audio, audio_rate, vfr_times, faststart, video_options)
    return target


def _mux(
    tmp: str,
    frames: list[np.ndarray],
    fps: float,
    audio: np.ndarray | None,
    audio_rate: int,
    vfr_times: Sequence[float] | np.ndarray | None,
    faststart: bool,
    video_options: dict[str, str],
) -> None:
    """Encode everything into `tmp`: video first, then audio (the muxer interleaves)."""
    import av

    options = {"movflags": "+faststart"} if faststart else {}
    with av.open(tmp, "w", format="mp4", options=options) as container:
        video = None
        if frames:
            video = _add_video_stream(container, frames[0], fps, vfr_times, video_options)
        sound = _add_audio_stream(container, audio, audio_rate) if audio is not None else None
        if video is not None:
            _encode_video(container, video, frames, vfr_times)
        if sound is not None and audio is not None:  # sound is None without audio
            _encode_audio(container, sound, _as_channels_first(audio), audio_rate)


def _x264_options(keyframe_interval: int | None) -> dict[str, str]:
    options = {"preset": "veryfast"}
    if keyframe_interval:
        gop = str(keyframe_interval)
        options.update(g=gop, keyint_min=gop, sc_threshold="0")
    return options


def _add_video_stream(container, first, fps: float, vfr_times, options) -> av.VideoStream:
    """An H.264 stream sized to the first frame (rounded down to even, as yuv420p needs)."""
    rate = Fraction(fps).limit_denominator(1001)
    stream = container.add_stream("libx264", rate=rate)
    height, width = first.shape[:2]
    stream.width, stream.height = max(width - width % 2, 2), max(height - height % 2, 2)
    stream.pix_fmt = "yuv420p"
    stream.options = options
    if vfr_times is not None:
        stream.codec_context.time_base = VFR_TIME_BASE
    return stream


def _add_audio_stream(container, audio: np.ndarray, rate: int) -> av.AudioStream:
    """An AAC stream with the layout that matches the array's channel count."""
    channels = 1 if audio.ndim == 1 else audio.shape[1]
    if channels not in AUDIO_LAYOUTS:
        raise ValueError(f"unsupported channel count {channels}; use 1, 2 or 6")
    return container.add_stream("aac", rate=rate, layout=AUDIO_LAYOUTS[channels])


def _encode_video(container, stream, frames: list[np.ndarray], vfr_times) -> None:
    """Encode frames with pts = index (CFR) or their own times on a 90 kHz clock (VFR)."""
    import av

    for index, rgb in enumerate(frames):
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb, np.uint8), format="rgb24")
        if vfr_times is None:
            frame.pts = index
        else:
            frame.pts = round(float(vfr_times[index]) / VFR_TIME_BASE)
            frame.time_base = VFR_TIME_BASE
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))


def _as_channels_first(audio: np.ndarray) -> np.ndarray:
    """(channels, samples) float32, the planar layout the AAC encoder takes."""
    samples = np.asarray(audio, np.float32)
    planar = samples[None, :] if samples.ndim == 1 else samples.T
    return np.ascontiguousarray(planar)


def _encode_audio(container, stream, planar: np.ndarray, rate: int) -> None:
    """Encode in 1024-sample frames (AAC's frame size); the last one may be shorter."""
    import av

    layout = AUDIO_LAYOUTS[planar.shape[0]]
    for start in range(0, planar.shape[1], AAC_FRAME):
        chunk = np.ascontiguousarray(planar[:, start : start + AAC_FRAME])
        frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=layout)
        frame.sample_rate = rate
        frame.pts = start
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))
