"""Opening a clip for the inspector: its first frame plus its whole audio track at 16 kHz mono.

Ours: decode_first_frame() + decode_audio() in-process with PyAV. Baseline, same run, same
clip: the ffmpeg CLI doing the same work, one run writing the first frame as raw rgb24 to
stdout and one run writing the whole audio as f32le 16 kHz mono to stdout.
Clip: 5 s, 640x360, 25 fps, H.264 + AAC 16 kHz, made by the synthesiser. Median of N repeats.

    python benchmarks/bench_decode.py [--repeats 20] [--quick]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from mmla_core.media import synth
from mmla_core.media.decode import decode_audio, decode_first_frame


def ours(path: Path) -> tuple[np.ndarray, np.ndarray]:
    return decode_first_frame(path), decode_audio(path, 16000)


def ffmpeg_cli(path: Path, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    base = ["ffmpeg", "-nostdin", "-v", "error", "-i", str(path)]
    frame = subprocess.run(
        [*base, "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        capture_output=True,
        check=True,
    ).stdout
    audio = subprocess.run(
        [*base, "-vn", "-ac", "1", "-ar", "16000", "-f", "f32le", "-"],
        capture_output=True,
        check=True,
    ).stdout
    rgb = np.frombuffer(frame, np.uint8).reshape(height, width, 3)
    return rgb, np.frombuffer(audio, np.float32)


def median_ms(function, repeats: int) -> tuple[float, object]:
    timings, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="5 repeats")
    args = parser.parse_args()
    if shutil.which("ffmpeg") is None:
        print("ffmpeg not found: the baseline needs the ffmpeg CLI", file=sys.stderr)
        return 2
    repeats = 5 if args.quick else args.repeats
    with tempfile.TemporaryDirectory(prefix="bench-decode-") as tmp:
        path = synth.make_clip(
            Path(tmp) / "clip.mp4", text="a five second clip for the decode benchmark",
            duration_s=5.0, width=640, height=360, fps=25,
        )  # fmt: skip
        ours(path)  # warm-up: library load and page cache for both sides
        ffmpeg_cli(path, 640, 360)
        ours_ms, (frame, audio) = median_ms(lambda: ours(path), repeats)
        cli_ms, (cli_frame, cli_audio) = median_ms(lambda: ffmpeg_cli(path, 640, 360), repeats)
    pixel_diff = int(np.abs(frame.astype(int) - cli_frame.astype(int)).max())
    print(f"ours (PyAV in-process): {ours_ms:8.2f} ms  frame {frame.shape} audio {audio.size}")
    cli_shape, cli_samples = cli_frame.shape, cli_audio.size
    print(f"ffmpeg CLI (2 runs):    {cli_ms:8.2f} ms  frame {cli_shape} audio {cli_samples}")
    print("(the CLI keeps AAC's end padding; decode_audio trims to the stream's real length)")
    print(f"first frame max |diff| vs ffmpeg: {pixel_diff} (0 = identical pixels)")
    print(
        f"RESULT bench_decode: clip=5s 640x360 25fps repeats={repeats} "
        f"ours={ours_ms:.2f}ms ffmpeg_cli={cli_ms:.2f}ms ratio={cli_ms / ours_ms:.1f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
