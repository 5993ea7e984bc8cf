"""Packet sources for writing a variant MP4: copied streams, re-encoded audio, black video.

A variant changes one stream and keeps the other, so each output stream comes from its own
source: packets copied from a file (no decode, no re-encode: the cheap case), AAC encoded from
samples, or H.264 black frames encoded at the parent's own frame timestamps. `mux` merges the
sources by decode time into one file. Encoder settings are fixed (x264 on one thread, AAC
'fast' coder) so the same inputs give byte-identical files on any machine.
"""

from __future__ import annotations

import functools
import heapq
import io
import itertools
import os
from collections.abc import Iterator
from contextlib import ExitStack
from fractions import Fraction
from typing import TYPE_CHECKING

import numpy as np

from mmla_core.media.decode import AudioConverter, decode_converted, open_media
from mmla_core.media.packets import first_audio_stream, first_video_stream, scan

if TYPE_CHECKING:
    import av

__all__ = ["BlackVideo", "CopyStream", "EncodedAudio", "decode_planar", "mux"]

AAC_FRAME = 1024
AAC_OPTIONS = {"aac_coder": "fast"}
X264_BLACK_OPTIONS = {"preset": "ultrafast", "threads": "1"}  # fixed threads: same bytes anywhere
LAYOUTS = {1: "mono", 2: "stereo"}
BLACK_Y, NEUTRAL_UV = 16, 128  # limited-range YUV of RGB (0, 0, 0)
DEFAULT_RATE = Fraction(25)
BLACK_GOP = 250  # x264's default keyint: black templates come in whole GOPs


def _keyed(order: int, packets: Iterator[av.Packet]) -> Iterator[tuple[float, int, av.Packet]]:
    """(decode time in s, source order, packet); the time base is read once (Fractions are
    slow enough per packet to show up in a short clip's write time)."""
    scale = None
    for packet in packets:
        if scale is None:
            scale = float(packet.time_base) if packet.time_base else 0.0
        stamp = packet.dts if packet.dts is not None else packet.pts
        yield (stamp * scale if stamp is not None else 0.0), order, packet


class CopyStream:
    """The packets of one stream of a file, copied as they are."""

    def __init__(self, path: str | os.PathLike, kind: str):
        self.path, self.kind = str(path), kind

    def add(self, output, stack: ExitStack):
        self.source = stack.enter_context(open_media(self.path))
        pick = first_video_stream if self.kind == "video" else first_audio_stream
        self.stream = pick(self.source)
        if self.stream is None:
            raise ValueError(f"{self.path}: has no {self.kind} stream to copy")
        self.out = output.add_stream_from_template(self.stream)
        return self.out

    def packets(self) -> Iterator[av.Packet]:
        for packet in self.source.demux(self.stream):
            if packet.dts is None and packet.pts is None:
                continue  # the demuxer's flush packet
            packet.stream = self.out
            yield packet


class EncodedAudio:
    """AAC encoded from (channels, samples) float32 at `rate`."""

    def __init__(self, planar: np.ndarray, rate: int):
        self.planar = np.ascontiguousarray(planar, np.float32)
        self.rate = rate
        self.layout = LAYOUTS[self.planar.shape[0]]

    def add(self, output, stack: ExitStack):
        self.out = output.add_stream("aac", rate=self.rate, layout=self.layout,
                                     options=dict(AAC_OPTIONS))
        return self.out

    def packets(self) -> Iterator[av.Packet]:
        import av

        for start in range(0, self.planar.shape[1], AAC_FRAME):
            chunk = np.ascontiguousarray(self.planar[:, start : start + AAC_FRAME])
            frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=self.layout)
            frame.sample_rate, frame.pts = self.rate, start
            yield from self.out.encode(frame)
        yield from self.out.encode(None)


