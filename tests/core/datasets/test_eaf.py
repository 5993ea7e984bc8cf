"""ELAN .eaf export: EAF 3.0 structure, media links, round trips, and a reader that refuses junk."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import unquote

import pytest

from mmla_core.datasets.eaf import EafError, eaf_file_name, export_eaf, read_eaf
from mmla_core.datasets.export import ExportError
from mmla_core.store.catalog import task_by_name, upsert_clips
from mmla_core.store.labels import set_check_answer, set_label
from mmla_core.store.review import mark_reviewed
from mmla_core.store.verdicts import Selection
from tests.support.eaf_schema import assert_valid_eaf


@pytest.fixture
def store(demo_store):
    return demo_store


def test_one_valid_eaf_per_clip_linked_to_its_media(store, tmp_path):
    files = export_eaf(store, tmp_path / "eaf", dataset="demo")
    assert len(files) == 8 and not files.skipped
    for path in files:
        assert_valid_eaf(path)
    path = tmp_path / "eaf" / "train_demo_01.eaf"
    assert path in files
    root = ET.parse(path).getroot()
    media = root.find("HEADER/MEDIA_DESCRIPTOR")
    clip_file = Path(store.scalar("SELECT root FROM datasets WHERE name = 'demo'")) / "demo_01.mp4"
    assert media.get("MEDIA_URL") == clip_file.resolve().as_uri()
    assert media.get("MIME_TYPE") == "video/mp4"
    relative = (tmp_path / "eaf" / media.get("RELATIVE_MEDIA_URL")).resolve()
    assert relative == clip_file.resolve()
    duration = store.scalar("SELECT duration_s FROM clips WHERE id = 1")
    assert [int(s.get("TIME_VALUE")) for s in root.iter("TIME_SLOT")] == [0, round(duration * 1000)]
    last = root.find("HEADER/PROPERTY[@NAME='lastUsedAnnotationId']")
    assert int(last.text) == len(list(root.iter("ALIGNABLE_ANNOTATION")))


def test_the_schema_check_catches_what_elan_would_refuse(tmp_path):
    """The validator is real: a tier naming an undefined linguistic type fails it."""
    path = tmp_path / "bad.eaf"
    path.write_text('<ANNOTATION_DOCUMENT AUTHOR="" DATE="2024-01-01T00:00:00+00:00" '
                    'FORMAT="3.0" VERSION="3.0"><HEADER MEDIA_FILE="" TIME_UNITS="milliseconds"/>'
                    '<TIME_ORDER/><TIER TIER_ID="x" LINGUISTIC_TYPE_REF="nope"/>'
                    '<LINGUISTIC_TYPE LINGUISTIC_TYPE_ID="lt"/></ANNOTATION_DOCUMENT>')
    with pytest.raises(AssertionError, match="linTypeNameKey"):
        assert_valid_eaf(path)


def test_every_annotators_work_on_its_own_tier(store, tmp_path):
    """A curator's "No" and reject survive next to another annotator's yes and accept."""
    meld = task_by_name(store, "MELD")[0]
    set_label(store, 2, meld, "fear", "alice")
    set_label(store, 2, meld, "sadness", "bob")
    for key in ("visual_only", "audio_only", "full_visual", "full_audio"):
        set_check_answer(store, 2, key, "yes", "alice")
        set_check_answer(store, 2, key, "no" if key == "audio_only" else "yes", "bob")
    mark_reviewed(store, 2, "alice")
    mark_reviewed(store, 2, "bob")
    files = export_eaf(store, tmp_path / "default", dataset="demo")
    assert len(files) == 7 and files.labels["left_out"] == {"rejected": 1, "not_accepted": 0}
    info = json.loads((tmp_path / "default" / "mmla_export.json").read_text())
    assert info["train_demo_01.eaf"]["labels"]["left_out"]["rejected"] == 1  # own metadata
    export_eaf(store, tmp_path / "eaf", dataset="demo", selection=Selection(include_rejected=True))
    path = tmp_path / "eaf" / "train_demo_02.eaf"
    assert_valid_eaf(path)
    doc = read_eaf(path)
    values = doc.values()
    assert values["MELD@import"] == "anger" and values["MELD@alice"] == "fear"
    assert values["MELD@bob"] == "sadness" and values["MIntRec@import"] == "complain"
    assert values["transcript"] == "I can't believe you lost the keys again."
    assert values["check:audio_only@alice"] == "yes" and values["check:audio_only@bob"] == "no"
    assert values["verdict@alice"] == "accept" and values["verdict@bob"] == "reject"
    assert values["verdict"] == "reject" and doc.tiers["verdict"].annotator == "bob"
    assert doc.tiers["MELD@bob"].annotator == "bob"
    assert doc.tiers["MELD@import"].annotator == "import"
    assert doc.tiers["MELD@bob"].type_ref == doc.tiers["MELD@alice"].type_ref == "MELD-lt"
    # the label policy's tier: curated = the latest label by a person (bob's), source named
    assert values["MELD"] == "sadness" and doc.tiers["MELD"].annotator == "curated (person)"
    assert values["MIntRec"] == "complain" and doc.tiers["MIntRec"].annotator == "curated (import)"
    assert doc.properties["mmla:labels"] == "curated"
    assert doc.vocabularies["MELD"][:2] == ["neutral", "surprise"]
    assert doc.vocabularies["check-answers"] == ["yes", "no", "unsure"]
    assert doc.properties["mmla:clip"] == "demo_02" and doc.properties["mmla:split"] == "train"
    start, end, _ = doc.tiers["MELD@alice"].annotations[0]
    assert start == 0 and end > 2000


def test_the_policy_tier_follows_the_chosen_source_and_names_ties(store, tmp_path):
    meld = task_by_name(store, "MELD")[0]
    set_label(store, 2, meld, "fear", "alice")  # import says anger: a 1-1 tie
    files = export_eaf(store, tmp_path / "maj", dataset="demo", split="train",
                       selection=Selection("majority"))
    doc = read_eaf(tmp_path / "maj" / "train_demo_02.eaf")
    assert doc.tiers["MELD"].annotations == []
    assert doc.tiers["MELD"].annotator == "majority (unresolved: anger / fear)"
    assert doc.values()["MIntRec"] == "complain"
    assert files.labels["source"] == "majority" and files.labels["counts"]["unresolved"] == 1
    export_eaf(store, tmp_path / "imp", dataset="demo", split="train",
               selection=Selection("import"))
    doc = read_eaf(tmp_path / "imp" / "train_demo_02.eaf")
    assert doc.values()["MELD"] == "anger" and doc.tiers["MELD"].annotator == "import (import)"


def test_a_label_of_a_task_not_attached_to_the_dataset_gets_its_tier(store, tmp_path):
    task_id, _ = task_by_name(store, "MELD-DA")
    set_label(store, 3, task_id, "question", "carol")  # MELD-DA is not one of demo's tasks
    export_eaf(store, tmp_path / "eaf", dataset="demo", split="train")
    path = tmp_path / "eaf" / "train_demo_03.eaf"
    assert_valid_eaf(path)
    doc = read_eaf(path)
    assert doc.values()["MELD-DA@carol"] == "question"
    assert "question" in doc.vocabularies["MELD-DA"]
    assert "MELD-DA@carol" not in read_eaf(tmp_path / "eaf" / "train_demo_01.eaf").tiers


def test_one_annotators_work_and_empty_tiers_ready_for_elan(store, tmp_path):
    meld = task_by_name(store, "MELD")[0]
    set_label(store, 1, meld, "surprise", "bob")
    set_check_answer(store, 1, "audio_only", "no", "bob")
    export_eaf(store, tmp_path / "eaf", dataset="demo", annotator="bob", split="train")
    path = tmp_path / "eaf" / "train_demo_01.eaf"
    assert_valid_eaf(path)
    doc = read_eaf(path)
    assert doc.values() == {"transcript": "Thank you so much, this is wonderful!",
                            "MELD@bob": "surprise", "check:audio_only@bob": "no"}
    empty = doc.tiers["MIntRec@bob"]
    assert empty.annotations == [] and empty.annotator == "bob"
    assert "verdict@bob" in doc.tiers and "MELD@import" not in doc.tiers
    assert len(list((tmp_path / "eaf").glob("*.eaf"))) == 3  # train only


def test_media_urls_are_percent_encoded_and_survive_a_folder_move(store, tmp_path):
    media = tmp_path / "project" / "media"
    media.mkdir(parents=True)
    demo_root = Path(store.scalar("SELECT root FROM datasets WHERE name = 'demo'"))
    shutil.copy(demo_root / "demo_01.mp4", media / "take #1 final.mp4")
    with store.write() as conn:
        conn.execute("UPDATE datasets SET root = ? WHERE name = 'demo'", (str(media),))
        conn.execute("UPDATE clips SET media_path = 'take #1 final.mp4' WHERE id = 1")
    export_eaf(store, tmp_path / "project" / "eaf", dataset="demo", split="train")
    path = tmp_path / "project" / "eaf" / "train_demo_01.eaf"
    assert_valid_eaf(path)
    descriptor = read_eaf(path).media[0]
    assert descriptor["RELATIVE_MEDIA_URL"] == "../media/take%20%231%20final.mp4"
    assert descriptor["MEDIA_URL"].endswith("/media/take%20%231%20final.mp4")
    moved = tmp_path / "elsewhere"
    shutil.move(tmp_path / "project", moved)
    url = read_eaf(moved / "eaf" / path.name).media[0]["RELATIVE_MEDIA_URL"]
    assert (moved / "eaf" / unquote(url)).resolve() == (moved / "media" / "take #1 final.mp4")


def test_clips_without_media_or_duration_are_skipped_with_reasons(store, tmp_path):
    upsert_clips(store, 1, [
        {"split": "dev", "external_id": "text_only", "media_path": None, "transcript": "hi"},
        {"split": "dev", "external_id": "unprobed", "media_path": "gone.mp4", "transcript": ""},
        {"split": "dev", "external_id": "escape", "media_path": "../../etc/x.mp4",
         "transcript": ""},
    ])
    with store.write() as conn:
        conn.execute("UPDATE clips SET duration_s = 1.0 WHERE external_id = 'escape'")
    files = export_eaf(store, tmp_path / "eaf", dataset=1, split="dev")
    assert len(files) == 2
    assert dict(files.skipped) == {"no_media": 1, "unprobed (run `mmla media probe`)": 1,
                                   "unsafe_path": 1}
    with pytest.raises(ExportError, match="no dataset"):
        export_eaf(store, tmp_path / "eaf", dataset="nope")


def test_file_names_are_safe():
    assert eaf_file_name({"split": "train", "external_id": "S01/E02 #3"}) == "train_S01_E02_3.eaf"
    assert eaf_file_name({"split": "", "external_id": "a.b-c"}) == "a.b-c.eaf"


def test_long_clip_names_give_short_distinct_file_names(tmp_path):
    """A 246-character clip name made a file name past the filesystem's 255 bytes (with the
    atomic write's temporary suffix), and `mmla export-eaf` stopped at that clip."""
    long_a, long_b = "x" * 246, "x" * 245 + "y"
    names = [eaf_file_name({"split": "train", "external_id": e}) for e in (long_a, long_b)]
    assert names[0] != names[1]
    for name in [*names, eaf_file_name({"split": "", "external_id": "é" * 200})]:
        assert len(name.encode("utf-8")) <= 200 and name.endswith(".eaf")
        (tmp_path / f".{name}.pid123456.abcdefgh.tmp").write_text("")  # the atomic write's
    assert names[0].startswith("train_xxxx")


