"""Check a safetensors file from its header alone, before anything loads it.

A header cut short, a header that is a JSON list, tensors whose offsets leave the file or
overlap, or a file that is mostly holes (a 40 GB "tensor" in a sparse file of a few kB on disk)
passed registration before and failed later as tracebacks or "out of memory". Reading the header
(at most 100 MB) and the file's size is enough to refuse each with a message.
"""

from __future__ import annotations

import json
import math
import os
import struct
from pathlib import Path

__all__ = ["check_safetensors"]

MAX_HEADER = 100 * 1024 * 1024
DTYPE_BYTES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "F8_E8M0": 1,
               "I16": 2, "U16": 2, "F16": 2, "BF16": 2, "I32": 4, "U32": 4, "F32": 4,
               "I64": 8, "U64": 8, "F64": 8, "C64": 8, "F4": 1, "F6_E2M3": 1, "F6_E3M2": 1}
SPARSE_MIN_BYTES = 64 * 1024 * 1024  # smaller files are not worth the question
SPARSE_MIN_SHARE = 0.5  # on-disk blocks below half the size: holes, not weights


def check_safetensors(file: Path) -> None:
    """ValueError saying what is wrong with `file`'s header or layout; None when it is sound."""
    size = os.stat(file).st_size
    with open(file, "rb") as handle:
        raw = handle.read(8)
        if len(raw) < 8:
            raise ValueError(f"{size} bytes: shorter than the 8-byte header length")
        (header_len,) = struct.unpack("<Q", raw)
        if header_len > MAX_HEADER or 8 + header_len > size:
            raise ValueError(f"header length {header_len} does not fit the file ({size} bytes)")
        header = json.loads(handle.read(header_len))
    if not isinstance(header, dict):
        raise ValueError(f"the header must be a JSON object, got {type(header).__name__}")
    data_bytes = size - 8 - header_len
    spans = sorted(_tensor_span(name, entry) for name, entry in header.items()
                   if name != "__metadata__")
    end = 0
    for start, stop, name in spans:
        if start < end:
            raise ValueError(f"tensor {name!r} overlaps the one before it")
        if stop > data_bytes:
            raise ValueError(f"tensor {name!r} ends at byte {stop} of a {data_bytes}-byte data "
                             "section: the file is cut short")
        end = stop
    _refuse_sparse(file, size)


def _tensor_span(name: str, entry) -> tuple[int, int, str]:
    if not isinstance(entry, dict):
        raise ValueError(f"tensor {name!r}: entry must be an object, got {entry!r:.60}")
    dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
    if dtype not in DTYPE_BYTES:
        raise ValueError(f"tensor {name!r}: unknown dtype {dtype!r}")
    if not isinstance(shape, list) or not all(_count(d) for d in shape):
        raise ValueError(f"tensor {name!r}: shape must be a list of sizes, got {shape!r:.60}")
    if (not isinstance(offsets, list) or len(offsets) != 2 or not all(_count(o) for o in offsets)
            or offsets[0] > offsets[1]):
        raise ValueError(f"tensor {name!r}: bad data_offsets {offsets!r:.60}")
    want = math.prod(shape) * DTYPE_BYTES[dtype]
    if offsets[1] - offsets[0] != want:
        raise ValueError(f"tensor {name!r}: shape {shape} of {dtype} needs {want} bytes, its "
                         f"offsets give {offsets[1] - offsets[0]}")
    return offsets[0], offsets[1], name


def _count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _refuse_sparse(file: Path, size: int) -> None:
    blocks = getattr(os.stat(file), "st_blocks", None)
    if blocks is None or size < SPARSE_MIN_BYTES:
        return
    on_disk = blocks * 512
    if on_disk < size * SPARSE_MIN_SHARE:
        raise ValueError(f"the file is sparse: {size / 2**30:.1f} GiB long but only "
                         f"{on_disk / 2**20:.1f} MiB on disk (holes, not weights: a download "
                         "that reserved the space and never wrote it)")
