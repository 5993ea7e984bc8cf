"""What a media file holds and whether it is healthy: streams, rates, durations, problems.

probe() never raises for bad media: a dataset scan must go on past a broken file and tell the
curator what is wrong with it. Durations, frame counts and the VFR flag come from a demux pass
over packet timestamps (no decoding), because headers are where broken files lie.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from stat import S_ISFIFO, S_ISREG
from typing import TYPE_CHECKING

import numpy as np

from mmla_core.media.decode import undecodable_frame
from mmla_core.media.packets import StreamIndex, first_audio_stream, first_video_stream, scan

if TYPE_CHECKING:
    pass

__all__ = ["DURATION_TOLERANCE_S", "MediaInfo", "probe"]

DURATION_TOLERANCE_S = 0.1  # audio vs video length difference that counts as a mismatch
TRUNCATION_TOLERANCE_S = 0.5  # header duration beyond the last packet that means lost data
VFR_RELATIVE_TOLERANCE = 0.1  # frame gap deviation from the median that makes a file VFR
VFR_TICK_TOLERANCE = 2  # ...but never less than this many time-base ticks (rounding jitter)
VFR_MIN_UNEVEN_GAPS = 2  # a single odd gap is a dropped frame, not a variable rate...
VFR_MIN_UNEVEN_FRACTION = 0.005  # ...and in long files a few odd gaps are drops too
TRUNCATION_MIN_FRAMES = 2  # missing frames (vs the header) that mean lost data...
TRUNCATION_MIN_FRACTION = 0.02  # ...AVI indexes can count one empty repeat slot more
AUDIO_RATE_RANGE = (1000, 384_000)  # Hz; outside it no recording is real audio (an 8 Hz WAV
#                                     of 2 MB "lasts" 35 h and needs 8 GB to resample)
DECODE_CHECK_POINTS = 3  # video frames decoded per probe: first, middle, last


@dataclass(frozen=True)
class MediaInfo:
    """A media file's streams and health, as stored in the clips table."""

    path: str
    size: int
    mtime: float
    container: str | None = None
    duration_s: float | None = None
    has_video: bool = False
    video_codec: str | None = None
    fps: float | None = None
    frame_count: int | None = None
    width: int | None = None
    height: int | None = None
    video_duration_s: float | None = None
    is_vfr: bool = False
    has_audio: bool = False
    audio_codec: str | None = None
    audio_rate: int | None = None
    audio_channels: int | None = None
    audio_duration_s: float | None = None
    health: str = "ok"
    health_detail: str = ""

    @property
    def problems(self) -> list[str]:
        """The health flags as a list ([] when healthy)."""
        return [] if self.health == "ok" else self.health.split(",")

    def clip_columns(self) -> dict:
        """Values for the clips table's media columns (booleans as 0/1, SQLite style)."""
        values = asdict(self)
        columns = {
            key: values[key]
            for key in (
                "duration_s", "video_duration_s", "audio_duration_s", "fps", "frame_count",
                "width", "height", "video_codec", "audio_codec", "audio_rate", "audio_channels",
                "health", "health_detail",
            )
        }  # fmt: skip
        columns.update(
            has_video=int(self.has_video),
            has_audio=int(self.has_audio),
            is_vfr=int(self.is_vfr),
            media_size=self.size,
            media_mtime=self.mtime,
        )
        return columns


def probe(path: str | os.PathLike[str]) -> MediaInfo:
    """Describe `path`; any problem becomes a health flag and a sentence, never an exception."""
    import av

    target = Path(path)
    early = _file_level_problem(target)
    if early is not None:
        return early
    stat = target.stat()
    try:
        with av.open(str(target), metadata_errors="ignore") as container:
            return _probe_container(container, target, stat.st_size, stat.st_mtime)
    except Exception as exc:  # any failure to read it at all is the "unreadable" verdict
        return _unhealthy(target, stat.st_size, stat.st_mtime, [("unreadable", _why(exc))])


def _why(exc: Exception) -> str:
    """FFmpeg's reason without the path (the sentence names the file already)."""
    reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return f"cannot be read as media ({reason})"


