"""Re-imports keep what a person made and which clip is which (issue 15, items 1, 2 and 5).

A re-import never overwrites a curated transcript (it reports the row and keeps it, unless
`--overwrite-curated`, which is an undoable edit); a different folder with a dataset's name is
a new dataset, never a re-root; adding splits to a manifest moves clips instead of copying them.
"""

from __future__ import annotations

import shutil

from mmla_core.cli import main as cli
from mmla_core.store.db import open_store
from mmla_core.store.labels import set_label, set_transcript


def make_folder(folder, clip, manifest: str, names=("a.mp4",)):
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(clip, folder / name)
    (folder / "manifest.csv").write_text(manifest)
    return folder


def clips_of(db, dataset="clips") -> list[dict]:
    with open_store(db) as store:
        return store.query(
            "SELECT c.id, c.split, c.external_id, c.transcript, c.media_path FROM clips c "
            "JOIN datasets d ON d.id = c.dataset_id WHERE d.name = ? ORDER BY c.id", (dataset,))


def test_reimport_keeps_a_curated_transcript_and_reports_it(tmp_path, speaker_clip, capsys):
    folder = make_folder(tmp_path / "clips", speaker_clip,
                         "path,split,transcript,MELD\na.mp4,test,what!,surprise\n")
    db = tmp_path / "p.sqlite"
    assert cli(["--db", str(db), "import", str(folder), "--no-probe"]) == 0
    (clip,) = clips_of(db)
    with open_store(db) as store:
        set_transcript(store, clip["id"], "What?!", "alice")
    assert cli(["--db", str(db), "import", str(folder), "--no-probe"]) == 3  # reported
    out = capsys.readouterr().out
    assert "manifest.csv:2" in out and "'What?!'" in out and "alice" in out, out
    assert clips_of(db)[0]["transcript"] == "What?!"
    # the manifest changes too: still the person's text, still reported
    (folder / "manifest.csv").write_text("path,split,transcript,MELD\na.mp4,test,what?,surprise\n")
    assert cli(["--db", str(db), "import", str(folder), "--no-probe"]) == 3
    assert clips_of(db)[0]["transcript"] == "What?!"
    # on purpose: the manifest's text, as an edit that undo takes back
    assert cli(["--db", str(db), "import", str(folder), "--no-probe",
                "--overwrite-curated"]) == 3
    assert clips_of(db)[0]["transcript"] == "what?"
    assert cli(["--db", str(db), "undo", "--annotator", "alice"]) == 0
    assert clips_of(db)[0]["transcript"] == "What?!"


def test_a_changed_source_label_never_touches_a_persons_label(tmp_path, speaker_clip):
    folder = make_folder(tmp_path / "clips", speaker_clip,
                         "path,split,transcript,MELD\na.mp4,test,hi,joy\n")
    db = tmp_path / "p.sqlite"
    cli(["--db", str(db), "import", str(folder), "--no-probe"])
    (clip,) = clips_of(db)
    with open_store(db) as store:
        task_id = store.scalar("SELECT id FROM tasks WHERE name = 'MELD'")
        set_label(store, clip["id"], task_id, "fear", "alice")
    (folder / "manifest.csv").write_text("path,split,transcript,MELD\na.mp4,test,hi,anger\n")
    from mmla_core.datasets.auto import import_path

    with open_store(db) as store:
        (report,) = import_path(store, folder)
        labels = dict(store.conn.execute("SELECT annotator, label FROM annotations"))
    assert labels == {"import": "anger", "alice": "fear"}
    assert report.curated_kept == 1 and "'fear' by alice" in str(report.issues[0])


def test_a_same_named_folder_is_a_new_dataset_and_move_checks_the_files(tmp_path, speaker_clip,
                                                                        capsys):
    from mmla_core.media.synth import make_clip

    one = make_folder(tmp_path / "one" / "clips", speaker_clip, "path,transcript\na.mp4,hi\n")
    other = make_clip(tmp_path / "other.mp4", text="bye", duration_s=0.5, width=64, height=48)
    two = make_folder(tmp_path / "two" / "clips", other, "path,transcript\na.mp4,bye\n")
    db = tmp_path / "p.sqlite"
    assert cli(["--db", str(db), "import", str(one)]) == 0
    assert cli(["--db", str(db), "import", str(two)]) == 0
    assert "imported as a new dataset 'clips-2'" in capsys.readouterr().out
    assert cli(["--db", str(db), "import", str(two)]) == 0  # again: the same clips-2
    with open_store(db) as store:
        roots = dict(store.conn.execute("SELECT name, root FROM datasets"))
    assert roots == {"clips": str(one.resolve()), "clips-2": str(two.resolve())}
    assert cli(["--db", str(db), "import", str(two), "--name", "clips"]) == 1  # named: refused
    # moving onto other videos is refused; onto a true copy, done
    assert cli(["--db", str(db), "datasets", "move", "clips", str(two)]) == 1
    assert "another file" in capsys.readouterr().err
    copy = tmp_path / "moved" / "clips"
    shutil.copytree(one, copy)
    shutil.rmtree(one)
    assert cli(["--db", str(db), "datasets", "move", "clips", str(copy)]) == 0
    assert "1 by size and fingerprint" in capsys.readouterr().out
    with open_store(db) as store:
        assert store.scalar("SELECT root FROM datasets WHERE name = 'clips'") == str(copy)


