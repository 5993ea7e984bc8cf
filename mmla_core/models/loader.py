"""Load a registered family's model and offline processor onto the best device.

CUDA when present: bf16 (fp16 where bf16 is unsupported), `flash_attention_2` when flash-attn is
importable, else `sdpa`; CPU: float32 + sdpa. `attn_implementation="eager"` on request (the
attention-map probes need it). Weights from safetensors only unless the user allowed pickle;
`trust_remote_code` is never on. Every failure becomes a ModelLoadError saying what to do.
A model larger than one GPU is split over the visible devices (models.placement).
"""

from __future__ import annotations

import gc
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mmla_core.models.placement import (
    Placement,
    describe_map,
    input_device,
    offload_folder,
    plan_placement,
    single_device,
)
from mmla_core.models.registry import ModelCheck, ModelLoadError, inspect_model, weights_hash

if TYPE_CHECKING:
    from transformers import PreTrainedModel

__all__ = ["Loaded", "auto_attention", "auto_device", "load_adapter", "load_model",
           "quiet_progress"]

_MODEL_CLASSES = {
    "qwen2_5_omni": "Qwen2_5OmniThinkerForConditionalGeneration",
    "qwen2_vl": "Qwen2VLForConditionalGeneration",
    "qwen2_5_vl": "Qwen2_5_VLForConditionalGeneration",
    "text_lm": "AutoModelForCausalLM",
}


@dataclass
class Loaded:
    model: PreTrainedModel
    processor: object
    check: ModelCheck
    device: str                 # where inputs go (a split model: its input embeddings' device)
    dtype: str
    attn_implementation: str
    device_map: dict | None = None   # {device: modules placed there} when split
    split_reason: str = ""


def auto_device(device: str | None = None) -> str:
    import torch

    if device:
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise ModelLoadError(f"device {device!r} asked for, but no CUDA GPU is usable here; "
                                 "use device='cpu' or leave it to choose")
        return device
    return "cuda" if torch.cuda.is_available() else "cpu"


def _dtype(device: str):
    import torch

    if not device.startswith("cuda"):
        return torch.float32
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def auto_attention(device: str, requested: str | None = None) -> str:
    if requested:
        return requested
    if device.startswith("cuda") and importlib.util.find_spec("flash_attn") is not None:
        return "flash_attention_2"
    return "sdpa"


def free_gpu_memory() -> None:
    """Collect dropped models and hand cached CUDA blocks back (a no-op without torch/CUDA)."""
    gc.collect()
    try:
        import torch
    except ImportError:
        return
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def quiet_progress() -> None:
    """No tqdm bars or info logs from transformers (they would flood the CLI and the log)."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()


def model_class_name(family: str) -> str:
    return _MODEL_CLASSES[family]


def load_model(ref, *, device: str | None = None, allow_pickle: bool = False,
               attn_implementation: str | None = None, device_map=None,
               max_memory=None, sharded_training: bool = False) -> Loaded:
    """The model (eval mode, on its device or split over several) and its processor; never runs
    shipped code. `device_map` / `max_memory`: see models.placement. `sharded_training`: the
    weights stay in CPU RAM at `device`'s dtype for FSDP / DeepSpeed to shard them."""
    from mmla_core.models.processors import load_processor

    check = inspect_model(ref, allow_pickle=allow_pickle)
    single = single_device(device_map)
    given = device or single
    device = auto_device(given)
    dtype = _dtype(device)
    if sharded_training:   # FSDP / DeepSpeed place it; ZeRO-3 partitions it while it loads
        place = Placement(device, None, reason="sharded training", loads_in_place=True)
    else:
        place = plan_placement(check, device, None if single else device_map, max_memory,
                               device_given=given is not None, bytes_per_param=dtype.itemsize)
    attn = auto_attention(device, attn_implementation)
    quiet_progress()
    model = _from_pretrained(check, place, dtype, attn)
    processor = load_processor(check.path, check.family)
    where = input_device(model, device) if place.split else device   # sharded: rank's GPU
    return Loaded(model, processor, check, where, str(dtype).replace("torch.", ""), attn,
                  describe_map(model) if place.split else None, place.reason)


