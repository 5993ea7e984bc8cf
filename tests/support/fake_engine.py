"""A fake inference engine with the real engine's API, for evaluation and worker tests.

Deterministic: a clip's scores depend only on its id, variant and settings, so a resumed run
predicts exactly what an uninterrupted one does. Behaviour for failure tests comes from
environment variables, so it reaches a spawned worker process too:

- FAKE_ENGINE_DELAY=s        sleep per predicted clip
- FAKE_ENGINE_SLOW_CLIPS=1,2 the delay (and the busy file) only for these clip ids: the clips
                             before them end at once (a job stuck on its second clip)
- FAKE_ENGINE_BUSY_FILE=path touched as a prediction starts (a test knows the model is busy)
- FAKE_ENGINE_EXIT_AFTER=n   os._exit(1) (a hard crash) when this process has predicted n clips
- FAKE_ENGINE_FAIL_LOAD=msg  loading raises ModelLoadError(msg)
- FAKE_ENGINE_OOM_AFTER=n    raise an out-of-memory error after n clips
- FAKE_ENGINE_FAIL_CLIPS=1,2 predicting these clip ids raises
- FAKE_INPUT_FAIL_CLIPS=1,2  building these clips' inputs raises (a broken media file)

Import paths for the engine and input factories: FACTORIES, "tests.support.fake_engine:load" and
":clip_input"; a spawned worker resolves them through the parent's sys.path, a subprocess through
`tests.support.paths.repo_env` (the repository root on PYTHONPATH).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path

from mmla_core.models.engine import InferenceSettings  # noqa: F401 - the tests import it here

_COUNT = {"predicted": 0}


class ModelLoadError(Exception):
    pass


@dataclass(frozen=True)
class FakeInfo:
    name: str
    family: str
    path: str
    weights_hash: str
    random_weights: bool = True
    device: str = "cpu"
    dtype: str = "float32"
    attn_implementation: str = "sdpa"
    hears_audio: bool = True
    sees_video: bool = True
    device_map: dict | None = None
    adapter_path: str | None = None   # as models.engine.ModelInfo: the probe's rows store it


@dataclass(frozen=True)
class FakeClip:
    clip_id: int
    transcript: str
    variant: str | None
    recipe: dict | None = None


@dataclass
class FakeResult:
    raw_output: str
    parsed_label: str
    scores: dict
    prompt_text: str
    template: str
    prompt_hash: str
    prompt_kind: str
    num_frames: int
    sample_fps: float | None
    max_pixels: int
    audio_on: bool
    answer_mode: str
    seed: int
    latency_ms: float
    logprobs: dict = field(default_factory=dict)


def _ids(name: str) -> set[int]:
    return {int(x) for x in os.environ.get(name, "").split(",") if x.strip()}


def clip_input(store, clip_id, settings, *, recipe_steps=None, seed=0) -> FakeClip:
    """The input builder's signature (`clip_input_from_store`), reading only the transcript."""
    if clip_id in _ids("FAKE_INPUT_FAIL_CLIPS"):
        raise OSError(f"clip {clip_id}: media file is unreadable (moov atom not found)")
    transcript = store.scalar("SELECT transcript FROM clips WHERE id = ?", (clip_id,)) or ""
    variant = "+".join(name for name, _ in recipe_steps) if recipe_steps else None
    recipe = {"type": variant, "seed": seed, "donor_clip_id": None} if variant else None
    return FakeClip(clip_id, transcript, variant, recipe)


def _variant(clip) -> str | None:
    """A FakeClip names its variant; a real ClipInput (a probe's in-memory scenario) carries
    its recipe."""
    if isinstance(clip, FakeClip):
        return clip.variant
    return (clip.recipe or {}).get("type")


