"""A training job's train.log read from the outside: where it is, its last lines, what grew
since last time (the GUI's log view, `mmla train follow`) and, when it shows the run ran out of
memory, what to change."""

from __future__ import annotations

import os
import re
from pathlib import Path

from mmla_core.train.outputs import LOG_FILE

__all__ = ["TAIL_LINES", "log_path", "log_tail", "oom_advice", "read_log_from"]

TAIL_LINES = 40


def log_path(job: dict) -> Path | None:
    if job.get("log_path"):
        return Path(job["log_path"])
    return Path(job["output_dir"], LOG_FILE) if job.get("output_dir") else None


def log_tail(job_or_path: dict | str | Path, lines: int = TAIL_LINES) -> str:
    """The last `lines` lines of the job's train.log, reading only the end of the file."""
    path = log_path(job_or_path) if isinstance(job_or_path, dict) else Path(job_or_path)
    if path is None:
        return ""
    try:
        with open(path, "rb") as f:
            size = f.seek(0, os.SEEK_END)
            chunk = min(size, max(4096, lines * 400))
            f.seek(size - chunk)
            data = f.read()
    except OSError:
        return ""
    text = data.decode("utf-8", errors="replace").replace("\r\n", "\n")
    # tqdm-style progress lines rewrite themselves with \r: keep the last state of each line
    return "\n".join(x.rsplit("\r", 1)[-1] for x in text.rstrip("\n").split("\n")[-lines:])


def read_log_from(path: str | Path, offset: int, limit: int = 1 << 20) -> tuple[str, int]:
    """New text of a growing log after byte `offset` and the offset to pass next time (the
    GUI's log view and `mmla train follow` append instead of rereading)."""
    try:
        with open(path, "rb") as f:
            size = f.seek(0, os.SEEK_END)
            if size < offset:           # truncated or replaced: start over
                offset = 0
            start = f.seek(max(offset, size - limit))
            data = f.read()
    except OSError:
        return "", offset
    end = data.rfind(b"\n") + 1        # only whole lines; the rest comes next time
    return data[:end].decode("utf-8", errors="replace"), start + end


def oom_advice(log_tail: str, config: dict | None = None) -> str | None:
    """What to change when the log shows the run ran out of memory; None when it did not."""
    if not log_tail:
        return None
    gpu = re.search(r"CUDA out of memory|OutOfMemoryError|CUBLAS_STATUS_ALLOC_FAILED|"
                    r"MPS backend out of memory", log_tail)
    # A SIGKILL alone is no evidence (a person's `kill -9` looks the same): the supervisor
    # says when the kernel's OOM killer did it.
    host = re.search(r"DefaultCPUAllocator: can't allocate memory|MemoryError|"
                     r"out-of-memory killer ended", log_tail)
    if not gpu and not host:
        return None
    c = config or {}
    batch, accum = int(c.get("batch_size", 1)), int(c.get("grad_accum", 1))
    frames, pixels = int(c.get("frames", 8)), int(c.get("max_pixels", 128 * 28 * 28))
    steps = []
    if batch > 1:
        steps.append(f"batch size {batch} -> {max(1, batch // 2)} and gradient accumulation "
                     f"{accum} -> {accum * 2} (same effective batch)")
    else:
        steps.append("batch size is already 1: lower what each sample costs instead")
    steps.append(f"frames {frames} -> {max(1, frames // 2)} (or a lower fps)")
    steps.append(f"max pixels {pixels} -> {max(28 * 28, pixels // 2)} per frame")
    steps.append("a smaller LoRA rank or fewer target modules; gradient checkpointing "
                 "(on by default on GPU) must stay on")
    where = "GPU" if gpu else "host (CPU RAM)"
    found = re.search(r"Tried to allocate [^\n]*", log_tail)
    head = f"The run ran out of {where} memory" + (f" ({found.group(0)[:160]})" if found else "")
    return head + ". Try, in this order:\n" + "\n".join(f"- {s}" for s in steps)