def _placement_kwargs(place) -> dict:
    if place.split:
        kwargs = {"device_map": place.device_map, "offload_folder": offload_folder()}
        return kwargs | ({"max_memory": place.max_memory} if place.max_memory else {})
    if place.device.startswith("cuda") and not place.loads_in_place:
        return {"device_map": {"": place.device}}
    return {}


def _from_pretrained(check: ModelCheck, place, dtype, attn: str):
    import torch
    import transformers

    cls = getattr(transformers, _MODEL_CLASSES[check.family])
    kwargs = {"dtype": dtype, "attn_implementation": attn, "trust_remote_code": False,
              "use_safetensors": check.weights_format == "safetensors",
              **_placement_kwargs(place)}
    device = place.device
    try:
        model = cls.from_pretrained(str(check.path), **kwargs)
    except torch.cuda.OutOfMemoryError as exc:
        raise _oom(check, device) from exc
    except (OSError, ValueError, KeyError, ImportError) as exc:
        raise _load_failure(check, attn, exc) from exc
    except RuntimeError as exc:
        if "out of memory" in str(exc).lower():
            raise _oom(check, device) from exc
        raise _load_failure(check, attn, exc) from exc
    if place.split or place.loads_in_place or device.startswith("cuda"):
        return model.eval()
    return model.to(device).eval()


def _load_failure(check: ModelCheck, attn: str, exc: Exception) -> ModelLoadError:
    hint = "the weights do not match config.json; download the model again"
    if "flash" in str(exc).lower() or attn == "flash_attention_2":
        hint = "flash-attn failed; load with attn_implementation='sdpa'"
    return ModelLoadError(f"{check.path}: cannot load the {check.family} model ({exc}); {hint}")


def _oom(check: ModelCheck, device: str) -> ModelLoadError:
    import torch

    need = sum(f.stat().st_size for f in check.weight_files) / 2**30
    free = "?"
    if torch.cuda.is_available():
        free_bytes, _ = torch.cuda.mem_get_info(torch.device(device))
        free = f"{free_bytes / 2**30:.1f}"
    return ModelLoadError(
        f"{check.path}: not enough GPU memory on {device} (weights alone ~{need:.1f} GiB, "
        f"{free} GiB free). Close other programs using the GPU, pick a smaller model (e.g. the "
        "3B), split it over the GPUs and the CPU (device map 'auto', `--device-map auto`), "
        "or load it on the CPU (device='cpu', slow)")


def load_adapter(model, adapter_path, *, allow_pickle: bool = False):
    """A peft LoRA adapter merged into the model; returns (model, adapter weights hash)."""
    path = Path(adapter_path).expanduser()
    if not (path / "adapter_config.json").is_file():
        raise ModelLoadError(f"{path}: no adapter_config.json; pick the LoRA checkpoint folder "
                             "(it holds adapter_config.json and adapter_model.safetensors)")
    files = sorted(path.glob("adapter_model*.safetensors"))
    if not files:
        pickled = sorted(path.glob("adapter_model*.bin"))
        if not pickled or not allow_pickle:
            what = "only pickle weights (adapter_model.bin), refused" if pickled else "no weights"
            raise ModelLoadError(f"{path}: {what}; the adapter needs adapter_model.safetensors")
        files = pickled
    from peft import PeftModel

    try:
        # peft reads adapter_model.safetensors when present; pickle only passed the check above
        wrapped = PeftModel.from_pretrained(model, str(path), is_trainable=False)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise ModelLoadError(f"{path}: the adapter does not fit this model ({exc}); was it "
                             "trained on the same base model?") from exc
    return wrapped.merge_and_unload().eval(), weights_hash(files)
