"""What an import did, and every problem it met, each named by where it is (DESIGN rule 7).

Importers never stop at the first bad row: they record an `ImportIssue` (file:line, or the file for
a whole-file problem) and go on, so one typo in row 40,000 costs the user one row, not the import.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mmla_core.store.catalog import ClipUpsertCounts
from mmla_core.words import count

SUMMARY_ISSUES = 5  # issues listed in full by summary(); the rest are counted


class DatasetImportError(ValueError):
    """The input as a whole cannot be imported (no such folder, not this format at all)."""


@dataclass(frozen=True)
class ImportIssue:
    location: str  # "path/to/train.tsv:17", "records.json[3]" or a bare file path
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


@dataclass
class ImportReport:
    dataset: str
    dataset_id: int | None = None
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    text_only: int = 0  # rows imported without media (none found, or none given)
    labels: int = 0  # labels written (new or changed)
    skipped: int = 0  # rows not imported at all
    moved: int = 0  # stored clips whose row now gives another split (or id): moved, not copied
    curated_kept: int = 0  # rows where the source differs from a person's edit, which is kept
    curated_overwritten: int = 0  # ... replaced by the source (--overwrite-curated), undoable
    media_missing: int = 0  # stored clips whose media file is gone: kept, marked missing_file
    variants_left: int = 0  # rows naming a variant the project made: never written by an import
    people_labels: int = 0  # (clip, task) pairs a person labelled unlike the source: theirs wins
    unlisted: list[str] = field(default_factory=list)  # media files the manifest does not name
    unlisted_kept: int = 0  # ... of which clips imported before (left as they are)
    manifest: str | None = None  # the manifest's file name, when the import used one
    ignored: list[str] = field(default_factory=list)  # files not taken as the manifest, and why
    renamed_from: str | None = None  # the name asked for, taken by a dataset with another root
    found_as: str | None = None  # the default name, of a folder imported before as `dataset`
    issues: list[ImportIssue] = field(default_factory=list)
    # {health: files} of the media probed after the rows (the GUI's summary says the unhealthy)
    media_health: dict[str, int] = field(default_factory=dict)

    def issue(self, location: object, message: str) -> None:
        """Record a problem; a file name that is not UTF-8 is shown with `\\x..` escapes, so
        printing or saving the report cannot fail on it."""
        self.issues.append(ImportIssue(_printable(str(location)), _printable(message)))

    def add_counts(self, counts: ClipUpsertCounts) -> None:
        self.added += counts.added
        self.updated += counts.updated
        self.unchanged += counts.unchanged

    def not_in_manifest(self, manifest: str, files: list[str], kept: set[str]) -> None:
        """The media files `manifest` names no clip for: not imported (`kept`: those that are
        clips from an earlier import, left as they are)."""
        self.manifest, self.unlisted, self.unlisted_kept = manifest, list(files), len(kept)

    @property
    def clips(self) -> int:
        return self.added + self.updated + self.unchanged

    @property
    def ok(self) -> bool:
        return not self.issues

    def summary(self, *, with_issues: bool = True) -> str:
        head = (
            f"{self.dataset}: {count(self.clips, 'clip')} ({self.added} added, {self.updated} "
            f"updated, {self.unchanged} unchanged), {self.text_only} text-only, "
            f"{count(self.labels, 'label')} written, {count(self.skipped, 'row')} skipped, "
            f"{count(len(self.issues), 'issue')}"
        )
        lines = [head, *self.notes()]
        if with_issues:
            lines += [f"  {issue}" for issue in self.issues[:SUMMARY_ISSUES]]
            if len(self.issues) > SUMMARY_ISSUES:
                lines.append(f"  ... and {len(self.issues) - SUMMARY_ISSUES} more")
        return "\n".join(lines)

    def notes(self) -> list[str]:
        """What the import did besides adding and updating rows, one indented line each."""
        notes = [f"  {note}" for note in self.ignored]
        if self.renamed_from:
            notes.append(f"  imported as a new dataset {self.dataset!r}: {self.renamed_from!r} "
                         "is another folder (a dataset is its root; `mmla datasets move` "
                         "re-roots one that moved)")
        if self.found_as:
            notes.append(f"  this folder is dataset {self.dataset!r} (imported before under "
                         f"that name): imported into it, not as a new dataset {self.found_as!r}")
        if self.unlisted:
            notes.append(self._unlisted_note())
        if self.moved:
            notes.append(f"  {count(self.moved, 'clip')} moved to another split (same clip, labels "
                         "kept)")
        if self.curated_kept or self.curated_overwritten:
            notes.append(f"  curated values: {self.curated_kept} kept where the source differs, "
                         f"{self.curated_overwritten} replaced by the source")
        if self.media_missing:
            notes.append(f"  {count(self.media_missing, 'media file')} missing: "
                         f"the clips keep them (health missing_file, not text-only), each "
                         "listed with its row")
        if self.variants_left:
            notes.append(f"  {count(self.variants_left, 'row')} name conflict variants made in "
                         "this project: left as they are (an import never writes a variant)")
        if self.people_labels:
            notes.append("  1 label by a person differs from the source's and stays the "
                         "curated one" if self.people_labels == 1 else
                         f"  {self.people_labels} labels by people differ from the source's "
                         "and stay the curated ones")
            notes[-1] += " (the source's is kept as annotator 'import')"
        return notes


    def _unlisted_note(self) -> str:
        shown = ", ".join(self.unlisted[:SUMMARY_ISSUES])
        more = len(self.unlisted) - SUMMARY_ISSUES
        kept = ("" if not self.unlisted_kept else "; 1 of them is a clip already, left as it is"
                if self.unlisted_kept == 1 else
                f"; {self.unlisted_kept} of them are clips already, left as they are")
        return (f"  not in the manifest: {count(len(self.unlisted), 'media file')} "
                f"({shown}{f', … and {more} more' if more > 0 else ''}), not imported: "
                f"{self.manifest} names the clips (add a row to import one){kept}")


def _printable(text: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # surrogates: undecodable bytes of a file name, or JSON escapes
        return text.encode("utf-8", "surrogateescape" if _escaped_bytes(text) else
                           "backslashreplace").decode("utf-8", "backslashreplace")
    return text


def _escaped_bytes(text: str) -> bool:
    return all(0xDC80 <= ord(ch) <= 0xDCFF for ch in text if 0xD800 <= ord(ch) <= 0xDFFF)
