"""Hypothesis on the manifest importers and the answer / label parsers.

Importers (folder + CSV / JSONL manifest, MMLA TSV, sharegpt JSON / JSONL) get files of random
rows: they may refuse a whole input only with DatasetImportError, otherwise they import what they
can and report every other problem as an issue with a location. The answer parser (MMLA's
`clean`) never raises and always names a label, "unknown" or "multi"; a well-formed answer for
any label of any MMLA task parses back to that label. CI runs 200 examples per parser property and
60 per importer (each imports a file); the `long` versions run 2000.
"""

from __future__ import annotations

import functools
import json
import shutil
import string
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mmla_core.answers import MULTI, UNKNOWN, clean
from mmla_core.datasets.auto import detect_kind, import_path
from mmla_core.datasets.common import match_label
from mmla_core.datasets.report import DatasetImportError
from mmla_core.prompts import answer
from mmla_core.store.db import open_store
from mmla_core.tasks import MMLA_TASKS

CI = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CI_FILES = settings(CI, max_examples=60)  # each example imports a file into a fresh project
LONG = settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TASK_NAMES = [t.name for t in MMLA_TASKS]
LABELS = [label for t in MMLA_TASKS for label in t.labels]
NASTY = ["", " ", "..", "../x.mp4", "/etc/passwd", "a.mp4", "sub/../a.mp4", "\x00", "\ufeff",
         "\"", "'", ",", "\t", "\r", "\n", "\\", "label:MELD", "MELD", "emotion: joy", "NaN",
         "1e309", "{}", "[]", "null", "é", "日本", "\U0001f600", "\udcff"]
cells = st.one_of(st.text(max_size=30), st.sampled_from(NASTY + LABELS + TASK_NAMES))
HEADERS = ["path", "external_id", "id", "split", "transcript", "utterance", "label", "task",
           "emotion", "MELD", "label:MELD", "labels", "index", "intent", "tasks", "media_path"]


@st.composite
def table_rows(draw, delimiter: str) -> str:
    header = draw(st.lists(st.one_of(st.sampled_from(HEADERS), st.text(max_size=8)),
                           min_size=0, max_size=6))
    rows = draw(st.lists(st.lists(cells, max_size=7), max_size=8))
    lines = [delimiter.join(header)] + [delimiter.join(row) for row in rows]
    return draw(st.sampled_from(["", "\ufeff"])) + draw(st.sampled_from(["\n", "\r\n"])).join(
        lines)


JSON_KEYS = [*HEADERS, "conversations", "videos", "from", "value"]
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), cells),
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.sampled_from(JSON_KEYS), inner, max_size=5)),
    max_leaves=12)
jsonl_text = st.lists(st.one_of(json_values.map(json.dumps), cells), max_size=8).map("\n".join)


@functools.cache
def empty_project() -> Path:
    path = Path(tempfile.mkdtemp(prefix="fuzz-template-")) / "empty.sqlite"
    open_store(path).close()
    return path


def import_bytes(layout: str, data: bytes) -> None:
    """Write `data` where `layout` expects it, import it into a fresh project, check the report."""
    root = Path(tempfile.mkdtemp(prefix="fuzz-"))
    try:
        target = {"csv": root / "clips" / "manifest.csv",
                  "jsonl": root / "clips" / "manifest.jsonl",
                  "tsv": root / "mmla" / "MELD" / "train.tsv",
                  "sharegpt": root / "train.jsonl"}[layout]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        source = {"csv": root / "clips", "jsonl": root / "clips", "tsv": root / "mmla",
                  "sharegpt": target}[layout]
        shutil.copy(empty_project(), root / "p.sqlite")  # migrating a new file costs ~80 ms
        kind = "auto"
        if layout == "tsv":  # the kind picker reads the header too; the parser reads any file
            assert detected_or_refused(source) in ("mmla", None)
            kind = "mmla"
        with open_store(root / "p.sqlite") as store:
            try:
                reports = import_path(store, source, kind=kind)
            except DatasetImportError as exc:
                assert str(exc)  # a refusal says why
                return
            for report in reports:
                assert all(issue.location and issue.message for issue in report.issues)
            assert store.integrity_ok()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def detected_or_refused(source: Path) -> str | None:
    """The kind auto-detection picks, or None for a refusal that says why."""
    try:
        return detect_kind(source)
    except DatasetImportError as exc:
        assert str(exc)
        return None


