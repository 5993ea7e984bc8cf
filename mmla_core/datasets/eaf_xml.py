"""ELAN `.eaf` (EAF 3.0) documents: write one clip's tiers, read anyone's file.

This module knows the format only (element order and required attributes follow EAFv3.0.xsd);
`datasets.eaf` decides which tiers a clip gets and `datasets.eaf_import` what a file's tiers
mean for a project. A tier written here holds one annotation spanning the whole clip, or none
(an empty tier ready to annotate in ELAN).
"""

from __future__ import annotations

import os
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

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
DEFAULT_LT = "default-lt"


class EafError(ValueError):
    """An .eaf file that cannot be read; the message names the file and what is wrong."""


@dataclass
class Tier:
    tier_id: str
    value: str | None = None          # one annotation over the whole clip, or an empty tier
    annotator: str = ""
    vocabulary: str | None = None     # CV id of the tier's linguistic type
    annotations: list[tuple[int | None, int | None, str]] = field(default_factory=list)
    type_ref: str = ""                # read: the tier's LINGUISTIC_TYPE_REF


@dataclass
class EafDocument:
    path: Path
    author: str
    media: list[dict[str, str]]
    tiers: dict[str, Tier]
    vocabularies: dict[str, list[str]]
    properties: dict[str, str] = field(default_factory=dict)   # HEADER/PROPERTY by NAME
    types: dict[str, dict[str, str]] = field(default_factory=dict)  # LINGUISTIC_TYPE attributes

    def values(self) -> dict[str, str]:
        """{tier id: value} of tiers holding one annotation (what `export_eaf` writes)."""
        return {t.tier_id: t.annotations[0][2] for t in self.tiers.values()
                if len(t.annotations) == 1}


# --- writing -------------------------------------------------------------------------------------

def eaf_xml(tiers: list[Tier], duration_ms: int, media_url: str, *, relative_url: str = "",
            mime: str = "video/mp4", vocabularies: dict[str, list[str]] | None = None,
            author: str = "MMLA Studio", properties: dict[str, str] | None = None) -> str:
    """One clip's EAF document: every tier's value spans [0, duration_ms].

    `properties` become HEADER PROPERTY elements (ELAN keeps and shows them): where the file
    came from, for a later import to find its clip again.
    """
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
    for name, value in (properties or {}).items():
        ET.SubElement(header, "PROPERTY", {"NAME": name}).text = value
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
    vocabulary = tier.vocabulary or ""
    entries = cvs.get(vocabulary, [])
    if tier.value in entries:
        ann["CVE_REF"] = _entry_id(list(cvs).index(vocabulary), entries.index(tier.value))
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
    properties = {p.get("NAME", ""): p.text or "" for p in root.iterfind("HEADER/PROPERTY")}
    types = {t.get("LINGUISTIC_TYPE_ID", ""): dict(t.attrib)
             for t in root.findall("LINGUISTIC_TYPE")}
    return EafDocument(path, root.get("AUTHOR", ""), media, tiers, _vocabularies(root),
                       properties, types)


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
    tier = Tier(tier_id, annotator=element.get("ANNOTATOR", ""),
                type_ref=element.get("LINGUISTIC_TYPE_REF", ""))
    for ann in element.iterfind("ANNOTATION/ALIGNABLE_ANNOTATION"):
        ref1, ref2 = ann.get("TIME_SLOT_REF1"), ann.get("TIME_SLOT_REF2")
        if ref1 not in slots or ref2 not in slots:
            missing = [r for r in (ref1, ref2) if r not in slots]
            raise EafError(f"{path}: annotation {ann.get('ANNOTATION_ID')!r} in tier {tier_id!r} "
                           f"uses unknown time slot(s) {missing}")
        start, end = slots[ref1], slots[ref2]
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
