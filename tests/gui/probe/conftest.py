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


@pytest.fixture
def demo_with_fake_model(tmp_path, fake_engines, monkeypatch):
    """The demo project with a fake model (`tests.support.fake_engine`, in a real worker
    process): its behaviour comes from FAKE_ENGINE_* variables, none set here."""
    from mmla_core.demo import ensure_demo
    from mmla_core.store.results import add_model
    from tests.support.fake_engine import model_folder

    for name in ("FAKE_ENGINE_DELAY", "FAKE_ENGINE_EXIT_AFTER", "FAKE_ENGINE_BUSY_FILE",
                 "FAKE_ENGINE_SLOW_CLIPS"):
        monkeypatch.delenv(name, raising=False)
    db_path = tmp_path / "p.sqlite"
    with open_store(db_path) as store:
        ensure_demo(store)
        add_model(store, "fake-omni", "qwen2_5_omni", str(model_folder(tmp_path / "model")))
    return db_path
