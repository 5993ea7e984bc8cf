"""Frame-exact video frames and 16 kHz mono audio, decoded in-process with PyAV.

The frame<->time map comes from packet timestamps, not from index * 1/fps, so variable frame
rate files and odd starts still land on the frame a player shows. Seeks go to the keyframe
before a target and decode forward, so one frame of a long file costs one GOP, not the file.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from mmla_core.media.audioconv import AudioConverter, resampled_chunks
from mmla_core.media.packets import StreamIndex, first_audio_stream, first_video_stream, scan

if TYPE_CHECKING:
    import av

__all__ = [
    "AudioConverter",
    "FrameClock",
    "MediaError",
    "decode_audio",
    "decode_converted",
    "decode_first_frame",
    "decode_frames_at",
    "frame_times",
    "open_media",
    "resample_audio",
    "sample_times",
    "undecodable_frame",
]

BOUNDARY_TOLERANCE_S = 1e-6  # a time this close to a frame's pts counts as on that frame


class MediaError(Exception):
    """A media file could not be read as asked; the message names the file and the problem."""


def open_media(path: str | os.PathLike[str]) -> av.container.InputContainer:
    """Open `path` for reading, turning every failure into a MediaError that names it."""
    import av

    target = Path(path)
    if not target.exists():
        raise MediaError(f"{target}: file not found")
    if target.is_dir():
        raise MediaError(f"{target}: is a folder, not a media file")
    if not target.is_file():  # a FIFO or device: opening it would block (the player's thread)
        raise MediaError(f"{target}: is not a regular file (a FIFO, socket or device); not read")
    try:
        return av.open(str(target), metadata_errors="ignore")
    except (av.FFmpegError, OSError) as exc:
        # FFmpeg's reason alone: its str() repeats the path after an errno
        reason = getattr(exc, "strerror", None) or exc
        raise MediaError(f"{target}: cannot be opened as media ({reason})") from exc


def _require_video(container, path) -> av.VideoStream:
    stream = first_video_stream(container)
    if stream is None:
        raise MediaError(f"{path}: has no video stream (audio-only file)")
    return stream


@functools.lru_cache(maxsize=128)
def _video_index_cached(path: str, size: int, mtime_ns: int) -> tuple[StreamIndex, float]:
    """Index a file's video packets once per (path, size, mtime): seeks reuse it."""
    import av

    with open_media(path) as container:
        stream = _require_video(container, path)
        index = scan(container, [stream])[stream.index]
        origin = (container.start_time or 0) / av.time_base
    if index.pts.size == 0:
        reason = index.error or "no packets"
        raise MediaError(f"{path}: video stream holds no readable frames ({reason})")
    return index, origin


def video_index(path: str | os.PathLike[str]) -> tuple[StreamIndex, float]:
    """Video packet index plus the container start (s) that frame times are measured from."""
    target = Path(path)
    try:
        stat = target.stat()
    except OSError as exc:
        raise MediaError(f"{target}: file not found ({exc.strerror})") from exc
    return _video_index_cached(str(target), stat.st_size, stat.st_mtime_ns)


def frame_times(path: str | os.PathLike[str]) -> np.ndarray:
    """Presentation time (s, from the start of the file) of every video frame, sorted."""
    index, origin = video_index(path)
    return np.asarray(index.seconds(index.pts), np.float64) - origin


