"""A model named in the project (a registered name or id, a folder, a cached Hub id), read from
its files only: its folder, family and config (what training and its comparisons need), and its
tokenizer (the LLaMA-Factory export's `--tokenizer`). Offline, no remote code, no torch."""

from __future__ import annotations

from mmla_core.models.registry import detect_family, read_config, resolve_model_path
from mmla_core.store.db import Store
from mmla_core.store.results import model_path


def resolve_model(store: Store, ref: str) -> tuple[str, str, dict]:
    """(folder, family, config.json) of a registered model name or a folder; files only."""
    path = resolve_model_path(model_path(store, ref) or ref)
    config = read_config(path)
    return str(path), detect_family(config, path), config


def load_tokenizer(store: Store, ref: str):
    """A registered model's (name or id), a folder's or a cached Hub id's tokenizer: offline,
    no remote code."""
    from transformers import AutoTokenizer

    path = resolve_model_path(model_path(store, ref) or ref)
    return AutoTokenizer.from_pretrained(str(path), local_files_only=True,
                                         trust_remote_code=False)
