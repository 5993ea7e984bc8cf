"""A learnable toy task for the trainer tests: the label is written in the transcript.

24 clips over the bundled demo media (so video + audio models have real files), split 12 train /
4 dev / 8 test, balanced: "cold" transcripts are `sincere`, "hot" ones `sarcastic`. A tiny random
model is at chance on it; a few dozen LoRA steps learn it.
"""

from __future__ import annotations

import shutil

import pytest

TOY_TASK = "toy-style"
TOY_LABELS = ("sincere", "sarcastic")
TOY_WORDS = {"sincere": "cold cold cold", "sarcastic": "hot hot hot"}
SPLITS = (("train", 12), ("dev", 4), ("test", 8))


def add_toy_dataset(store, *, name: str = "toy", media: bool = True) -> int:
    """The toy dataset (probed when it has media); returns its id."""
    from mmla_core.config import resources_dir
    from mmla_core.datasets.probing import probe_pending
    from mmla_core.store.catalog import (
        attach_task,
        clip_ids_by_key,
        ensure_task,
        upsert_clips,
        upsert_dataset,
    )
    from mmla_core.store.labels import import_labels
    from mmla_core.tasks import make_custom_task

    root = resources_dir() / "demo"
    dataset_id = upsert_dataset(store, name, str(root), "folder")
    task_id = ensure_task(store, make_custom_task(TOY_TASK, list(TOY_LABELS),
                                                  task_key="speaking_style"))
    attach_task(store, dataset_id, task_id)
    clips, gold = [], {}
    for split, count in SPLITS:
        for i in range(count):
            label = TOY_LABELS[i % 2]
            key = f"{split}-{i:02d}"
            clips.append({"external_id": key, "split": split,
                          "media_path": f"demo_0{1 + i % 8}.mp4" if media else None,
                          "transcript": f"It is {TOY_WORDS[label]} today."})
            gold[(split, key)] = label
    upsert_clips(store, dataset_id, clips)
    ids = clip_ids_by_key(store, dataset_id)
    import_labels(store, [(ids[k], task_id, label) for k, label in gold.items()])
    if media:
        probe_pending(store, dataset_id)
    return dataset_id


@pytest.fixture(scope="session")
def toy_db(tmp_path_factory):
    """A project with the toy dataset (text clips + media clips), built once."""
    from mmla_core.store import open_store

    path = tmp_path_factory.mktemp("toy") / "toy.sqlite"
    with open_store(path) as store:
        add_toy_dataset(store)
    return path


@pytest.fixture
def toy_project(toy_db, tmp_path):
    """A private copy of the toy project."""
    shutil.copy(toy_db, tmp_path / "toy.sqlite")
    return tmp_path / "toy.sqlite"


def sharpened_tiny(out_dir, family: str, scale: float = 10.0):
    """A tiny random model with its matrices scaled up: at init (std 0.02) a 64-wide model's
    logits barely depend on the prompt, so a few LoRA steps could not move them; scaled, the
    toy task is learnt in ~10 steps while the untrained model stays at chance."""
    from safetensors.torch import load_file, save_file

    from mmla_core.models.tiny import build_tiny

    path = build_tiny(out_dir, family)
    weights = load_file(path / "model.safetensors")
    scaled = {k: v * scale if v.ndim == 2 else v for k, v in weights.items()}
    save_file(scaled, path / "model.safetensors", metadata={"format": "pt"})
    return path


@pytest.fixture(scope="session")
def toy_text_model(tmp_path_factory):
    return sharpened_tiny(tmp_path_factory.mktemp("toy-text") / "text_lm", "text_lm")


def toy_config(model, **overrides):
    from mmla_core.train.config import TrainConfig

    values = {"name": "toy", "model": str(model), "tasks": [TOY_TASK], "dataset": "toy",
              "learning_rate": 1e-2, "lr_scheduler": "constant", "warmup_ratio": 0.0,
              "max_steps": 12, "batch_size": 4, "eval_every": 6, "save_every": 6,
              "frames": 2, "max_pixels": 56 * 56, "lora_dropout": 0.0}
    return TrainConfig(**{**values, **overrides})
