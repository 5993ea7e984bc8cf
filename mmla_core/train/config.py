"""One training run's settings: a plain dataclass that round-trips through YAML.

The YAML is the hand-off between the GUI (which writes it from `training_jobs.config_json`) and the
trainer process (`python -m mmla_core.train run.yaml`), and the file a researcher copies to another
machine or a cluster, so every field has a default and unknown keys are refused, not ignored.
"""

from __future__ import annotations

import dataclasses
import math
import shlex
from dataclasses import dataclass, field
from typing import Any

import yaml

from mmla_core.store.label_policy import LabelSourceError, parse_source
from mmla_core.store.verdicts import Selection
from mmla_core.token_rates import TRAIN_FPS, TRAIN_FRAMES, TRAIN_MAX_PIXELS
from mmla_core.train.sharding import sharding_problems

MODES = ("sft", "it", "alignment")
MODALITIES = ("auto", "video", "text")
SCHEDULERS = ("cosine", "linear", "constant", "constant_with_warmup", "cosine_with_restarts",
              "polynomial", "inverse_sqrt")
# what to do about an empty field (a new project has no model registered yet)
EMPTY_HINTS = {"model": (": name a registered model (`mmla models ls`); register one with "
                         "`mmla models add PATH` (or `mmla models tiny OUT --add` to try), or "
                         "in the app with Tools > Evaluate > Add model…")}


class TrainConfigError(ValueError):
    """A config that cannot run; `.problems` lists every reason, the message joins them."""

    def __init__(self, problems: list[str] | str):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("; ".join(self.problems))


def yaml_problem(exc: yaml.YAMLError) -> str:
    """' at line 3, column 1: expected ...': PyYAML's six-line message (which names a
    "<unicode string>", not the file) as one line's end."""
    mark = getattr(exc, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    return f"{where}: {problem}" + (f" ({context})" if context else "")


@dataclass
class TrainConfig:
    name: str
    model: str                       # registered model name or a local model folder
    tasks: list[str]                 # one task = SFT; several = instruction tuning (IT)
    mode: str = "sft"                # "sft" | "it" | "alignment" (MMA-Bench modality alignment)
    dataset: str | None = None       # id or name; None = every dataset having the task
    train_splits: list[str] = field(default_factory=lambda: ["train"])
    dev_split: str = "dev"
    test_split: str = "test"
    modality: str = "auto"           # "auto" (family default), "video", "text"
    lora_rank: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.05
    target_modules: list[str] = field(default_factory=lambda: ["q_proj", "v_proj"])
    learning_rate: float = 1e-4
    lr_scheduler: str = "cosine"
    warmup_ratio: float = 0.1
    epochs: float = 1.0
    max_steps: int = -1
    batch_size: int = 1
    grad_accum: int = 1
    frames: int = TRAIN_FRAMES
    fps: float = TRAIN_FPS
    max_pixels: int = TRAIN_MAX_PIXELS
    seed: int = 42
    eval_every: int = 50             # steps
    save_every: int = 50             # steps
    eval_on_variants: bool = False   # after training, also evaluate on the test clips' variants
    device: str = "auto"             # "auto" | "cpu" | "cuda" | "cuda:N"
    sharding: str = "none"           # none (DDP) | fsdp | zero3 | zero3_offload (sharding.py)
    gpus: int = 1                    # GPUs the run spreads over, all machines together
    output_dir: str = ""             # "" = <project>.train/<job id>-<name>
    labels: str = "curated"          # label source (store.label_policy): curated, import,
    #                                  annotator:NAME or majority
    include_rejected: bool = False   # keep clips whose review verdict is reject (store.verdicts)
    only_accepted: bool = False      # keep only clips whose review verdict is accept

    # --- dict / YAML ----------------------------------------------------------------------

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        if not isinstance(d, dict):
            raise TrainConfigError(f"a training config must be a mapping, got {type(d).__name__}")
        known = {f.name: f for f in dataclasses.fields(cls)}
        problems = [f"unknown config key {k!r}" for k in d if k not in known]
        problems += [f"missing config key {k!r}" for k in ("name", "model", "tasks") if k not in d]
        values = {}
        for key, raw in ((k, v) for k, v in d.items() if k in known):
            value, problem = _coerce(key, raw, _default_of(known[key]))
            if problem:
                problems.append(problem)
            values[key] = value
        if problems:
            raise TrainConfigError(problems)
        config = cls(**values)
        problems = config.problems()
        if problems:
            raise TrainConfigError(problems)
        return config

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)

    @classmethod
    def from_yaml(cls, text: str) -> TrainConfig:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise TrainConfigError(f"the config is not valid YAML{yaml_problem(exc)}") from exc
        return cls.from_dict(data)

    # --- checks and hand-off ---------------------------------------------------------------

    def problems(self) -> list[str]:
        """What is wrong with the values themselves (the store is checked by preflight.validate)."""
        out = [f"{k} is empty{EMPTY_HINTS.get(k, '')}" for k in ("name", "model")
               if not str(getattr(self, k)).strip()]
        out += _finite(self)
        if not self.tasks:
            out.append("tasks is empty: name at least one task")
        out += self._choice_problems()
        out += _positive(self, ("lora_rank", "lora_alpha", "batch_size", "grad_accum", "frames",
                                "max_pixels", "eval_every", "save_every", "learning_rate", "fps",
                                "gpus"))
        if not 0 <= self.lora_dropout < 1:
            out.append(f"lora_dropout must be in [0, 1), got {self.lora_dropout}")
        if not 0 <= self.warmup_ratio < 1:
            out.append(f"warmup_ratio must be in [0, 1), got {self.warmup_ratio}")
        if self.max_steps <= 0 and self.epochs <= 0:
            out.append("set epochs > 0 or max_steps > 0")
        if not self.train_splits:
            out.append("train_splits is empty")
        return out + self._target_problems()

    def _target_problems(self) -> list[str]:
        # An empty name list turns the LoRA regex into "every module of the language model".
        if any(not m.strip() for m in self.target_modules):
            return [f"target_modules has an empty name: {self.target_modules!r}"]
        if not [m for m in self.target_modules if m != "lm_head"]:
            return [f"target_modules {self.target_modules!r} names no language-model layer: "
                    "add at least one, e.g. q_proj, v_proj, or all-linear"]
        return []

    def _choice_problems(self) -> list[str]:
        out: list[str] = []
        if self.mode not in MODES:
            out.append(f"mode {self.mode!r} is not one of {', '.join(MODES)}")
        elif self.mode == "sft" and len(self.tasks) > 1:
            out.append(f"mode 'sft' trains one task, got {len(self.tasks)}: use mode 'it'")
        if self.modality not in MODALITIES:
            out.append(f"modality {self.modality!r} is not one of {', '.join(MODALITIES)}")
        if self.lr_scheduler not in SCHEDULERS:
            out.append(f"lr_scheduler {self.lr_scheduler!r} is not one of {', '.join(SCHEDULERS)}")
        if not (self.device in ("auto", "cpu", "cuda") or _is_cuda_index(self.device)):
            out.append(f"device {self.device!r} is not auto, cpu, cuda or cuda:N")

        return out + self._selection_problems() + sharding_problems(self.sharding, self.device)

    def _selection_problems(self) -> list[str]:
        out = []
        try:
            parse_source(self.labels)
        except LabelSourceError as exc:
            out.append(f"labels: {exc}")
        if self.include_rejected and self.only_accepted:
            out.append("include_rejected and only_accepted contradict each other: pick one")
        return out

    def selection(self):
        """The verdicts.Selection this run trains and evaluates on."""
        return Selection(self.labels, self.include_rejected, self.only_accepted)

    def command_line(self, config_path: str, gpus: int | None = None,
                     db_path: str | None = None) -> str:
        """The shell line that runs this config (torchrun for several GPUs, `gpus` by default);
        `db_path` adds `--db`, without which the trainer uses the app's default project."""
        gpus = self.gpus if gpus is None else gpus
        path = shlex.quote(str(config_path)) + _db_flag(db_path)
        if gpus > 1:
            return f"torchrun --nproc_per_node {gpus} -m mmla_core.train {path}"
        return f"python -m mmla_core.train {path}"

    def command_lines(self, config_path: str, db_path: str | None = None) -> dict[str, str]:
        """Single process, torchrun and accelerate forms, for the export dialog and the docs."""
        path = shlex.quote(str(config_path)) + _db_flag(db_path)
        return {
            "single": self.command_line(config_path, 1, db_path=db_path),
            "torchrun": self.command_line(config_path, max(self.gpus, 4), db_path),
            "accelerate": f"accelerate launch --num_processes {max(self.gpus, 4)} "
                          f"-m mmla_core.train {path}",
        }