class BlackVideo:
    """H.264 black frames at exactly the presentation timestamps of `path`'s video stream.

    The packets come from a cached black template (see `black_template`) instead of a fresh
    x264 run per clip: a dataset's clips share a few geometries, so a batch encodes black
    once per geometry and then only copies packets.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = str(path)

    def add(self, output, stack: ExitStack):
        import av

        with open_media(self.path) as source:
            stream = first_video_stream(source)
            if stream is None:
                raise ValueError(f"{self.path}: has no video stream")
            index = scan(source, [stream])[stream.index]
            self.pts = [int(p) for p in np.unique(index.pts)]
            self.durations = _frame_durations(self.pts, index.end_pts)
            if stream.time_base is None:
                raise ValueError(f"{self.path}: its video stream has no time base")
            self.time_base = stream.time_base
            width, height = stream.codec_context.width, stream.codec_context.height
            rate = stream.average_rate or stream.guessed_rate or DEFAULT_RATE
        frames = -(-max(len(self.pts), 1) // BLACK_GOP) * BLACK_GOP
        template = black_template(width - width % 2, height - height % 2, self.time_base,
                                  Fraction(rate), frames)
        self.source = stack.enter_context(av.open(io.BytesIO(template), "r"))
        self.stream = self.source.streams.video[0]
        self.out = output.add_stream_from_template(self.stream)
        self.out.time_base = self.time_base
        return self.out

    def packets(self) -> Iterator[av.Packet]:
        stamps = iter(zip(self.pts, self.durations, strict=True))
        for packet in self.source.demux(self.stream):
            stamp, duration = next(stamps, (None, None))
            if stamp is None or (packet.dts is None and packet.pts is None):
                break
            # The template's durations are in its own time base: AVI's 1/25 or WebM's 1/1000
            # read them as 22 s or 2.6 s. Each frame lasts until the parent's next one.
            packet.pts = packet.dts = stamp
            packet.duration = duration
            packet.time_base = self.time_base
            packet.stream = self.out
            yield packet


def _frame_durations(pts: list[int], end_pts: int | None) -> list[int]:
    """Each frame's duration in the stream's time base: up to the next frame, the last one up
    to where the parent's stream ends (else as long as the one before it)."""
    steps = [b - a for a, b in itertools.pairwise(pts)]
    last = (end_pts - pts[-1]) if pts and end_pts is not None and end_pts > pts[-1] else \
        (steps[-1] if steps else 0)
    return [*steps, last] if pts else []


@functools.lru_cache(maxsize=16)
def black_template(width: int, height: int, time_base: Fraction, rate: Fraction,
                   frames: int) -> bytes:
    """An in-memory MP4 of `frames` black frames for this geometry and clock.

    x264's ultrafast preset is causal (no B-frames, no lookahead, fixed GOP), so the first n
    packets of this encode are byte for byte those of encoding n black frames; lengths round
    up to whole GOPs, so which template serves a clip depends only on the clip. The time base
    and rate go into the SPS timing info, hence into the key.
    """
    import av

    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as output:
        stream = output.add_stream("libx264", rate=rate, options=dict(X264_BLACK_OPTIONS))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.time_base = time_base
        planes = np.full((height * 3 // 2, width), NEUTRAL_UV, np.uint8)
        planes[:height] = BLACK_Y
        frame = av.VideoFrame.from_ndarray(planes, format="yuv420p")
        frame.time_base = time_base
        step = max(1, round(1 / (rate * time_base))) if rate else 1
        for index in range(frames):
            frame.pts = index * step  # the encoder copies the picture: one frame serves all
            output.mux(stream.encode(frame))
        output.mux(stream.encode(None))
    return buffer.getvalue()


def mux(path: str | os.PathLike, sources: list) -> None:
    """Write `sources` (one per output stream) into an MP4, interleaved by decode time."""
    import av

    with ExitStack() as stack:
        output = stack.enter_context(
            av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"}))
        for source in sources:
            source.add(output, stack)
        streams = [_keyed(i, source.packets()) for i, source in enumerate(sources)]
        for _, _, packet in heapq.merge(*streams, key=lambda item: (item[0], item[1])):
            output.mux(packet)


def decode_planar(path: str | os.PathLike, rate: int, channels: int) -> np.ndarray:
    """The first audio stream as (channels, samples) float32 at `rate`, trimmed to its length.

    Frames already in the wanted format skip the resampler (the usual case for a clip's own
    audio), which halves the cost of decoding a short clip; a mid-stream change of rate or
    channels, or a layout FFmpeg cannot downmix, is handled by `AudioConverter`.
    """
    import av

    converter = AudioConverter(rate, LAYOUTS[channels], planar=True)
    with open_media(path) as container:
        stream = first_audio_stream(container)
        if stream is None:
            raise ValueError(f"{path}: has no audio stream")
        try:
            chunks, _ = decode_converted(container, stream, converter)  # skips bad packets
        except (av.FFmpegError, ValueError) as exc:
            raise ValueError(f"{path}: audio cannot be converted ({exc})") from exc
        expected = None
        if stream.duration and stream.time_base:
            expected = round(float(stream.duration * stream.time_base) * rate)
    if not chunks:
        raise ValueError(f"{path}: audio stream could not be decoded")
    samples = np.concatenate(chunks, axis=1).astype(np.float32, copy=False)
    return samples[:, :expected] if expected is not None else samples
