"""`mmla import | probe | export`: move datasets in and out of a project."""

from __future__ import annotations

from pathlib import Path

from mmla_core import datasets
from mmla_core.cli.commands_review import cmd_export_eaf
from mmla_core.cli.common import (
    EXIT_OK,
    EXIT_PARTIAL,
    CliError,
    UsageError,
    add_selection_args,
    positive_int,
    print_selection,
    print_warnings,
    progress_bar,
    selection_from_args,
)
from mmla_core.datasets import check_media
from mmla_core.datasets.auto import KINDS, KindPick, import_path, pick_kind
from mmla_core.datasets.export import ExportError
from mmla_core.datasets.manifest_pick import NotAManifestError
from mmla_core.datasets.mmla_export import export_mmla_layout
from mmla_core.datasets.mmla_pick import AmbiguousKindError
from mmla_core.models.registered import load_tokenizer
from mmla_core.models.registry import ModelLoadError
from mmla_core.store import Store
from mmla_core.store.catalog import dataset_by_name, task_by_name
from mmla_core.store.results import find_model
from mmla_core.words import count

MAX_LISTED = 50  # problems printed per command; the rest are counted
EXPORT_FORMATS = ("llamafactory", "mmla", "jsonl", "csv", "eaf")
# import flags that mean something for some kinds only: (flag, args attribute, kinds)
KIND_FLAGS = (("--name", "name", ("folder", "sharegpt", "eaf")),
              ("--manifest", "manifest", ("folder",)),
              ("--task", "task", ("sharegpt",)),
              ("--only", "only", ("mmla",)),
              ("--media-root", "media_root", ("sharegpt",)))


def register(sub) -> None:
    imp = sub.add_parser("import", help="import an MMLA tree, a clip folder, a sharegpt JSON or "
                         "ELAN .eaf files (a file or a folder of them)")
    imp.add_argument("path", type=Path)
    imp.add_argument("--kind", choices=KINDS, default="auto",
                     help="what PATH is (default: auto, picked by its look; a folder that is "
                     "both an MMLA tree and a clip folder is refused until --kind says which)")
    imp.add_argument("--name", help="dataset name (folder / sharegpt imports; eaf: the dataset "
                     "for clips whose media no project clip has)")
    imp.add_argument("--manifest", type=Path, help="CSV/JSONL manifest for a folder import "
                     "(it names the clips: media files it does not list are not imported)")
    imp.add_argument("--task", help="task of a sharegpt file's answers (default: inferred)")
    imp.add_argument("--only", help="comma-separated MMLA datasets to import")
    imp.add_argument("--media-root", type=Path, metavar="DIR",
                     help="sharegpt: the folder its media paths are found in (default: the "
                     "file's folder); MMLA's cluster paths /mnt/.../Datasets/<DS>/video/<file> "
                     "are matched to DIR/<DS>/video/<file> by dataset folder and file name")
    imp.add_argument("--no-probe", action="store_true",
                     help="skip probing media now (run `mmla media probe` later; it resumes)")
    imp.add_argument("--overwrite-curated", action="store_true",
                     help="take the source's transcript over one a person edited (an edit that "
                     "person can undo); default: keep the person's and report the row")
    imp.set_defaults(handler=cmd_import)

    media = sub.add_parser("media", help="media files: `mmla media probe` reads streams, fps "
                           "and durations and gives each clip a health verdict")
    media_sub = media.add_subparsers(dest="media_command", required=True, metavar="ACTION")
    probe = media_sub.add_parser("probe", help="probe media not probed yet (resumable), and "
                                 "re-check the files probed before: one missing, resized or "
                                 "modified since is marked missing or probed again (a stat "
                                 "each; unchanged files are not opened)")
    probe.add_argument("dataset", nargs="?", help="only this dataset")
    probe.add_argument("--workers", type=positive_int, default=None)
    probe.set_defaults(handler=cmd_probe)

    exp = sub.add_parser("export", help="export labelled clips")
    exp.add_argument("format", choices=EXPORT_FORMATS)
    exp.add_argument("out", type=Path, help="output folder (llamafactory; mmla: MMLA's layout, "
                     "OUT/<TASK>/{train,dev,test}.tsv + video/) or file (jsonl/csv)")
    exp.add_argument("--dataset", help="dataset name (required for llamafactory and mmla)")
    exp.add_argument("--task", help="task name (required for llamafactory and mmla)")
    exp.add_argument("--splits", help="llamafactory, mmla: splits to write (default: train,dev; "
                     "mmla: train,dev,test)")
    exp.add_argument("--split", help="jsonl/csv: only this split")
    exp.add_argument("--mode", choices=("video", "video_audio", "text"),
                     help="llamafactory: the samples' form (default: video)")
    exp.add_argument("--link", action="store_true",
                     help="mmla: hard-link each video instead of copying it (no space used; a "
                     "tool rewriting an exported video in place would rewrite the clip's file)")
    exp.add_argument("--tokenizer", metavar="MODEL",
                     help="llamafactory: count each sample's tokens with this model's tokenizer "
                     "(a registered model, a folder or a cached Hugging Face id; default: an "
                     "estimate) to report the longest sample and the cutoff_len it needs")
    add_selection_args(exp)
    exp.set_defaults(handler=cmd_export)


