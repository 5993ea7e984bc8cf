"""Fixtures shared by the curation GUI tests."""

from __future__ import annotations

import pytest

from tests.support.mmla_tree import make_mmla_tree, tiny_clip


@pytest.fixture()
def two_way_folder(tmp_path):
    """An MMLA tree (MIntRec: TSVs + video/) with a clip outside its video folder: a folder
    that reads two ways (tests/gui/curation/test_import_kind.py, test_import_one_dialog.py)."""
    tree = make_mmla_tree(tmp_path / "recordings", {"MIntRec": {"train": 2, "dev": 1}})
    (tree.root / "raw").mkdir()
    tiny_clip(tree.root / "raw" / "take1.mp4")
    return tree.root
