"""Shared core-test fixtures."""

# --- media fixtures (mmla_core.media) ---------------------------------------------------------
# Clips are made once per session with the synthesiser: each costs ~0.1-0.3 s to encode.

import pytest

from mmla_core.media import synth


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory):
    """A session folder for generated media; tests must not modify the files in it."""
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def good_clip(media_dir):
    """2 s, 320x240 at 25 fps, H.264 + AAC 16 kHz mono: the healthy reference clip."""
    return synth.make_clip(media_dir / "good.mp4", text="hello there", duration_s=2.0)


@pytest.fixture(scope="session")
def video_only_clip(media_dir):
    return synth.make_clip(media_dir / "video_only.mp4", with_audio=False, seed=1)


@pytest.fixture(scope="session")
def audio_only_clip(media_dir):
    return synth.make_clip(media_dir / "audio_only.m4a", with_video=False, seed=2)


@pytest.fixture(scope="session")
def vfr_clip(media_dir):
    return synth.make_clip(media_dir / "vfr.mp4", vfr=True, seed=3)


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory):
    """The demo project imported once; tests get their own copy through `demo_store`."""
    from mmla_core.demo import ensure_demo
    from mmla_core.store import open_store

    path = tmp_path_factory.mktemp("demo") / "demo.sqlite"
    with open_store(path) as store:
        ensure_demo(store)
    return path


@pytest.fixture
def demo_store(demo_db, tmp_path):
    """A private, writable copy of the demo project."""
    import shutil

    from mmla_core.store import open_store

    shutil.copy(demo_db, tmp_path / "p.sqlite")
    with open_store(tmp_path / "p.sqlite") as store:
        yield store
