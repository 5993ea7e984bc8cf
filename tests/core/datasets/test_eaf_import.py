"""ELAN import: round trips per annotator, other people's files, and a person's work kept."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mmla_core.cli import main
from mmla_core.datasets import probe_pending
from mmla_core.datasets.auto import detect_kind, import_path
from mmla_core.datasets.eaf import export_eaf
from mmla_core.datasets.eaf_import import import_eaf
from mmla_core.datasets.folder import import_folder
from mmla_core.datasets.report import DatasetImportError
from mmla_core.store import open_store
from mmla_core.store.catalog import attach_task, ensure_task, task_by_name
from mmla_core.store.labels import set_check_answer, set_label, set_transcript
from mmla_core.store.review import mark_reviewed
from mmla_core.store.verdicts import Selection
from mmla_core.tasks import make_custom_task
from tests.support.eaf_schema import assert_valid_eaf


@pytest.fixture
def store(demo_store):
    return demo_store


@pytest.fixture
def fresh(tmp_path):
    with open_store(tmp_path / "fresh.sqlite") as store:
        yield store


def everyones_work(store) -> dict:
    """Every annotator's labels, people's check answers, verdicts and transcripts, by clip key."""
    return {
        "labels": {tuple(r) for r in store.conn.execute(
            "SELECT c.split, c.external_id, t.name, a.annotator, a.label FROM annotations a "
            "JOIN clips c ON c.id = a.clip_id JOIN tasks t ON t.id = a.task_id")},
        "checks": {tuple(r) for r in store.conn.execute(
            "SELECT c.split, c.external_id, k.check_key, k.annotator, k.answer FROM "
            "check_answers k JOIN clips c ON c.id = k.clip_id WHERE k.source = 'human'")},
        "verdicts": {tuple(r) for r in store.conn.execute(
            "SELECT c.split, c.external_id, r.annotator, r.verdict FROM clip_reviews r "
            "JOIN clips c ON c.id = r.clip_id")},
        "transcripts": {tuple(r) for r in store.conn.execute(
            "SELECT split, external_id, transcript FROM clips")},
    }


def two_annotators_work(store) -> None:
    meld, mintrec = task_by_name(store, "MELD")[0], task_by_name(store, "MIntRec")[0]
    set_label(store, 2, meld, "fear", "alice")
    set_label(store, 2, meld, "sadness", "bob")
    set_label(store, 2, mintrec, "joke", "bob")
    set_label(store, 4, meld, "joy", "adjudicated:carol")
    custom = ensure_task(store, make_custom_task("Sarcasm", ["sarcastic", "sincere"]))
    set_label(store, 3, custom, "sarcastic", "alice")  # a task not attached to the dataset
    for key in ("visual_only", "audio_only", "full_visual", "full_audio"):
        set_check_answer(store, 2, key, "yes", "alice")
    set_check_answer(store, 2, "audio_only", "no", "bob")
    mark_reviewed(store, 2, "alice", "accept")
    mark_reviewed(store, 2, "bob", "reject")


def test_round_trip_into_a_fresh_project_gives_everyone_their_work_back(store, fresh, tmp_path):
    two_annotators_work(store)
    files = export_eaf(store, tmp_path / "eaf", dataset="demo",
                       selection=Selection(include_rejected=True))  # bob rejected demo_02
    report = import_eaf(fresh, tmp_path / "eaf")
    assert report.issues == [] and report.added == len(files) == 8
    before, after = everyones_work(store), everyones_work(fresh)
    assert after == before
    assert ("train", "demo_02", "MELD", "bob", "sadness") in after["labels"]
    assert ("train", "demo_03", "Sarcasm", "alice", "sarcastic") in after["labels"]
    assert ("dev", "demo_04", "MELD", "adjudicated:carol", "joy") in after["labels"]
    assert ("train", "demo_02", "audio_only", "bob", "no") in after["checks"]
    assert ("train", "demo_02", "bob", "reject") in after["verdicts"]
    # the new clips play: their media is the exported media, wherever it lives
    clip = fresh.query("SELECT media_root, media_path FROM clips WHERE external_id = 'demo_02'")
    assert Path(clip[0]["media_root"], clip[0]["media_path"]).is_file()
    assert probe_pending(fresh, report.dataset_id, workers=1) == {"ok": 8}  # media_root probed
    again = export_eaf(fresh, tmp_path / "again", dataset="eaf")
    for path in again:
        assert_valid_eaf(path)
    assert import_eaf(fresh, tmp_path / "again").added == 0  # the clips are found by media


def test_a_persons_work_in_the_project_is_never_overwritten(store, tmp_path):
    meld = task_by_name(store, "MELD")[0]
    set_label(store, 2, meld, "fear", "alice")
    set_check_answer(store, 2, "audio_only", "yes", "alice")
    export_eaf(store, tmp_path / "eaf", dataset="demo", split="train")
    set_label(store, 2, meld, "joy", "alice")           # alice changed her mind since
    set_check_answer(store, 2, "audio_only", "no", "alice")
    set_transcript(store, 2, "I can't believe you lost them.", "alice")
    with store.write() as conn:                          # the source label changed upstream
        conn.execute("UPDATE annotations SET label = 'neutral' WHERE clip_id = 2 AND "
                     "task_id = ? AND annotator = 'import'", (meld,))
        conn.execute("UPDATE clips SET transcript = 'old' WHERE id = 1")  # not a person's edit
    report = import_eaf(store, tmp_path / "eaf")
    assert report.added == 0
    labels = {(r["annotator"]): r["label"] for r in store.query(
        "SELECT annotator, label FROM annotations WHERE clip_id = 2 AND task_id = ?", (meld,))}
    assert labels == {"alice": "joy", "import": "anger"}  # the file's import label comes back
    assert store.scalar("SELECT answer FROM check_answers WHERE clip_id = 2 AND "
                        "annotator = 'alice' AND check_key = 'audio_only'") == "no"
    assert store.scalar("SELECT transcript FROM clips WHERE id = 2") == \
        "I can't believe you lost them."
    assert store.scalar("SELECT transcript FROM clips WHERE id = 1") == \
        "Thank you so much, this is wonderful!"
    messages = [f"{i.location}: {i.message}" for i in report.issues]
    assert any("train_demo_02.eaf: MELD: alice's 'joy' in the project kept; the file says "
               "'fear'" in m for m in messages)
    assert any("audio_only: alice's 'no' in the project kept" in m for m in messages)
    assert any("transcript: the project's, edited by a person, kept" in m for m in messages)


# --- other people's files ------------------------------------------------------------------------

# Shaped like ELAN's own files (pympi's test/sample_3.0.eaf, written by ELAN): a LICENSE, a
# linked file, a participant, a symbolic child tier, constraints, CVs, segmented tiers.
ELAN_FILE = """<?xml version="1.0" encoding="UTF-8"?>
<ANNOTATION_DOCUMENT AUTHOR="Maria" DATE="2024-05-02T10:00:00+01:00" FORMAT="3.0" VERSION="3.0"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    xsi:noNamespaceSchemaLocation="http://www.mpi.nl/tools/elan/EAFv3.0.xsd">
  <LICENSE LICENSE_URL="http://www.mpi.nl/license.txt">Terms of use</LICENSE>
  <HEADER MEDIA_FILE="" TIME_UNITS="milliseconds">
    <MEDIA_DESCRIPTOR MEDIA_URL="file:///nowhere/session%201.mp4" MIME_TYPE="video/mp4"
        RELATIVE_MEDIA_URL="./media/session%201.mp4"/>
    <LINKED_FILE_DESCRIPTOR LINK_URL="file:///nowhere/tracker.txt" MIME_TYPE="text/plain"
        RELATIVE_LINK_URL="./tracker.txt"/>
    <PROPERTY NAME="URN">urn:nl-mpi-tools-elan-eaf:0b3e1c9e-1111-4f4c-9d7c-2a9e7d2b4c11</PROPERTY>
    <PROPERTY NAME="lastUsedAnnotationId">9</PROPERTY>
  </HEADER>
  <TIME_ORDER>
    <TIME_SLOT TIME_SLOT_ID="ts1" TIME_VALUE="0"/>
    <TIME_SLOT TIME_SLOT_ID="ts2" TIME_VALUE="1200"/>
    <TIME_SLOT TIME_SLOT_ID="ts3" TIME_VALUE="2500"/>
  </TIME_ORDER>
  <TIER LINGUISTIC_TYPE_REF="utterance" PARTICIPANT="A" TIER_ID="Transcription">
    <ANNOTATION><ALIGNABLE_ANNOTATION ANNOTATION_ID="a2" TIME_SLOT_REF1="ts2" TIME_SLOT_REF2="ts3">
      <ANNOTATION_VALUE>the keys again</ANNOTATION_VALUE></ALIGNABLE_ANNOTATION></ANNOTATION>
    <ANNOTATION><ALIGNABLE_ANNOTATION ANNOTATION_ID="a1" TIME_SLOT_REF1="ts1" TIME_SLOT_REF2="ts2">
      <ANNOTATION_VALUE>you lost</ANNOTATION_VALUE></ALIGNABLE_ANNOTATION></ANNOTATION>
  </TIER>
  <TIER ANNOTATOR="Maria" LINGUISTIC_TYPE_REF="MELD-lt" PARTICIPANT="A" TIER_ID="emotion">
    <ANNOTATION><ALIGNABLE_ANNOTATION ANNOTATION_ID="a3" TIME_SLOT_REF1="ts1" TIME_SLOT_REF2="ts3"
        CVE_REF="e1"><ANNOTATION_VALUE>Anger</ANNOTATION_VALUE></ALIGNABLE_ANNOTATION></ANNOTATION>
  </TIER>
  <TIER LINGUISTIC_TYPE_REF="intent-type" TIER_ID="intent@Jon">
    <ANNOTATION><ALIGNABLE_ANNOTATION ANNOTATION_ID="a4" TIME_SLOT_REF1="ts1" TIME_SLOT_REF2="ts2">
      <ANNOTATION_VALUE>complain</ANNOTATION_VALUE></ALIGNABLE_ANNOTATION></ANNOTATION>
    <ANNOTATION><ALIGNABLE_ANNOTATION ANNOTATION_ID="a5" TIME_SLOT_REF1="ts2" TIME_SLOT_REF2="ts3">
      <ANNOTATION_VALUE>joke</ANNOTATION_VALUE></ALIGNABLE_ANNOTATION></ANNOTATION>
  </TIER>
  <TIER LINGUISTIC_TYPE_REF="gloss" PARENT_REF="Transcription" TIER_ID="gesture">
    <ANNOTATION><REF_ANNOTATION ANNOTATION_ID="a6" ANNOTATION_REF="a1">
      <ANNOTATION_VALUE>points</ANNOTATION_VALUE></REF_ANNOTATION></ANNOTATION>
  </TIER>
  <TIER ANNOTATOR="Maria" LINGUISTIC_TYPE_REF="yesno" TIER_ID="check:audio_only">
    <ANNOTATION><ALIGNABLE_ANNOTATION ANNOTATION_ID="a7" TIME_SLOT_REF1="ts1" TIME_SLOT_REF2="ts3">
      <ANNOTATION_VALUE>No</ANNOTATION_VALUE></ALIGNABLE_ANNOTATION></ANNOTATION>
  </TIER>
  <LINGUISTIC_TYPE GRAPHIC_REFERENCES="false" LINGUISTIC_TYPE_ID="utterance"
      TIME_ALIGNABLE="true"/>
  <LINGUISTIC_TYPE CONTROLLED_VOCABULARY_REF="MELD" GRAPHIC_REFERENCES="false"
      LINGUISTIC_TYPE_ID="MELD-lt" TIME_ALIGNABLE="true"/>
  <LINGUISTIC_TYPE CONTROLLED_VOCABULARY_REF="MIntRec" GRAPHIC_REFERENCES="false"
      LINGUISTIC_TYPE_ID="intent-type" TIME_ALIGNABLE="true"/>
  <LINGUISTIC_TYPE CONSTRAINTS="Symbolic_Association" GRAPHIC_REFERENCES="false"
      LINGUISTIC_TYPE_ID="gloss" TIME_ALIGNABLE="false"/>
  <LINGUISTIC_TYPE GRAPHIC_REFERENCES="false" LINGUISTIC_TYPE_ID="yesno" TIME_ALIGNABLE="true"/>
  <LANGUAGE LANG_DEF="http://cdb.iso.org/lg/CDB-00130975-001" LANG_ID="und"
      LANG_LABEL="undetermined (und)"/>
  <CONSTRAINT DESCRIPTION="Time subdivision of parent annotation's time interval, no time gaps
      allowed within this interval" STEREOTYPE="Time_Subdivision"/>
  <CONSTRAINT DESCRIPTION="1-1 association with a parent annotation"
      STEREOTYPE="Symbolic_Association"/>
  <CONTROLLED_VOCABULARY CV_ID="MELD">
    <DESCRIPTION LANG_REF="und"/>
    <CV_ENTRY_ML CVE_ID="e1"><CVE_VALUE LANG_REF="und">anger</CVE_VALUE></CV_ENTRY_ML>
  </CONTROLLED_VOCABULARY>
  <CONTROLLED_VOCABULARY CV_ID="MIntRec"><DESCRIPTION LANG_REF="und"/></CONTROLLED_VOCABULARY>
