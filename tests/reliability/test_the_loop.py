"""The loop, end to end, as a user runs it from `mmla`: import -> curate -> re-import ->
variants -> probe -> export -> fine-tune -> evaluate -> compare, on a fresh project and a tiny
random Omni model. Every seam is asserted exactly: the curator's label and transcript are what
each later step reads, writes and records (docs/user-guide.md, "The whole loop").

One test on purpose: each step starts from what the one before left. About a minute on two
cores (the fine-tune runs as a real detached job: two LoRA steps and a dev check).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mmla_core.cli import main
from mmla_core.media.synth import make_clip
from mmla_core.store.db import open_store

LONG = "long_utterance_" + "x" * 200  # two clips share their first 215 characters
CLIPS = {  # file: (split, transcript, MELD label as the source gives it)
    "a.mp4": ("train", "thank you so much", "joy"),
    "b.mp4": ("train", "you lost the keys again", "anger"),
    f"{LONG}_one.mp4": ("train", "where did you put it", "anger"),
    f"{LONG}_two.mp4": ("train", "i am so sorry", "sadness"),
    "c.mp4": ("dev", "could you help me", "neutral"),
}
CURATED = "Thank you SO much!"  # alice's transcript of a.mp4, then edited once more
RECIPES = "audio_swap,frames_black,audio_silent,caption_misleading"
MEDIA = ["--frames", "2", "--max-pixels", str(112 * 112)]  # keeps the tiny model's work tiny
ALICE = ["--annotator", "alice"]


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """A folder of five short clips and the manifest that labels them."""
    folder = tmp_path_factory.mktemp("loop") / "clips"
    folder.mkdir()
    lines = ["path,split,transcript,MELD"]
    for seed, (name, (split, text, label)) in enumerate(CLIPS.items()):
        make_clip(folder / name, text=text, duration_s=1.0, width=160, height=120, seed=seed)
        lines.append(f"{name},{split},{text},{label}")
    (folder / "manifest.csv").write_text("\n".join(lines) + "\n")
    return folder


def test_the_loop_holds_end_to_end(source, omni_dir, tmp_path, capsys):
    db = tmp_path / "study.sqlite"

    def mmla(*args, code: int = 0) -> str:
        got = main(["--db", str(db), *map(str, args)])
        out = capsys.readouterr()
        assert got == code, f"mmla {' '.join(map(str, args))} -> {got}\n{out.out}\n{out.err}"
        return out.out

    _import_and_curate(mmla, db, source)
    variants = _variants(mmla, db)
    _probe(mmla, db, variants, omni_dir)
    _export(mmla, db, source, tmp_path, variants)
    job_adapter = _fine_tune(mmla, db)
    _evaluate_and_compare(mmla, db, job_adapter)


def _import_and_curate(mmla, db, source) -> None:
    assert "project created (empty, 0 datasets)" in mmla("new", db)
    assert mmla("import", source, "--name", "talk").startswith(
        "talk: 5 clips (5 added, 0 updated, 0 unchanged), 0 text-only, 5 labels written")
    assert "clip 1 MELD: surprise  (alice)" in mmla("label", "talk/a", "MELD", "surprise", *ALICE)
    assert "-> 'Thank you SO much!'" in mmla("transcript", "talk/a", CURATED, *ALICE)
    shown = mmla("show", "talk/a")
    assert "transcript edited  by alice" in shown
    assert "curated            MELD: surprise  (person)" in shown
    # the same folder again, with no name: the same dataset, the person's work kept and said so
    out = mmla("import", source, code=3)
    assert out.startswith("talk: 5 clips (0 added, 0 updated, 5 unchanged)"), out
    assert "this folder is dataset 'talk' (imported before under that name)" in out
    assert "1 label by a person differs from the source's and stays the curated one" in out
    assert (f"manifest.csv:2: the source now says 'thank you so much'; the transcript edited by "
            f"alice ({CURATED!r}) is kept") in out
    with open_store(db) as store:
        assert store.query("SELECT name FROM datasets") == [{"name": "talk"}]
        assert store.scalar("SELECT transcript FROM clips WHERE id = 1") == CURATED
        assert dict(store.conn.execute(
            "SELECT annotator, label FROM annotations WHERE clip_id = 1")) == {
            "import": "joy", "alice": "surprise"}


def _variants(mmla, db) -> dict[int, dict]:
    """Each kind of variant of clip 1 and of both long-named clips: every media variant its own
    file; a transcript edit made afterwards reaches them."""
    for clip in ("talk/a", f"talk/{LONG}_one", f"talk/{LONG}_two"):
        assert mmla("variants", "make", "--clip", clip, "--recipes", RECIPES, "--seed", "0") \
            .startswith("4 variants created, 0 already present, 0 failed of 4")
    rows = {}
    for parent in (1, 3, 4):
        for line in mmla("variants", "ls", parent, "--json").splitlines():
            row = json.loads(line)
            rows[row["id"]] = {**row, "parent": parent}
    assert len(rows) == 12
    media = [r for r in rows.values() if r["type"] != "caption_misleading"]
    paths = [Path(r["path"]) for r in media]
    assert len(set(paths)) == 9 and all(p.is_file() for p in paths)
    assert all(len(p.name.encode()) <= 255 and p.parent.name == "talk" for p in paths)
    with open_store(db) as store:
        parents = {r["id"]: r["media_path"] for r in store.query("SELECT id, media_path "
                                                                 "FROM clips WHERE id IN (1,3,4)")}
    for row in rows.values():  # a text variant plays its parent's media, by design
        if row["type"] == "caption_misleading":
            assert Path(row["path"]).name == parents[row["parent"]]
    assert "-> 'Thank you SO much, really!'" in mmla(
        "transcript", "talk/a", "Thank you SO much, really!", *ALICE)
    of_a = {r["type"]: r for r in _variant_rows(db, 1)}
    caption = json.loads(of_a["caption_misleading"]["recipe_json"])["params"]["caption"]
    assert caption != "surprise"  # misleading against the curated label, not the imported one
    assert of_a["caption_misleading"]["transcript"] == \
        f"Video_caption: {caption}. Thank you SO much, really!"
    assert {r["transcript"] for t, r in of_a.items() if t != "caption_misleading"} == {
        "Thank you SO much, really!"}
    # asked again after the edit: the same four, not a second copy of each
    assert mmla("variants", "make", "--clip", "talk/a", "--recipes", RECIPES, "--seed", "0") \
        .startswith("0 variants created, 4 already present")
    assert [r["id"] for r in _variant_rows(db, 1)] == sorted(of_a[t]["id"] for t in of_a)
    listed = mmla("ls", "talk").splitlines()  # long ids cut in the middle: still told apart
    assert any("…" in line and line.split()[3].endswith("x_one") for line in listed)
    assert any("…" in line and line.split()[3].endswith("x_two") for line in listed)
    return rows


def _variant_rows(db, parent: int) -> list[dict]:
    with open_store(db) as store:
        return store.query("SELECT id, transcript, recipe_json, json_extract(recipe_json, "
                           "'$.type') AS type FROM clips WHERE parent_clip_id = ? ORDER BY id",
                           (parent,))


def _probe(mmla, db, variants, model: Path) -> None:
    mmla("models", "add", model, "--name", "tiny")
    out = mmla("probe", "talk/a", "--model", "tiny", "--task", "MELD", "--scenarios", "aligned",
               "--prompts", "zero_shot", "--variants", "existing", *MEDIA)
    assert out.startswith("probe run 1: clip 1, task MELD, model tiny, gold surprise (done)")
    with open_store(db) as store:
        cells = store.query("SELECT clip_id, variant, gold_label, prompt_text FROM predictions "
                            "WHERE run_id = 1 ORDER BY id")
    of_a = sorted(i for i, r in variants.items() if r["parent"] == 1)
    assert [c["variant"] for c in cells] == ["aligned", *(f"variant:{i}" for i in of_a)]
    assert {c["gold_label"] for c in cells} == {"surprise"}
    assert "Thank you SO much, really!" in cells[0]["prompt_text"]
    assert "labels: curated (adjudicated 0, person 1, import 0" in mmla("runs", "show", 1)


def _export(mmla, db, source, tmp_path, variants) -> None:
    out = mmla("export", "llamafactory", tmp_path / "lf", "--dataset", "talk", "--task", "MELD")
    assert "labels: curated (adjudicated 0, person 1, import 4" in out
    records = json.loads((tmp_path / "lf" / "talk_train_emotion_llamafactory.json").read_text())
    by_id = {r["id"]: r for r in records}
    assert sorted(by_id) == sorted(Path(n).stem for n, c in CLIPS.items() if c[0] == "train")
    human, answer = (turn["value"] for turn in by_id["a"]["conversations"])
    assert "the speaker says: Thank you SO much, really! Based on" in human
    assert answer == "emotion: surprise"
    out = mmla("export", "mmla", tmp_path / "mmla", "--dataset", "talk", "--task", "MELD")
    assert "wrote train.tsv (4), dev.tsv (1); skipped: none" in out
    meld = tmp_path / "mmla" / "MELD"
    rows = (meld / "train.tsv").read_text().splitlines()
    assert rows[:2] == ["id\tutterance\temotion", "a\tThank you SO much, really!\tsurprise"]
    assert sorted(p.name for p in (meld / "video").iterdir()) == sorted(
        f"MELD_{name}" for name in CLIPS)
    assert mmla("export", "jsonl", tmp_path / "all.jsonl", "--dataset", "talk").startswith(
        "wrote 17 clips")
    lines = [json.loads(x) for x in (tmp_path / "all.jsonl").read_text().splitlines()]
    (a,) = [x for x in lines if x["external_id"] == "a"]
    assert (a["transcript"], a["labels"]) == ("Thank you SO much, really!", {"MELD": "surprise"})
    by_id = {x["id"]: x for x in lines}  # every clip's media file, a variant's own included
    assert {i: by_id[i]["file"] for i in variants} == {i: r["path"] for i, r in variants.items()}
    # the export, imported back as the folder's manifest: no variant loses its file or text
    before = _clip_rows(db)
    out = mmla("import", source, "--manifest", tmp_path / "all.jsonl")
    assert "12 rows name conflict variants made in this project: left as they are" in out
    assert _clip_rows(db) == before


def _clip_rows(db) -> list[dict]:
    with open_store(db) as store:
        return store.query("SELECT id, split, external_id, transcript, media_root, media_path, "
                           "health FROM clips ORDER BY id")


def _fine_tune(mmla, db) -> Path:
    out = mmla("train", "launch", "--task", "MELD", "--model", "tiny", "--dataset", "talk",
               "--max-steps", "2", "--test-split", "none", "--device", "cpu", "--rank", "4",
               *MEDIA, "--follow")
    assert "training job 1 'MELD-tiny' started" in out and "job 1 done (exit code 0)" in out
    show = mmla("train", "show", 1)
    assert "labels: curated (adjudicated 0, person 1, import 4" in show
    assert "samples: 4 train, 1 dev" in show and "checkpoints: at step 2" in show
    with open_store(db) as store:
        folder = Path(store.scalar("SELECT output_dir FROM training_jobs WHERE id = 1"))
    samples = [json.loads(x) for x in (folder / "samples.jsonl").read_text().splitlines()]
    expected = {1: "surprise", 2: "anger", 3: "anger", 4: "sadness", 5: "neutral"}
    assert {s["clip_id"]: s["label"] for s in samples} == expected
    (a,) = [s for s in samples if s["clip_id"] == 1]
    assert "Thank you SO much, really!" in a["prompt"] and a["answer"] == "emotion: surprise"
    assert (folder / "adapter" / "adapter_model.safetensors").is_file()
    return folder / "adapter"


def _evaluate_and_compare(mmla, db, adapter: Path) -> None:
    base = ["eval", "--model", "tiny", "--task", "MELD", "--dataset", "talk", "--split",
            "train", "--in-process", *MEDIA]
    assert "run 2: done, 4 of 4 samples written" in mmla(*base)
    assert "run 3: done, 4 of 4 samples written" in mmla(*base, "--adapter", adapter)
    with open_store(db) as store:
        gold = store.query("SELECT run_id, clip_id, gold_label FROM predictions "
                           "WHERE run_id IN (2, 3) AND clip_id = 1")
    assert gold == [{"run_id": 2, "clip_id": 1, "gold_label": "surprise"},
                    {"run_id": 3, "clip_id": 1, "gold_label": "surprise"}]
    out = mmla("runs", "compare", 2, 3)
    assert "2: #2 tiny MELD scoring audio" in out and "3: #3 tiny MELD +adapter" in out
    out = mmla("runs", "finetune")
    assert "(#2)" in out and "(#3)" in out
    probe = ["probe", "talk/a", "--model", "tiny", "--task", "MELD", "--scenarios", "aligned",
             "--prompts", "zero_shot", "--variants", "none", *MEDIA]
    assert f"model tiny + adapter {adapter}, gold surprise (done)" in mmla(*probe, "--adapter",
                                                                         adapter)
    assert "gold surprise" in mmla("probe", "compare", 1, 4)
