"""Which file of a clip folder is its manifest: one that looks like one, not any `*.jsonl`.

A manifest names its clips, so a file is one only when it has a column (CSV header) or key
(JSONL object) the importer reads a clip from: `path` / `media_path` (its media file) or
`external_id` / `id` (a text-only clip). A `notes.jsonl` or `scores.csv` beside the clips is
not one: taken as the manifest, it would name no clip and every media file would be left out.

- `manifest.jsonl` / `manifest.csv` (in that order) are the manifest by name; one that does not
  look like one is refused (the user meant it as the manifest: fix it, or rename it).
- Else the folder's one `*.jsonl` that looks like one; the others are ignored, each with a
  note. Two that look like one are refused: which is meant is not guessed.
- An explicit `--manifest FILE` that does not look like one is refused (`NotAManifestError`;
  `mmla import` makes it a usage error).

Only the head of a candidate is read (its header, its first JSON lines), so a large log file
lying in the folder costs no more than a peek.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path

from mmla_core.datasets.entries import head_text, is_regular_file, json_line, special_file
from mmla_core.datasets.report import DatasetImportError, ImportReport

MANIFEST_NAMES = ("manifest.jsonl", "manifest.csv")
CLIP_COLUMNS = frozenset({"path", "media_path", "external_id", "id"})  # what ManifestApplier reads
CLIP_COLUMNS_SAID = "a path (or media_path) column, or an id (or external_id) one"
HEAD_BYTES = 1 << 20  # how much of a candidate is read to judge it
NOT_ONE = "not a manifest (no path/id column"


class NotAManifestError(DatasetImportError):
    """A file named or given as the manifest has no path or clip id column: it names no clip."""


@dataclass(frozen=True)
class Candidate:
    path: Path
    columns: frozenset[str]  # CSV header, or the keys of the first JSONL objects

    @property
    def looks_like_manifest(self) -> bool:
        return bool(self.columns & CLIP_COLUMNS)

    def why_not(self) -> str:
        shown = ", ".join(sorted(self.columns)) or "none"
        return f"{self.path.name}: {NOT_ONE}; its columns: {shown})"


def explicit_manifest(path: Path) -> Path:
    """The file given with --manifest, when it looks like a manifest."""
    if special_file(path):
        raise DatasetImportError(f"{path}: {special_file(path)}")
    if not path.is_file():
        raise DatasetImportError(f"{path}: manifest not found")
    candidate = judge(path)
    if not candidate.looks_like_manifest:
        raise NotAManifestError(f"{path.parent / candidate.why_not()}; a manifest names each "
                                f"clip by {CLIP_COLUMNS_SAID}")
    return path


def find_manifest(root: Path, report: ImportReport) -> Path | None:
    """The folder's manifest (see the module's rules), or None; ignored files become notes."""
    jsonl = sorted(p for p in root.glob("*.jsonl") if p.name not in MANIFEST_NAMES)
    for path in [root / name for name in MANIFEST_NAMES] + jsonl:
        if special_file(path):
            report.issue(path, f"{special_file(path)} (not used as the manifest)")
    named = [judge(root / name) for name in MANIFEST_NAMES if is_regular_file(root / name)]
    for candidate in named:
        if not candidate.looks_like_manifest:
            raise NotAManifestError(f"{root / candidate.why_not()}; a file named "
                                    f"{candidate.path.name} is the folder's manifest: name "
                                    f"each clip by {CLIP_COLUMNS_SAID}, or rename the file")
    others = [judge(p) for p in jsonl if is_regular_file(p)]
    looking = [c for c in others if c.looks_like_manifest]
    report.ignored += [f"{c.path.name}: {NOT_ONE}), ignored" for c in others
                       if not c.looks_like_manifest]
    if named:
        _note_unused(report, named[0], named[1:] + looking)
        return named[0].path
    if len(looking) > 1:
        raise DatasetImportError(
            f"{root}: several files look like manifests "
            f"({', '.join(c.path.name for c in looking)}): name the one to use manifest.jsonl, "
            "or pass it with mmla import --manifest FILE")
    return looking[0].path if looking else None


def _note_unused(report: ImportReport, used: Candidate, unused: list[Candidate]) -> None:
    if unused:
        names = ", ".join(c.path.name for c in unused)
        report.ignored.append(
            f"{used.path.name} used as the manifest (its name); {names} also "
            f"look{'s' if len(unused) == 1 else ''} like one, not used "
            "(mmla import --manifest FILE picks another)")


def judge(path: Path) -> Candidate:
    """The columns of `path`'s head: a CSV's header, else the keys of its JSON objects (task
    definition lines left out: they name no clip)."""
    text = head_text(path, HEAD_BYTES)
    if path.suffix.lower() == ".csv":
        header = next(csv.reader(io.StringIO(text, newline="")), [])
        return Candidate(path, frozenset(c.strip() for c in header if c.strip()))
    keys: set[str] = set()
    for line in text.split("\n"):
        try:
            fields = json_line(line) if line.strip() else None
        except json.JSONDecodeError:
            continue
        if isinstance(fields, dict) and not _definition_line(fields):
            keys |= {str(k) for k in fields}
    return Candidate(path, frozenset(keys))


def _definition_line(fields: dict) -> bool:
    """As manifest.read_manifest reads a JSONL line: {"tasks": [...]} declares tasks."""
    return "tasks" in fields and not ({"path", "external_id"} & fields.keys())
