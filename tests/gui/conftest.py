"""GUI test fixtures: offscreen Qt, an isolated data dir, a tiny real project, leak guards."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before anything imports Qt

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

CLIPS = (
    # split, external id, media file (None = text-only), transcript, MELD label
    ("train", "utt_a", "a.mp4", "I can't believe you did that!", "surprise"),
    ("train", "utt_b", "b.mp4", "That is wonderful news.", "joy"),
    ("dev", "utt_c", None, "Fine, whatever.", "neutral"),
)


@dataclass
class TinyProject:
    db_path: Path
    media_root: Path
    dataset_id: int
    clip_ids: list[int]


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    """Nothing a test does may touch the user's real data folder or database."""
    monkeypatch.setenv("MMLA_STUDIO_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MMLA_STUDIO_DB", raising=False)


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path, qapp):
    """QSettings in a temp folder (key remaps, annotator, recent projects), named 'alice'."""
    from PySide6.QtCore import QCoreApplication, QSettings

    QCoreApplication.setOrganizationName("mmla-tests")
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path))
    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(tmp_path))
    QSettings().clear()
    QSettings().setValue("review/annotator", "alice")
    yield
    QSettings().clear()


@pytest.fixture(autouse=True)
def _no_leaked_threads(qtbot):
    """Every background job a test started must be over when it ends (napari's guard)."""
    from PySide6.QtCore import QThreadPool

    yield
    pool = QThreadPool.globalInstance()
    qtbot.waitUntil(lambda: pool.activeThreadCount() == 0, timeout=15_000)


@pytest.fixture(scope="session")
def clip_files(tmp_path_factory) -> Path:
    """Two real talking-speaker MP4s, made once per session."""
    from mmla_core.media.synth import make_clip

    folder = tmp_path_factory.mktemp("clips")
    for seed, (_split, _ext, media, text, _label) in enumerate(CLIPS):
        if media:
            make_clip(folder / media, text=text, duration_s=1.0, seed=seed)
    return folder


def build_project(root: Path, clip_files: Path) -> TinyProject:
    """A project DB with 3 clips (2 with video, 1 text-only) and MELD labels, probed."""
    from mmla_core.media.probe import probe
    from mmla_core.store.catalog import (
        attach_task,
        clip_ids_by_key,
        ensure_task,
        save_media_info,
        upsert_clips,
        upsert_dataset,
    )
    from mmla_core.store.db import open_store
    from mmla_core.store.labels import import_labels
    from mmla_core.tasks import builtin_task

    media_root = root / "media"
    shutil.copytree(clip_files, media_root)
    db_path = root / "project.sqlite"
    with open_store(db_path) as store:
        dataset_id = upsert_dataset(store, "tiny", str(media_root), "folder")
        task_id = ensure_task(store, builtin_task("MELD"))
        attach_task(store, dataset_id, task_id)
        upsert_clips(store, dataset_id, [
            {"split": s, "external_id": e, "media_path": m, "transcript": t}
            for s, e, m, t, _ in CLIPS
        ])
        ids = clip_ids_by_key(store, dataset_id)
        clip_ids = [ids[(s, e)] for s, e, *_ in CLIPS]
        import_labels(store, [(cid, task_id, c[4]) for cid, c in zip(clip_ids, CLIPS, strict=True)])
        save_media_info(store, [
            (cid, probe(media_root / c[2]).clip_columns())
            for cid, c in zip(clip_ids, CLIPS, strict=True) if c[2]
        ])
    return TinyProject(db_path, media_root, dataset_id, clip_ids)


@pytest.fixture
def make_project(tmp_path, clip_files):
    """Build another tiny project in its own folder under tmp_path."""
    return lambda name: build_project(tmp_path / name, clip_files)


@pytest.fixture
def tiny_project(make_project) -> TinyProject:
    return make_project("project")


@pytest.fixture
def make_window(qtbot):
    """Open a shown main window on a database; it is closed (and its jobs drained) at teardown."""
    from mmla_app.main_window import MainWindow

    def make(db_path: Path, *, demo: bool | None = False) -> MainWindow:
        window = MainWindow(db_path, demo=demo)
        # Every status line it shows, for `tests.support.gui.status_said`: a transient line
        # can be replaced by the next before a loaded machine polls it.
        window.status_lines = [window.statusBar().currentMessage()]
        window.statusBar().messageChanged.connect(window.status_lines.append)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        return window

    return make


@pytest.fixture
def window(make_window, tiny_project, qtbot):
    """The main window on the tiny project, with its clip table filled."""
    win = make_window(tiny_project.db_path)
    qtbot.waitUntil(lambda: win.browser.model.rowCount() == len(CLIPS), timeout=15_000)
    return win


@pytest.fixture
def project_of(qtbot):
    """`project_of(db_path)`: the runtime `Project` a window hands its panels and dialogs (its
    runner, write queue, change bus, model worker), closed when the test ends."""
    from mmla_app.runtime.project import Project

    made = []

    def make(db_path, annotator: str = "alice"):
        made.append(Project(db_path, annotator))
        return made[-1]

    yield make
    for project in made:
        project.close()


@pytest.fixture
def fake_engines(monkeypatch):
    """Model workers started in this test answer with the fake engine of tests/support
    (`eval.run_plan.DEFAULT_FACTORIES` pointed at it; the worker takes the defaults)."""
    from tests.support import fake_engine

    fake_engine.install(monkeypatch)


@pytest.fixture
def demo_with_fake_model(tmp_path, fake_engines, monkeypatch):
    """The demo project with a fake model (`tests.support.fake_engine`, in a real worker
    process): its behaviour comes from FAKE_ENGINE_* variables, none set here."""
    from mmla_core.demo import ensure_demo
    from mmla_core.store.db import open_store
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
