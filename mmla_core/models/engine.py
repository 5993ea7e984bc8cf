"""The inference engine: one loaded model answering clips, by label scoring or generation.

Every result carries what DESIGN rule 6 asks (prompt, template + hash, frames/fps/pixels, audio,
seed, mode, raw output, parsed label, the full score vector, latency); the model's identity
(weights hash, adapter, random weights) is on `Engine.info`. Heavy imports happen in `load`.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from mmla_core.answers import clean
from mmla_core.models.fingerprint import input_fingerprints
from mmla_core.models.generation import generate_answers
from mmla_core.models.inputs import (
    ClipInput,
    InferenceSettings,
    build_model_inputs_batch,
    chat_texts,
    group_key,
    with_view,
)
from mmla_core.models.loader import free_gpu_memory, load_adapter, load_model
from mmla_core.models.prompting import PromptPlan, plan_prompt
from mmla_core.models.registry import FAMILIES, ModelLoadError
from mmla_core.models.scoring import (
    LabelScores,
    answer_token_ids,
    prefix_from_generation,
    score_candidates,
    score_from_prefix,
)
from mmla_core.prompts import template_hash
from mmla_core.tasks import Task

__all__ = ["ClipInput", "Engine", "InferenceError", "InferenceSettings", "ModelInfo",
           "ModelLoadError", "PredictionResult"]


_FEATURE_KEYS = ("pixel_values", "pixel_values_videos", "input_features")


class InferenceError(RuntimeError):
    """A prediction that could not run (e.g. out of GPU memory); the engine stays usable."""


@dataclass
class ModelInfo:
    name: str
    family: str
    path: str
    weights_hash: str
    random_weights: bool
    device: str
    dtype: str
    attn_implementation: str
    hears_audio: bool
    sees_video: bool
    adapter_path: str | None = None
    adapter_hash: str | None = None
    device_map: dict | None = None   # {device: modules} when the model is split over devices


@dataclass
class PredictionResult:
    raw_output: str
    parsed_label: str
    scores: dict[str, float]        # probability per label (softmax of summed log-probs)
    logprobs: dict[str, float]      # summed log-prob of each label's answer tokens
    prompt_text: str
    template: str
    prompt_hash: str
    prompt_kind: str
    num_frames: int | None
    sample_fps: float | None
    max_pixels: int
    audio_on: bool                  # the clip's audio actually reached the model
    answer_mode: str
    seed: int
    latency_ms: float
    mean_logprobs: dict[str, float] = field(default_factory=dict)  # length-normalised
    random_weights: bool = False
    chat_text: str = ""             # the rendered prompt the processor got (chat template on)
    input_hash: str = ""            # sha256 of this sample's model input (models.fingerprint)
    token_counts: dict[str, int] = field(default_factory=dict)  # text / video / image / audio


def _refuse_adapter_on_disk(device_map: dict | None, adapter_path) -> None:
    """peft cannot apply a LoRA adapter to layers accelerate offloaded to disk (its offload
    index bookkeeping fails on these models): say so before a cryptic KeyError."""
    if device_map and "disk" in device_map:
        raise ModelLoadError(
            f"{adapter_path}: a LoRA adapter cannot be applied to a model partly offloaded to "
            f"disk ({device_map}); give the split more GPU / CPU memory (--max-memory) so "
            "nothing goes to disk, or evaluate the adapter on a machine where it fits")


class Engine:
    """A model + processor on a device. Not thread-safe: one caller at a time."""

    shares_media_pass = True  # probe.shared_prefix scores a row's prompts over one media pass

    def __init__(self, model, processor, info: ModelInfo, *, prefetch: bool | None = None):
        self.model, self.processor, self.info = model, processor, info
        self._prefetch = prefetch  # None: on when the model runs on a GPU

    @classmethod
    def load(cls, model_path, *, device=None, allow_pickle=False, attn_implementation=None,
             adapter_path=None, name: str | None = None, device_map=None,
             max_memory=None) -> Engine:
        """`device_map` / `max_memory` split a model over devices (models.placement)."""
        loaded = load_model(model_path, device=device, allow_pickle=allow_pickle,
                            attn_implementation=attn_implementation, device_map=device_map,
                            max_memory=max_memory)
        check, family = loaded.check, FAMILIES[loaded.check.family]
        model, adapter_hash = loaded.model, None
        if adapter_path is not None:  # recorded absolute: a probe re-run from elsewhere finds it
            adapter_path = Path(adapter_path).expanduser().resolve()
            _refuse_adapter_on_disk(loaded.device_map, adapter_path)
            model, adapter_hash = load_adapter(model, adapter_path, allow_pickle=allow_pickle)
        info = ModelInfo(name or check.path.name, family.name, str(check.path),
                         check.weights_hash, check.random_weights, loaded.device, loaded.dtype,
                         loaded.attn_implementation, family.hears_audio, family.sees_video,
                         None if adapter_path is None else str(adapter_path), adapter_hash,
                         loaded.device_map)
        return cls(model, loaded.processor, info)

    # --- predictions ---------------------------------------------------------------------------

    def predict(self, clip: ClipInput, task: Task, settings: InferenceSettings, *,
                labels=None) -> PredictionResult:
        return self.predict_batch([clip], task, settings, labels=labels, batch_size=1)[0]

    def predict_batch(self, clips: list[ClipInput], task: Task, settings: InferenceSettings,
                      *, labels=None, batch_size: int | None = None) -> list[PredictionResult]:
        """Results in the order of `clips`; clips that can share a forward are batched.

        On a GPU the next batch's processor work (resize, patches, mel) runs in a thread while
        the current batch is on the GPU, so the CPU side does not add to the GPU time.
        """
        self._use_attention(settings.attn_implementation)
        plans = [plan_prompt(task, c.transcript, settings.prompt_kind,
                             template=settings.template, labels=labels) for c in clips]
        shown = [with_view(c, p.view) for c, p in zip(clips, plans, strict=True)]
        size = batch_size or (8 if self.info.device.startswith("cuda") else 1)
        jobs = [(chunk, [shown[i] for i in chunk], [plans[i] for i in chunk])
                for chunk in self._chunks(shown, settings, size)]
        results: list[PredictionResult | None] = [None] * len(clips)
        for (chunk, group, chunk_plans), inputs, prep_s, seen in self._prepared(jobs, settings):
            answered = self._run_chunk(group, chunk_plans, settings, inputs, prep_s)
            for index, result, (chat, digest, counts) in zip(chunk, answered, seen, strict=True):
                result.chat_text, result.input_hash, result.token_counts = chat, digest, counts
                results[index] = result
        answered_all = [r for r in results if r is not None]
        assert len(answered_all) == len(clips)  # the chunks cover every clip once
        return answered_all

    def _chunks(self, clips, settings, size: int) -> list[list[int]]:
        groups: dict[tuple, list[int]] = {}
        for i, clip in enumerate(clips):
            groups.setdefault(group_key(self.info.family, clip, settings), []).append(i)
        return [idx[s: s + size] for idx in groups.values() for s in range(0, len(idx), size)]

    def _build(self, job, settings):
        """(job, inputs, seconds, [(chat text, input hash, token counts)] per clip)."""
        start = time.perf_counter()
        _, clips, plans = job
        prompts = [p.text for p in plans]
        inputs = build_model_inputs_batch(self.processor, self.info.family, clips, prompts,
                                          settings)
        chats, _ = chat_texts(self.processor, self.info.family, clips, prompts, settings)
        prints = input_fingerprints(self.processor, inputs, len(clips))
        seen = [(chat, *fp) for chat, fp in zip(chats, prints, strict=True)]
        return job, inputs, time.perf_counter() - start, seen

    def _prepared(self, jobs: list, settings):
        """`_build`'s tuple per job; one job ahead in a thread on a GPU."""
        if not (self.prefetch and len(jobs) > 1):
            yield from (self._build(job, settings) for job in jobs)
            return

        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="mmla-inputs") as pool:
            pending = pool.submit(self._build, jobs[0], settings)
            for upcoming in [*jobs[1:], None]:
                ready = pending.result()
                if upcoming is not None:
                    pending = pool.submit(self._build, upcoming, settings)
                yield ready

    @property
    def prefetch(self) -> bool:
        """Overlap input building with the model only where they use different devices."""
        return self._prefetch if self._prefetch is not None else \
            self.info.device.startswith("cuda")

    def _run_chunk(self, clips, plans: list[PromptPlan], settings, inputs: dict,
                   prep_s: float) -> list[PredictionResult]:
        import torch

        torch.manual_seed(settings.seed)
        start = time.perf_counter()
        heard = bool(group_key(self.info.family, clips[0], settings)[0])
        inputs = self._to_device(inputs)
        try:
            if settings.answer_mode == "generation":
                answers = self._generate(inputs, plans, settings)
            else:
                answers = self._score(inputs, plans)
        except torch.cuda.OutOfMemoryError as exc:
            raise InferenceError(
                f"out of memory on the GPU with {len(clips)} clip(s): lower the batch size, the "
                f"frames or max_pixels ({settings.max_pixels})") from exc
        latency = (time.perf_counter() - start + prep_s) * 1000 / len(clips)
        return [self._result(plan, settings, heard, latency, *answer)
                for plan, answer in zip(plans, answers, strict=True)]

    def _score(self, inputs: dict, plans: list[PromptPlan]):
        plan = plans[0]
        cands = answer_token_ids(self.processor, plan.answers)
        table = score_candidates(self.model, self.info.family, inputs, plan.labels, cands)
        return [(plan.answers[plan.labels.index(s.best)], s.best, s) for s in table]

    def _generate(self, inputs: dict, plans: list[PromptPlan], settings):
        plan = plans[0]
        out = generate_answers(self.model, self.processor, inputs,
                               max_new_tokens=settings.max_new_tokens, keep_state=True)
        prefix = prefix_from_generation(self.model, self.info.family, inputs, out.raw)
        cands = answer_token_ids(self.processor, plan.answers)
        sums = score_from_prefix(self.model, self.info.family, prefix, cands).cpu()
        counts = [len(c) for c in cands]
        return [(text, clean(text, plan.labels, plan.task_word),
                 LabelScores(plan.labels, row.tolist(), counts))
                for text, row in zip(out.texts, sums, strict=True)]

    def _result(self, plan: PromptPlan, settings: InferenceSettings, heard: bool,
                latency: float, raw: str, parsed: str, scores) -> PredictionResult:
        labels = plan.labels
        return PredictionResult(
            raw_output=raw, parsed_label=parsed,
            scores=dict(zip(labels, scores.probabilities, strict=True)),
            logprobs=dict(zip(labels, scores.sum_logprobs, strict=True)),
            prompt_text=plan.text, template=plan.template,
            prompt_hash=template_hash(plan.template), prompt_kind=plan.kind,
            num_frames=settings.num_frames, sample_fps=settings.sample_fps,
            max_pixels=settings.max_pixels, audio_on=heard,
            answer_mode=settings.answer_mode, seed=settings.seed, latency_ms=latency,
            mean_logprobs=dict(zip(labels, scores.mean_logprobs, strict=True)),
            random_weights=self.info.random_weights)

    def _to_device(self, inputs: dict) -> dict:
        import torch

        dtype = getattr(torch, self.info.dtype)
        moved = {}
        for key, value in inputs.items():
            if isinstance(value, torch.Tensor):
                value = value.to(self.info.device)
                if key in _FEATURE_KEYS:  # timing tensors (seconds per grid) stay float32
                    value = value.to(dtype)
            moved[key] = value
        return moved

    def _use_attention(self, requested: str | None) -> None:
        if requested and requested != self.info.attn_implementation:
            self.model.set_attn_implementation(requested)
            self.info.attn_implementation = requested

    def close(self) -> None:
        """Free the model (and the GPU memory it held)."""
        self.model = self.processor = None
        free_gpu_memory()
