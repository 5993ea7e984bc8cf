"""A tokenizer for counting tokens (the LLaMA-Factory export's `--tokenizer`)."""

from __future__ import annotations

from mmla_core.models.registry import resolve_model_path
from mmla_core.store.db import Store
from mmla_core.store.results import model_path


def load_tokenizer(store: Store, ref: str):
    """A registered model's (name or id), a folder's or a cached Hub id's tokenizer: offline,
    no remote code."""
    from transformers import AutoTokenizer

    path = resolve_model_path(model_path(store, ref) or ref)
    return AutoTokenizer.from_pretrained(str(path), local_files_only=True,
                                         trust_remote_code=False)
