"""Model writes, one function per user action: register a model folder (Evaluate's "Add model…",
and the folder a Hub download left). Each returns an `Op` (mmla_app.ops.op) declaring its
`Changes`, so the Probe tab and the other model lists offer the model at once.
"""

from __future__ import annotations

from mmla_app.ops.op import Op
from mmla_core.changes import MODELS, Changes
from mmla_core.models.registry import inspect_model
from mmla_core.store.form_choices import model_name_at, model_name_taken
from mmla_core.store.results import add_model as store_add_model


def _write_model_folder(store, folder: str) -> str:
    """Validate a model folder from its files (no torch) and register it; returns its name:
    the folder's (a Hub snapshot: the repo's), numbered when taken, or the name it already has."""
    check = inspect_model(folder)
    existing = model_name_at(store, str(check.path))
    base = check.path.name
    if check.path.parent.name == "snapshots":  # a Hub cache snapshot: name it after the repo
        base = check.path.parents[1].name.split("--")[-1]
    name, n = existing or base, 1
    while not existing and model_name_taken(store, name):
        n += 1
        name = f"{base}-{n}"
    store_add_model(store, name, check.family, str(check.path), weights_hash=check.weights_hash,
                    random_weights=check.random_weights)
    return name


def add_model_folder(folder: str) -> Op:
    """Evaluate > Add model… / Download…: the folder registered under a free name."""
    return Op(_write_model_folder, (folder,), Changes.of(MODELS))