# --- the reader on other people's files --------------------------------------------------------

ELAN_STYLE = """<?xml version="1.0" encoding="UTF-8"?>
<ANNOTATION_DOCUMENT AUTHOR="x" DATE="2024-01-01T00:00:00+00:00" FORMAT="3.0" VERSION="3.0">
  <HEADER MEDIA_FILE="" TIME_UNITS="milliseconds"/>
  <TIME_ORDER>
    <TIME_SLOT TIME_SLOT_ID="ts1" TIME_VALUE="100"/>
    <TIME_SLOT TIME_SLOT_ID="ts2"/>
    <TIME_SLOT TIME_SLOT_ID="ts3" TIME_VALUE="900"/>
  </TIME_ORDER>
  <TIER LINGUISTIC_TYPE_REF="lt" TIER_ID="words">
    <ANNOTATION><ALIGNABLE_ANNOTATION ANNOTATION_ID="a1" TIME_SLOT_REF1="ts1"
      TIME_SLOT_REF2="ts2"><ANNOTATION_VALUE>hel</ANNOTATION_VALUE></ALIGNABLE_ANNOTATION>
    </ANNOTATION>
    <ANNOTATION><ALIGNABLE_ANNOTATION ANNOTATION_ID="a2" TIME_SLOT_REF1="ts2"
      TIME_SLOT_REF2="ts3"><ANNOTATION_VALUE>lo</ANNOTATION_VALUE></ALIGNABLE_ANNOTATION>
    </ANNOTATION>
  </TIER>
  <TIER LINGUISTIC_TYPE_REF="lt" TIER_ID="gloss2" PARENT_REF="gloss">
    <ANNOTATION><REF_ANNOTATION ANNOTATION_ID="a4" ANNOTATION_REF="a3">
      <ANNOTATION_VALUE>HI</ANNOTATION_VALUE></REF_ANNOTATION></ANNOTATION>
  </TIER>
  <TIER LINGUISTIC_TYPE_REF="lt" TIER_ID="gloss" PARENT_REF="words">
    <ANNOTATION><REF_ANNOTATION ANNOTATION_ID="a3" ANNOTATION_REF="a2">
      <ANNOTATION_VALUE>hi</ANNOTATION_VALUE></REF_ANNOTATION></ANNOTATION>
  </TIER>
  <LINGUISTIC_TYPE LINGUISTIC_TYPE_ID="lt" TIME_ALIGNABLE="true"/>
  <CONTROLLED_VOCABULARY CV_ID="old"><CV_ENTRY DESCRIPTION="">A</CV_ENTRY></CONTROLLED_VOCABULARY>
</ANNOTATION_DOCUMENT>
"""