class FrameClock:
    """The map between a clip's time (s) and its frame indices, built from real frame times."""

    def __init__(self, times: np.ndarray) -> None:
        self.times = np.asarray(times, np.float64)
        if self.times.ndim != 1 or self.times.size == 0:
            raise ValueError("FrameClock needs a non-empty 1-D array of frame times")

    @classmethod
    def from_path(cls, path: str | os.PathLike[str]) -> FrameClock:
        return cls(frame_times(path))

    def __len__(self) -> int:
        return int(self.times.size)

    def time_to_frame(self, t: float) -> int:
        """The frame on screen at `t`: the last frame whose pts <= t, clamped to the clip."""
        return int(self.times_to_frames(np.asarray([t]))[0])

    def times_to_frames(self, ts: np.ndarray) -> np.ndarray:
        """Vectorised time_to_frame."""
        found = np.searchsorted(self.times, np.asarray(ts) + BOUNDARY_TOLERANCE_S, side="right")
        return np.clip(found - 1, 0, self.times.size - 1)

    def frame_to_time(self, i: int) -> float:
        """Presentation time of frame `i`; IndexError outside 0..len-1."""
        if not 0 <= i < self.times.size:
            raise IndexError(f"frame {i} outside 0..{self.times.size - 1}")
        return float(self.times[i])


def sample_times(
    duration_s: float,
    *,
    num_frames: int | None = None,
    fps: float | None = None,
    clock: FrameClock | None = None,
) -> np.ndarray:
    """Times (s) to sample a clip at, uniformly: `num_frames` in all, or `fps` per second.

    `num_frames` mirrors MMLA's np.linspace over frame indices (first and last frame included);
    `fps` samples at k/fps like Qwen's fps sampling. With a `clock`, each time snaps to the pts
    of the frame actually shown, so the returned times are the ones really used.
    """
    if (num_frames is None) == (fps is None):
        raise ValueError("give exactly one of num_frames or fps")
    if num_frames is not None:
        if clock is not None:
            picks = np.linspace(0, len(clock) - 1, num_frames).round().astype(int)
            return clock.times[picks].copy()
        return np.linspace(0.0, max(duration_s, 0.0), num_frames)
    assert fps is not None  # exactly one of the two was given (checked above)
    count = max(1, int(np.floor(max(duration_s, 0.0) * fps + 1e-9)))
    times = np.arange(count, dtype=np.float64) / fps
    if clock is not None:
        times = clock.times[clock.times_to_frames(times)]
    return times


def _output_size(stream: av.VideoStream, max_side: int | None) -> tuple[int, int] | None:
    """(width, height) so the longer side is at most `max_side`; None means native size."""
    width, height = stream.codec_context.width, stream.codec_context.height
    longest = max(width, height)
    if not max_side or longest <= max_side:
        return None
    scale = max_side / longest
    return max(1, round(width * scale)), max(1, round(height * scale))


def _to_rgb(frame: av.VideoFrame, size: tuple[int, int] | None) -> np.ndarray:
    if size is None:
        return frame.to_ndarray(format="rgb24")
    return frame.to_ndarray(format="rgb24", width=size[0], height=size[1], interpolation="AREA")


def _frame_stamp(frame: av.VideoFrame) -> int | None:
    return frame.pts if frame.pts is not None else frame.dts


