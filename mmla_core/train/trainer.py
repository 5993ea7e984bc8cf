"""The LoRA trainer: transformers Trainer + peft on the language model only.

CUDA: bf16 autocast over bf16 weights, activation checkpointing (non-reentrant), flash-attn 2 when
importable else SDPA (models.loader decides). CPU: fp32 + SDPA. Dev evaluation every
`eval_every` steps gives the Trainer's eval loss (answer tokens only) plus label accuracy by the
engine's label scoring (`Engine.predict_batch` on the model being trained, RNG forked so
training is unaffected). The same code runs under torchrun / accelerate launch (DDP): the
Trainer picks the launch up from the environment; only rank 0 writes events and the database.
`sharding` fsdp / zero3 spreads a model larger than one GPU over the ranks (sharding.py).
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from mmla_core.models.engine import Engine, ModelInfo
from mmla_core.models.loader import auto_device, load_model, model_class_name
from mmla_core.models.registry import FAMILIES
from mmla_core.train.config import TrainConfig, TrainConfigError
from mmla_core.train.outputs import CHECKPOINT_STAGING
from mmla_core.train.samples import TrainSample
from mmla_core.train.sharding import sharding_arguments, sharding_problems

if TYPE_CHECKING:
    from peft import PeftModel

    from mmla_core.models.engine import ModelInfo

__all__ = ["Prepared", "build_trainer", "dev_accuracy", "lora_target_regex", "prepare_model",
           "training_arguments"]

LANGUAGE_MODEL_PREFIX = {"text_lm": r"model", "qwen2_5_omni": r".*language_model",
                         "qwen2_vl": r".*language_model", "qwen2_5_vl": r".*language_model"}


def lora_target_regex(family: str, target_modules: list[str]) -> str:
    """A full-match regex on the language model's layers only (the towers have q/v_proj too)."""
    wanted = [m for m in target_modules if m != "lm_head"]
    if "all-linear" in wanted:
        wanted = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    names = "|".join(re.escape(m) for m in wanted)
    layers = rf"{LANGUAGE_MODEL_PREFIX[family]}\.layers\.\d+\..*\b({names})"
    return layers + "|lm_head" if "lm_head" in target_modules else layers


@dataclass
class Prepared:
    model: PeftModel   # LoRA over the loaded model
    processor: object
    info: ModelInfo
    family: str
    device: str


def training_device(config: TrainConfig, local_rank: int) -> str:
    """Where this rank trains; a sharded run needs CUDA (TrainConfigError otherwise)."""
    device = "cpu" if config.device == "cpu" else \
        auto_device(None if config.device == "auto" else config.device)
    if device.startswith("cuda") and int(os.environ.get("WORLD_SIZE", "1")) > 1:
        device = f"cuda:{local_rank}"
    problems = sharding_problems(config.sharding, device)
    if problems:
        raise TrainConfigError(problems)
    return device


def wrap_classes(family: str) -> list[str]:
    """The blocks FSDP wraps one by one: those the model class says must not be split."""
    import transformers

    return list(getattr(transformers, model_class_name(family))._no_split_modules or [])


def prepare_model(config: TrainConfig, model_path: str, local_rank: int = 0) -> Prepared:
    """The LoRA model. Sharded runs load the weights in CPU RAM (bf16): FSDP / DeepSpeed move
    each rank's share to its GPU; ZeRO-3 needs the TrainingArguments made before this."""
    from peft import LoraConfig, get_peft_model

    loaded = load_model(model_path, device=training_device(config, local_rank),
                        sharded_training=config.sharding != "none")
    family = loaded.check.family
    lora = LoraConfig(r=config.lora_rank, lora_alpha=config.lora_alpha,
                      lora_dropout=config.lora_dropout, task_type="CAUSAL_LM",
                      target_modules=lora_target_regex(family, config.target_modules))
    from transformers import set_seed

    set_seed(config.seed)  # LoRA A is drawn here, before the Trainer seeds anything
    model = get_peft_model(loaded.model, lora)
    if loaded.device.startswith("cuda"):
        model.config.use_cache = False
    fam = FAMILIES[family]
    info = ModelInfo(Path(model_path).name, family, str(loaded.check.path),
                     loaded.check.weights_hash, loaded.check.random_weights, loaded.device,
                     loaded.dtype, loaded.attn_implementation, fam.hears_audio, fam.sees_video)
    return Prepared(model, loaded.processor, info, family, loaded.device)


def training_arguments(config: TrainConfig, output_dir: Path, device: str, workers: int = 0,
                       family: str | None = None):
    from transformers import TrainingArguments

    cuda = device.startswith("cuda")
    wrapped: list[str] = []
    if config.sharding == "fsdp":
        if family is None:
            raise ValueError("fsdp sharding needs the model family: it wraps the model's blocks")
        wrapped = wrap_classes(family)
    sharded = sharding_arguments(config.sharding, output_dir, wrapped)
    return TrainingArguments(**_argument_values(config, output_dir, cuda, workers) | sharded)