def test_reader_handles_unaligned_slots_symbolic_chains_and_old_vocabularies(tmp_path):
    path = tmp_path / "elan.eaf"
    path.write_text(ELAN_STYLE, encoding="utf-8")
    doc = read_eaf(path)
    assert doc.tiers["words"].annotations == [(100, None, "hel"), (None, 900, "lo")]
    assert doc.tiers["gloss"].annotations == [(None, 900, "hi")]
    assert doc.tiers["gloss2"].annotations == [(None, 900, "HI")]  # a chain, out of order
    assert doc.vocabularies == {"old": ["A"]} and doc.media == []


@pytest.mark.parametrize(("text", "message"), [
    (None, "no such file"),
    ("", "not a readable XML"),
    ("<ANNOTATION_DOCUMENT><HEADER>", "not a readable XML"),
    ("\xff\xfe garbage", "not a readable XML"),
    ("<TEI/>", "not <ANNOTATION_DOCUMENT>"),
    ("<ANNOTATION_DOCUMENT/>", "no <TIME_ORDER>"),
    ("<ANNOTATION_DOCUMENT><TIME_ORDER><TIME_SLOT/></TIME_ORDER></ANNOTATION_DOCUMENT>",
     "no TIME_SLOT_ID"),
    ('<ANNOTATION_DOCUMENT><TIME_ORDER><TIME_SLOT TIME_SLOT_ID="t" TIME_VALUE="1.5s"/>'
     "</TIME_ORDER></ANNOTATION_DOCUMENT>", "not a whole number"),
    ("<ANNOTATION_DOCUMENT><TIME_ORDER/><TIER/></ANNOTATION_DOCUMENT>", "no TIER_ID"),
    ('<ANNOTATION_DOCUMENT><TIME_ORDER/><TIER TIER_ID="t"><ANNOTATION><ALIGNABLE_ANNOTATION '
     'ANNOTATION_ID="a" TIME_SLOT_REF1="x" TIME_SLOT_REF2="y"/></ANNOTATION></TIER>'
     "</ANNOTATION_DOCUMENT>", "unknown time slot"),
    ('<ANNOTATION_DOCUMENT><TIME_ORDER><TIME_SLOT TIME_SLOT_ID="a" TIME_VALUE="9"/>'
     '<TIME_SLOT TIME_SLOT_ID="b" TIME_VALUE="1"/></TIME_ORDER><TIER TIER_ID="t"><ANNOTATION>'
     '<ALIGNABLE_ANNOTATION ANNOTATION_ID="x" TIME_SLOT_REF1="a" TIME_SLOT_REF2="b"/>'
     "</ANNOTATION></TIER></ANNOTATION_DOCUMENT>", "ends"),
    ('<ANNOTATION_DOCUMENT><TIME_ORDER/><TIER TIER_ID="t"><ANNOTATION><REF_ANNOTATION '
     'ANNOTATION_ID="r" ANNOTATION_REF="ghost"/></ANNOTATION></TIER></ANNOTATION_DOCUMENT>',
     "unknown annotation 'ghost'"),
])
def test_reader_names_what_is_wrong(tmp_path, text, message):
    path = tmp_path / "bad.eaf"
    if text is not None:
        path.write_bytes(text.encode("latin-1"))
    with pytest.raises(EafError, match=message) as info:
        read_eaf(path)
    assert str(path) in str(info.value)
