"""One filter keystroke and one sort in the 61,000-clip browser, with the columns fitted.

A keystroke here is what the filter box does once its debounce fires: `set_filter` (filter the
61k rows, reset the model, measure what External id and Labels need, fit the widths), timed
until the view is ready to paint ("fitted"), then with the paint itself (`processEvents`).
A sort is one click on the Transcript header (`setSortIndicator`, what the click does: the
view sorts once; `sortByColumn` would sort twice in Qt 6), timed the same way.

Three views over the same rows, shown side by side and run in turn, keystroke by keystroke:
- ours: `ClipTableView` as it is;
- previous: the same view measuring as before 2026-12-06 (`measure_1000_rows`: Qt's
  `sizeHintForColumn` over up to 1,000 Labels cells, and the ids of up to 1,000 rows);
- unmeasured: the same view with fixed wanted widths, no measuring at all (the floor).
Printed: medians, ours vs previous, and what measuring still costs over the floor.

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_browser_columns.py [--rows 61000] [--quick]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_browser: the same project

from bench_browser import build_db
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from mmla_app.curation.clip_columns import (
    COLUMN_KEYS,
    DEFAULT_WIDTHS,
    MAX_IDS_WIDTH,
    MAX_LABELS_WIDTH,
)
from mmla_app.curation.clip_table import ClipTableModel, ClipTableView
from mmla_core.store import open_store
from mmla_core.store.browse import BrowseFilter, browse_rows

LABELS, EXTERNAL_ID = COLUMN_KEYS.index("labels"), COLUMN_KEYS.index("external_id")
SORT_COL = COLUMN_KEYS.index("transcript")
TYPED = "sorry no"  # typed one key at a time, then erased one key at a time
KEYSTROKES = [TYPED[:n] for n in range(1, len(TYPED) + 1)] + \
    [TYPED[:n] for n in range(len(TYPED) - 1, -1, -1)]


def measure_1000_rows(view: ClipTableView) -> dict[str, int]:
    """`ClipTableView._measure` before 2026-12-06, kept to compare against."""
    labels = min(max(view.sizeHintForColumn(LABELS), DEFAULT_WIDTHS["labels"]), MAX_LABELS_WIDTH)
    model, first = view.model(), max(view.rowAt(0), 0)
    ids: dict[str, int] = {}
    for position in range(first, min(first + 1000, model.rowCount())):
        row = model.row_at(position)
        if not row.parent_clip_id:
            ids.setdefault(row.external_id, position)
    if not ids:
        return {"labels": labels, "external_id": DEFAULT_WIDTHS["external_id"]}
    metrics = view.fontMetrics()
    sample, position = next(iter(ids.items()))
    padding = view.sizeHintForIndex(model.index(position, EXTERNAL_ID)).width() - \
        metrics.horizontalAdvance(sample)
    widest = max(metrics.horizontalAdvance(text) for text in ids)
    return {"labels": labels, "external_id": min(widest + padding, MAX_IDS_WIDTH)}


class PreviousView(ClipTableView):
    def _measure(self) -> dict[str, int]:
        return measure_1000_rows(self)

    def _widen_to_view(self, *_args) -> None:
        """The previous view measured only when rows were (re)loaded or re-ordered."""


class UnmeasuredView(PreviousView):
    def _measure(self) -> dict[str, int]:
        return {"labels": DEFAULT_WIDTHS["labels"], "external_id": DEFAULT_WIDTHS["external_id"]}


def make_views(rows) -> dict[str, ClipTableView]:
    views = {}
    for name, kind in (("ours", ClipTableView), ("previous", PreviousView),
                       ("unmeasured", UnmeasuredView)):
        model = ClipTableModel()
        model.set_rows(list(rows), "ana")
        view = kind(model)
        view.resize(535, 700)  # the list's width in the window on a 1600x1000 screen
        view.show()
        views[name] = view
    QApplication.processEvents()
    return views


def timed(app, action) -> tuple[float, float]:
    """ms until `action` returns (the view fitted, ready to paint), and with the paint."""
    start = time.perf_counter()
    action()
    fitted = time.perf_counter()
    app.processEvents()
    return (fitted - start) * 1000, (time.perf_counter() - start) * 1000


def run_in_turn(app, views, actions) -> dict[str, list[tuple[float, float]]]:
    """Each action on every view, the views' order rotating so none always goes first."""
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in views}
    names = list(views)
    for turn, action in enumerate(actions):
        for name in names[turn % 3:] + names[:turn % 3]:
            times[name].append(timed(app, lambda v=views[name], act=action: act(v)))
    return times


def keystroke(text: str):
    return lambda view: view.model().set_filter(BrowseFilter(text=text))


def sort_click(order: Qt.SortOrder):
    return lambda view: view.horizontalHeader().setSortIndicator(SORT_COL, order)


def median(samples: list[tuple[float, float]], which: int) -> float:
    return statistics.median(sample[which] for sample in samples)


def measure_only(views, repeats: int) -> dict[str, float]:
    """ms of one `_measure` on the whole unfiltered list, per view (median)."""
    for view in views.values():
        view.model().set_filter(BrowseFilter())
        view.horizontalHeader().setSortIndicator(0, Qt.SortOrder.AscendingOrder)
    result = {}
    for name, view in views.items():
        samples = []
        for _ in range(repeats):
            start = time.perf_counter()
            view._measure()
            samples.append((time.perf_counter() - start) * 1000)
        result[name] = statistics.median(samples)
    return result


def report(kind: str, times, rows: int) -> None:
    ours, prev, floor = (times[name] for name in ("ours", "previous", "unmeasured"))
    for which, label in ((0, "fitted"), (1, "painted")):
        print(f"{kind} {label}: ours {median(ours, which):.1f} ms, previous "
              f"{median(prev, which):.1f} ms, unmeasured {median(floor, which):.1f} ms")
    print(f"RESULT browser_columns_{kind}: rows={rows} samples={len(ours)} "
          f"ours_ms={median(ours, 1):.1f} previous_ms={median(prev, 1):.1f} "
          f"unmeasured_ms={median(floor, 1):.1f} "
          f"ratio_vs_previous={median(prev, 1) / median(ours, 1):.2f} "
          f"measuring_ms={median(ours, 0) - median(floor, 0):.1f} "
          f"previous_measuring_ms={median(prev, 0) - median(floor, 0):.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=61_000)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n, rounds = (12_000, 1) if args.quick else (args.rows, 4)
    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as tmp:
        build_db(Path(tmp) / "b.sqlite", n, random.Random(0))
        with open_store(Path(tmp) / "b.sqlite") as store:
            rows = browse_rows(store, "ana")
    views = make_views(rows)
    keys = run_in_turn(app, views, [keystroke(text) for text in KEYSTROKES * rounds])
    orders = (Qt.SortOrder.DescendingOrder, Qt.SortOrder.AscendingOrder)
    sorts = run_in_turn(app, views, [sort_click(order) for order in orders * 4 * rounds])
    only = measure_only(views, 10 * rounds)
    print(f"rows={len(rows)} keystrokes={len(KEYSTROKES) * rounds} ('{TYPED}' typed, erased)")
    report("keystroke", keys, len(rows))
    report("sort", sorts, len(rows))
    print(f"RESULT browser_columns_measure: rows={len(rows)} ours_ms={only['ours']:.2f} "
          f"previous_ms={only['previous']:.2f} "
          f"ratio_vs_previous={only['previous'] / max(only['ours'], 1e-3):.1f}")


if __name__ == "__main__":
    main()
