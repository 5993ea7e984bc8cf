"""Build MMLA-layout trees (`<root>/<DATASET>/{train,dev,test}.tsv` + `video/*.mp4`) on disk.

Used by the importer tests and `benchmarks/bench_import.py`. Labels are real MMLA label strings
(IEMOCAP files capitalise them, as the released TSVs do). One tiny clip is rendered per tree and
copied, so a few hundred videos cost a few hundred file copies.
"""

from __future__ import annotations

import csv
import random
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from mmla_core.media.synth import make_clip
from mmla_core.tasks import Task, mmla_task_for_folder

SPLITS = ("train", "dev", "test")
WORDS = (
    "well", "i", "think", "we", "should", "go", "now", "really", "the", "store", "is", "closed",
    "oh", "my", "god", "that", "was", "amazing", "sorry", "about", "yesterday", "can", "you",
)


@dataclass
class Row:
    id: str
    utterance: str
    label: str  # the exact task label (the file may hold it capitalised)
    has_video: bool


@dataclass
class MmlaTree:
    root: Path
    rows: dict[str, dict[str, list[Row]]] = field(default_factory=dict)  # folder -> split -> rows

    def folder(self, name: str) -> Path:
        return self.root / name

    def count(self, name: str | None = None) -> int:
        names = [name] if name else list(self.rows)
        return sum(len(r) for n in names for r in self.rows[n].values())


def tiny_clip(path: Path, *, seed: int = 0) -> Path:
    """A ~0.5 s 64x48 H.264+AAC clip."""
    return make_clip(path, text="hi there", duration_s=0.5, width=64, height=48, fps=10,
                     seed=seed)


def clip_folder(root: Path, names: tuple[str, ...] = ("a.mp4", "b.mp4")) -> Path:
    """A media folder: one tiny clip per name."""
    root.mkdir(parents=True)
    for name in names:
        tiny_clip(root / name)
    return root


def make_mmla_tree(
    root: Path, datasets: dict[str, dict[str, int]] | None = None, *,
    with_video: bool | str | int = True, seed: int = 0, video_prefix: str | None = None,
    clip_source: Path | None = None,
) -> MmlaTree:
    """Write the tree. `with_video`: True (every row), False (no video/ folder), "some" (every
    other row) or an int N (the first N rows of each dataset). Dataset keys are folder names
    (HF names like `CH-SIMSv2.0` work); videos are named `<task code name>_<id>.mp4` unless
    `video_prefix` is given. Every video is a copy of `clip_source` (default: one tiny clip).
    """
    datasets = datasets or {"MIntRec": {"train": 6, "dev": 2, "test": 2}}
    tree = MmlaTree(Path(root))
    rng = random.Random(seed)
    source = clip_source
    for folder_name, sizes in datasets.items():
        task = mmla_task_for_folder(folder_name)
        if task is None:
            raise ValueError(f"{folder_name} is not an MMLA folder name")
        folder = tree.root / folder_name
        folder.mkdir(parents=True, exist_ok=True)
        tree.rows[folder_name] = {}
        index = 0
        for split in (s for s in SPLITS if s in sizes):
            rows = []
            for _ in range(sizes.get(split, 0)):
                rows.append(_row(task, index, rng, with_video))
                index += 1
            tree.rows[folder_name][split] = rows
            write_tsv(folder / f"{split}.tsv", task, rows)
        if with_video is not False:
            source = source or tiny_clip(tree.root / ".tiny_source.mp4", seed=seed)
            _copy_videos(folder, video_prefix or task.name, tree.rows[folder_name], source)
    return tree


def _row(task: Task, index: int, rng: random.Random, with_video: bool | str | int) -> Row:
    utterance = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12)))
    if with_video is True:
        has_video = True
    elif with_video == "some":
        has_video = index % 2 == 0
    elif isinstance(with_video, int) and not isinstance(with_video, bool):
        has_video = index < with_video
    else:
        has_video = False
    return Row(f"S{index // 1000:02d}_E{index % 7:02d}_{index}", utterance,
               rng.choice(task.labels), has_video)


def file_label(task: Task, label: str) -> str:
    """The label as the released TSV writes it (IEMOCAP capitalises)."""
    return label.capitalize() if task.name.startswith("IEMOCAP") else label


def write_tsv(path: Path, task: Task, rows: list[Row], *, header: list[str] | None = None) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(header or ["index", "id", "utterance", task.task_key])
        for i, row in enumerate(rows):
            writer.writerow([i, row.id, row.utterance, file_label(task, row.label)])


def _copy_videos(folder: Path, prefix: str, splits: dict[str, list[Row]], source: Path) -> None:
    video_dir = folder / "video"
    video_dir.mkdir(exist_ok=True)
    for rows in splits.values():
        for row in rows:
            if row.has_video:
                shutil.copyfile(source, video_dir / f"{prefix}_{row.id}.mp4")
