"""Import the MMLA benchmark layout: `<root>/<DATASET>/{train,dev,test}.tsv` + `video/*.mp4`.

Layout and column names: reference/seeds_systems.md 1.3. Hugging Face folder names
(`CH-SIMSv2.0`, `UR-FUNNY-v2`) map to MMLA's code names through `mmla_task_for_folder`. MOSI,
IEMOCAP and IEMOCAP-DA ship without video, so a missing `video/` folder is normal: every row
becomes a text-only clip and one issue says so. Any other TSV where the split files lie (a
`<DS>/notes.tsv`, a `README.tsv` at the top) is not read: a note names it (not an issue).
"""

from __future__ import annotations

import csv
import functools
import io
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from mmla_core.datasets.common import (
    PendingClip,
    RowIssueLimiter,
    match_label,
    name_dataset,
    open_dataset,
    read_text,
    write_clips,
)
from mmla_core.datasets.entries import csv_rows, is_regular_file
from mmla_core.datasets.report import DatasetImportError, ImportReport
from mmla_core.paths import PathEscapeError, confine
from mmla_core.store.catalog import attach_task, ensure_task
from mmla_core.store.db import Store
from mmla_core.tasks import MMLA_TASKS, Task, mmla_task_for_folder

SPLITS = ("train", "dev", "test")
VIDEO_DIR = "video"
SPLIT_FILES_SAID = f"MMLA reads <DS>/{{{','.join(SPLITS)}}}.tsv"
Progress = Callable[[int, int], None]


def import_mmla(
    store: Store, root: str | os.PathLike, *, only: Iterable[str] | None = None,
    progress: Progress | None = None, overwrite_curated: bool = False,
) -> list[ImportReport]:
    """Import every MMLA dataset folder under `root` (or `root` itself if it is one).

    `only` keeps folders whose folder or task name matches (any case). `progress(done, total)`
    is called after each TSV file. Returns one report per dataset folder.
    """
    folders = dataset_folders(Path(root))
    if only is not None:
        wanted = {name.lower() for name in only}
        folders = [f for f in folders if _folder_names(f) & wanted]
    if not folders:
        raise DatasetImportError(
            f"{root}: no MMLA dataset folder (one holding train/dev/test.tsv) found"
            + (f" matching {sorted(only)}" if only is not None else "")
        )
    files_total = sum(len(_split_files(f)) for f in folders)
    done = [0]

    def file_done() -> None:
        done[0] += 1
        if progress is not None:
            progress(done[0], files_total)

    reports = [_import_dataset(store, folder, file_done, overwrite_curated) for folder in folders]
    _note_unread_tsvs(Path(root), folders, reports)
    return reports


def unread_tsv_note(relative: str, why: str = SPLIT_FILES_SAID) -> str:
    """The note on a TSV that MMLA's importer does not read (here, and for a clip folder)."""
    return f"{relative}: not an MMLA split file ({why}), ignored"


def _note_unread_tsvs(root: Path, folders: list[Path], reports: list[ImportReport]) -> None:
    """Each TSV where MMLA's files lie (the folder's top, one level down) that is no split file
    read is noted, in the report of the dataset folder holding it (else the first report); the
    files of a dataset folder `only` left out are not looked at."""
    every = dataset_folders(root)
    left_out = set(every) - set(folders)
    read = {path for folder in every for _, path in _split_files(folder)}
    by_folder = dict(zip(folders, reports, strict=True))
    for path in sorted(root.glob("*.tsv")) + sorted(root.glob("*/*.tsv")):
        if path in read or path.parent in left_out or not is_regular_file(path):
            continue
        report = by_folder.get(path.parent, reports[0])
        report.ignored.append(unread_tsv_note(path.relative_to(root).as_posix()))


def dataset_folders(root: Path) -> list[Path]:
    if not root.is_dir():
        raise DatasetImportError(f"{root}: not a folder")
    if _split_files(root):
        return [root]
    return sorted(d for d in root.iterdir() if d.is_dir() and _split_files(d))