def _file_level_problem(target: Path) -> MediaInfo | None:
    """Problems visible from the file system alone: missing, a folder, empty, unreadable."""
    try:
        stat = target.stat()
    except FileNotFoundError:
        if target.is_symlink():
            why = f"is a symbolic link to a missing file ({os.readlink(target)})"
            return _unhealthy(target, 0, 0.0, [("missing_file", why)])
        return _unhealthy(target, 0, 0.0, [("missing_file", "file not found")])
    except OSError as exc:
        return _unhealthy(target, 0, 0.0, [("unreadable", f"cannot be accessed ({exc.strerror})")])
    if target.is_dir():
        return _unhealthy(target, 0, stat.st_mtime, [("not_a_file", "is a folder, not a file")])
    if not S_ISREG(stat.st_mode):  # a FIFO would block the demuxer forever
        return _unhealthy(target, 0, stat.st_mtime, [("not_a_file", _special_kind(stat.st_mode))])
    if stat.st_size == 0:
        return _unhealthy(target, 0, stat.st_mtime, [("empty_file", "is empty (0 bytes)")])
    return None


def _special_kind(mode: int) -> str:
    kind = "a FIFO (named pipe)" if S_ISFIFO(mode) else "a socket or device"
    return f"is not a regular file ({kind}); not read"


def _unhealthy(target: Path, size: int, mtime: float, problems: list[tuple[str, str]]) -> MediaInfo:
    return MediaInfo(
        path=str(target),
        size=size,
        mtime=mtime,
        health=",".join(flag for flag, _ in problems),
        health_detail=_sentence(target, [phrase for _, phrase in problems]),
    )


def _sentence(target: Path, phrases: list[str]) -> str:
    return f"{target}: {'; '.join(phrases)}."


def _container_name(container, target: Path) -> str | None:
    """The demuxer's name for this file, preferring the one that matches its extension."""
    names = (container.format.name or "").split(",")
    suffix = target.suffix.lower().lstrip(".")
    return suffix if suffix in names else (names[0] or None)


def _probe_container(container, target: Path, size: int, mtime: float) -> MediaInfo:
    """Gather stream facts from one demux pass, then judge the file's health."""
    video, audio = first_video_stream(container), first_audio_stream(container)
    indexes = scan(container, [s for s in (video, audio) if s is not None])
    facts: dict = {"path": str(target), "size": size, "mtime": mtime}
    facts["container"] = _container_name(container, target)
    problems: list[tuple[str, str]] = []
    if video is not None:
        facts.update(_video_facts(video, indexes[video.index]))
        problems += _stream_damage("video", video, indexes[video.index]) or \
            _decode_damage(container, video, indexes[video.index])
    if audio is not None:
        facts.update(_audio_facts(audio, indexes[audio.index]))
        problems += _rate_problem(facts["audio_rate"]) or \
            _stream_damage("audio", audio, indexes[audio.index])
    facts["duration_s"] = _overall_duration(container, facts)
    problems = _content_problems(facts, problems)
    facts["health"] = ",".join(flag for flag, _ in problems) or "ok"
    phrases = [phrase for _, phrase in problems] or [_summary(facts)]
    facts["health_detail"] = _sentence(target, phrases)
    return MediaInfo(**facts)


def _stream_start(stream, index: StreamIndex) -> int:
    """Where a stream's presentation starts, in its ticks (edit lists hide AAC priming)."""
    if stream.start_time is not None:
        return stream.start_time
    return int(index.pts[0]) if index.pts.size else 0


def _measured_duration(stream, index: StreamIndex) -> float | None:
    """Seconds from the stream's start to the end of its last packet; the header if no packets."""
    if index.end_pts is not None and index.pts.size:
        start = max(_stream_start(stream, index), int(index.pts[0]))
        return max(0.0, float(index.seconds(index.end_pts - start)))
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    return None


def _video_facts(stream, index: StreamIndex) -> dict:
    frame_count = int(index.pts.size) if index.complete else (stream.frames or int(index.pts.size))
    duration = _measured_duration(stream, index)
    is_vfr = _is_variable_rate(index.pts)
    fps = float(stream.average_rate) if stream.average_rate else None
    if (is_vfr or fps is None) and duration and frame_count:
        fps = frame_count / duration
    return {
        "has_video": True,
        "video_codec": stream.codec_context.name,
        "fps": fps,
        "frame_count": frame_count,
        "width": stream.codec_context.width or None,
        "height": stream.codec_context.height or None,
        "video_duration_s": duration,
        "is_vfr": is_vfr,
    }


def _audio_facts(stream, index: StreamIndex) -> dict:
    return {
        "has_audio": True,
        "audio_codec": stream.codec_context.name,
        "audio_rate": stream.codec_context.sample_rate or None,
        "audio_channels": stream.codec_context.channels or None,
        "audio_duration_s": _measured_duration(stream, index),
    }


