"""Fixtures of the reliability suite: a labelled project, the bad-media corpus, a tiny Omni model.

Fast versions of every check run in CI; the minutes-long ones are marked `long` and run with
`pytest -m long tests/reliability` (see docs/reliability.md).
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path

import pytest

from tests.support.labelled_project import build_labelled_project


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    """Nothing a test does may touch the user's real data folder or database."""
    monkeypatch.setenv("MMLA_STUDIO_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MMLA_STUDIO_DB", raising=False)


@pytest.fixture(scope="session")
def speaker_clip(tmp_path_factory) -> Path:
    from mmla_core.media.synth import make_clip

    return make_clip(tmp_path_factory.mktemp("clip") / "talk.mp4", text="hello", duration_s=1.0,
                     width=160, height=120)


@pytest.fixture
def labelled_project(tmp_path, speaker_clip) -> Path:
    return build_labelled_project(tmp_path / "project", speaker_clip)


@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> dict[str, Path]:
    """Every bad-media kind this machine can make, generated once per session."""
    from tests.support.bad_media import build_corpus

    return build_corpus(tmp_path_factory.mktemp("bad-media") / "corpus")


@pytest.fixture(scope="session")
def corpus_project(corpus, tmp_path_factory) -> tuple[Path, dict[int, str]]:
    """(db path, {clip id: kind}): the corpus imported as one folder (File > Import), probed."""
    from mmla_core.datasets.auto import import_path
    from mmla_core.datasets.probing import probe_pending
    from mmla_core.store.catalog import list_clips
    from mmla_core.store.db import open_store

    db_path = tmp_path_factory.mktemp("bad-media-db") / "project.sqlite"
    folder = next(iter(corpus.values())).parent
    with open_store(db_path) as store:
        (report,) = import_path(store, folder)
        probe_pending(store)
        rows = list_clips(store, dataset_id=report.dataset_id)
    by_name = {p.name: kind for kind, p in corpus.items()}
    return db_path, {r["id"]: by_name.get(r["media_path"], "?") for r in rows}


@pytest.fixture(scope="session")
def omni_dir(tmp_path_factory) -> Path:
    from mmla_core.models.tiny import build_tiny

    return build_tiny(tmp_path_factory.mktemp("tiny-omni") / "qwen2_5_omni", "qwen2_5_omni")
