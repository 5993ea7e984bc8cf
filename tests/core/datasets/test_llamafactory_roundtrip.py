"""Our LLaMA-Factory export against MMLA's own files of each mode, and back into a fresh project.

The clips are built from records copied from MMLA's files (tests/data/mmla_records/): exporting
their utterance and label must give MMLA's record byte for byte, in the video form and in the
dataset's own text-only form; importing our export into an empty project must give back the
same clips, splits, transcripts, labels and media files, for every export mode.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mmla_core.cli import main
from mmla_core.datasets import export_llamafactory, import_mmla, import_sharegpt
from mmla_core.datasets.export import EXPORT_INFO
from mmla_core.datasets.sharegpt import utterance_of
from mmla_core.store import open_store
from mmla_core.store.catalog import clip_media_path, dataset_by_name, list_clips, task_by_name
from mmla_core.store.labels import gold_label
from mmla_core.tasks import builtin_task
from tests.support import models_fixtures
from tests.support.mmla_records import load, task_of, turns
from tests.support.mmla_tree import Row, tiny_clip, write_tsv


def mmla_rows() -> dict[str, list[tuple[Row, dict, dict | None]]]:
    """Dataset -> (row, MMLA's video record, MMLA's text record of the same utterance)."""
    text = {(task_of(f).name, utterance_of(turns(r)[0])): r for f, r in load("text_sft.json")}
    out: dict[str, list] = {}
    for file_name, record in load("video_sft.json"):
        task = task_of(file_name)
        utterance = utterance_of(turns(record)[0])
        label = task.canonical_label(turns(record)[1].partition(": ")[2])
        row = Row(f"r{record['id']}", utterance, label, True)
        out.setdefault(task.name, []).append((row, record, text.get((task.name, utterance))))
    return out


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """An MMLA tree (dev split) holding MMLA's own utterances, imported into a project."""
    root = tmp_path_factory.mktemp("mmla")
    source = tiny_clip(root / ".source.mp4")
    for name, rows in mmla_rows().items():
        task = builtin_task(name)
        (root / name / "video").mkdir(parents=True)
        write_tsv(root / name / "dev.tsv", task, [row for row, _, _ in rows])
        for row, _, _ in rows:
            (root / name / "video" / f"{name}_{row.id}.mp4").write_bytes(source.read_bytes())
    db = root.parent / "source.sqlite"
    with open_store(db) as store:
        import_mmla(store, root)
    return root, db


def exported(db: Path, out: Path, name: str, mode: str) -> dict[str, dict]:
    with open_store(db) as store:
        (path,) = export_llamafactory(store, out, dataset=name, task=name, splits=["dev"],
                                      mode=mode)
    return {r["id"]: r for r in json.loads(path.read_text(encoding="utf-8"))}


@pytest.mark.parametrize("name", sorted(mmla_rows()))
def test_each_mode_writes_mmla_records_byte_for_byte(project, tmp_path, name):
    root, db = project
    video = exported(db, tmp_path / "video", name, "video")
    text = exported(db, tmp_path / "text", name, "text")
    both = exported(db, tmp_path / "both", name, "video_audio")
    for row, mmla_video, mmla_text in mmla_rows()[name]:
        assert _items(video[row.id]) == _items(mmla_video)
        assert video[row.id]["videos"] == [str((root / name / "video" /
                                                f"{name}_{row.id}.mp4").resolve())]
        if mmla_text is not None:  # the text form: task word, label case, "'.Only" per file
            assert _items(text[row.id]) == _items(mmla_text)
        human, gpt = (t["value"] for t in both[row.id]["conversations"])
        assert human == "<video><audio>" + turns(mmla_video)[0].removeprefix("<video>")
        assert gpt == turns(mmla_video)[1]


def _items(record: dict) -> list[list[tuple[str, str]]]:
    """The turns with their keys in file order (MMLA's files differ in it: prompts.TextForm)."""
    return [list(turn.items()) for turn in record["conversations"]]


