"""Manifest paths may not escape the dataset root (DESIGN rule 8)."""

from __future__ import annotations

import os

import pytest

from mmla_core.paths import PathEscapeError, confine, is_confined, relative_to_root


@pytest.fixture()
def root(tmp_path):
    (tmp_path / "data" / "video").mkdir(parents=True)
    (tmp_path / "data" / "video" / "a.mp4").write_bytes(b"x")
    (tmp_path / "outside.mp4").write_bytes(b"secret")
    return tmp_path / "data"


def test_relative_path_inside_root_resolves(root):
    assert confine(root, "video/a.mp4") == (root / "video" / "a.mp4").resolve()
    assert confine(root, "video/../video/a.mp4") == (root / "video" / "a.mp4").resolve()
    assert confine(root, "video/not_there_yet.mp4").name == "not_there_yet.mp4"


def test_dotdot_escape_is_refused_and_named(root):
    with pytest.raises(PathEscapeError) as err:
        confine(root, "../outside.mp4")
    message = str(err.value)
    assert "../outside.mp4" in message and str(root.resolve()) in message and "'..'" in message
    assert err.value.path == "../outside.mp4"


def test_absolute_path_allowed_only_inside_root(root, tmp_path):
    inside = str(root / "video" / "a.mp4")
    assert confine(root, inside) == (root / "video" / "a.mp4").resolve()
    with pytest.raises(PathEscapeError, match="outside the dataset root"):
        confine(root, str(tmp_path / "outside.mp4"))
    with pytest.raises(PathEscapeError):
        confine(root, "/etc/passwd")


def test_symlink_pointing_out_is_refused(root, tmp_path):
    os.symlink(tmp_path / "outside.mp4", root / "video" / "link.mp4")
    os.symlink(tmp_path, root / "dirlink")
    with pytest.raises(PathEscapeError, match="symlink"):
        confine(root, "video/link.mp4")
    with pytest.raises(PathEscapeError):
        confine(root, "dirlink/outside.mp4")


def test_symlink_inside_root_is_fine_and_keeps_its_name(root):
    os.symlink(root / "video" / "a.mp4", root / "video" / "alias.mp4")
    assert confine(root, "video/alias.mp4") == (root / "video" / "a.mp4").resolve()
    assert relative_to_root(root, "video/alias.mp4") == "video/alias.mp4"
    assert relative_to_root(root, str(root / "video" / "a.mp4")) == "video/a.mp4"


def test_empty_and_nul_paths_refused(root):
    assert not is_confined(root, "")
    assert not is_confined(root, "video/a\x00.mp4")
    assert is_confined(root, "video/a.mp4")


def test_a_name_longer_than_the_file_system_allows_is_refused_not_raised(tmp_path):
    with pytest.raises(PathEscapeError, match="cannot be used"):
        confine(tmp_path, "é" * 300)  # 600 bytes: ENAMETOOLONG from the file system
