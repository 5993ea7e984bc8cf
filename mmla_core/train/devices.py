"""Which device a training run uses and how much memory it has, without importing torch.

The GUI's Preview / Launch and the busy-device check run in the GUI process, where importing
torch costs seconds and initialises CUDA (DESIGN rule 10): an NVIDIA device node and nvidia-smi
tell instead, and torch's own answer is used only when something has imported it already.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

__all__ = ["device_memory", "resolve_device"]


def resolve_device(device: str) -> str:
    """'auto' -> 'cuda:0' or 'cpu', 'cuda' -> 'cuda:0': one string per physical device.

    Without importing torch (seconds, and CUDA init) when the GUI has not: an NVIDIA device node
    and an importable torch mean the trainer's 'auto' will pick the GPU."""
    name = (device or "auto").strip().lower()
    if name == "auto":
        name = "cuda" if _cuda_probably_available() else "cpu"
    return "cuda:0" if name == "cuda" else name


def _cuda_probably_available() -> bool:
    torch = sys.modules.get("torch")
    if torch is not None:
        return bool(torch.cuda.is_available())
    if os.environ.get("CUDA_VISIBLE_DEVICES", "unset").strip() in ("", "-1"):
        return False

    return any(Path("/dev").glob("nvidia[0-9]*")) and importlib.util.find_spec("torch") is not None


def device_memory(device: str) -> tuple[str, int | None]:
    """(device name, total bytes) the run will use; CPU: the machine's RAM; 0: no such GPU;
    None: a GPU whose size cannot be read (the memory check is skipped).

    Without importing torch when nobody has (DESIGN rule 10: Preview / Launch run in the GUI
    process, and importing torch there costs seconds and initialises CUDA): nvidia-smi."""
    if "torch" in sys.modules:
        return _torch_device_memory(device)
    name = resolve_device(device)
    if name == "cpu":
        return "cpu", _ram_bytes()
    if not any(Path("/dev").glob("nvidia[0-9]*")):
        return name, 0
    totals = _nvidia_smi_totals()
    if totals is None:
        return name, None
    index = _physical_index(int(name.split(":")[1]))
    return (name, totals[index]) if 0 <= index < len(totals) else (name, 0)


def _torch_device_memory(device: str) -> tuple[str, int]:
    if device != "cpu":
        try:
            import torch

            if torch.cuda.is_available():
                index = int(device.split(":")[1]) if ":" in device else 0
                props = torch.cuda.get_device_properties(index)
                return f"cuda:{index} ({props.name})", int(props.total_memory)
        except (ImportError, RuntimeError, ValueError):
            pass
        if device.startswith("cuda"):
            return device, 0
    return "cpu", _ram_bytes()


def _nvidia_smi_totals() -> list[int] | None:
    """Total memory of each physical GPU in bytes, or None when nvidia-smi cannot tell."""
    try:
        done = subprocess.run(["nvidia-smi", "--query-gpu=memory.total",
                               "--format=csv,noheader,nounits"], capture_output=True,
                              text=True, timeout=5)
        if done.returncode != 0:
            return None
        return [int(float(line)) * 2**20 for line in done.stdout.split() if line.strip()]
    except (OSError, subprocess.SubprocessError, ValueError):
        return None


def _physical_index(index: int) -> int:
    """cuda:N counts the GPUs CUDA_VISIBLE_DEVICES leaves; nvidia-smi lists every GPU."""
    visible = [v.strip() for v in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",")]
    if visible and all(v.isdigit() for v in visible) and index < len(visible):
        return int(visible[index])
    return index


def _ram_bytes() -> int:
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