@pytest.mark.parametrize("mode", ["video", "video_audio", "text"])
def test_export_imports_back_into_a_fresh_project(project, tmp_path, mode):
    root, db = project
    names = sorted(mmla_rows())
    with open_store(db) as store:
        want = {name: _clips(store, name) for name in names}
        files = {name: export_llamafactory(store, tmp_path / "lf", dataset=name, task=name,
                                           splits=["dev"], mode=mode)[0] for name in names}
    with open_store(tmp_path / "fresh.sqlite") as fresh:
        for name in names:
            report = import_sharegpt(fresh, files[name], name=name, media_root=root)
            assert report.issues == [] and report.added == len(want[name])
            assert _clips(fresh, name) == want[name]


def _clips(store, name: str) -> dict[str, tuple]:
    """external id -> (split, transcript, gold label, absolute media file)."""
    dataset = dataset_by_name(store, name)
    task_id = task_by_name(store, name)[0]
    return {c["external_id"]: (c["split"], c["transcript"], gold_label(store, c["id"], task_id),
                               str(clip_media_path(c)) if c["media_path"] else None)
            for c in list_clips(store, dataset_id=dataset["id"])}


def test_export_records_longest_sample_and_cutoff_len(project, tmp_path):
    from mmla_core.models.tiny import tiny_tokenizer

    _, db = project
    with open_store(db) as store:
        estimated = export_llamafactory(store, tmp_path / "a", dataset="MUStARD",
                                        task="MUStARD", splits=["dev"], mode="text")
        counted = export_llamafactory(store, tmp_path / "b", dataset="MUStARD", task="MUStARD",
                                      splits=["dev"], mode="text",
                                      tokenizer=tiny_tokenizer("text_lm"), tokenizer_name="tiny")
    (name,) = estimated.written
    info = json.loads((tmp_path / "b" / EXPORT_INFO).read_text())[name]
    assert estimated.tokens[name]["longest_id"] == "r4"  # the longest utterance in characters
    assert info["tokens"][name] == counted.tokens[name]
    assert info["tokens_counted_with"] == "tokenizer of tiny" and info["cutoff_len"] == 2048
    assert counted.tokens[name]["longest_tokens"] > 60  # the chat template counted in
    assert "estimate" in estimated.counted_with and not estimated.warnings
    assert "cutoff_len 2048" in counted.summary()


def test_a_sample_past_2048_tokens_is_warned_and_sets_cutoff_len(tmp_path):
    root = tmp_path / "mmla"
    (root / "MOSI").mkdir(parents=True)
    long_text = " ".join(["it was a long and winding review of the film"] * 700)
    write_tsv(root / "MOSI" / "train.tsv", builtin_task("MOSI"),
              [Row("long", long_text, "positive", False), Row("short", "fine", "negative", False)])
    with open_store(tmp_path / "p.sqlite") as store:
        import_mmla(store, root)
        files = export_llamafactory(store, tmp_path / "lf", dataset="MOSI", task="MOSI",
                                    splits=["train"], mode="text")
    (name,) = files.written
    assert files.tokens[name]["longest_id"] == "long"
    assert files.cutoff_len > 2048 and files.cutoff_len % 256 == 0
    assert files.cutoff_len >= files.tokens[name]["longest_tokens"]
    (warning,) = files.warnings
    assert "'long'" in warning and f"cutoff_len: {files.cutoff_len}" in warning
    info = json.loads((tmp_path / "lf" / EXPORT_INFO).read_text())[name]
    assert info["cutoff_len"] == files.cutoff_len


text_dir = models_fixtures.text_dir


def test_cli_counts_with_a_model_tokenizer(project, tmp_path, text_dir, capsys):
    _, db = project
    base = ["--db", str(db), "export", "llamafactory", str(tmp_path / "lf"), "--dataset",
            "MOSI", "--task", "MOSI", "--splits", "dev", "--mode", "text"]
    assert main([*base, "--tokenizer", str(text_dir)]) == 0
    out = capsys.readouterr().out
    assert f"tokens (tokenizer of {text_dir})" in out and "cutoff_len 2048" in out
    assert main([*base, "--tokenizer", str(tmp_path / "no-model")]) != 0
    assert "--tokenizer" in capsys.readouterr().err
    # the start of a registered name: the export names the model, not what was typed
    assert main(["--db", str(db), "models", "add", str(text_dir), "--name", "tiny-text_lm"]) == 0
    capsys.readouterr()
    assert main([*base, "--tokenizer", "tiny"]) == 0
    assert "tokens (tokenizer of tiny-text_lm)" in capsys.readouterr().out