def _import_kind(args) -> KindPick:
    """The kind to import as (found from the path for auto: a path that is not there or holds
    nothing importable fails, exit 1; one that reads two ways lacks --kind, a UsageError); a
    flag the kind does not take is a UsageError."""
    try:
        pick = (pick_kind(args.path, manifest=args.manifest) if args.kind == "auto"
                else KindPick(args.kind))
    except AmbiguousKindError as exc:
        raise UsageError(str(exc)) from exc
    for flag, attribute, kinds in KIND_FLAGS:
        if getattr(args, attribute) is not None and pick.kind not in kinds:
            raise UsageError(f"{flag} applies to {' / '.join(kinds)} imports; {args.path} is "
                             f"{'imported as ' if args.kind == 'auto' else ''}{pick.kind}")
    return pick


def cmd_import(store: Store, args) -> int:
    only = args.only.split(",") if args.only else None
    try:
        reports = import_path(store, args.path, kind=_import_kind(args), name=args.name,
                              manifest=args.manifest, task=args.task, only=only,
                              overwrite_curated=args.overwrite_curated,
                              media_root=args.media_root)
    except NotAManifestError as exc:
        if args.manifest is None:  # manifest.csv in the folder is not one: the folder is wrong
            raise
        raise UsageError(f"--manifest {exc}") from exc  # the file given is not a manifest
    if not reports:
        raise CliError(f"{args.path}: nothing to import (no known dataset layout found)")
    for report in reports:
        print(report.summary(with_issues=False))  # the issues follow, each once
        for issue in report.issues[:50]:
            print(f"  ! {issue.location}: {issue.message}")
        if len(report.issues) > 50:
            print(f"  ! … and {len(report.issues) - 50} more")
    if not args.no_probe:
        for report in (r for r in reports if r.dataset_id is not None):
            _probe(store, report.dataset_id, None)  # None would probe every dataset
    return EXIT_PARTIAL if any(r.issues for r in reports) else EXIT_OK


def cmd_probe(store: Store, args) -> int:
    dataset_id = None
    if args.dataset:
        dataset = dataset_by_name(store, args.dataset)
        if dataset is None:
            raise CliError(f"no dataset named {args.dataset!r}")
        dataset_id = dataset["id"]
    _probe(store, dataset_id, args.workers, say_when_idle=True)
    return EXIT_OK


def _probe(store: Store, dataset_id: int | None, workers: int | None, *,
           say_when_idle: bool = False) -> None:
    """Re-check the probed files, probe the rest; each file changed since its probe is listed
    (a missing file is marked so, the others probed again). `say_when_idle`: a run that found
    nothing to do says so (`mmla media probe`; an import's summary already says enough)."""
    update, close = progress_bar("probing media")
    try:
        checked = check_media(store, dataset_id, workers=workers, progress=update)
    finally:
        close()
    if checked.counts:
        print("media health: " + ", ".join(f"{k} {v}" for k, v in sorted(checked.counts.items())))
    elif say_when_idle and not checked.changes:  # a silent exit reads as "did nothing, or failed"
        print(f"media: {count(checked.checked, 'probed file')} re-checked, none changed; "
              "nothing left to probe")
    if checked.changes:
        print(checked.summary())
        for change in checked.changes[:MAX_LISTED]:
            print(f"  ! changed since probed: {change}")
        if len(checked.changes) > MAX_LISTED:
            print(f"  ! … and {len(checked.changes) - MAX_LISTED} more files changed")


