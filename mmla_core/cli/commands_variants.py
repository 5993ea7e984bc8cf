"""`mmla variants make | ls | rm | recipes`: modality-conflict variants from the command line."""

from __future__ import annotations

import json
import sys

from mmla_core.cli.common import (
    EXIT_OK,
    EXIT_PARTIAL,
    CliError,
    UsageError,
    clip_or_fail,
    positive_int,
    print_table,
    progress_bar,
)
from mmla_core.store import Store
from mmla_core.variants.batch import BatchError, make_variants
from mmla_core.variants.presets import preset_specs
from mmla_core.variants.recipes import RECIPES, RecipeError, parse_spec
from mmla_core.variants.store_ops import delete_variant, describe_variants

SPEC_HELP = ("variants separated by ',', composed steps by '+', parameters by ':' "
             "(e.g. audio_swap,frames_black+audio_swap,av_offset:ms=-300)")


def register(sub) -> None:
    variants = sub.add_parser("variants", help="build, list and delete conflict variants")
    vsub = variants.add_subparsers(dest="variants_command", required=True, metavar="ACTION")

    make = vsub.add_parser("make", help="build variants for a dataset (or one clip); resumable")
    where = make.add_mutually_exclusive_group(required=True)
    where.add_argument("--dataset", help="dataset name")
    where.add_argument("--clip", help="one clip: id, DATASET/EXTERNAL_ID or unique external id")
    make.add_argument("--recipes", default="", help=SPEC_HELP)
    make.add_argument("--preset", choices=("mmabench",),
                      help="add a preset's variants (mmabench: MMA-Bench's five conflicts)")
    make.add_argument("--seed", type=int, default=0)
    make.add_argument("--split", help="only clips of this split")
    make.add_argument("--workers", type=positive_int, default=None,
                      help="processes (default: all cores)")
    make.add_argument("--copy-labels", action="store_true",
                      help="give each variant its parent's labels (for export)")
    make.set_defaults(handler=cmd_make)

    ls = vsub.add_parser("ls", help="list a clip's variants")
    ls.add_argument("clip", help="clip id, DATASET/EXTERNAL_ID or a unique external id")
    ls.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    ls.set_defaults(handler=cmd_ls)

    rm = vsub.add_parser("rm", help="delete a variant (its row, its file, its own variants)")
    rm.add_argument("variant_id", type=int)
    rm.set_defaults(handler=cmd_rm)

    recipes = vsub.add_parser("recipes", help="list the recipes and their parameters")
    recipes.set_defaults(handler=cmd_recipes)


def _specs(args) -> list:
    """The recipes --recipes and --preset name; an unknown recipe or a bad parameter is usage."""
    try:
        specs = parse_spec(args.recipes) if args.recipes.strip() else []
    except RecipeError as exc:
        raise UsageError(f"--recipes: {exc}") from exc
    if args.preset:
        specs += [s for s in preset_specs(args.preset) if s not in specs]
    if not specs:
        raise UsageError("give --recipes and/or --preset")
    return specs


def cmd_make(store: Store, args) -> int:
    if args.clip and args.split:
        raise UsageError("--split picks clips of --dataset; --clip names one clip")
    specs = _specs(args)
    dataset, clip_ids = args.dataset, None
    if args.clip:
        clip = clip_or_fail(store, args.clip)
        dataset, clip_ids = int(clip["dataset_id"]), [int(clip["id"])]
    update, close = progress_bar("building variants")
    try:
        report = make_variants(store, dataset, specs, args.seed, split=args.split,
                               clip_ids=clip_ids, workers=args.workers, progress=update,
                               copy_labels=args.copy_labels)
    except BatchError as exc:
        raise CliError(str(exc)) from exc
    finally:
        close()
    print(report.summary())
    for failure in report.failed:
        print(f"  ! {failure}")
    return EXIT_PARTIAL if report.failed else EXIT_OK


def cmd_ls(store: Store, args) -> int:
    clip = clip_or_fail(store, args.clip)
    rows = describe_variants(store, int(clip["id"]))
    if args.json:
        for row in rows:
            print(json.dumps({**row, "path": str(row["path"]) if row["path"] else None}))
        return EXIT_OK
    if not rows:
        print(f"clip {clip['id']} ({clip['external_id']}) has no variants", file=sys.stderr)
        return EXIT_OK
    print_table(rows, ["id", "type", "badge", "health", "external_id"],
                widths={"badge": 50, "external_id": 50})
    return EXIT_OK


def cmd_rm(store: Store, args) -> int:
    removal = delete_variant(store, args.variant_id)
    files = f" and {len(removal.removed)} file(s)" if removal.removed else ""
    left = f"; {removal.left_note()}" if removal.left else ""
    print(f"deleted variant {args.variant_id}{files}{left}")
    for path in removal.removed:
        print(f"  removed {path}")
    return EXIT_OK


def cmd_recipes(store: Store, args) -> int:
    for recipe in RECIPES.values():
        print(f"{recipe.name}  [{', '.join(sorted(recipe.changes))}]  {recipe.summary}")
        for param in recipe.params:
            detail = f"one of {', '.join(param.choices)}" if param.choices else param.kind
            if param.minimum is not None or param.maximum is not None:
                detail += f", {param.minimum if param.minimum is not None else ''}.." \
                          f"{param.maximum if param.maximum is not None else ''}"
            default = "" if param.default is None else param.default
            print(f"    {param.name}={default}  ({detail})  {param.help}")
    return EXIT_OK