class _ForwardDecoder:
    """Hands out the frame on screen at ascending pts targets, seeking only when it pays.

    It seeks when the target lies behind what it has decoded, or when a keyframe lies between
    the current position and the target (seeking then skips frames decoding would not need).
    """

    def __init__(self, container, stream, index: StreamIndex) -> None:
        self.container, self.stream, self.index = container, stream, index
        self.frames: Iterator[av.VideoFrame] | None = None
        self.pending: av.VideoFrame | None = None  # decoded, but past the last target
        self.shown: av.VideoFrame | None = None  # last frame with pts <= the last target

    def frame_at(self, target: int) -> av.VideoFrame:
        if self._needs_seek(target):
            self._seek_before(target)
        self._advance(target)
        # A frame without pts or dts (a damaged stream) is taken where it comes, as _advance does
        stamp = _frame_stamp(self.shown) if self.shown is not None else None
        if self.shown is None or (stamp is not None and stamp > target):
            return self._retry_from_start(target)
        return self.shown

    def _needs_seek(self, target: int) -> bool:
        if self.frames is None:
            return True
        position = _frame_stamp(self.shown) if self.shown is not None else None
        if position is None or target < position:
            return True
        keyframes = self.index.keyframe_pts
        return bool(np.any((keyframes > position) & (keyframes <= target)))

    def _seek_before(self, target: int) -> None:
        keyframes = self.index.keyframe_pts
        before = keyframes[keyframes <= target]
        seek_to = int(before[-1]) if before.size else int(self.index.pts[0])
        self.container.seek(seek_to, stream=self.stream, backward=True)
        self._restart()

    def _restart(self) -> None:
        self.frames = self.container.decode(self.stream)
        self.pending = self.shown = None

    def _advance(self, target: int) -> None:
        """Decode until the next frame would be after `target`; keep that one as pending."""
        frames = self.frames
        assert frames is not None  # callers seek (which starts decoding) before advancing
        while True:
            frame = self.pending if self.pending is not None else next(frames, None)
            self.pending = None
            if frame is None:
                return
            stamp = _frame_stamp(frame)
            if stamp is not None and stamp > target:
                if self.shown is None:
                    self.shown = frame  # nothing earlier decoded: best available
                else:
                    self.pending = frame
                return
            self.shown = frame
            if stamp == target:
                return

    def _retry_from_start(self, target: int) -> av.VideoFrame:
        """The seek overshot (a demuxer that seeks by dts, a broken index): decode from 0."""
        self.container.seek(int(self.index.pts[0]), stream=self.stream, backward=True)
        self._restart()
        self._advance(target)
        if self.shown is None:
            raise MediaError(f"no frame could be decoded at pts {target}")
        return self.shown


def undecodable_frame(container, stream, index: StreamIndex, points: int = 3) -> str | None:
    """Decode `points` frames spread over the clip (first, middle, last); what went wrong at
    the first one that fails, or None. The demux pass alone calls a file whose packets are
    intact but whose frames are garbage "ok"; the player would then show nothing."""
    import av

    if index.pts.size == 0:
        return None
    picks = np.unique(index.pts[np.linspace(0, index.pts.size - 1, points).round().astype(int)])
    decoder = _ForwardDecoder(container, stream, index)
    for target in picks:
        try:
            decoder.frame_at(int(target))
        except (av.FFmpegError, MediaError) as exc:
            at = float(index.seconds(int(target) - int(index.pts[0])))
            return f"video frames cannot be decoded (at {at:.2f} s: {exc})"
    return None


def decode_frames_at(
    path: str | os.PathLike[str], times, *, max_side: int | None = None
) -> np.ndarray:
    """RGB frames (N, H, W, 3) uint8: the frame on screen at each time, in the order asked.

    Each distinct frame is decoded once; targets are visited in time order, seeking to the
    keyframe before a target and decoding forward. `max_side` downscales (area filter).
    """
    import av

    wanted = np.atleast_1d(np.asarray(times, np.float64))
    index, origin = video_index(path)
    clock = FrameClock(np.asarray(index.seconds(index.pts), np.float64) - origin)
    targets = index.pts[clock.times_to_frames(wanted)]
    with open_media(path) as container:
        stream = _require_video(container, path)
        size = _output_size(stream, max_side)
        decoder = _ForwardDecoder(container, stream, index)
        try:
            pictures = {int(t): _to_rgb(decoder.frame_at(int(t)), size) for t in np.unique(targets)}
        except (av.FFmpegError, MediaError) as exc:
            raise MediaError(f"{path}: decoding frames failed ({exc})") from exc
    if not pictures:
        width, height = size or (stream.codec_context.width, stream.codec_context.height)
        return np.empty((0, height, width, 3), np.uint8)
    return np.stack([pictures[int(t)] for t in targets])


def decode_first_frame(path: str | os.PathLike[str]) -> np.ndarray:
    """The first video frame as (H, W, 3) uint8 RGB: the clip's thumbnail."""
    import av

    with open_media(path) as container:
        stream = _require_video(container, path)
        try:
            for frame in container.decode(stream):
                return frame.to_ndarray(format="rgb24")
        except av.FFmpegError as exc:
            raise MediaError(f"{path}: first video frame cannot be decoded ({exc})") from exc
    raise MediaError(f"{path}: video stream holds no decodable frame")


