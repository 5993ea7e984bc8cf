"""`pip install .` from a clean copy of the tree gives a wheel that carries the resources and
finds them once installed (the frozen app is checked by packaging/smoke_test.sh instead)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NOT_IN_A_CLONE = (".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", "demo-project",
                  "scratch", "bench-out", ".pytest_cache", ".ruff_cache", "*.sqlite*")
DEMO_CLIPS = [f"mmla_resources/demo/demo_{i:02d}.mp4" for i in range(1, 9)]
RESOURCES = [*DEMO_CLIPS, "mmla_resources/demo/manifest.jsonl",
             "mmla_resources/icons/mmla-studio.svg", "mmla_resources/mmla-studio.desktop"]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """Build the wheel from a copy of the tree without build leftovers (a stale build/lib
    would otherwise leak into it), offline, against the installed setuptools."""
    tmp = tmp_path_factory.mktemp("wheel")
    clone = tmp / "clone"
    shutil.copytree(REPO, clone, ignore=shutil.ignore_patterns(*NOT_IN_A_CLONE), symlinks=True)
    out = tmp / "dist"
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "--wheel-dir", str(out), str(clone)],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    assert result.returncode == 0, f"pip wheel failed:\n{result.stdout}\n{result.stderr}"
    wheels = list(out.glob("mmla_studio-*.whl"))
    assert len(wheels) == 1, f"expected one wheel in {out}, found {wheels}"
    return wheels[0]


def test_wheel_carries_resources_and_both_commands(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = next(archive.read(n).decode() for n in names
                            if n.endswith(".dist-info/entry_points.txt"))
        for name in DEMO_CLIPS:  # real clips, not LFS pointers or empty files
            assert archive.getinfo(name).file_size > 10_000, name
    missing = [name for name in RESOURCES if name not in names]
    assert not missing, f"{wheel.name} lacks {missing}"
    assert {"mmla_app/main.py", "mmla_core/config.py", "mmla_resources/__init__.py"} <= names
    # the app's feature folders are subpackages: setup.py must find every one of them
    app_folders = {p.parent.name for p in (REPO / "app").glob("*/__init__.py")}
    assert app_folders and {f"mmla_app/{f}/__init__.py" for f in app_folders} <= names
    assert not any(n.startswith(("tests/", "packaging/", "scripts/")) for n in names)
    assert "mmla = mmla_core.cli:main" in entry_points
    assert "mmla-studio = mmla_app.main:main" in entry_points


def test_installed_wheel_resolves_its_resources(wheel, tmp_path):
    target = tmp_path / "target"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q",
         "--target", str(target), str(wheel)],
        capture_output=True, text=True, timeout=120)
    assert install.returncode == 0, install.stderr
    probe = ("import mmla_resources, mmla_core.config as c, mmla_core.demo as d\n"
             "print(mmla_resources.__file__); print(c.resources_dir()); print(d.demo_folder())\n")
    shown = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                           timeout=60, cwd=tmp_path,
                           env={**os.environ, "PYTHONPATH": str(target)})
    assert shown.returncode == 0, shown.stderr
    package_file, resources_dir, demo_folder = (Path(line) for line in shown.stdout.split())
    assert package_file.is_relative_to(target), "imported the checkout, not the installed wheel"
    assert resources_dir == target / "mmla_resources"
    assert (resources_dir / "mmla-studio.desktop").is_file()
    assert (resources_dir / "icons" / "mmla-studio.svg").is_file()
    assert sorted(p.name for p in demo_folder.glob("*.mp4")) == [Path(n).name for n in DEMO_CLIPS]
