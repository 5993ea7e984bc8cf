"""Session fixtures for the model tests: tiny random models, built once, offline.

Import the fixtures a module needs by assignment (`omni_dir = models_fixtures.omni_dir`);
pytest_plugins is not allowed below the root conftest.
"""

from __future__ import annotations

import numpy as np
import pytest

SMALL_PIXELS = 112 * 112  # keeps the vision tower's work tiny


def _build(tmp_path_factory, family: str):
    from mmla_core.models.tiny import build_tiny

    return build_tiny(tmp_path_factory.mktemp(f"tiny-{family}") / family, family)


@pytest.fixture(scope="session")
def omni_dir(tmp_path_factory):
    return _build(tmp_path_factory, "qwen2_5_omni")


@pytest.fixture(scope="session")
def vl_dir(tmp_path_factory):
    return _build(tmp_path_factory, "qwen2_vl")


@pytest.fixture(scope="session")
def vl25_dir(tmp_path_factory):
    return _build(tmp_path_factory, "qwen2_5_vl")


@pytest.fixture(scope="session")
def text_dir(tmp_path_factory):
    return _build(tmp_path_factory, "text_lm")


@pytest.fixture(scope="session")
def omni_engine(omni_dir):
    from mmla_core.models.engine import Engine

    engine = Engine.load(omni_dir, device="cpu")
    yield engine
    engine.close()


def synthetic_clip(seed: int = 0, *, frames: int = 4, seconds: float = 2.0, audio: bool = True,
                   transcript: str = "Could you help me carry these boxes?"):
    """A ClipInput from arrays: textured frames and a noisy tone, no file needed."""
    from mmla_core.models.inputs import ClipInput

    rng = np.random.default_rng(seed)
    pictures = rng.integers(0, 255, (frames, 120, 160, 3), dtype=np.uint8)
    times = np.linspace(0.0, seconds * (frames - 1) / frames, frames)
    track = None
    if audio:
        t = np.arange(int(seconds * 16000)) / 16000
        track = (0.3 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal(t.size))
        track = track.astype(np.float32)
    fps = (frames - 1) / (times[-1] - times[0]) if frames > 1 else 2.0
    return ClipInput(pictures, times, float(fps), track, transcript, clip_id=seed)


@pytest.fixture(scope="session")
def models_demo_db(tmp_path_factory):
    """A project database holding the bundled demo clips (probed)."""
    from mmla_core.demo import ensure_demo
    from mmla_core.store import open_store

    path = tmp_path_factory.mktemp("demo-project") / "project.sqlite"
    store = open_store(path)
    try:
        ensure_demo(store)
    finally:
        store.close()
    return path
