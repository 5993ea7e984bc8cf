"""Which folder is an MMLA tree: one whose TSVs look like MMLA's, not any folder with a `*.tsv`.

MMLA's importer reads `<DS>/{train,dev,test}.tsv` (or the folder's own, when it is one dataset
folder) with an `id`, an `utterance` and a label column (the task's, `intent`, `emotion`, ...,
or `label`), and the videos in `<DS>/video/`. A `scores.tsv` or `notes/annotations.tsv` lying
in a media folder is none of that: taken for an MMLA tree, the folder would import nothing.

- A TSV is MMLA's when it is named like a split file and has the three columns (read as the
  importer reads them: any case, a space for an underscore). Only its first line is read.
- A split-named TSV one column short of MMLA's counts too (a broken MMLA file, or a list of its
  own? not guessed): alone, the folder is an MMLA tree and the importer names the missing column.
- A folder with such TSVs that also holds clips the MMLA reading would leave out (a manifest at
  its top, media or .eaf files outside each dataset folder's `video/`) reads two ways: it is
  refused (`AmbiguousKindError`), naming both, with the `--kind` that picks one (the GUI's
  import dialog asks for the same choice with its kind selector).
- Any other TSV is not MMLA's: ignored, with a note naming it and why (`ignored_note`). In an
  MMLA tree, the importer notes each TSV it leaves unread (mmla_layout, same wording).
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass
from pathlib import Path

from mmla_core.datasets.common import MEDIA_EXTENSIONS
from mmla_core.datasets.entries import head_text, is_regular_file
from mmla_core.datasets.manifest_pick import MANIFEST_NAMES, judge
from mmla_core.datasets.mmla_layout import (
    SPLITS,
    VIDEO_DIR,
    column_names,
    dataset_folders,
    unread_tsv_note,
)
from mmla_core.datasets.report import DatasetImportError
from mmla_core.tasks import MMLA_TASKS

SPLIT_FILES = frozenset(f"{split}.tsv" for split in SPLITS)
LABEL_COLUMNS = frozenset({task.task_key for task in MMLA_TASKS} | {"label"})
HEADER_BYTES = 1 << 16  # a TSV's header line is all that is judged
CLIP_SUFFIXES = MEDIA_EXTENSIONS | {".eaf"}
LISTED = 3  # files named in a refusal; the rest are not looked for


class AmbiguousKindError(DatasetImportError):
    """The folder is both an MMLA tree and clips of another kind: the user says which is meant
    (`mmla import --kind`, or the GUI import dialog's kind choice). The message is the CLI's;
    `found` says what was seen (the candidates) and `choices` each kind the folder reads as,
    with what importing it so takes, so the GUI words its own request."""

    def __init__(self, message: str, *, found: str = "",
                 choices: tuple[tuple[str, str], ...] = ()):
        super().__init__(message)
        self.found = found or message
        self.choices = choices


@dataclass(frozen=True)
class TsvFile:
    relative: str  # its path under the folder imported
    split_named: bool  # train.tsv, dev.tsv or test.tsv: a file MMLA's importer reads
    columns: tuple[str, ...]  # its header, as MMLA's importer reads it (split-named files only)

    @property
    def missing(self) -> list[str]:
        """MMLA's columns it lacks ("label" standing for any task's label column)."""
        missing = [name for name in ("id", "utterance") if name not in self.columns]
        return missing + ([] if LABEL_COLUMNS & set(self.columns) else ["label"])

    @property
    def is_mmla(self) -> bool:
        """MMLA's, or one column short of it (the importer then says which)."""
        return self.split_named and len(self.missing) <= 1

    def described(self) -> str:
        if not self.missing:
            return self.relative
        return f"{self.relative} (no {self.missing[0]} column)"

    def ignored_note(self) -> str:
        if not self.split_named:
            return unread_tsv_note(self.relative)
        shown = ", ".join(self.columns) or "none"
        return unread_tsv_note(self.relative,
                               f"no {_either(self.missing)} column; its columns: {shown}")


def tsv_files(root: Path) -> list[TsvFile]:
    """The TSVs at the folder's top and one level down (where MMLA's importer looks)."""
    paths = sorted(root.glob("*.tsv")) + sorted(root.glob("*/*.tsv"))
    return [_judge(root, path) for path in paths if is_regular_file(path)]


def refuse_if_clips_too(root: Path, tsvs: list[TsvFile]) -> None:
    """AmbiguousKindError when the folder holds clips the MMLA reading would leave out."""
    others = clips_outside_layout(root)
    if not others:
        return
    mmla = [tsv.described() for tsv in tsvs if tsv.is_mmla]
    eaf = all(name.endswith(".eaf") for name in others)
    found = (f"{root}: both an MMLA tree (its split file{'s' if len(mmla) > 1 else ''}: "
             f"{_listed(mmla)}) and a clip folder ({_listed(others)}, outside MMLA's "
             f"<DS>/{VIDEO_DIR}/ folders)")
    choices = (("mmla", "the TSVs' rows"),
               ("eaf", "the .eaf files; the TSVs ignored") if eaf else
               ("folder", "every media file a clip; the TSVs ignored"))
    said = " or ".join(f"--kind {kind} ({what})" for kind, what in choices)
    raise AmbiguousKindError(f"{found}. Say which: mmla import {root} {said}", found=found,
                             choices=choices)


def clips_outside_layout(root: Path) -> list[str]:
    """Up to LISTED files the MMLA reading leaves out: a manifest at the top, media and .eaf
    files outside each dataset folder's video/ (that folder is not walked: it may be large)."""
    top = dict.fromkeys([root / name for name in MANIFEST_NAMES] + sorted(root.glob("*.jsonl")))
    found = [p.name for p in top if is_regular_file(p) and judge(p).looks_like_manifest]
    videos = {folder / VIDEO_DIR for folder in dataset_folders(root)}
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames
                             if not d.startswith(".") and here / d not in videos)
        for name in sorted(filenames):
            if Path(name).suffix.lower() in CLIP_SUFFIXES and not name.startswith("."):
                found.append((here / name).relative_to(root).as_posix())
        if len(found) >= LISTED:
            break
    return found[:LISTED]


def _judge(root: Path, path: Path) -> TsvFile:
    relative = path.relative_to(root).as_posix()
    if path.name not in SPLIT_FILES:
        return TsvFile(relative, False, ())
    rows = csv.reader(io.StringIO(head_text(path, HEADER_BYTES), newline=""), delimiter="\t")
    try:  # as the importer reads it; a header it cannot read is no header
        header = next(rows, [])
    except csv.Error:
        header = []
    return TsvFile(relative, True, tuple(name for name in column_names(header) if name))


def _either(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def _listed(names: list[str]) -> str:
    return ", ".join(names[:LISTED]) + (", ..." if len(names) > LISTED else "")
