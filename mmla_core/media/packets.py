"""Packet-level index of a media file: timestamps read by demuxing only, never decoding.

Headers lie (variable frame rate, truncated files, missing frame counts); packet timestamps
are what a player actually shows. Demuxing a short clip costs about a millisecond, so probe
and the frame<->time map both build on this one pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import av

__all__ = ["MAX_SCAN_PACKETS", "StreamIndex", "first_audio_stream", "first_video_stream", "scan"]

MAX_SCAN_PACKETS = 500_000  # ~5.5 h of 25 fps video: bounds the cost of a pathological file


@dataclass(frozen=True)
class StreamIndex:
    """Sorted packet timestamps of one stream, in its own time base."""

    time_base: Fraction
    pts: np.ndarray  # int64, sorted presentation timestamps
    keyframe_pts: np.ndarray  # int64, sorted; the places a decoder can start
    end_pts: int | None  # largest pts + duration: where the stream's data really stops
    complete: bool  # False when the scan hit a read error or the packet cap
    error: str  # what stopped an incomplete scan ('' otherwise)

    def seconds(self, ticks: int | np.ndarray) -> float | np.ndarray:
        """Convert timestamps in this stream's time base to seconds."""
        return ticks * self.time_base.numerator / self.time_base.denominator


def first_video_stream(container: av.container.InputContainer) -> av.VideoStream | None:
    """The first real video stream; cover art (an attached picture) does not count."""
    import av

    for stream in container.streams.video:
        if not stream.disposition & av.stream.Disposition.attached_pic:
            return stream
    return None


def first_audio_stream(container: av.container.InputContainer) -> av.AudioStream | None:
    """The first audio stream, the one players and models use by default."""
    return container.streams.audio[0] if container.streams.audio else None


class _Collector:
    """Accumulates one stream's packet timestamps during the demux pass."""

    def __init__(self, stream: av.stream.Stream) -> None:
        self.time_base = stream.time_base or Fraction(1, 1)
        self.pts: list[int] = []
        self.keyframes: list[int] = []
        self.end: int | None = None

    def add(self, packet: av.Packet) -> None:
        stamp = packet.pts if packet.pts is not None else packet.dts
        if stamp is None:
            return  # the demuxer's end-of-stream flush packet, not a frame
        self.pts.append(stamp)
        if packet.is_keyframe:
            self.keyframes.append(stamp)
        stop = stamp + (packet.duration or 0)
        self.end = stop if self.end is None else max(self.end, stop)

    def finish(self, complete: bool, error: str) -> StreamIndex:
        return StreamIndex(
            time_base=self.time_base,
            pts=np.sort(np.asarray(self.pts, np.int64)),
            keyframe_pts=np.sort(np.asarray(self.keyframes, np.int64)),
            end_pts=self.end,
            complete=complete,
            error=error,
        )


def scan(
    container: av.container.InputContainer,
    streams: list[av.stream.Stream],
    max_packets: int = MAX_SCAN_PACKETS,
) -> dict[int, StreamIndex]:
    """Demux `streams` once and index their packets, keyed by stream index.

    Read errors end the scan instead of raising: a truncated file still yields the packets
    before the damage, and `complete=False` with the error says where it stopped.
    """
    import av

    collectors = {stream.index: _Collector(stream) for stream in streams}
    complete, error, seen = True, "", 0
    try:
        for packet in container.demux(*streams):
            if packet.stream.index in collectors:  # 0-byte packets count: AVI's repeat frames
                collectors[packet.stream.index].add(packet)
                seen += 1
                if seen >= max_packets:
                    complete, error = False, f"stopped after {max_packets} packets"
                    break
    except (av.FFmpegError, OSError) as exc:
        complete, error = False, str(exc)
    return {index: c.finish(complete, error) for index, c in collectors.items()}
