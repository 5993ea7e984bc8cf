"""Local multimodal models: registry, loader, inputs, prompts, label scoring and generation.

Importing this package (or `registry`, `prompting`, `inputs`) does not import torch: the GUI
reads families and settings at start-up. The engine and everything that runs a model import
torch, transformers and peft on first use.

    from mmla_core.models import Engine, InferenceSettings, clip_input_from_store
    engine = Engine.load("/models/Qwen2.5-Omni-3B")
    result = engine.predict(clip_input_from_store(store, 7, settings), task, settings)
"""

from __future__ import annotations

import importlib

__all__ = [
    "FAMILIES",
    "ClipInput",
    "Engine",
    "InferenceError",
    "InferenceSettings",
    "ModelInfo",
    "ModelLoadError",
    "PredictionResult",
    "build_model_inputs",
    "build_tiny",
    "clip_input_from_store",
    "detect_family",
    "inspect_model",
]

_WHERE = {
    "FAMILIES": "registry", "ModelLoadError": "registry", "detect_family": "registry",
    "inspect_model": "registry",
    "ClipInput": "inputs", "InferenceSettings": "inputs", "build_model_inputs": "inputs",
    "clip_input_from_store": "inputs",
    "Engine": "engine", "InferenceError": "engine", "ModelInfo": "engine",
    "PredictionResult": "engine",
    "build_tiny": "tiny",
}


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module 'mmla_core.models' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"mmla_core.models.{_WHERE[name]}"), name)
    globals()[name] = value
    return value
