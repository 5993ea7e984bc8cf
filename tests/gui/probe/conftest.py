"""Fixtures of the Probe tab's tests."""

import pytest

from mmla_core.store.db import open_store


@pytest.fixture
def demo_with_model(tmp_path):
    from mmla_core.demo import ensure_demo
    from mmla_core.models.registry import inspect_model
    from mmla_core.models.tiny import build_tiny
    from mmla_core.store.results import add_model

    db_path = tmp_path / "p.sqlite"
    folder = build_tiny(tmp_path / "tiny-omni", "qwen2_5_omni")
    check = inspect_model(folder)
    with open_store(db_path) as store:
        ensure_demo(store)
        add_model(store, "tiny-omni", check.family, str(check.path),
                  weights_hash=check.weights_hash, random_weights=True)
    return db_path
