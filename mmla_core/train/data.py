"""Samples -> model inputs: a lazy dataset and a collator that masks all but the answer.

Inputs are built by the inference engine's own pipeline (`models.inputs`: the clip decoded with
PyAV, or its MMA-Bench variant built in memory, then `build_model_inputs_batch` with the answer
appended after the assistant header), so training sees exactly what evaluation sees. Labels are
-100 everywhere but the answer's tokens and the end token (`<|im_end|>`), which the batch is
left-padded to end with.
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import TYPE_CHECKING

from mmla_core.models.inputs import (
    ClipInput,
    InferenceSettings,
    build_model_inputs_batch,
    clip_input_from_store,
)
from mmla_core.models.scoring import answer_token_ids
from mmla_core.store.catalog import clip_duration, clip_transcript
from mmla_core.store.db import open_store
from mmla_core.train.config import TrainConfig
from mmla_core.train.fit import frames_for
from mmla_core.train.samples import TrainSample
from mmla_core.variants.presets import MMABENCH

if TYPE_CHECKING:
    from mmla_core.store.db import Store

__all__ = ["AnswerMaskError", "Collator", "TrainDataset", "base_settings", "clip_settings",
           "training_clip_input"]

IGNORE = -100


class AnswerMaskError(RuntimeError):
    """The tokens at the end of a row are not the answer's: the loss mask would be wrong."""


def base_settings(config: TrainConfig, modality: str) -> InferenceSettings:
    """The settings evaluation uses (frames is the most a clip gets; see clip_settings)."""
    return InferenceSettings(num_frames=config.frames, max_pixels=config.max_pixels,
                             audio_on=modality == "video+audio", seed=config.seed)


def clip_settings(settings: InferenceSettings, fps: float, duration_s: float | None
                  ) -> InferenceSettings:
    """`settings` with this clip's frame count: `fps` per second, at most settings.num_frames."""
    most = TrainConfig(name="-", model="-", tasks=["-"], frames=settings.num_frames or 8, fps=fps)
    return replace(settings, num_frames=frames_for(most, duration_s))


def _variant_steps(variant: str | None):
    if not variant:
        return None

    steps = next(s.steps for s in MMABENCH if s.key == variant)
    return steps or None


def training_clip_input(store, clip_id: int, settings: InferenceSettings, *, recipe_steps=None,
                        seed: int = 0, fps: float = 2.0) -> ClipInput:
    """`clip_input_from_store` with the clip's frame count chosen by `clip_settings`.

    Also the evaluation runs' input factory after training, so test clips get the frames the
    training clips got (`fps` = the config's; the run settings record the rule).
    """
    duration = clip_duration(store, clip_id)
    per_clip = clip_settings(settings, fps, duration)
    return clip_input_from_store(store, clip_id, per_clip, recipe_steps=recipe_steps, seed=seed)


class TrainDataset:
    """Samples decoded on demand; each process (DataLoader worker, DDP rank) opens its own store."""

    def __init__(self, samples: list[TrainSample], db_path, config: TrainConfig, modality: str):
        self.samples, self.db_path = list(samples), str(db_path)
        self.config, self.modality = config, modality
        self.settings = base_settings(config, modality)
        self._store: Store | None = None
        self._pid: int | None = None

    def __len__(self) -> int:
        return len(self.samples)

    def _open(self):
        if self._store is None or self._pid != os.getpid():
            self._store, self._pid = open_store(self.db_path), os.getpid()
        return self._store

    def clip(self, sample: TrainSample) -> ClipInput:
        if self.modality == "text":
            store = self._open()
            transcript = clip_transcript(store, sample.clip_id) or ""
            return ClipInput(None, None, None, None, transcript, clip_id=sample.clip_id)
        return training_clip_input(self._open(), sample.clip_id, self.settings,
                                   recipe_steps=_variant_steps(sample.variant),
                                   seed=self.config.seed, fps=self.config.fps)

    def __getitem__(self, index: int) -> dict:
        sample = self.samples[index]
        return {"clip": self.clip(sample), "sample": sample}

    def __getstate__(self):  # DataLoader workers get a fresh connection
        state = dict(self.__dict__)
        state["_store"] = state["_pid"] = None
        return state


class Collator:
    """A list of dataset items -> one left-padded batch with answer-only labels."""

    def __init__(self, processor, family: str, settings: InferenceSettings):
        self.processor, self.family, self.settings = processor, family, settings

    def __call__(self, items: list[dict]) -> dict:
        samples = [item["sample"] for item in items]
        inputs = build_model_inputs_batch(
            self.processor, self.family, [item["clip"] for item in items],
            [s.prompt for s in samples], self.settings, answer_texts=[s.answer for s in samples])
        inputs["labels"] = self.answer_labels(inputs["input_ids"], samples)
        return inputs

    def answer_labels(self, input_ids, samples: list[TrainSample]):
        import torch

        labels = torch.full_like(input_ids, IGNORE)
        for row, ids in enumerate(answer_token_ids(self.processor, [s.answer for s in samples])):
            tail = input_ids[row, -len(ids):]
            if tail.tolist() != ids:
                raise AnswerMaskError(
                    f"clip {samples[row].clip_id}: the prompt's last tokens are not the answer "
                    f"{samples[row].answer!r} (tokenizer merged across the boundary?)")
            labels[row, -len(ids):] = tail
        return labels
