"""The desktop entry, the app's identity and the installer script agree, and the app's
`--smoke-test` (what packaging/smoke_test.sh runs on the frozen build) works from a checkout."""

from __future__ import annotations

import configparser
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ENTRY = REPO / "resources" / "mmla-studio.desktop"
INSTALLER = REPO / "packaging" / "install-desktop-entry.sh"


def read_entry(path: Path) -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # keys are case-sensitive in desktop entries
    parser.read(path, encoding="utf-8")
    return dict(parser["Desktop Entry"])


def test_desktop_entry_matches_the_app_identity():
    from mmla_app.main import DESKTOP_FILE, ICON_FILE

    entry = read_entry(ENTRY)
    assert ENTRY.stem == DESKTOP_FILE  # Wayland app id = the .desktop file name
    assert entry["StartupWMClass"] == DESKTOP_FILE  # X11 WM_CLASS instance
    assert entry["Icon"] == Path(ICON_FILE).stem
    assert (REPO / "resources" / "icons" / ICON_FILE).is_file()
    assert entry["Exec"].split()[0] == "mmla-studio"  # the gui-script pyproject.toml installs
    assert entry["Type"] == "Application" and entry["Terminal"] == "false"


def test_installer_writes_entry_and_icons_then_removes_them(tmp_path):
    binary = tmp_path / "my apps" / "mmla-studio"  # a space: Exec must quote it
    binary.parent.mkdir()
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "share")}
    subprocess.run(["bash", str(INSTALLER), "--exec", str(binary)], env=env, check=True,
                   capture_output=True, timeout=60)
    installed = tmp_path / "share" / "applications" / "mmla-studio.desktop"
    entry = read_entry(installed)
    assert entry["Exec"] == f'"{binary}" %f'
    assert entry["StartupWMClass"] == "mmla-studio"
    hicolor = tmp_path / "share" / "icons" / "hicolor"
    assert (hicolor / "scalable" / "apps" / "mmla-studio.svg").is_file()
    assert (hicolor / "256x256" / "apps" / "mmla-studio.png").is_file()
    subprocess.run(["bash", str(INSTALLER), "--uninstall"], env=env, check=True,
                   capture_output=True, timeout=60)
    assert not installed.exists()
    assert not list(hicolor.glob("*/apps/mmla-studio.*"))


def test_installer_refuses_a_missing_binary(tmp_path):
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "share")}
    result = subprocess.run(["bash", str(INSTALLER), "--exec", str(tmp_path / "nope")],
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "no mmla-studio binary found" in result.stderr
    assert not (tmp_path / "share" / "applications").exists()


def test_smoke_test_flag_opens_the_demo_and_quits(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "MMLA_STUDIO_HOME": str(tmp_path),
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "OMP_NUM_THREADS": "1"}
    env.pop("MMLA_STUDIO_DB", None)
    result = subprocess.run([sys.executable, "-m", "mmla_app", "--smoke-test"], env=env,
                            capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert ("mmla-studio smoke test: window shown=True, 8 clips of the demo project loaded, "
            "app id mmla-studio") in result.stdout
    assert (tmp_path / "project.sqlite").is_file()  # the default project, not the user's


def test_a_project_in_a_missing_folder_is_refused_before_the_window(tmp_path, capsys,
                                                                   monkeypatch):
    from mmla_app.main import parse_args

    typo = tmp_path / "typo" / "dir" / "x.sqlite"
    with pytest.raises(SystemExit) as exit_info:
        parse_args([str(typo)])
    assert exit_info.value.code == 2
    assert f"{typo.parent} does not exist; `mmla new {typo}` creates a project" in \
        capsys.readouterr().err
    assert not (tmp_path / "typo").exists()
    monkeypatch.delenv("MMLA_STUDIO_DB", raising=False)
    monkeypatch.setenv("MMLA_STUDIO_HOME", str(tmp_path / "first" / "start"))
    assert parse_args([]).db == tmp_path / "first" / "start" / "project.sqlite"
    assert (tmp_path / "first" / "start").is_dir()   # the default project's folder is made


def test_a_project_file_from_the_launcher_opens_that_project(tmp_path, capsys):
    from mmla_app.main import parse_args

    project = tmp_path / "dropped.sqlite"
    assert parse_args([str(project)]).db == project  # Exec=mmla-studio %f
    assert parse_args(["--db", str(project)]).db == project
    with pytest.raises(SystemExit) as exit_info:
        parse_args([str(project), "--db", str(tmp_path / "other.sqlite")])
    assert exit_info.value.code == 2
    assert "either as an argument or with --db" in capsys.readouterr().err