def _db_flag(db_path: str | None) -> str:
    return f" --db {shlex.quote(str(db_path))}" if db_path else ""


def _default_of(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return {"name": "", "model": "", "tasks": []}[f.name]


def _coerce(key: str, raw: Any, default: Any) -> tuple[Any, str | None]:
    """`raw` as the type of `default` (YAML reads 1e-4 as a string, 2 as an int for a float)."""
    if isinstance(default, list):
        if isinstance(raw, str):
            raw = [raw]
        if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
            return raw, f"{key} must be a list of strings, got {raw!r}"
        return list(raw), None
    if key == "dataset":
        return (None if raw in (None, "") else str(raw)), None
    if isinstance(default, bool):
        if not isinstance(raw, bool):
            return raw, f"{key} must be true or false, got {raw!r}"
        return raw, None
    kind = type(default)
    if kind in (int, float):
        try:
            value = kind(raw) if kind is float else int(str(raw))
        except (TypeError, ValueError):
            noun = "a whole number" if kind is int else "a number"
            return raw, f"{key} must be {noun}, got {raw!r}"
        return value, None
    if raw is None or isinstance(raw, dict | list):
        return raw, f"{key} must be a string, got {raw!r}"
    return str(raw), None


def _finite(config: TrainConfig) -> list[str]:
    """NaN passes every `<=` check and inf epochs never end: refuse both, naming the field."""
    return [f"{f.name} must be a finite number, got {getattr(config, f.name)}"
            for f in dataclasses.fields(config)
            if isinstance(getattr(config, f.name), float)
            and not math.isfinite(getattr(config, f.name))]


def _positive(config: TrainConfig, keys: tuple[str, ...]) -> list[str]:
    return [f"{k} must be > 0, got {getattr(config, k)}" for k in keys if getattr(config, k) <= 0]


def _is_cuda_index(device: str) -> bool:
    prefix, _, index = str(device).partition(":")
    return prefix == "cuda" and index.isdigit()
