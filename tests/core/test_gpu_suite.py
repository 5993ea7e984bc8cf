"""benchmarks/gpu_suite.sh: fails fast and clearly without a GPU, and its --smoke run (a tiny
model on the CPU, the same code paths) prints one well-formed RESULT line per figure."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

SUITE = Path(__file__).parents[2] / "benchmarks" / "gpu_suite.sh"
RESULT = re.compile(r"^RESULT (\S+) (-?[\d.]+(e[-+]?\d+)?|skipped|failed) (\S+)$")


def _suite(*args: str, timeout: int = 300, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(SUITE), *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "PYTHON": sys.executable,
                                                "OMP_NUM_THREADS": "1", **env})


@pytest.mark.skipif(torch.cuda.is_available() or shutil.which("nvidia-smi") is not None,
                    reason="checks the refusal on a machine without a GPU")
def test_without_a_gpu_it_stops_at_once_saying_why():
    done = _suite(timeout=30)
    assert done.returncode == 2 and "no NVIDIA GPU here" in done.stderr
    assert "--smoke" in done.stderr and "RESULT" not in done.stdout
    # the Python side says so too (a machine with nvidia-smi where CUDA is unusable); in a
    # child process: the suite puts benchmarks/ and the repository (tests.support) on sys.path
    direct = subprocess.run([sys.executable, str(SUITE.with_suffix(".py"))],
                            capture_output=True, text=True, timeout=120)
    assert direct.returncode == 2 and "no CUDA GPU here" in direct.stderr


@pytest.mark.slow
def test_smoke_run_prints_every_figure():
    done = _suite("--smoke")
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert all(RESULT.match(line) for line in lines), lines
    figures = {RESULT.match(line).group(1): line.split()[2] for line in lines}
    for name in ("scoring_b2_clips_per_s", "generate_parse_b2_clips_per_s", "probe_6x3_s",
                 "train_b1_plain_samples_per_s", "train_b1_ours_samples_per_s", "suite_s"):
        assert float(figures[name]) > 0, (name, figures)
    assert figures["flash_attn_vs_sdpa"] == "skipped"   # no flash-attn / GPU here