def test_adding_splits_to_a_manifest_moves_the_clips(tmp_path, speaker_clip, capsys):
    folder = make_folder(tmp_path / "clips", speaker_clip, "path,transcript\na.mp4,hi\n"
                         "b.mp4,yo\n", names=("a.mp4", "b.mp4"))
    db = tmp_path / "p.sqlite"
    cli(["--db", str(db), "import", str(folder), "--no-probe"])
    before = clips_of(db)
    assert cli(["--db", str(db), "label", "clips/a", "MELD", "joy", "--annotator", "alice"]) == 0
    (folder / "manifest.csv").write_text("path,split,transcript\na.mp4,train,hi\nb.mp4,test,yo\n")
    assert cli(["--db", str(db), "import", str(folder), "--no-probe"]) == 0
    assert "2 clips moved to another split" in capsys.readouterr().out
    after = clips_of(db)
    assert [c["id"] for c in after] == [c["id"] for c in before]  # same rows, no copies
    assert [c["split"] for c in after] == ["train", "test"]
    assert cli(["--db", str(db), "show", "clips/a"]) == 0  # not ambiguous
    assert "MELD: joy  (alice)" in capsys.readouterr().out  # the label stayed on it


def test_a_folder_imported_under_a_name_is_found_again_without_it(tmp_path, speaker_clip,
                                                                 capsys):
    """`mmla import clips --name talk`, a curator's label and transcript, then `mmla import
    clips`: the same dataset (not a second copy of the folder with the source's values), and
    the import says what of the person's work it kept."""
    folder = make_folder(tmp_path / "clips", speaker_clip,
                         "path,split,transcript,MELD\na.mp4,test,hi,joy\n")
    db = tmp_path / "p.sqlite"
    assert cli(["--db", str(db), "import", str(folder), "--name", "talk", "--no-probe"]) == 0
    for edit in (["label", "talk/a", "MELD", "fear"], ["transcript", "talk/a", "Hi!"]):
        assert cli(["--db", str(db), *edit, "--annotator", "alice"]) == 0
    capsys.readouterr()
    assert cli(["--db", str(db), "import", str(folder), "--no-probe"]) == 3
    out = capsys.readouterr().out
    assert out.startswith("talk: 1 clip (0 added, 0 updated, 1 unchanged)"), out
    assert "this folder is dataset 'talk' (imported before under that name)" in out
    assert "1 label by a person differs" in out and "'Hi!'" in out
    with open_store(db) as store:
        assert [r["name"] for r in store.query("SELECT name FROM datasets")] == ["talk"]
    assert [c["transcript"] for c in clips_of(db, "talk")] == ["Hi!"]
    # a name given on purpose still makes a dataset of its own
    assert cli(["--db", str(db), "import", str(folder), "--name", "other", "--no-probe"]) == 0
    assert [c["transcript"] for c in clips_of(db, "other")] == ["hi"]


def _variants_then_reimport(tmp_path, clip, row: str, variant_args: list[str],
                            changed_row: str):
    """A folder of one clip (manifest `row`), its variants, then the manifest says
    `changed_row` and the folder is imported again; returns (db, variant_args)."""
    header = "path,split,transcript,MELD\n"
    folder = make_folder(tmp_path / "clips", clip, header + row)
    db = tmp_path / "p.sqlite"
    assert cli(["--db", str(db), "import", str(folder), "--no-probe"]) == 0
    make = ["--db", str(db), "variants", "make", "--clip", "clips/a", *variant_args]
    assert cli(make) == 0
    (folder / "manifest.csv").write_text(header + changed_row)
    assert cli(["--db", str(db), "import", str(folder), "--no-probe"]) == 0
    return db, make


def test_a_transcript_the_source_changes_reaches_the_variants(tmp_path, speaker_clip):
    db, make = _variants_then_reimport(
        tmp_path, speaker_clip, "a.mp4,test,hi there,joy\n",
        ["--recipes", "caption_misleading:caption=fear,context_long:words=2"],
        "a.mp4,test,Hi there!,joy\n")
    with open_store(db) as store:
        texts = [r["transcript"] for r in store.query(
            "SELECT transcript FROM clips WHERE parent_clip_id IS NOT NULL ORDER BY id")]
    assert texts[0] == "Video_caption: fear. Hi there!"
    assert texts[1].startswith("Hi there! ") and len(texts[1].split()) == 4
    assert cli(make) == 0  # asked again: found, not copied
    assert len(clips_of(db)) == 3


def test_a_source_label_that_changes_reaches_the_variants_copies(tmp_path, speaker_clip):
    db, _ = _variants_then_reimport(
        tmp_path, speaker_clip, "a.mp4,test,hi,joy\n",
        ["--recipes", "caption_misleading:caption=fear", "--copy-labels"],
        "a.mp4,test,hi,anger\n")
    assert cli(["--db", str(db), "label", "clips/a", "MELD", "fear", "--annotator", "ann"]) == 0
    with open_store(db) as store:
        labels = store.query("SELECT clip_id, annotator, label FROM annotations "
                             "ORDER BY clip_id, annotator")
    assert [(r["annotator"], r["label"]) for r in labels] == [
        ("ann", "fear"), ("import", "anger"), ("ann", "fear"), ("import", "anger")]
