"""ELAN `.eaf` (EAF 3.0) export of labels and check answers, and a reader for round trips.

One EAF per clip, linked to the clip's own media file. That is what ELAN users expect: an EAF
document is time-aligned to its media (MEDIA_DESCRIPTOR), so opening it plays the clip under its
tiers, and ELAN's multiple-file tools (search, statistics, inter-annotator reliability) work over a
folder of EAFs. A single EAF over concatenated clips would point at no playable media.

Each clip document has a `transcript` tier, one tier per task (its label set as a controlled
vocabulary), one `check:<key>` tier per alignment check (yes / no / unsure vocabulary) and a
`verdict` tier (accept / reject): one annotation spanning the whole clip, or an empty tier ready
to annotate in ELAN. Element order and required attributes follow EAFv3.0.xsd.
"""

from __future__ import annotations

import mimetypes
import os
import re
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from mmla_core.checks import dataset_checks
from mmla_core.datasets.export import ExportedFiles, ExportError
from mmla_core.fsutil import write_text_atomic
from mmla_core.paths import PathEscapeError, confine
from mmla_core.store.catalog import find_dataset, list_clips, tasks_for_dataset
from mmla_core.store.db import Store
from mmla_core.store.labels import CHECK_ANSWERS

XSI = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMA = "http://www.mpi.nl/tools/elan/EAFv3.0.xsd"
LANG = ("und", "undetermined (und)", "http://cdb.iso.org/lg/CDB-00130975-001")
CONSTRAINTS = (
    ("Time_Subdivision", "Time subdivision of parent annotation's time interval, no time gaps "
     "allowed within this interval"),
    ("Symbolic_Subdivision", "Symbolic subdivision of a parent annotation. Annotations refering "
     "to the same parent are ordered"),
    ("Symbolic_Association", "1-1 association with a parent annotation"),
    ("Included_In", "Time alignable annotations within the parent annotation's time interval, "
     "gaps are allowed"),
)
TRANSCRIPT_TIER, VERDICT_TIER, CHECK_PREFIX = "transcript", "verdict", "check:"
DEFAULT_LT, CHECK_CV, VERDICT_CV = "default-lt", "check-answers", "verdict"


class EafError(ValueError):
    """An .eaf file that cannot be read; the message names the file and what is wrong."""


@dataclass
class Tier:
    tier_id: str
    value: str | None = None          # one annotation over the whole clip, or an empty tier
    annotator: str = ""
    vocabulary: str | None = None     # CV id of the tier's linguistic type
    annotations: list[tuple[int | None, int | None, str]] = field(default_factory=list)


@dataclass
class EafDocument:
    path: Path
    author: str
    media: list[dict[str, str]]
    tiers: dict[str, Tier]
    vocabularies: dict[str, list[str]]

    def values(self) -> dict[str, str]:
        """{tier id: value} of tiers holding one annotation (what `export_eaf` writes)."""
        return {t.tier_id: t.annotations[0][2] for t in self.tiers.values()
                if len(t.annotations) == 1}


# --- writing -------------------------------------------------------------------------------------