def _report_left_out(problems: list[str]) -> int:
    """Each labelled clip left out for its media (missing, unsafe, broken), then exit 3."""
    for line in problems[:MAX_LISTED]:
        print(f"  ! left out: {line}")
    if len(problems) > MAX_LISTED:
        print(f"  ! … and {len(problems) - MAX_LISTED} more clips left out for their media")
    return EXIT_PARTIAL if problems else EXIT_OK


def _check_format_flags(args) -> None:
    """A flag the export format does not take is a usage mistake, not a silent no-op."""
    given = {"--task": args.task, "--tokenizer": args.tokenizer, "--splits": args.splits,
             "--mode": args.mode, "--split": args.split, "--link": args.link or None}
    per_file = ("--split",)
    takes = {"llamafactory": ("--task", "--tokenizer", "--splits", "--mode"),
             "mmla": ("--task", "--splits", "--link"), "eaf": per_file,
             "jsonl": per_file, "csv": per_file}[args.format]
    for flag, value in given.items():
        if value is not None and flag not in takes:
            raise UsageError(f"{flag} does not apply to a {args.format} export (it takes "
                             f"{', '.join(takes)})")


def cmd_export(store: Store, args) -> int:
    _check_format_flags(args)
    if args.format == "eaf":
        return cmd_export_eaf(store, args)
    selection = selection_from_args(args)
    if args.format == "mmla":
        return _export_mmla(store, args, selection)
    if args.format == "llamafactory":
        if not (args.dataset and args.task):
            raise UsageError("llamafactory export needs --dataset and --task")
        if task_by_name(store, args.task) is None:
            raise CliError(f"no task named {args.task!r} (see `mmla tasks`)")
        tokenizer = _tokenizer(store, args.tokenizer) if args.tokenizer else None
        files = datasets.export_llamafactory(
            store, args.out, dataset=args.dataset, task=args.task,
            splits=tuple((args.splits or "train,dev").split(",")), mode=args.mode or "video",
            selection=selection,
            tokenizer=tokenizer, tokenizer_name=_model_name(store, args.tokenizer),
        )
        for path in files:
            print(f"wrote {path}")
        if not files:  # the clips its media left out first, then why nothing was written
            _report_left_out(files.media_problems)
            raise CliError(f"nothing written to {args.out}: {files.summary()}")
        print(files.summary())
        return _report_left_out(files.media_problems)
    writer = datasets.export_jsonl if args.format == "jsonl" else datasets.export_csv
    written = writer(store, args.out, dataset=args.dataset, split=args.split,
                     selection=selection)
    print(f"wrote {written.records} clips to {args.out}")
    print_selection(written.labels)
    print_warnings(written.warnings)
    return EXIT_OK


def _export_mmla(store: Store, args, selection) -> int:
    """MMLA's benchmark layout; clips whose video could not be written are listed, exit 3."""
    if not (args.dataset and args.task):
        raise UsageError("mmla export needs --dataset and --task")
    try:
        files = export_mmla_layout(store, args.out, dataset=args.dataset, task=args.task,
                                   splits=tuple((args.splits or "train,dev,test").split(",")),
                                   selection=selection, link=args.link)
    except ExportError as exc:
        raise CliError(str(exc)) from None
    if not files:
        raise CliError(f"nothing written to {args.out}: {files.summary()}")
    for path in files:
        print(f"wrote {path}")
    print(files.summary())
    return _report_left_out(files.media_problems)


def _model_name(store: Store, ref: str | None) -> str | None:
    """The registered name `--tokenizer tiny` stands for (what the export records), else
    the folder or hub id as given."""
    found = find_model(store, ref) if ref else None
    return found["name"] if found else ref


def _tokenizer(store: Store, ref: str):
    try:
        return load_tokenizer(store, ref)
    except (ModelLoadError, OSError, ValueError) as exc:
        raise CliError(f"--tokenizer {ref}: {exc}") from None
