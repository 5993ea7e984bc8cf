"""Training a model larger than one GPU: FSDP or DeepSpeed ZeRO-3 instead of whole copies (DDP).

`sharding: none` (default) is data parallel: every rank holds the whole model. `fsdp` shards the
weights, gradients and optimizer state over the ranks with torch's fully sharded data parallel
(FSDP2, through the transformers Trainer and accelerate), wrapping each decoder / vision block.
`zero3` is DeepSpeed ZeRO-3 with the config MMLA's recipe used (LLaMA-Factory's
`examples/deepspeed/ds_z3_config.json`: ZeRO stage 3, bf16 "auto" which the Trainer turns on
for CUDA, 16-bit weights gathered on save); `zero3_offload` is its `ds_z3_offload_config.json`
(optimizer state and parameters in CPU RAM), which MMLA used for its 72B models. Both need
CUDA GPUs: accelerate only shards on GPUs and DeepSpeed needs CUDA. LoRA stays on the language
model only (trainer.lora_target_regex), and checkpoints resume like any other run's.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

__all__ = ["SHARDINGS", "deepspeed_config", "fsdp_config", "sharding_arguments",
           "sharding_problems", "write_deepspeed_config"]

SHARDINGS = ("none", "fsdp", "zero3", "zero3_offload")
DEEPSPEED_FILE = "ds_config.json"

# LLaMA-Factory examples/deepspeed/ds_z3_config.json (the keys MMLA's runs used)
_DS_Z3: dict[str, Any] = {
    "train_batch_size": "auto",
    "train_micro_batch_size_per_gpu": "auto",
    "gradient_accumulation_steps": "auto",
    "gradient_clipping": "auto",
    "zero_allow_untested_optimizer": True,
    "fp16": {"enabled": "auto", "loss_scale": 0, "loss_scale_window": 1000,
             "initial_scale_power": 16, "hysteresis": 2, "min_loss_scale": 1},
    "bf16": {"enabled": "auto"},
    "zero_optimization": {
        "stage": 3,
        "overlap_comm": False,
        "contiguous_gradients": True,
        "sub_group_size": 1e9,
        "reduce_bucket_size": "auto",
        "stage3_prefetch_bucket_size": "auto",
        "stage3_param_persistence_threshold": "auto",
        "stage3_max_live_parameters": 1e9,
        "stage3_max_reuse_distance": 1e9,
        "stage3_gather_16bit_weights_on_model_save": True,
    },
}
_CPU_OFFLOAD = {"device": "cpu", "pin_memory": True}


def deepspeed_config(sharding: str) -> dict:
    """The DeepSpeed JSON of `zero3` / `zero3_offload` ("auto" values come from the Trainer)."""
    if sharding not in ("zero3", "zero3_offload"):
        raise ValueError(f"sharding {sharding!r} has no DeepSpeed config")
    config = copy.deepcopy(_DS_Z3)
    if sharding == "zero3_offload":
        zero = config["zero_optimization"]
        offload = {"offload_optimizer": dict(_CPU_OFFLOAD), "offload_param": dict(_CPU_OFFLOAD)}
        config["zero_optimization"] = {"stage": 3, **offload,
                                       **{k: v for k, v in zero.items() if k != "stage"}}
    return config


def write_deepspeed_config(output_dir: Path, sharding: str) -> Path:
    """`<output_dir>/ds_config.json`: next to the run's config, so the run can be repeated."""
    path = Path(output_dir) / DEEPSPEED_FILE
    path.write_text(json.dumps(deepspeed_config(sharding), indent=2), encoding="utf-8")
    return path


def fsdp_config(wrap_classes: list[str]) -> dict:
    """FSDP2 over each block class the model says must not be split (decoder layers, vision
    and audio blocks), full state dicts on save (an adapter folder like any run's), and FSDP's
    own activation checkpointing (the Trainer's would all-gather once more in backward)."""
    return {"version": 2, "reshard_after_forward": True, "auto_wrap_policy":
            "TRANSFORMER_BASED_WRAP", "transformer_layer_cls_to_wrap": sorted(wrap_classes),
            "state_dict_type": "FULL_STATE_DICT", "activation_checkpointing": True}


def sharding_arguments(sharding: str, output_dir: Path, wrap_classes: list[str]) -> dict:
    """The TrainingArguments keywords for `sharding` (none: {})."""
    if sharding == "fsdp":
        return {"fsdp": True, "fsdp_config": fsdp_config(wrap_classes),
                "activation_checkpointing": False}
    if sharding in ("zero3", "zero3_offload"):
        return {"deepspeed": str(write_deepspeed_config(output_dir, sharding))}
    return {}


def sharding_problems(sharding: str, device: str) -> list[str]:
    if sharding not in SHARDINGS:
        return [f"sharding {sharding!r} is not one of {', '.join(SHARDINGS)}"]
    if sharding != "none" and device == "cpu":
        return [f"sharding {sharding!r} needs CUDA GPUs (accelerate shards only on GPUs, "
                "DeepSpeed needs CUDA); on the CPU use sharding 'none' (data parallel)"]
    return []
