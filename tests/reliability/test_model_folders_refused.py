"""`mmla models add` refuses malformed folders with a message, never a traceback, and never
reads a file outside the model folder (issue 15, item 13)."""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

import pytest

from mmla_core.cli import main as cli
from mmla_core.store.db import open_store

GIB = 2**30


def _safetensors(path: Path, header, data_bytes: int = 0, *, sparse: bool = False) -> None:
    blob = json.dumps(header).encode()
    with open(path, "wb") as handle:
        handle.write(struct.pack("<Q", len(blob)) + blob)
        if sparse:
            handle.truncate(8 + len(blob) + data_bytes)  # a hole: nothing written
        else:
            handle.write(b"\0" * data_bytes)


def _index(folder: Path, weight_map) -> None:
    (folder / "model.safetensors.index.json").write_text(json.dumps({"weight_map": weight_map}))


def _config(folder: Path, change) -> None:
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps(change(config)))


BREAKS = {
    # name: (how to break a copy of a good folder, what the message must say)
    "config_is_a_list": (lambda f: (f / "config.json").write_text("[]"),
                         "must hold a JSON object"),
    "architectures_is_a_number": (lambda f: _config(f, lambda c: {**c, "architectures": 5}),
                                  "architectures must be a list"),
    "index_map_is_a_list": (lambda f: _index(f, ["model.safetensors"]), "weight_map"),
    "index_map_holds_numbers": (lambda f: _index(f, {"lm_head.weight": 5}),
                                "must be shard file names"),
    "index_names_etc_hostname": (lambda f: _index(f, {"lm_head.weight": "/etc/hostname"}),
                                 "outside the model folder"),
    "index_climbs_out": (lambda f: _index(f, {"lm_head.weight": "../elsewhere.safetensors"}),
                         "outside the model folder"),
    "header_cut_short": (lambda f: (f / "model.safetensors").write_bytes(b"\x40\0\0\0\0\0\0\0{"),
                         "does not fit the file"),
    "header_is_a_list": (lambda f: _safetensors(f / "model.safetensors", []),
                         "must be a JSON object"),
    "tensor_past_the_end": (lambda f: _safetensors(f / "model.safetensors", {
        "w": {"dtype": "F32", "shape": [4, 4], "data_offsets": [0, 64]}}, 16), "cut short"),
    "sparse_40_gb_tensor": (lambda f: _safetensors(f / "model.safetensors", {
        "w": {"dtype": "F32", "shape": [10 * GIB], "data_offsets": [0, 40 * GIB]}}, 40 * GIB,
        sparse=True), "sparse"),
}


@pytest.mark.parametrize("name", sorted(BREAKS))
def test_a_malformed_model_folder_is_refused_with_a_message(omni_dir, tmp_path, name, capsys):
    folder = tmp_path / name
    shutil.copytree(omni_dir, folder)
    (tmp_path / "elsewhere.safetensors").write_bytes((folder / "model.safetensors").read_bytes())
    breaker, expected = BREAKS[name]
    breaker(folder)
    db_path = tmp_path / "p.sqlite"
    code = cli(["--db", str(db_path), "models", "add", str(folder)])
    err = capsys.readouterr().err
    assert code != 0 and expected in err and str(folder) in err, err
    assert "Traceback" not in err
    with open_store(db_path) as store:
        assert store.scalar("SELECT count(*) FROM models") == 0


def test_the_good_folder_still_registers(omni_dir, tmp_path):
    assert cli(["--db", str(tmp_path / "p.sqlite"), "models", "add", str(omni_dir)]) == 0
