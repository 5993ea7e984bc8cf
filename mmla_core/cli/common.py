"""Shared bits of the CLI: exit codes, errors, progress bars and table printing."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_PARTIAL = 0, 1, 2, 3


class CliError(Exception):
    """A failure the user can act on; printed without a traceback."""


def progress_bar(desc: str) -> tuple[Callable[[int, int], None], Callable[[], None]]:
    """A (callback(done, total), close) pair drawing a tqdm bar on stderr."""
    from tqdm import tqdm

    bar = tqdm(desc=desc, unit="clip", file=sys.stderr, disable=None, leave=False)

    def update(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    return update, bar.close


def print_table(rows: list[dict], columns: list[str], *, widths: dict[str, int] | None = None):
    """Plain aligned text, one row per line, cells cut to a width so lines stay readable."""
    widths = widths or {}
    cells = [[_cell(row.get(c), widths.get(c, 40)) for c in columns] for row in rows]
    sizes = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(s) for c, s in zip(columns, sizes, strict=True)).rstrip())
    for r in cells:
        print("  ".join(v.ljust(s) for v, s in zip(r, sizes, strict=True)).rstrip())


def _cell(value, width: int) -> str:
    text = "" if value is None else str(value).replace("\n", " ")
    if isinstance(value, float):  # 2 decimals, but a learning rate of 1e-4 is not "0.00"
        text = f"{value:.2f}" if value == 0 or abs(value) >= 0.01 else f"{value:.3g}"
    return text if len(text) <= width else text[: width - 1] + "…"


# --- which labels and clips (store.label_policy, store.verdicts) -------------------------------

LABELS_HELP = ("label source: curated (default: the adjudicated label, else the latest by a "
               "person, else the imported one), import, annotator:NAME, or majority (a tie is "
               "left out and reported)")


def add_selection_args(parser, *, verdicts: bool = True) -> None:
    """--labels, and (with `verdicts`) --include-rejected / --only-accepted."""
    parser.add_argument("--labels", default="curated", metavar="SOURCE", help=LABELS_HELP)
    if verdicts:
        rule = parser.add_mutually_exclusive_group()
        rule.add_argument("--include-rejected", action="store_true",
                          help="keep clips whose review verdict is reject (left out by default)")
        rule.add_argument("--only-accepted", action="store_true",
                          help="keep only clips whose review verdict is accept")


def selection_from_args(args):
    """The verdicts.Selection the flags ask for; a bad --labels is a CliError."""
    from mmla_core.store.label_policy import LabelSourceError
    from mmla_core.store.verdicts import Selection

    try:
        return Selection(getattr(args, "labels", None) or "curated",
                         bool(getattr(args, "include_rejected", False)),
                         bool(getattr(args, "only_accepted", False)))
    except LabelSourceError as exc:
        raise CliError(str(exc)) from exc


def print_selection(record: dict) -> None:
    """The labels line every output prints (source, counts, clips each rule left out)."""
    from mmla_core.store.verdicts import describe_record

    print(describe_record(record))


# --- where the model goes (models.placement) ----------------------------------------------------

def add_placement_arguments(p: argparse.ArgumentParser) -> None:
    """--device-map / --max-memory: a model larger than one GPU, split over the devices."""
    p.add_argument("--device-map", metavar="auto|balanced|DEVICE",
                   help="split the model over the visible GPUs (auto: fill them in order, then "
                        "the CPU; balanced: even shares) or put it on one DEVICE; default: one "
                        "device, split only when the weights do not fit it")
    p.add_argument("--max-memory", metavar="0=20GiB,1=20GiB,cpu=64GiB",
                   help="cap what each device takes of a split model")


def placement_kwargs(args) -> dict:
    given = {"device_map": getattr(args, "device_map", None),
             "max_memory": getattr(args, "max_memory", None)}
    return {k: v for k, v in given.items() if v}