class FakeEngine:
    def __init__(self, path: str, adapter_path: str | None = None):
        digest = hashlib.sha256(f"{path}|{adapter_path}".encode()).hexdigest()[:16]
        self.info = FakeInfo("fake-omni", "qwen2_5_omni", str(path), f"fake:{digest}",
                             adapter_path=adapter_path)
        self.adapter_path = adapter_path
        self.closed = False

    def _scores(self, clip: FakeClip, labels, settings) -> dict:
        key = f"{clip.clip_id}|{_variant(clip)}|{settings.audio_on}|{self.adapter_path}"
        raw = [int(hashlib.sha256(f"{key}|{label}".encode()).hexdigest()[:6], 16) / 2**24 * 4
               for label in labels]
        top = max(raw)
        exp = [math.exp(r - top) for r in raw]
        return {label: e / sum(exp) for label, e in zip(labels, exp, strict=True)}

    def predict(self, clip, task, settings, *, labels=None) -> FakeResult:
        self._count_and_fail(clip)
        labels = tuple(labels or task.labels)
        scores = self._scores(clip, labels, settings)
        label = max(scores, key=scores.get)
        template = settings.template or "fake {transcript} {task} {labels}"
        prompt = f"{task.prompt_word}? {clip.transcript}"
        return FakeResult(
            raw_output=f"{task.prompt_word}: {label}", parsed_label=label, scores=scores,
            prompt_text=prompt, template=template,
            prompt_hash=hashlib.sha256(prompt.encode()).hexdigest()[:16],
            prompt_kind=settings.prompt_kind, num_frames=settings.num_frames,
            sample_fps=settings.sample_fps, max_pixels=settings.max_pixels,
            audio_on=settings.audio_on, answer_mode=settings.answer_mode, seed=settings.seed,
            latency_ms=1.0)

    def _count_and_fail(self, clip) -> None:
        slow = _ids("FAKE_ENGINE_SLOW_CLIPS")
        if not slow or clip.clip_id in slow:
            if os.environ.get("FAKE_ENGINE_BUSY_FILE"):
                Path(os.environ["FAKE_ENGINE_BUSY_FILE"]).touch()
            time.sleep(float(os.environ.get("FAKE_ENGINE_DELAY", "0") or 0))
        exit_after = int(os.environ.get("FAKE_ENGINE_EXIT_AFTER", "0") or 0)
        if exit_after and _COUNT["predicted"] >= exit_after:
            os._exit(1)
        oom_after = int(os.environ.get("FAKE_ENGINE_OOM_AFTER", "0") or 0)
        if oom_after and _COUNT["predicted"] >= oom_after:
            raise MemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        if clip.clip_id in _ids("FAKE_ENGINE_FAIL_CLIPS"):
            raise RuntimeError(f"fake model failure on clip {clip.clip_id}")
        _COUNT["predicted"] += 1

    def predict_batch(self, clips, task, settings) -> list[FakeResult]:
        return [self.predict(clip, task, settings) for clip in clips]

    def close(self) -> None:
        self.closed = True


def load(model_path, *, device=None, allow_pickle=False, attn_implementation=None,
         adapter_path=None, device_map=None, max_memory=None) -> FakeEngine:
    message = os.environ.get("FAKE_ENGINE_FAIL_LOAD")
    if message:
        raise ModelLoadError(message)
    engine = FakeEngine(str(model_path), adapter_path)
    if device_map is not None:   # a split the real engine would report: {device: modules}
        engine.info = dataclasses.replace(engine.info, device_map={f"split:{device_map}": 1})
    return engine


def reset_counter() -> None:
    _COUNT["predicted"] = 0


FACTORIES = {"engine": f"{__name__}:load", "inputs": f"{__name__}:clip_input",
             "locate": f"{__name__}:locate"}


def locate(ref: str) -> Path:
    """Any name is a model to the fake engine (loading may still fail: FAKE_ENGINE_FAIL_LOAD)."""
    return Path(ref)


def install(monkeypatch, **factories: str) -> None:
    """Make the fake engine the default for this test (`eval.run_plan.DEFAULT_FACTORIES`):
    evaluations in this process and model workers started from it (which take the defaults as
    import paths) build it instead of loading a model. `factories` overrides one, e.g.
    engine=multiprocess_helpers.DYING_LOAD."""
    from mmla_core.eval.run_plan import DEFAULT_FACTORIES

    for kind, ref in {**FACTORIES, **factories}.items():
        monkeypatch.setitem(DEFAULT_FACTORIES, kind, ref)


def model_folder(root: Path) -> Path:
    """A folder `registry.inspect_model` accepts: config.json, a one-tensor safetensors and a
    tokenizer file (the fake engine never reads them)."""
    root.mkdir(parents=True)
    (root / "tokenizer.json").write_text("{}")
    (root / "config.json").write_text(json.dumps({"architectures": ["Qwen2ForCausalLM"],
                                                  "model_type": "qwen2"}))
    header = json.dumps({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}).encode()
    (root / "model.safetensors").write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * 4)
    return root