def encoded(text: str, encoding: str) -> bytes:
    return text.encode(encoding, errors="surrogatepass" if encoding == "utf-8" else "replace")


ENCODINGS = st.sampled_from(["utf-8", "utf-16", "latin-1", "cp1252"])


@CI_FILES
@given(text=table_rows(","), encoding=ENCODINGS)
def test_csv_manifest_rows_never_crash_the_import(text, encoding):
    import_bytes("csv", encoded(text, encoding))


@CI_FILES
@given(text=jsonl_text, encoding=ENCODINGS)
def test_jsonl_manifest_rows_never_crash_the_import(text, encoding):
    import_bytes("jsonl", encoded(text, encoding))


@CI_FILES
@given(text=table_rows("\t"), encoding=ENCODINGS)
def test_mmla_tsv_rows_never_crash_the_import(text, encoding):
    import_bytes("tsv", encoded(text, encoding))


@CI_FILES
@given(text=jsonl_text)
def test_sharegpt_records_never_crash_the_import(text):
    import_bytes("sharegpt", encoded(text, "utf-8"))


@CI
@given(prediction=st.text(max_size=200), task_index=st.integers(0, len(MMLA_TASKS) - 1))
def test_answer_parser_always_names_a_label_unknown_or_multi(prediction, task_index):
    task = MMLA_TASKS[task_index]
    parsed = clean(prediction, task.labels, task.prompt_word)
    assert parsed in (*task.labels, UNKNOWN, MULTI)
    assert match_label(task, prediction) in (*task.labels, None)


@CI
@given(task_index=st.integers(0, len(MMLA_TASKS) - 1), data=st.data())
def test_a_well_formed_answer_parses_back_to_its_label(task_index, data):
    task = MMLA_TASKS[task_index]
    label = data.draw(st.sampled_from(task.labels))
    kind = data.draw(st.sampled_from(["sft", "text_sft"]))
    case = data.draw(st.sampled_from([str, str.upper, str.lower]))
    padding = data.draw(st.sampled_from(["", " ", "\n", ".", " \n"]))
    text = case(answer(task, label, kind=kind)) + padding
    assert clean(text, task.labels, task.prompt_word) == label
    assert clean(label, task.labels, task.prompt_word) == label  # a bare label too
    assert match_label(task, answer(task, label)) == label


@pytest.mark.long
@LONG
@given(text=table_rows(","), encoding=ENCODINGS)
def test_csv_manifest_fuzz_long(text, encoding):
    import_bytes("csv", encoded(text, encoding))


@pytest.mark.long
@LONG
@given(text=jsonl_text, encoding=ENCODINGS)
def test_jsonl_manifest_fuzz_long(text, encoding):
    import_bytes("jsonl", encoded(text, encoding))


@pytest.mark.long
@LONG
@given(text=table_rows("\t"), encoding=ENCODINGS)
def test_mmla_tsv_fuzz_long(text, encoding):
    import_bytes("tsv", encoded(text, encoding))


@pytest.mark.long
@LONG
@given(text=jsonl_text)
def test_sharegpt_fuzz_long(text):
    import_bytes("sharegpt", encoded(text, "utf-8"))


@pytest.mark.long
@LONG
@given(prediction=st.text(alphabet=string.printable + "éü日", max_size=400),
       task_index=st.integers(0, len(MMLA_TASKS) - 1))
def test_answer_parser_fuzz_long(prediction, task_index):
    task = MMLA_TASKS[task_index]
    assert clean(prediction, task.labels, task.prompt_word) in (*task.labels, UNKNOWN, MULTI)