def _split_files(folder: Path) -> list[tuple[str, Path]]:
    return [(s, folder / f"{s}.tsv") for s in SPLITS if (folder / f"{s}.tsv").is_file()]


def _folder_names(folder: Path) -> set[str]:
    task = mmla_task_for_folder(folder.name)
    return {folder.name.lower()} | ({task.name.lower()} if task else set())


def _import_dataset(store: Store, folder: Path, file_done: Callable[[], None],
                    overwrite_curated: bool) -> ImportReport:
    task = mmla_task_for_folder(folder.name)
    if task is None:
        report = ImportReport(folder.name)
        known = ", ".join(t.name for t in MMLA_TASKS)
        files = ", ".join(path.name for _split, path in _split_files(folder))
        report.issue(folder, f"{folder.name!r} is not an MMLA dataset folder name (known: "
                     f"{known}), so its split files ({files}) were not read; skipped")
        for _ in _split_files(folder):
            file_done()
        return report
    report = ImportReport(task.name)
    try:
        name_dataset(store, report, folder.resolve(), "mmla")
    except DatasetImportError as exc:
        report.issue(folder, f"{exc}; skipped")
        return report
    task_id = functools.cache(lambda: ensure_task(store, task))  # stored with the first row
    videos = VideoIndex(folder, task, report)
    pending: list[PendingClip] = []
    for split, path in _split_files(folder):
        parser = SplitParser(path, split, task, task_id, videos, report)
        pending += parser.parse()
        file_done()
    if not pending:  # no row to import: no dataset made, a dataset imported before untouched
        files = ", ".join(path.name for _split, path in _split_files(folder))
        report.issue(folder, f"no row to import in {files}")
        return report
    dataset_id = open_dataset(store, report, folder.resolve(), "mmla")
    attach_task(store, dataset_id, task_id())
    write_clips(store, dataset_id, pending, report, overwrite_curated=overwrite_curated)
    return report


class VideoIndex:
    """`video/` listed once (subfolders too), so 60k rows cost 60k dict lookups, not 180k stats."""

    def __init__(self, folder: Path, task: Task, report: ImportReport):
        self.folder = folder
        self.prefixes = list(dict.fromkeys((f"{task.name}_", f"{folder.name}_", "")))
        self.names: dict[str, tuple[str, bool]] = {}  # lower-case file name -> (relative, link)
        self.available = (folder / VIDEO_DIR).is_dir()
        if not self.available:
            report.issue(folder, f"no {VIDEO_DIR}/ folder: new rows import as text-only "
                         "(clips imported with a video before keep it)")
            return
        try:  # a video/ linked out of the root would hand the app files from elsewhere
            confine(folder, VIDEO_DIR)
        except PathEscapeError as exc:
            report.issue(folder / VIDEO_DIR, f"{exc}; refused: new rows import text-only (clips "
                         "imported with a video before keep it)")
            self.available = False
            return
        for dirpath, dirnames, filenames in os.walk(folder / VIDEO_DIR):
            dirnames.sort()
            base = Path(dirpath).relative_to(folder).as_posix()
            for name in filenames:
                if name.lower().endswith(".mp4") and name.lower() not in self.names:
                    link = os.path.islink(os.path.join(dirpath, name))
                    self.names[name.lower()] = (f"{base}/{name}", link)
        if not self.names:
            report.issue(folder / VIDEO_DIR, "holds no .mp4 files: new rows import text-only "
                         "(clips imported with a video before keep it)")
            self.available = False

    def find(self, external_id: str) -> str | None:
        """`video/.../<name>` for the id, or None; PathEscapeError for a symlink leading out."""
        for prefix in self.prefixes:
            hit = self.names.get(f"{prefix}{external_id}.mp4".lower())
            if hit is not None:
                relative, link = hit
                if link or "/" in relative[len(VIDEO_DIR) + 1:]:
                    confine(self.folder, relative)  # a linked subfolder can lead out too
                return relative
        return None


@dataclass
class _Columns:
    id: int
    utterance: int
    label: int