</ANNOTATION_DOCUMENT>
"""


def elan_session(folder: Path, media_source: Path) -> Path:
    (folder / "media").mkdir(parents=True)
    shutil.copy(media_source, folder / "media" / "session 1.mp4")
    path = folder / "session1.eaf"
    path.write_text(ELAN_FILE, encoding="utf-8")
    return path


def test_an_elan_made_file_imports_by_tier_name_and_linguistic_type(fresh, good_clip, tmp_path):
    path = elan_session(tmp_path / "study", good_clip)
    assert_valid_eaf(path)  # the sample is real EAF 3.0
    report = import_eaf(fresh, path)
    assert report.added == 1 and report.dataset == "study"
    clip = fresh.query("SELECT * FROM clips")[0]
    assert clip["external_id"] == "session1" and clip["media_path"] == "media/session 1.mp4"
    assert clip["transcript"] == "you lost the keys again"  # segments joined in time order
    work = everyones_work(fresh)
    assert work["labels"] == {("", "session1", "MELD", "Maria", "anger")}  # by linguistic type
    assert work["checks"] == {("", "session1", "audio_only", "Maria", "no")}
    issues = [str(i) for i in report.issues]
    assert len(issues) == 2 and all(i.startswith(f"{path}: tier ") for i in issues)
    assert "'Transcription' is segmented (2 annotations): joined" in issues[0]
    assert "'intent@Jon' is segmented (2 annotations: complain, joke)" in issues[1]
    assert fresh.scalar("SELECT count(*) FROM dataset_tasks") == 1  # MELD attached


def test_a_clip_that_has_the_media_gets_the_work(store, tmp_path):
    media = Path(store.scalar("SELECT root FROM datasets WHERE name = 'demo'")) / "demo_02.mp4"
    path = elan_session(tmp_path / "study", media)
    import_eaf(store, path)  # a copy of demo_02's media: a new clip
    text = path.read_text().replace("file:///nowhere/session%201.mp4", media.resolve().as_uri())
    path.write_text(text.replace(' RELATIVE_MEDIA_URL="./media/session%201.mp4"', ""))
    report = import_eaf(store, path)
    assert report.added == 0 and report.updated == 1
    assert store.scalar("SELECT label FROM annotations WHERE clip_id = 2 AND annotator = "
                        "'Maria'") == "anger"
    assert store.scalar("SELECT transcript FROM clips WHERE id = 2") == "you lost the keys again"


def test_bad_files_are_named_and_the_rest_imports(fresh, good_clip, tmp_path, capsys):
    folder = tmp_path / "study"
    elan_session(folder, good_clip)
    (folder / "broken.eaf").write_text("<ANNOTATION_DOCUMENT><HEADER>", encoding="utf-8")
    (folder / "sub").mkdir()
    (folder / "sub" / "other.eaf").write_text("<TEI/>", encoding="utf-8")
    text_only = ELAN_FILE.replace("./media/session%201.mp4", "./gone.mp4")
    (folder / "sub" / "lost.eaf").write_text(text_only, encoding="utf-8")
    db = tmp_path / "fresh.sqlite"
    fresh.close()
    assert main(["--db", str(db), "import", str(folder), "--no-probe"]) == 3
    out = capsys.readouterr().out
    assert f"{folder / 'broken.eaf'}: not imported: not a readable XML file" in out
    assert f"{folder / 'sub' / 'other.eaf'}: not imported: root element is <TEI>" in out
    assert f"{folder / 'sub' / 'lost.eaf'}: media not found" in out
    with open_store(db) as store:
        ids = {r[0] for r in store.conn.execute("SELECT external_id FROM clips")}
        assert ids == {"session1", "lost"}
        assert store.scalar("SELECT media_path FROM clips WHERE external_id = 'lost'") is None
        set_transcript(store, store.scalar("SELECT id FROM clips WHERE external_id = 'lost'"),
                       "curated text", "alice")
        (folder / "sub" / "session1.eaf").write_text(  # same id, other media: not merged
            ELAN_FILE.replace("./media/session%201.mp4", "../media/other.mp4"), encoding="utf-8")
        shutil.copy(good_clip, folder / "media" / "other.mp4")
        report = import_eaf(store, folder)
        assert report.added == 1 and {r[0] for r in store.conn.execute(
            "SELECT external_id FROM clips")} == {"session1", "lost", "session1~2"}
        assert any("clip id 'session1' (split '') is another clip of dataset 'study'; "
                   "imported as 'session1~2'" in str(i) for i in report.issues)
        assert store.scalar("SELECT transcript FROM clips WHERE external_id = 'lost'") == \
            "curated text"  # the text-only clip was found again, its edited text kept


def test_what_import_detects_and_refuses(tmp_path, good_clip):
    path = elan_session(tmp_path / "study", good_clip)
    assert detect_kind(path) == "eaf" and detect_kind(tmp_path / "study") == "eaf"
    assert detect_kind(tmp_path / "study" / "media") == "folder"
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    (tmp_path / "empty" / "notes.txt").write_text("hi")
    for bad in (tmp_path / "empty", tmp_path / "empty" / "notes.txt", tmp_path / "gone.eaf"):
        with pytest.raises(DatasetImportError, match=r"nothing to import|not a file|no such"):
            detect_kind(bad)
    with open_store(tmp_path / "p.sqlite") as store:
        with pytest.raises(DatasetImportError, match="nothing to import"):
            import_folder(store, tmp_path / "empty")
        with pytest.raises(DatasetImportError, match=r"no \.eaf files"):
            import_path(store, tmp_path / "empty", kind="eaf")
        (report,) = import_path(store, tmp_path / "study", kind="eaf", name="mine")
        assert report.dataset == "mine" and report.added == 1


def test_cli_imports_one_eaf_file(tmp_path, good_clip, capsys):
    path = elan_session(tmp_path / "study", good_clip)
    db = tmp_path / "p.sqlite"
    assert main(["--db", str(db), "import", str(path), "--kind", "eaf", "--no-probe"]) == 3
    assert "study: 1 clip (1 added" in capsys.readouterr().out
    assert main(["--db", str(db), "import", str(tmp_path / "nothing")]) == 1


def test_tiers_of_a_task_not_in_the_dataset_attach_it(store, fresh, tmp_path):
    mintrec = task_by_name(store, "MIntRec")[0]
    attach_task(store, 1, mintrec)
    meld_da = task_by_name(store, "MELD-DA")[0]
    set_label(store, 1, meld_da, "question", "alice")
    export_eaf(store, tmp_path / "eaf", dataset="demo", split="train")
    import_eaf(fresh, tmp_path / "eaf", name="again")
    attached = {r[0] for r in fresh.conn.execute(
        "SELECT t.name FROM dataset_tasks dt JOIN tasks t ON t.id = dt.task_id")}
    assert attached == {"MELD", "MIntRec", "MELD-DA"}


def test_reimport_whose_media_went_missing_goes_to_the_same_clip(fresh, good_clip, tmp_path):
    """Before: the clip's media not found, the file's work went to a new text-only clip
    `session1~2` beside the clip that holds it."""
    path = elan_session(tmp_path / "study", good_clip)
    first = import_eaf(fresh, path)
    (tmp_path / "study" / "media" / "session 1.mp4").unlink()
    again = import_eaf(fresh, path)
    clips = fresh.query("SELECT external_id, media_path, health FROM clips")
    assert clips == [{"external_id": "session1", "media_path": "media/session 1.mp4",
                      "health": "missing_file"}]
    assert again.added == 0 and again.media_missing == 1 and again.text_only == 0
    assert again.dataset_id == first.dataset_id
    missing = str(tmp_path / "study" / "media" / "session 1.mp4")
    assert f"{path}: media file {missing!r} is missing: its clip 'session1' (study) keeps it " \
        "and gets this file's work, marked missing_file, not text-only (`mmla media probe` " \
        "probes it again once it is back)" in [str(i) for i in again.issues]
    assert not any("text-only" in i.message and "missing" not in i.message
                   for i in again.issues), again.issues


def test_a_text_variants_file_never_lands_on_its_parent(store, tmp_path):
    """User guide 'ELAN, both directions': re-importing our own export wrote each text
    variant's transcript (its misleading caption) over its parent's, whose media the file
    names. The file's mmla:clip says whose it is; a project without that clip refuses it."""
    from mmla_core.variants.store_ops import create_variant

    parent_text = store.scalar("SELECT transcript FROM clips WHERE id = 1")
    variant = create_variant(store, 1, [("caption_misleading", {"mode": "prepend",
                                                               "caption": "anger"})]).clip_id
    set_label(store, variant, task_by_name(store, "MELD")[0], "anger", "ana")
    export_eaf(store, tmp_path / "eaf", dataset="demo")
    set_label(store, variant, task_by_name(store, "MELD")[0], "fear", "bob")
    report = import_eaf(store, tmp_path / "eaf")
    assert store.scalar("SELECT transcript FROM clips WHERE id = 1") == parent_text
    assert report.updated == 0 and not report.issues
    assert store.scalar("SELECT count(*) FROM annotations WHERE clip_id = 1 AND annotator = "
                        "'ana'") == 0  # the variant's label stayed the variant's
    with open_store(tmp_path / "other.sqlite") as other:
        from mmla_core.demo import ensure_demo
        ensure_demo(other)
        again = import_eaf(other, tmp_path / "eaf")
        assert other.scalar("SELECT transcript FROM clips WHERE id = 1") == parent_text
        assert again.skipped == 1 and "names its parent's media" in str(again.issues[0])