def eaf_xml(tiers: list[Tier], duration_ms: int, media_url: str, *, relative_url: str = "",
            mime: str = "video/mp4", vocabularies: dict[str, list[str]] | None = None,
            author: str = "MMLA Studio") -> str:
    """One clip's EAF document: every tier's value spans [0, duration_ms]."""
    vocabularies = vocabularies or {}
    root = ET.Element("ANNOTATION_DOCUMENT", {
        "AUTHOR": author, "DATE": datetime.now(UTC).isoformat(timespec="seconds"),
        "FORMAT": "3.0", "VERSION": "3.0", "xmlns:xsi": XSI,
        "xsi:noNamespaceSchemaLocation": SCHEMA,
    })
    header = ET.SubElement(root, "HEADER", {"MEDIA_FILE": "", "TIME_UNITS": "milliseconds"})
    media = {"MEDIA_URL": media_url, "MIME_TYPE": mime}
    if relative_url:
        media["RELATIVE_MEDIA_URL"] = relative_url
    ET.SubElement(header, "MEDIA_DESCRIPTOR", media)
    urn = ET.SubElement(header, "PROPERTY", {"NAME": "URN"})
    urn.text = f"urn:nl-mpi-tools-elan-eaf:{uuid.uuid4()}"
    order = ET.SubElement(root, "TIME_ORDER")
    ET.SubElement(order, "TIME_SLOT", {"TIME_SLOT_ID": "ts1", "TIME_VALUE": "0"})
    ET.SubElement(order, "TIME_SLOT", {"TIME_SLOT_ID": "ts2", "TIME_VALUE": str(duration_ms)})
    used = 0
    for tier in tiers:
        used += _write_tier(root, tier, used + 1, vocabularies)
    ET.SubElement(header, "PROPERTY", {"NAME": "lastUsedAnnotationId"}).text = str(used)
    _write_types(root, tiers, vocabularies)
    ET.indent(root, space="    ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _write_tier(root: ET.Element, tier: Tier, next_id: int, cvs: dict[str, list[str]]) -> int:
    attrs = {"LINGUISTIC_TYPE_REF": _type_id(tier), "TIER_ID": tier.tier_id}
    if tier.annotator:
        attrs["ANNOTATOR"] = tier.annotator
    element = ET.SubElement(root, "TIER", attrs)
    if tier.value is None:
        return 0
    ann = {"ANNOTATION_ID": f"a{next_id}", "TIME_SLOT_REF1": "ts1", "TIME_SLOT_REF2": "ts2"}
    entries = cvs.get(tier.vocabulary or "", [])
    if tier.value in entries:
        ann["CVE_REF"] = _entry_id(list(cvs).index(tier.vocabulary), entries.index(tier.value))
    aligned = ET.SubElement(ET.SubElement(element, "ANNOTATION"), "ALIGNABLE_ANNOTATION", ann)
    ET.SubElement(aligned, "ANNOTATION_VALUE").text = tier.value
    return 1


def _entry_id(vocabulary_index: int, entry_index: int) -> str:
    """An XML-name-safe entry id (task names may hold spaces; CVE ids may not)."""
    return f"cveid{vocabulary_index}_{entry_index}"


def _type_id(tier: Tier) -> str:
    return f"{tier.vocabulary}-lt" if tier.vocabulary else DEFAULT_LT


def _write_types(root: ET.Element, tiers: list[Tier], cvs: dict[str, list[str]]) -> None:
    """LINGUISTIC_TYPE*, LANGUAGE, CONSTRAINT*, CONTROLLED_VOCABULARY*, in the schema's order."""
    used = list(dict.fromkeys(t.vocabulary for t in tiers if t.vocabulary))
    ET.SubElement(root, "LINGUISTIC_TYPE", {"GRAPHIC_REFERENCES": "false",
                  "LINGUISTIC_TYPE_ID": DEFAULT_LT, "TIME_ALIGNABLE": "true"})
    for cv in used:
        ET.SubElement(root, "LINGUISTIC_TYPE", {
            "CONTROLLED_VOCABULARY_REF": cv, "GRAPHIC_REFERENCES": "false",
            "LINGUISTIC_TYPE_ID": f"{cv}-lt", "TIME_ALIGNABLE": "true"})
    ET.SubElement(root, "LANGUAGE",
                  {"LANG_DEF": LANG[2], "LANG_ID": LANG[0], "LANG_LABEL": LANG[1]})
    for stereotype, description in CONSTRAINTS:
        ET.SubElement(root, "CONSTRAINT", {"DESCRIPTION": description, "STEREOTYPE": stereotype})
    for cv in used:
        element = ET.SubElement(root, "CONTROLLED_VOCABULARY", {"CV_ID": cv})
        ET.SubElement(element, "DESCRIPTION", {"LANG_REF": LANG[0]}).text = cv
        for i, value in enumerate(cvs[cv]):
            entry_id = _entry_id(list(cvs).index(cv), i)
            entry = ET.SubElement(element, "CV_ENTRY_ML", {"CVE_ID": entry_id})
            ET.SubElement(entry, "CVE_VALUE", {"DESCRIPTION": "", "LANG_REF": LANG[0]}).text = value


# --- a dataset to a folder of EAFs ---------------------------------------------------------------

def export_eaf(store: Store, out_dir: str | os.PathLike, *, dataset: str | int,
               annotator: str | None = None, split: str | None = None) -> ExportedFiles:
    """One `.eaf` per clip with media and a known duration, into `out_dir`.

    `annotator=None` writes the gold label per task (the imported one, else the latest human
    one) and the latest human answer per check; a name writes only that annotator's work.
    """
    ds = _dataset(store, dataset)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tasks = tasks_for_dataset(store, ds["id"])
    checks = dataset_checks(store, ds["id"])
    cvs = {task.name: list(task.labels) for _, task in tasks}
    cvs[CHECK_CV], cvs[VERDICT_CV] = list(CHECK_ANSWERS), ["accept", "reject"]
    result = ExportedFiles()
    for clip in list_clips(store, dataset_id=ds["id"], split=split):
        media, problem = _clip_media(clip)
        if problem:
            result.skipped[problem] += 1
            continue
        tiers = [Tier(TRANSCRIPT_TIER, clip["transcript"] or None)]
        tiers += _task_tiers(store, clip["id"], tasks, annotator)
        tiers += _check_tiers(store, clip["id"], checks, annotator)
        tiers.append(_verdict_tier(store, clip["id"], annotator))
        path = out / eaf_file_name(clip)
        relative = Path(os.path.relpath(media, out)).as_posix()
        write_text_atomic(path, eaf_xml(
            tiers, round(clip["duration_s"] * 1000), media.as_uri(),
            relative_url=relative if relative.startswith(".") else f"./{relative}",
            mime=mimetypes.guess_type(media.name)[0] or "video/mp4", vocabularies=cvs,
        ))
        result.append(path)
        result.written[path.name] = 1
    return result


def eaf_file_name(clip: dict) -> str:
    name = f"{clip['split']}_{clip['external_id']}" if clip["split"] else clip["external_id"]
    return re.sub(r"[^\w.\-]+", "_", name) + ".eaf"


def _dataset(store: Store, dataset: str | int) -> dict:
    row = find_dataset(store, dataset)
    if row is None:
        raise ExportError(f"no dataset {dataset!r} in {store.path}")
    return row


def _clip_media(clip: dict) -> tuple[Path | None, str | None]:
    if not clip["media_path"]:
        return None, "no_media"
    if not clip["duration_s"]:
        return None, "unprobed (run `mmla probe`)"
    try:
        return confine(clip.get("media_root") or clip["dataset_root"], clip["media_path"]), None
    except PathEscapeError:
        return None, "unsafe_path"


def _task_tiers(store: Store, clip_id: int, tasks, annotator: str | None) -> list[Tier]:
    rows = store.query(
        "SELECT task_id, annotator, label FROM annotations WHERE clip_id = ? "
        "ORDER BY annotator = 'import' DESC, updated_at DESC", (clip_id,))
    tiers = []
    for task_id, task in tasks:
        mine = [r for r in rows if r["task_id"] == task_id
                and (annotator is None or r["annotator"] == annotator)]
        first = mine[0] if mine else {"label": None, "annotator": annotator or ""}
        tiers.append(Tier(task.name, first["label"], first["annotator"], task.name))
    return tiers


def _check_tiers(store: Store, clip_id: int, checks, annotator: str | None) -> list[Tier]:
    rows = store.query(
        "SELECT check_key, annotator, answer FROM check_answers WHERE clip_id = ? "
        "AND source = 'human' ORDER BY updated_at DESC", (clip_id,))
    tiers = []
    for check in checks:
        mine = [r for r in rows if r["check_key"] == check.key
                and (annotator is None or r["annotator"] == annotator)]
        first = mine[0] if mine else {"answer": None, "annotator": annotator or ""}
        tiers.append(Tier(CHECK_PREFIX + check.key, first["answer"], first["annotator"],
                          CHECK_CV))
    return tiers


def _verdict_tier(store: Store, clip_id: int, annotator: str | None) -> Tier:
    rows = store.query(
        "SELECT annotator, verdict FROM clip_reviews WHERE clip_id = ? AND verdict IS NOT NULL "
        "ORDER BY verdict = 'reject' DESC, reviewed_at DESC", (clip_id,))  # a reject wins
    mine = [r for r in rows if annotator is None or r["annotator"] == annotator]
    first = mine[0] if mine else {"verdict": None, "annotator": annotator or ""}
    return Tier(VERDICT_TIER, first["verdict"], first["annotator"], VERDICT_CV)


# --- reading -------------------------------------------------------------------------------------

def read_eaf(path: str | os.PathLike) -> EafDocument:
    """Parse an EAF file: media, tiers with (start ms, end ms, value) annotations, vocabularies.

    Symbolic (REF_ANNOTATION) annotations take their parent's times; unaligned time slots give
    None. Anything malformed raises EafError naming the file and the element.
    """
    path = Path(path)
    try:
        root = ET.parse(path).getroot()
    except FileNotFoundError:
        raise EafError(f"{path}: no such file") from None
    except (ET.ParseError, UnicodeDecodeError, OSError) as exc:
        raise EafError(f"{path}: not a readable XML file ({exc})") from exc
    if root.tag != "ANNOTATION_DOCUMENT":
        raise EafError(f"{path}: root element is <{root.tag}>, not <ANNOTATION_DOCUMENT>")
    slots = _time_slots(path, root)
    tiers: dict[str, Tier] = {}
    aligned: dict[str, tuple[int | None, int | None]] = {}
    pending: list[tuple[Tier, str, str, str]] = []
    for element in root.findall("TIER"):
        tier = _read_tier(path, element, slots, aligned, pending)
        tiers[tier.tier_id] = tier
    _resolve_references(path, pending, aligned)
    media = [dict(m.attrib) for m in root.iterfind("HEADER/MEDIA_DESCRIPTOR")]
    return EafDocument(path, root.get("AUTHOR", ""), media, tiers, _vocabularies(root))


def _time_slots(path: Path, root: ET.Element) -> dict[str, int | None]:
    order = root.find("TIME_ORDER")
    if order is None:
        raise EafError(f"{path}: no <TIME_ORDER> element")
    slots: dict[str, int | None] = {}
    for slot in order.findall("TIME_SLOT"):
        slot_id, value = slot.get("TIME_SLOT_ID"), slot.get("TIME_VALUE")
        if not slot_id:
            raise EafError(f"{path}: a <TIME_SLOT> has no TIME_SLOT_ID")
        try:
            slots[slot_id] = None if value is None else int(value)
        except ValueError:
            raise EafError(f"{path}: time slot {slot_id!r} has TIME_VALUE {value!r}, "
                           "not a whole number of milliseconds") from None
    return slots


def _read_tier(path: Path, element: ET.Element, slots: dict[str, int | None],
               aligned: dict[str, tuple[int | None, int | None]],
               pending: list[tuple[Tier, str, str, str]]) -> Tier:
    tier_id = element.get("TIER_ID")
    if not tier_id:
        raise EafError(f"{path}: a <TIER> has no TIER_ID")
    tier = Tier(tier_id, annotator=element.get("ANNOTATOR", ""))
    for ann in element.iterfind("ANNOTATION/ALIGNABLE_ANNOTATION"):
        refs = (ann.get("TIME_SLOT_REF1"), ann.get("TIME_SLOT_REF2"))
        missing = [r for r in refs if r not in slots]
        if missing:
            raise EafError(f"{path}: annotation {ann.get('ANNOTATION_ID')!r} in tier {tier_id!r} "
                           f"uses unknown time slot(s) {missing}")
        start, end = slots[refs[0]], slots[refs[1]]
        if start is not None and end is not None and end < start:
            raise EafError(f"{path}: annotation {ann.get('ANNOTATION_ID')!r} in tier "
                           f"{tier_id!r} ends ({end} ms) before it starts ({start} ms)")
        aligned[ann.get("ANNOTATION_ID", "")] = (start, end)
        tier.annotations.append((start, end, ann.findtext("ANNOTATION_VALUE") or ""))
    for ann in element.iterfind("ANNOTATION/REF_ANNOTATION"):
        value = ann.findtext("ANNOTATION_VALUE") or ""
        pending.append((tier, ann.get("ANNOTATION_ID", ""), ann.get("ANNOTATION_REF", ""), value))
    return tier


def _resolve_references(path: Path, pending: list[tuple[Tier, str, str, str]],
                        aligned: dict[str, tuple[int | None, int | None]]) -> None:
    """Give symbolic annotations their parent's times (parents may be symbolic too)."""
    while pending:
        ready = [p for p in pending if p[2] in aligned]
        if not ready:
            tier, ann_id, ref, _ = pending[0]
            raise EafError(f"{path}: annotation {ann_id!r} in tier {tier.tier_id!r} refers to "
                           f"unknown annotation {ref!r}")
        for tier, ann_id, ref, value in ready:
            aligned[ann_id] = aligned[ref]
            tier.annotations.append((*aligned[ref], value))
        done = {id(p) for p in ready}
        pending[:] = [p for p in pending if id(p) not in done]


def _vocabularies(root: ET.Element) -> dict[str, list[str]]:
    result = {}
    for cv in root.findall("CONTROLLED_VOCABULARY"):
        values = [v.text or "" for v in cv.iterfind("CV_ENTRY_ML/CVE_VALUE")]
        values += [v.text or "" for v in cv.iterfind("CV_ENTRY")]  # EAF < 2.8
        result[cv.get("CV_ID", "")] = values
    return result