def decode_audio(path: str | os.PathLike[str], rate: int = 16000, *,
                 max_s: float | None = None) -> np.ndarray:
    """The first audio stream as float32 mono at `rate`, on the same clock as frame_times.

    Any input rate, layout or channel count is downmixed and resampled. `max_s` stops after
    that many seconds (what a model takes of a 3-hour file), so the cost is bounded by it, not
    by the file. Packets that fail to decode are skipped (a damaged tail should not cost the
    whole clip); a file with no audio stream, or no decodable audio at all, raises MediaError.
    """
    import av

    with open_media(path) as container:
        stream = first_audio_stream(container)
        if stream is None:
            raise MediaError(f"{path}: has no audio stream (video-only file); nothing to decode")
        lead = _lead_samples(container, stream, rate)
        limit = None if max_s is None else max(0, round(max_s * rate) - lead)
        try:
            chunks, failures = _decode_audio_stream(container, stream, rate, limit)
        except (av.FFmpegError, ValueError) as exc:
            raise MediaError(f"{path}: audio cannot be converted ({exc})") from exc
        expected = _expected_samples(stream, rate)
    if not chunks:
        raise MediaError(f"{path}: audio stream could not be decoded ({failures} bad packets)")
    samples = np.concatenate(chunks).astype(np.float32, copy=False)
    if expected is not None and samples.size > expected:
        samples = samples[:expected]  # AAC pads its last frame; the header knows the true end
    if limit is not None:
        samples = samples[:limit]
    if lead:
        samples = np.concatenate([np.zeros(lead, np.float32), samples])
    return samples


def _decode_audio_stream(container, stream, rate: int,
                         limit: int | None = None) -> tuple[list[np.ndarray], int]:
    return decode_converted(container, stream, AudioConverter(rate), limit)


def decode_converted(container, stream, converter: AudioConverter,
                     limit: int | None = None) -> tuple[list[np.ndarray], int]:
    """Decode and convert packets until `limit` samples, counting (not raising on) damaged
    ones: ([arrays], bad packets)."""
    import av

    chunks: list[np.ndarray] = []
    failures, total = 0, 0
    try:
        for packet in container.demux(stream):
            try:
                for frame in packet.decode():
                    new = converter.convert(frame)
                    chunks.extend(new)
                    total += sum(c.shape[-1] for c in new)
            except av.FFmpegError:
                failures += 1
            if limit is not None and total >= limit:
                break
    except (av.FFmpegError, OSError):
        failures += 1  # the demuxer hit the damage: keep what came before it
    if chunks:
        chunks.extend(converter.flush())
    return chunks, failures


def _expected_samples(stream: av.AudioStream, rate: int) -> int | None:
    if not stream.duration or not stream.time_base:
        return None
    return round(float(stream.duration * stream.time_base) * rate)


def _lead_samples(container, stream: av.AudioStream, rate: int) -> int:
    """Silence to prepend when audio starts after the file does, keeping A/V on one clock."""
    import av

    if stream.start_time is None or not stream.time_base:
        return 0
    file_start = (container.start_time or 0) / av.time_base
    offset = float(stream.start_time * stream.time_base) - file_start
    return max(0, round(offset * rate))


def resample_audio(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Resample float mono audio with FFmpeg's resampler (band-limited, unlike np.interp)."""
    import av

    mono = np.ascontiguousarray(np.asarray(samples, np.float32).reshape(-1))
    if from_rate == to_rate or mono.size == 0:
        return mono.copy()
    resampler = av.AudioResampler(format="flt", layout="mono", rate=to_rate)
    frame = av.AudioFrame.from_ndarray(mono[None, :], format="flt", layout="mono")
    frame.sample_rate = from_rate
    chunks = resampled_chunks(resampler, frame) + resampled_chunks(resampler, None)
    return np.concatenate(chunks).astype(np.float32, copy=False) if chunks else mono[:0]