def _argument_values(config: TrainConfig, output_dir: Path, cuda: bool, workers: int) -> dict:
    return {
        "output_dir": str(output_dir), "per_device_train_batch_size": config.batch_size,
        "per_device_eval_batch_size": config.batch_size,
        "gradient_accumulation_steps": config.grad_accum, "learning_rate": config.learning_rate,
        "lr_scheduler_type": config.lr_scheduler, "warmup_steps": float(config.warmup_ratio),
        "num_train_epochs": config.epochs, "max_steps": config.max_steps, "seed": config.seed,
        "data_seed": config.seed, "eval_strategy": "steps", "eval_steps": config.eval_every,
        "save_strategy": "steps", "save_steps": config.save_every, "logging_steps": 1,
        "bf16": cuda, "use_cpu": not cuda, "activation_checkpointing": cuda,
        "activation_checkpointing_kwargs": {"use_reentrant": False} if cuda else None,
        "remove_unused_columns": False, "prediction_loss_only": True, "report_to": "none",
        "disable_tqdm": True, "ddp_find_unused_parameters": False, "label_names": ["labels"],
        "include_num_input_tokens_seen": "non_padding", "dataloader_num_workers": workers,
        "dataloader_pin_memory": cuda, "log_level": "warning", "save_total_limit": None}


def dev_accuracy(prepared: Prepared, dataset, samples: list[TrainSample], tasks: dict,
                 batch_size: int, rank: int = 0, world_size: int = 1,
                 sharded: bool = False) -> float:
    """Share of dev samples whose top-scored label is the gold one (this rank's share, reduced).
    A sharded model's forward is collective, so there every rank scores every sample."""
    import torch

    engine = Engine(prepared.model, prepared.processor, prepared.info, prefetch=False)
    if sharded:
        rank, world_size = 0, 1
    mine = samples[rank::world_size]
    groups: dict[tuple, list[TrainSample]] = {}
    for sample in mine:
        groups.setdefault((sample.task, sample.prompt_kind, sample.template), []).append(sample)
    correct = 0
    was_training = prepared.model.training
    prepared.model.eval()
    devices = [torch.device(prepared.device)] if prepared.device.startswith("cuda") else []
    try:
        with torch.random.fork_rng(devices=devices), torch.no_grad():
            for (task, kind, template), group in groups.items():
                settings = replace(dataset.settings, prompt_kind=kind, template=template)
                clips = [dataset.clip(s) for s in group]
                results = engine.predict_batch(clips, tasks[task], settings,
                                               batch_size=batch_size)
                correct += sum(r.parsed_label == s.label for r, s in zip(results, group,
                                                                        strict=True))
    finally:
        prepared.model.train(was_training)
    return _reduce_share(correct, len(mine), prepared.device, world_size)


def _reduce_share(correct: int, total: int, device: str, world_size: int) -> float:
    if world_size > 1:
        import torch
        import torch.distributed as dist

        if dist.is_initialized():
            both = torch.tensor([correct, total], dtype=torch.float64,
                                device=device if device.startswith("cuda") else "cpu")
            dist.all_reduce(both)
            correct, total = int(both[0].item()), int(both[1].item())
    return correct / total if total else 0.0


def _publish(staging: Path, run_dir: Path, name: str) -> None:
    """Move the finished `staging/name` to `run_dir/name` (replacing an older save of that step)."""
    final = run_dir / name
    if final.exists():
        old = run_dir / f".{name}.old"
        shutil.rmtree(old, ignore_errors=True)
        final.rename(old)
        shutil.rmtree(old, ignore_errors=True)
    (staging / name).rename(final)
    shutil.rmtree(staging, ignore_errors=True)


def build_trainer(prepared: Prepared, args, train_set, dev_set, collator, scorer, callbacks):
    """A transformers Trainer whose evaluations also report `eval_accuracy` from `scorer()`."""
    from transformers import Trainer

    staging: str | None = None   # set while a checkpoint is being saved

    class LabelScoringTrainer(Trainer):
        pending_accuracy: float | None = None

        def evaluate(self, *a, **kw):
            self.pending_accuracy = scorer()
            return super().evaluate(*a, **kw)

        def log(self, logs, *a, **kw):
            if self.pending_accuracy is not None and "eval_loss" in logs:
                logs["eval_accuracy"] = self.pending_accuracy
                self.pending_accuracy = None
            return super().log(logs, *a, **kw)

        def _get_output_dir(self, trial):
            return staging or super()._get_output_dir(trial)

        def _save_checkpoint(self, model, trial):
            """Save into a staging folder, then rename it into place: a kill during the save
            leaves no `checkpoint-<step>` for `resume latest` to pick."""
            nonlocal staging
            run_dir = Path(super()._get_output_dir(trial))
            staging = str(run_dir / CHECKPOINT_STAGING)
            try:
                if self.args.should_save:
                    shutil.rmtree(staging, ignore_errors=True)  # a killed save's leftovers
                self.accelerator.wait_for_everyone()
                super()._save_checkpoint(model, trial)
                self.accelerator.wait_for_everyone()   # every rank has written its part
                if self.args.should_save:
                    _publish(Path(staging), run_dir, f"checkpoint-{self.state.global_step}")
                self.accelerator.wait_for_everyone()
            finally:
                staging = None

    from transformers.trainer_callback import PrinterCallback

    trainer = LabelScoringTrainer(model=prepared.model, args=args, train_dataset=train_set,
                                  eval_dataset=dev_set, data_collator=collator,
                                  callbacks=list(callbacks))
    trainer.remove_callback(PrinterCallback)  # train.log gets the same lines (ProgressCallback)
    return trainer