def _is_variable_rate(pts: np.ndarray) -> bool:
    """True when frame gaps differ by more than rounding jitter, repeatedly.

    One odd gap (a dropped frame, AVI's packed B-frame slot) is not a variable frame rate;
    the frame clock follows timestamps either way, so the flag is only a warning.
    """
    gaps = np.diff(np.unique(pts))
    if gaps.size < 2:
        return False
    median = float(np.median(gaps))
    tolerance = max(VFR_TICK_TOLERANCE, VFR_RELATIVE_TOLERANCE * median)
    uneven = int(np.count_nonzero(np.abs(gaps - median) > tolerance))
    return uneven >= max(VFR_MIN_UNEVEN_GAPS, VFR_MIN_UNEVEN_FRACTION * gaps.size)


def _stream_damage(kind: str, stream, index: StreamIndex) -> list[tuple[str, str]]:
    """Read errors, or a header promising more than the packets deliver (a cut-off file)."""
    if not index.complete and index.error and "stopped after" not in index.error:
        return [("unreadable", f"{kind} data has a read error ({index.error})")]
    if index.pts.size == 0:
        return [("unreadable", f"{kind} stream holds no readable packets")]
    promised = float(stream.duration * stream.time_base) if stream.duration else None
    delivered = _measured_duration(stream, index) or 0.0
    lost = (stream.frames or 0) - index.pts.size
    missing_frames = index.complete and lost > max(
        TRUNCATION_MIN_FRAMES, TRUNCATION_MIN_FRACTION * (stream.frames or 0)
    )
    if promised and promised - delivered > max(TRUNCATION_TOLERANCE_S, 0.05 * promised):
        where = f"{kind} data stops at {delivered:.2f} s of {promised:.2f} s"
        return [("unreadable", f"truncated: {where}")]
    if missing_frames and kind == "video":
        where = f"{index.pts.size} of {stream.frames} video frames present"
        return [("unreadable", f"truncated: {where}")]
    return []


def _decode_damage(container, stream, index: StreamIndex) -> list[tuple[str, str]]:
    import av

    try:
        why = undecodable_frame(container, stream, index, DECODE_CHECK_POINTS)
    except (av.FFmpegError, OSError) as exc:  # a seek that fails is the same verdict
        why = f"video frames cannot be decoded ({exc})"
    return [("unreadable", why)] if why else []


def _rate_problem(rate: int | None) -> list[tuple[str, str]]:
    low, high = AUDIO_RATE_RANGE
    if rate is None or low <= rate <= high:
        return []
    return [("unreadable", f"audio sample rate {rate} Hz is outside {low}-{high} Hz: not "
                           "usable audio (a damaged or forged header)")]


def _overall_duration(container, facts: dict) -> float | None:
    import av

    measured = [facts.get("video_duration_s"), facts.get("audio_duration_s")]
    known = [d for d in measured if d is not None]
    if known:
        return max(known)
    return container.duration / av.time_base if container.duration else None


def _content_problems(facts: dict, damage: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Damage first (deduplicated), then missing streams, VFR and A/V length mismatch."""
    problems: list[tuple[str, str]] = []
    if damage:
        facts["is_vfr"] = False  # gaps left by lost packets are damage, not a frame rate
    for flag, phrase in damage:
        if flag not in {f for f, _ in problems}:
            problems.append((flag, phrase))
    if not facts.get("has_video"):
        problems.append(("no_video", "has no video stream"))
    if not facts.get("has_audio"):
        problems.append(("no_audio", "has no audio stream"))
    if facts.get("is_vfr"):
        problems.append(("vfr", "variable frame rate (frame gaps differ; seek by timestamps)"))
    video_s, audio_s = facts.get("video_duration_s"), facts.get("audio_duration_s")
    if (not damage and video_s is not None and audio_s is not None
            and abs(video_s - audio_s) > DURATION_TOLERANCE_S):
        problems.append(
            ("duration_mismatch", f"audio lasts {audio_s:.2f} s but video {video_s:.2f} s")
        )
    return problems


def _summary(facts: dict) -> str:
    """The 'ok' sentence: what the file holds, so a curator can check it at a glance."""
    parts = [f"ok, {facts['duration_s']:.2f} s" if facts.get("duration_s") else "ok"]
    if facts.get("has_video"):
        parts.append(
            f"{facts['video_codec']} {facts['width']}x{facts['height']} "
            f"at {facts['fps']:.3g} fps, {facts['frame_count']} frames"
        )
    if facts.get("has_audio"):
        parts.append(
            f"{facts['audio_codec']} {facts['audio_rate']} Hz, {facts['audio_channels']} ch"
        )
    return "; ".join(parts)
