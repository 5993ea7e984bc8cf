"""Where a model's weights go: one device, or split over several (accelerate big-model inference).

`device_map` is what the user chose: None (automatic), a split strategy ("auto", "balanced",
"balanced_low_0", "sequential": accelerate fills the visible GPUs, then the CPU, then disk), a
single device ("cpu", "cuda", "cuda:1"), or an explicit {module name: device} dict. Automatic
means one device, unless the weights alone would not fit the GPU's free memory: then "auto",
so a model larger than one GPU still loads (spread over the GPUs, the rest on the CPU).
`max_memory` caps each device ({0: "70GiB", 1: "70GiB", "cpu": "200GiB"}); giving it alone
also splits. A split model takes its inputs on the device of its input embeddings; accelerate's
hooks move activations between devices, so the answers are those of the unsplit model.
"""

from __future__ import annotations

import atexit
import re
import shutil
import tempfile
from dataclasses import dataclass

from mmla_core.models.registry import ModelCheck, ModelLoadError

__all__ = ["SPLIT_STRATEGIES", "Placement", "estimated_weight_bytes", "input_device",
           "parse_max_memory", "plan_placement", "single_device"]

SPLIT_STRATEGIES = ("auto", "balanced", "balanced_low_0", "sequential")
FREE_MEMORY_SHARE = 0.85   # weights may take this share of a GPU's free memory; the rest: inputs
_MEMORY = re.compile(r"^\s*\d+(\.\d+)?\s*([KMGT]i?B)?\s*$", re.IGNORECASE)


@dataclass
class Placement:
    device: str                      # the one device, or (split) where the compute starts
    device_map: str | dict | None    # for from_pretrained when split, else None
    max_memory: dict | None = None
    reason: str = ""                 # why the model is split, for the log and the run record
    loads_in_place: bool = False     # sharded training: CPU RAM, FSDP / DeepSpeed move it

    @property
    def split(self) -> bool:
        return self.device_map is not None


def single_device(device_map) -> str | None:
    """The device a `device_map` naming one device puts the model on (None: not a device name)."""
    if not isinstance(device_map, str) or device_map in ("", *SPLIT_STRATEGIES):
        return None
    if re.fullmatch(r"cpu|mps|cuda(:\d+)?", device_map.strip()):
        return device_map.strip()
    raise ModelLoadError(f"device map {device_map!r}: use auto, balanced, or one device "
                         "(cpu, cuda, cuda:1)")


def parse_max_memory(text: str | dict | None) -> dict | None:
    """"0=70GiB,1=70GiB,cpu=200GiB" (the CLI form) -> {0: "70GiB", 1: "70GiB", "cpu": ...}."""
    if text is None or isinstance(text, dict):
        return text
    caps: dict = {}
    for item in (part.strip() for part in str(text).split(",") if part.strip()):
        key, sep, value = item.partition("=")
        key = key.strip().removeprefix("cuda:")
        if not sep or not _MEMORY.match(value) or not (key.isdigit() or key in ("cpu", "disk")):
            raise ModelLoadError(f"max memory {item!r}: write DEVICE=SIZE, e.g. 0=20GiB, "
                                 "1=20GiB, cpu=64GiB (DEVICE: a GPU index, cpu or disk)")
        caps[int(key) if key.isdigit() else key] = value.strip().replace(" ", "")
    return caps or None


def estimated_weight_bytes(check: ModelCheck, bytes_per_param: int) -> int:
    """The weights' size once loaded at `bytes_per_param` (files stored as fp32 or 16-bit)."""
    stored = str(check.config.get("torch_dtype") or check.config.get("dtype") or "bfloat16")
    stored_bytes = 4 if "32" in stored else 2
    size = sum(f.stat().st_size for f in check.weight_files)
    return size * bytes_per_param // stored_bytes


def _cuda_free_bytes(device: str) -> int | None:
    import torch

    if not (device.startswith("cuda") and torch.cuda.is_available()):
        return None
    free, _ = torch.cuda.mem_get_info(torch.device(device))
    return int(free)


def plan_placement(check: ModelCheck, device: str, device_map=None, max_memory=None, *,
                   device_given: bool = False, bytes_per_param: int = 2) -> Placement:
    """Where the model goes; `device` is the resolved single device (loader.auto_device)."""
    max_memory = parse_max_memory(max_memory)
    if isinstance(device_map, dict):
        return Placement(device, dict(device_map), max_memory, "the given device map")
    if device_map in SPLIT_STRATEGIES or (device_map is None and max_memory):
        strategy = device_map or "auto"
        return Placement(device, strategy, max_memory, f"device_map={strategy!r} asked for")
    if device_map not in (None, ""):
        single_device(device_map)   # raises for anything but a split or a device name
    free = None if device_given else _cuda_free_bytes(device)
    need = estimated_weight_bytes(check, bytes_per_param)
    if free is not None and need > FREE_MEMORY_SHARE * free:
        return Placement(device, "auto", None,
                         f"the weights (~{need / 2**30:.1f} GiB) exceed {device}'s free memory "
                         f"({free / 2**30:.1f} GiB): split over the visible devices")
    return Placement(device, None)


def offload_folder() -> str:
    """A scratch folder for layers accelerate offloads to disk; removed when the process ends."""
    folder = tempfile.mkdtemp(prefix="mmla-offload-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def input_device(model, fallback: str) -> str:
    """Where a split model takes its inputs: its input embeddings' device (a GPU index in
    hf_device_map means cuda:N; a layer offloaded to CPU or disk computes on the CPU)."""
    device_map = getattr(model, "hf_device_map", None) or {}
    names = sorted(device_map, key=lambda n: ("embed" not in n, n))
    for name in names:
        where = device_map[name]
        if isinstance(where, int):
            return f"cuda:{where}"
        if str(where).startswith(("cuda", "xpu", "mps")):
            return str(where)
        if "embed" in name or name == "":
            return "cpu"
    return fallback


def describe_map(model) -> dict | None:
    """{device: number of modules placed there}, for the engine's info (None: not split)."""
    device_map = getattr(model, "hf_device_map", None)
    if not device_map:
        return None
    counts: dict[str, int] = {}
    for where in device_map.values():
        key = f"cuda:{where}" if isinstance(where, int) else str(where)
        counts[key] = counts.get(key, 0) + 1
    return counts