class SplitParser:
    """Rows of one `<split>.tsv` into PendingClips; bad rows become issues, the rest import."""

    def __init__(self, path: Path, split: str, task: Task, task_id: Callable[[], int],
                 videos: VideoIndex, report: ImportReport):
        self.path, self.split, self.task, self.task_id = path, split, task, task_id
        self.videos, self.report = videos, report
        self.seen: dict[str, int] = {}
        self.bad_label = RowIssueLimiter(report, path, "label not imported")

    def parse(self) -> list[PendingClip]:
        text = read_text(self.path, self.report)
        if text is None:
            return []
        reader = csv.reader(io.StringIO(text, newline=""), delimiter="\t")
        rows = csv_rows(reader, self.report, self.path)
        columns = self._columns(next(rows, None), rows)
        if columns is None:
            return []
        clips = []
        for row in rows:
            if any(cell.strip() for cell in row):
                clip = self._row(row, reader.line_num, columns)
                if clip is not None:
                    clips.append(clip)
        self.bad_label.close()
        return clips

    def _columns(self, header: list[str] | None, reader) -> _Columns | None:
        if header is None:
            self.report.issue(self.path, "empty file (no header row)")
            return None
        names = column_names(header)
        label_name = self.task.task_key if self.task.task_key in names else "label"
        missing = [c for c in ("id", "utterance", self.task.task_key) if c not in names]
        if label_name == "label" and "label" in names:
            missing.remove(self.task.task_key)
        if missing:
            rows = sum(1 for row in reader if any(cell.strip() for cell in row))
            self.report.skipped += rows
            self.report.issue(
                self.path, f"missing column(s) {', '.join(missing)} (header: {header}); "
                f"file skipped ({rows} rows)",
            )
            return None
        return _Columns(names["id"], names["utterance"], names[label_name])

    def _row(self, row: list[str], line: int, cols: _Columns) -> PendingClip | None:
        where = f"{self.path}:{line}"
        external_id = _cell(row, cols.id)
        if not external_id:
            self.report.skipped += 1
            self.report.issue(where, "row has no id; skipped")
            return None
        if external_id in self.seen:
            self.report.skipped += 1
            self.report.issue(
                where, f"duplicate id {external_id!r} (first on line {self.seen[external_id]}); "
                "skipped",
            )
            return None
        self.seen[external_id] = line
        clip = PendingClip(external_id, self.split, None, _cell(row, cols.utterance), where=where)
        clip.media_path, clip.media_issue = self._video(external_id)
        self._label(clip, _cell(row, cols.label), line)
        return clip

    def _video(self, external_id: str) -> tuple[str | None, str | None]:
        """(video path, None) or (None, why none: write_clips reports it, where a clip
        already stored keeps its video and a new one imports text-only)."""
        if not _plain_name(external_id):
            return None, (f"id {external_id!r} is not a plain file name (path separator or "
                          "'..'); video not looked up")
        try:
            found = self.videos.find(external_id)
        except PathEscapeError as exc:
            return None, str(exc)
        if found is None and self.videos.available:
            return None, f"no video for id {external_id!r} in {VIDEO_DIR}/"
        return found, None

    def _label(self, clip: PendingClip, raw: str, line: int) -> None:
        if not raw:
            self.bad_label(line, f"no {self.task.task_key} label; clip imported unlabelled")
            return
        label = match_label(self.task, raw)
        if label is None:
            self.bad_label(
                line, f"unknown {self.task.task_key} label {raw!r} for {self.task.name}; "
                "clip imported, label skipped",
            )
            return
        clip.labels[self.task_id()] = label


def column_names(header: list[str]) -> dict[str, int]:
    """{column name: index} as MMLA's TSVs are read: any case, a space as an underscore."""
    return {cell.strip().lower().replace(" ", "_"): i for i, cell in enumerate(header)}


def _cell(row: list[str], index: int) -> str:
    return row[index].strip() if index < len(row) else ""


def _plain_name(external_id: str) -> bool:
    return not any(bad in external_id for bad in ("/", "\\", "..", "\x00"))
