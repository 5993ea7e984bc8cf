"""Hypothesis on the ELAN importer: random .eaf documents (tier names, annotators, values, media
URLs, linguistic types) never crash it. It refuses a whole input only with DatasetImportError;
otherwise every problem is an issue naming its file, the project stays intact, and every label
it wrote is one of its task's labels. CI runs 60 documents, each imported into a fresh project.
"""

from __future__ import annotations

import functools
import shutil
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mmla_core.datasets.auto import import_path
from mmla_core.datasets.report import DatasetImportError
from mmla_core.store.db import open_store
from mmla_core.tasks import MMLA_TASKS

CI_FILES = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TASK_NAMES = [t.name for t in MMLA_TASKS]
NASTY = ["", " ", "@", "@@", "check:", "check:@x", "verdict", "VERDICT@bob", "transcript",
         "Transcription@", "..", "\t", "é", "日本", "\U0001f600", "import", "adjudicated:x",
         "accept", "reject", "yes", "No", "unsure", "joy", "Anger", "intent: greet"]
URLS = ["", "file:///nowhere/a.mp4", "file:///a%00b.mp4", "./a%00b.mp4", "%", "%zz.mp4",
        "file://host/share/x.mp4", "../../../../etc/passwd", "./media/a b.mp4", "http://x/y.mp4",
        "./.mp4", "file:"]
text = st.one_of(st.text(max_size=12), st.sampled_from(NASTY + TASK_NAMES))
BASES = [*TASK_NAMES, "check:audio_only", "verdict", "transcript"]
tier_ids = st.builds(lambda base, who: base + who, st.one_of(st.sampled_from(BASES), text),
                     st.one_of(st.just(""), text.map(lambda w: "@" + w)))


@st.composite
def eaf_documents(draw) -> bytes:
    root = ET.Element("ANNOTATION_DOCUMENT", {"AUTHOR": "", "DATE": "2024-01-01T00:00:00Z",
                                              "FORMAT": "3.0", "VERSION": "3.0"})
    header = ET.SubElement(root, "HEADER", {"MEDIA_FILE": "", "TIME_UNITS": "milliseconds"})
    for _ in range(draw(st.integers(0, 2))):
        ET.SubElement(header, "MEDIA_DESCRIPTOR", {
            "MEDIA_URL": draw(st.sampled_from(URLS)), "MIME_TYPE": "video/mp4",
            "RELATIVE_MEDIA_URL": draw(st.sampled_from(URLS))})
    if draw(st.booleans()):
        ET.SubElement(header, "PROPERTY", {"NAME": "mmla:clip"}).text = draw(text)
    order = ET.SubElement(root, "TIME_ORDER")
    for i, value in enumerate(draw(st.lists(st.sampled_from(["0", "500", "900", None]),
                                            min_size=1, max_size=4))):
        ET.SubElement(order, "TIME_SLOT", {"TIME_SLOT_ID": f"ts{i}",
                                           **({"TIME_VALUE": value} if value else {})})
    slots = len(order)
    for t, tier_id in enumerate(draw(st.lists(tier_ids, max_size=6, unique=True))):
        attrs = {"TIER_ID": tier_id, "LINGUISTIC_TYPE_REF": draw(
            st.sampled_from(["default-lt", "MELD-lt", "MIntRec", "ghost"]))}
        if draw(st.booleans()):
            attrs["ANNOTATOR"] = draw(text)
        tier = ET.SubElement(root, "TIER", attrs)
        for a, value in enumerate(draw(st.lists(text, max_size=3))):
            ann = ET.SubElement(ET.SubElement(tier, "ANNOTATION"), "ALIGNABLE_ANNOTATION", {
                "ANNOTATION_ID": f"a{t}_{a}", "TIME_SLOT_REF1": "ts0",
                "TIME_SLOT_REF2": f"ts{draw(st.integers(0, slots - 1))}"})
            ET.SubElement(ann, "ANNOTATION_VALUE").text = value
    for lt, cv in (("MELD-lt", "MELD"), ("MIntRec", "MIntRec"), ("default-lt", None)):
        ET.SubElement(root, "LINGUISTIC_TYPE", {"LINGUISTIC_TYPE_ID": lt,
                                                **({"CONTROLLED_VOCABULARY_REF": cv} if cv
                                                   else {})})
    return ET.tostring(root, encoding="utf-8")


@functools.cache
def empty_project() -> Path:
    path = Path(tempfile.mkdtemp(prefix="fuzz-eaf-template-")) / "empty.sqlite"
    open_store(path).close()
    return path


@CI_FILES
@given(data=eaf_documents())
def test_random_eaf_files_never_crash_the_import(data):
    root = Path(tempfile.mkdtemp(prefix="fuzz-eaf-"))
    try:
        (root / "study").mkdir()
        (root / "study" / "a.eaf").write_bytes(data)
        shutil.copy(empty_project(), root / "p.sqlite")  # migrating a new file costs ~80 ms
        with open_store(root / "p.sqlite") as store:
            try:
                (report,) = import_path(store, root / "study")
            except DatasetImportError as exc:
                assert str(exc)
                return
            assert all(issue.location and issue.message for issue in report.issues)
            assert store.integrity_ok()
            tasks = {t.name: t.labels for t in MMLA_TASKS}
            for name, label in store.conn.execute(
                    "SELECT t.name, a.label FROM annotations a JOIN tasks t ON t.id = a.task_id"):
                assert label in tasks[name]
    finally:
        shutil.rmtree(root, ignore_errors=True)
