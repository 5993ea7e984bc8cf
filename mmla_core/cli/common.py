"""Shared bits of the CLI: exit codes, errors, progress bars and table printing."""

from __future__ import annotations

import sys
from collections.abc import Callable

from tqdm import tqdm

from mmla_core.eval.arguments import (  # noqa: F401 - the CLI's commands take them from here
    LABELS_HELP,
    ArgumentError,
    add_placement_arguments,
    add_selection_args,
    positive_float,
    positive_int,
)
from mmla_core.eval.arguments import placement_kwargs as eval_placement_kwargs
from mmla_core.eval.arguments import selection_from_args as eval_selection_from_args
from mmla_core.models.placement import parse_max_memory, single_device
from mmla_core.models.prompting import PROMPT_KINDS
from mmla_core.models.registry import ModelLoadError
from mmla_core.store.catalog import clip_miss, find_clip
from mmla_core.store.verdicts import describe_record

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_PARTIAL = 0, 1, 2, 3


class CliError(Exception):
    """A failure the user can act on; printed without a traceback (exit 1)."""


class UsageError(CliError):
    """The command line itself is wrong, found after argparse read it: a flag missing, two flags
    that exclude each other, a value outside what the command accepts (a label not in the
    task's set, an unknown recipe or scenario). Exit 2 with the command's usage line, as
    argparse's own errors. A name the project does not hold (no such clip, dataset, run) is a
    CliError: the same line may be right for another project."""


def progress_bar(desc: str) -> tuple[Callable[[int, int], None], Callable[[], None]]:
    """A (callback(done, total), close) pair drawing a tqdm bar on stderr."""
    bar = tqdm(desc=desc, unit="clip", file=sys.stderr, disable=None, leave=False)

    def update(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    return update, bar.close


# ids: two long ones often share their start (`long_name_one`, `long_name_two`, a clip's
# variants), so their end is kept too
CUT_IN_THE_MIDDLE = frozenset({"external_id"})


def print_table(rows: list[dict], columns: list[str], *, widths: dict[str, int] | None = None):
    """Plain aligned text, one row per line, cells cut to a width so lines stay readable."""
    widths = widths or {}
    cells = [[_cell(row.get(c), widths.get(c, 40), middle=c in CUT_IN_THE_MIDDLE)
              for c in columns] for row in rows]
    sizes = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(s) for c, s in zip(columns, sizes, strict=True)).rstrip())
    for r in cells:
        print("  ".join(v.ljust(s) for v, s in zip(r, sizes, strict=True)).rstrip())


def _cell(value, width: int, *, middle: bool = False) -> str:
    text = "" if value is None else str(value).replace("\n", " ")
    if isinstance(value, float):  # 2 decimals, but a learning rate of 1e-4 is not "0.00"
        text = f"{value:.2f}" if value == 0 or abs(value) >= 0.01 else f"{value:.3g}"
    if len(text) <= width:
        return text
    if middle:
        tail = (width - 1) // 2
        return text[: width - 1 - tail] + "…" + text[len(text) - tail:]
    return text[: width - 1] + "…"


# --- which labels and clips (store.label_policy, store.verdicts) -------------------------------
# The flags are the evaluation's too (a torchrun rank parses them): eval/arguments.py holds them.

def selection_from_args(args):
    """The verdicts.Selection the flags ask for; a bad --labels is a UsageError."""
    try:
        return eval_selection_from_args(args)
    except ArgumentError as exc:
        raise UsageError(str(exc)) from exc


def check_prompt_kinds(flag: str, kinds) -> None:
    """Prompt kinds a flag names (zero_shot, sft, visual_focused, check:KEY...): an unknown one
    is a UsageError, said before a model loads."""
    known = [k for k in PROMPT_KINDS if not k.startswith("check:")]
    unknown = [k for k in kinds if k not in known and not k.startswith("check:")]
    if unknown:
        raise UsageError(f"{flag}: unknown {', '.join(unknown)}; known: {', '.join(known)}, "
                         "check:KEY")


def placement_kwargs(args) -> dict:
    """--device-map / --max-memory as Engine.load keywords, checked before a model loads: a
    device map or memory cap that cannot be read is a UsageError, not a failed load."""
    given = eval_placement_kwargs(args)
    try:
        single_device(given.get("device_map"))
        parse_max_memory(given.get("max_memory"))
    except ModelLoadError as exc:
        raise UsageError(str(exc)) from exc
    return given


def print_selection(record: dict) -> None:
    """The labels line every output prints (source, counts, clips each rule left out)."""
    print(describe_record(record))


def print_warnings(warnings: list[str]) -> None:
    """An export's warnings (a read-only project, a sample past cutoff_len), on stderr."""
    for warning in warnings:
        print(f"WARNING {warning}", file=sys.stderr)


def clip_or_fail(store, ref: str) -> dict:
    """The clip `ref` names (an id, DATASET/external_id or a unique external id); else a
    CliError saying why none was found: no such dataset, no such clip, several of that id."""
    clip = find_clip(store, ref)
    if clip is None:
        raise CliError(clip_miss(store, ref))
    return clip
