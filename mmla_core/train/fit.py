"""Will the run fit? A coarse, concrete estimate of tokens per sample and memory, before launch.

Tokens per sample (Qwen2.5-Omni / Qwen2-VL token rates): video = ceil(frames / 2) temporal
groups x max_pixels / (28*28) tokens (14 px patches merged 2x2, two frames per group); audio =
25 tokens per second (100 mel frames/s, pooled 4x); text = the prompt's length (~3 characters a
token) + 160 for the chat wrapper and candidate list. The sequence must stay under the model's
`max_position_embeddings`.

Memory = weights (parameters x 2 bytes bf16 on CUDA, 4 fp32 on CPU) + batch x tokens x the
activations one token keeps: with activation checkpointing (CUDA) one hidden vector per layer
plus one layer recomputed, without it (CPU) every layer's attention + MLP intermediates, plus
the LM head's logits in fp32 with their gradient; + 1 GiB of CUDA context and allocator slack.
Sharded runs hold only their share of the weights on each GPU: `fsdp` / `zero3` the weights
divided by `gpus` plus one gathered block, `zero3_offload` a few blocks (the rest waits in CPU
RAM). Compared against the GPU's total memory (CPU: the machine's RAM). It errs on the generous
side: a config it refuses would not have fitted; one it accepts may still OOM on fragmentation.
"""

from __future__ import annotations

import math
from pathlib import Path

from mmla_core.models.registry import read_config, weight_files
from mmla_core.token_rates import AUDIO_TOKENS_PER_S, PIXELS_PER_TOKEN
from mmla_core.train.config import TrainConfig
from mmla_core.train.devices import device_memory

__all__ = ["SequenceEstimate", "estimate_memory_bytes", "estimate_sequence", "fit_problems",
           "frames_for"]

GiB = 1024 ** 3
CHAT_OVERHEAD_TOKENS = 160


def frames_for(config: TrainConfig, duration_s: float | None) -> int:
    """Frames sampled from a clip: `fps` per second of it, at most `frames`, at least 2
    (LLaMA-Factory's video_fps / video_maxlen rule that MMLA trained with)."""
    if not duration_s or duration_s <= 0:
        return config.frames
    return max(2, min(config.frames, math.ceil(duration_s * config.fps)))


class SequenceEstimate:
    def __init__(self, video: int, audio: int, text: int):
        self.video, self.audio, self.text = video, audio, text

    @property
    def total(self) -> int:
        return self.video + self.audio + self.text

    def describe(self) -> str:
        return f"{self.total} tokens ({self.video} video, {self.audio} audio, {self.text} text)"


def estimate_sequence(config: TrainConfig, modality: str, duration_s: float | None,
                      prompt_chars: int) -> SequenceEstimate:
    text = CHAT_OVERHEAD_TOKENS + prompt_chars // 3
    if modality == "text":
        return SequenceEstimate(0, 0, text)
    frames = frames_for(config, duration_s)
    video = math.ceil(frames / 2) * max(1, config.max_pixels // PIXELS_PER_TOKEN)
    audio = math.ceil((duration_s or 0) * AUDIO_TOKENS_PER_S) if modality == "video+audio" else 0
    return SequenceEstimate(video, audio, text)


def _text_config(model_config: dict) -> dict:
    for key in ("text_config", "thinker_config"):
        inner = model_config.get(key)
        if isinstance(inner, dict):
            return _text_config(inner) if "text_config" in inner else inner
    return model_config


def _parameter_count(model_path: str) -> int:
    files, _ = weight_files(Path(model_path), allow_pickle=True)
    config = read_config(Path(model_path))
    dtype = str(config.get("torch_dtype") or config.get("dtype") or "float32")
    per_param = 4 if "32" in dtype else 2
    return sum(f.stat().st_size for f in files) // per_param


def estimate_memory_bytes(config: TrainConfig, model_config: dict, params: int,
                          tokens: int, on_cuda: bool) -> int:
    text = _text_config(model_config)
    hidden = int(text.get("hidden_size", 4096))
    inter = int(text.get("intermediate_size", 4 * hidden))
    layers = int(text.get("num_hidden_layers", 32))
    vocab = int(text.get("vocab_size", 152_064))
    width = 2 if on_cuda else 4
    layer_acts = (12 * hidden + 3 * inter) * width
    # activation checkpointing (CUDA): layer inputs kept, one layer recomputed
    per_token = layers * hidden * width + layer_acts if on_cuda else layers * layer_acts
    per_token += vocab * (width + 8)  # logits + fp32 copy + gradient
    overhead = GiB if on_cuda else 0
    weights = _weights_per_device(config, int(params * width * 1.02), layers)
    return weights + config.batch_size * tokens * per_token + overhead


def _weights_per_device(config: TrainConfig, weights: int, layers: int) -> int:
    """What one GPU holds of the weights under the run's sharding (see the module notes)."""
    block = weights // max(1, layers)
    if config.sharding in ("fsdp", "zero3"):
        return weights // max(1, config.gpus) + block
    if config.sharding == "zero3_offload":
        return 2 * block
    return weights


def fit_problems(config: TrainConfig, model_config: dict, model_path: str, modality: str,
                 longest_s: float, prompt_chars: int) -> list[str]:
    """What does not fit for a sample of the longest clip (`longest_s`) and prompt: the model's
    positions, the device's memory (train.preflight gathers both from the store)."""
    longest = longest_s
    seq = estimate_sequence(config, modality, longest, prompt_chars)
    problems = []
    limit = int(_text_config(model_config).get("max_position_embeddings", 0) or 0)
    shape = (f"frames {config.frames} at fps {config.fps}, max_pixels {config.max_pixels}, "
             f"longest clip {longest:.1f} s")
    if limit and seq.total > limit:
        problems.append(f"a sample would be {seq.describe()} with {shape}, over the model's "
                        f"{limit}-position limit: lower frames or max_pixels")
    name, total = device_memory(config.device)
    if config.sharding != "none" and name == "cpu":
        return [*problems, f"sharding {config.sharding!r} needs CUDA GPUs and none is usable "
                           "here; use sharding 'none' on the CPU"]
    if total is None:   # a GPU nvidia-smi could not size: no memory verdict rather than a guess
        return problems
    if total <= 0:
        return [*problems, f"device {config.device!r}: no CUDA GPU is usable here; use 'cpu' "
                           "or 'auto'"]
    need = estimate_memory_bytes(config, model_config, _parameter_count(model_path), seq.total,
                                 name.startswith("cuda"))
    if need > total:
        one = estimate_memory_bytes(TrainConfig(**{**config.to_dict(), "batch_size": 1}),
                                    model_config, _parameter_count(model_path), seq.total,
                                    name.startswith("cuda"))
        problems.append(
            f"does not fit: ~{need / GiB:.1f} GiB needed {_per_gpu(config)}for batch_size "
            f"{config.batch_size} x {seq.describe()} ({shape}) on {name} with "
            f"{total / GiB:.1f} GiB; lower batch_size (batch_size 1 needs ~{one / GiB:.1f} GiB; "
            "use grad_accum to keep the effective batch), frames or max_pixels"
            + ("" if config.sharding != "none" else
               ", or shard the model over several GPUs (sharding fsdp or zero3, gpus N)"))
    return problems


def _per_gpu(config: TrainConfig) -> str:
    if config.sharding == "none":
        return ""
    return f"per GPU ({config.sharding} over {config.gpus} GPU{'s' if config.gpus > 1 else ''}) "
