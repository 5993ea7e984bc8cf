"""Audio frames of any shape -> float32 at one rate: the resampler, remade when a stream changes.

Split from decode.py; `decode.decode_audio` (the model's and the player's 16 kHz mono) and
`variants.streams.decode_planar` (the variant writer's planar audio) both convert through it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import av

__all__ = ["AudioConverter", "resampled_chunks"]


def resampled_chunks(resampler: av.AudioResampler, frame) -> list[np.ndarray]:
    return [out.to_ndarray().reshape(-1) for out in resampler.resample(frame)]


class AudioConverter:
    """Audio frames of any format, layout, rate and channel count -> float32 at `rate`, as
    mono samples (`layout="mono"`) or (channels, samples) planar arrays (`planar=True`).

    A stream may change its rate or channels mid-way (a concatenated recording): FFmpeg's
    resampler is set up for the first frame's format ("Frame does not match AudioResampler
    setup"), so it is flushed and made again for the new one. Layouts the resampler cannot
    downmix (a 64-channel WAV has no named layout) are averaged to mono here first. Frames
    already in the wanted format skip the resampler (the usual case for a clip's own audio).
    """

    def __init__(self, rate: int, layout: str = "mono", *, planar: bool = False) -> None:
        self.rate, self.layout, self.planar = rate, layout, planar
        self.format = "fltp" if planar else "flt"
        self.key: tuple | None = None
        self.resampler: av.AudioResampler | None = None
        self.average = False  # True: downmix by hand, then resample the mono signal

    def convert(self, frame: av.AudioFrame) -> list[np.ndarray]:
        import av

        key = (frame.format.name, frame.layout.name, frame.sample_rate)
        out: list[np.ndarray] = []
        if key != self.key:
            out += self.flush()
            self.key, self.average = key, False
            if key == (self.format, self.layout, self.rate):
                return [*out, self._shape(frame.to_ndarray())]  # self.resampler stays None
            self.resampler = self._new_resampler()
        if self.resampler is None:
            return [self._shape(frame.to_ndarray())]
        if not self.average:
            try:
                return out + self._resample(frame)
            except (av.FFmpegError, ValueError):
                self.average = True  # no downmix for this layout: average the channels
                self.resampler = self._new_resampler()
        return out + self._resample(_averaged(frame))

    def flush(self) -> list[np.ndarray]:
        resampler, self.resampler, self.key = self.resampler, None, None
        return self._resample(None, resampler) if resampler is not None else []

    def _new_resampler(self) -> av.AudioResampler:
        import av

        return av.AudioResampler(format=self.format, layout=self.layout, rate=self.rate)

    def _resample(self, frame, resampler=None) -> list[np.ndarray]:
        resampler = resampler or self.resampler
        return [self._shape(out.to_ndarray()) for out in resampler.resample(frame)]

    def _shape(self, data: np.ndarray) -> np.ndarray:
        return data if self.planar else data.reshape(-1)


def _averaged(frame: av.AudioFrame) -> av.AudioFrame:
    """The mean of a frame's channels as a mono float frame at the same rate."""
    import av

    data = frame.to_ndarray()
    channels = len(frame.layout.channels) or 1
    if not frame.format.is_planar:
        data = data.reshape(-1, channels).T  # packed: samples interleaved
    mono = _as_float(data, frame.format.name).mean(axis=0, dtype=np.float32)
    out = av.AudioFrame.from_ndarray(np.ascontiguousarray(mono[None, :]), format="flt",
                                     layout="mono")
    out.sample_rate = frame.sample_rate
    return out


def _as_float(data: np.ndarray, format_name: str) -> np.ndarray:
    if data.dtype.kind == "f":
        return data.astype(np.float32, copy=False)
    if format_name.startswith("u8"):
        return (data.astype(np.float32) - 128.0) / 128.0
    return data.astype(np.float32) / float(np.iinfo(data.dtype).max + 1)
