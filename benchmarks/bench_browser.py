"""The clip browser with MMLA's 61,000 clips: load, filter and sort, plus resident memory.

Ours: `browse_rows` + `ClipTableModel` (index lists sorted/filtered in Python).
Baseline, same run, same rows: a QSortFilterProxyModel with a Python `filterAcceptsRow` and a
sort role, the usual Qt recipe (what the first window used).

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_browser.py [--rows 61000] [--quick]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSortFilterProxyModel, Qt
from PySide6.QtWidgets import QApplication

from mmla_app.curation.clip_table import COLUMN_KEYS, ClipTableModel, ClipTableView
from mmla_core.store import open_store
from mmla_core.store.browse import BrowseFilter, browse_rows
from mmla_core.store.catalog import (
    attach_task,
    clip_ids_by_key,
    ensure_task,
    upsert_clips,
    upsert_dataset,
)
from mmla_core.store.labels import import_labels
from mmla_core.tasks import MMLA_TASKS

WORDS = ("you", "me", "the", "what", "why", "really", "okay", "no", "yes", "thank", "sorry",
         "please", "come", "go", "love", "hate")
QUERIES = ("thank", "why really", "sorry no", "zzz")
SORT_COL = COLUMN_KEYS.index("transcript")  # by name: the column order changes


def build_db(path: Path, rows: int, rng: random.Random) -> None:
    per_task = rows // len(MMLA_TASKS)
    with open_store(path) as store:
        for task in MMLA_TASKS:
            dataset_id = upsert_dataset(store, task.name, f"/data/{task.name}", "mmla")
            task_id = ensure_task(store, task)
            attach_task(store, dataset_id, task_id)
            upsert_clips(store, dataset_id, (
                {"external_id": f"{task.name}_{i}", "split": rng.choice(("train", "dev", "test")),
                 "media_path": f"video/{i}.mp4",
                 "transcript": " ".join(rng.choices(WORDS, k=rng.randint(4, 14)))}
                for i in range(per_task)
            ))
            ids = clip_ids_by_key(store, dataset_id).values()
            import_labels(store, ((cid, task_id, rng.choice(task.labels)) for cid in ids))


class BaselineProxy(QSortFilterProxyModel):
    def __init__(self, model):
        super().__init__()
        self.words: list[str] = []
        self.setSourceModel(model)

    def filterAcceptsRow(self, source_row, _parent):
        row = self.sourceModel().row_at(source_row)
        return all(word in row.search for word in self.words)


def median_ms(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def time_ours(app, rows, repeats) -> dict[str, float]:
    model = ClipTableModel()
    view = ClipTableView(model)
    view.resize(1000, 700)
    view.show()
    start = time.perf_counter()
    model.set_rows(rows, "ana")
    app.processEvents()
    result = {"set_rows": (time.perf_counter() - start) * 1000}
    queries = iter(QUERIES * repeats)

    def filter_once():
        model.set_filter(BrowseFilter(text=next(queries)))
        app.processEvents()

    result["filter"] = median_ms(filter_once, repeats)
    model.set_filter(BrowseFilter())
    result["sort"] = median_ms(lambda: (view.sortByColumn(SORT_COL, Qt.SortOrder.DescendingOrder),
                                        view.sortByColumn(SORT_COL, Qt.SortOrder.AscendingOrder),
                                        app.processEvents()), max(repeats // 2, 1)) / 2
    view.close()
    return result


def time_baseline(app, rows, repeats) -> dict[str, float]:
    model = ClipTableModel()
    model.set_rows(rows, "ana")
    proxy = BaselineProxy(model)
    proxy.setSortRole(Qt.ItemDataRole.DisplayRole)
    queries = iter(QUERIES * repeats)

    def filter_once():
        proxy.words = next(queries).split()
        proxy.invalidate()
        proxy.rowCount()  # filtering is lazy: make the proxy map every source row now
        app.processEvents()

    result = {"filter": median_ms(filter_once, max(repeats // 4, 1))}
    proxy.words = []
    proxy.invalidate()
    result["sort"] = median_ms(lambda: (proxy.sort(SORT_COL, Qt.SortOrder.DescendingOrder),
                                        app.processEvents()), 1)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=61_000)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n = 12_000 if args.quick else args.rows
    repeats = 8 if args.quick else 20
    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as tmp:
        build_db(Path(tmp) / "b.sqlite", n, random.Random(0))
        with open_store(Path(tmp) / "b.sqlite") as store:
            start = time.perf_counter()
            rows = browse_rows(store, "ana")
            load_ms = (time.perf_counter() - start) * 1000
    ours = time_ours(app, rows, repeats)
    base = time_baseline(app, rows, repeats)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"rows={len(rows)} browse_rows={load_ms:.0f} ms (worker thread) "
          f"model reset+paint={ours['set_rows']:.0f} ms")
    print(f"filter: ours {ours['filter']:.1f} ms vs proxy {base['filter']:.1f} ms")
    print(f"sort transcript: ours {ours['sort']:.1f} ms vs proxy {base['sort']:.1f} ms")
    print(f"RESULT browser: rows={len(rows)} filter_ms={ours['filter']:.1f} "
          f"sort_ms={ours['sort']:.1f} load_ms={load_ms:.0f} peak_rss_mb={rss_mb:.0f} "
          f"filter_ratio_vs_proxy={base['filter'] / ours['filter']:.1f} "
          f"sort_ratio_vs_proxy={base['sort'] / ours['sort']:.1f}")


if __name__ == "__main__":
    main()
