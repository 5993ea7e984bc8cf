"""`mmla probe-table`: MMA-Bench's view over several probes (given runs, a selection of clips or
a dataset split), optionally probing the clips of the set that have no probe yet first."""

from __future__ import annotations

from mmla_core.cli.commands_probe import probe_engine, probe_settings, split_list
from mmla_core.cli.common import (
    EXIT_OK,
    CliError,
    UsageError,
    add_placement_arguments,
    add_selection_args,
    positive_int,
    print_selection,
    print_table,
    progress_bar,
    selection_from_args,
)
from mmla_core.probe.matrix import load_probe, regold
from mmla_core.probe.reliance import mma_table
from mmla_core.probe.sets import (
    SetTable,
    cohens_d_of,
    run_probe_set,
    set_clips,
    set_table,
    set_table_csv,
)
from mmla_core.store import Store
from mmla_core.store.results import find_model, probe_run_ids
from mmla_core.words import count


def register(sub) -> None:
    p = sub.add_parser("probe-table", help="accuracy per scenario and question over probes")
    p.add_argument("runs", nargs="*", type=int, help="probe run ids (default: see --task)")
    p.add_argument("--task", help="every probe run of this task (of the set, if one is given)")
    p.add_argument("--model", help="only this model's probes (registered name or folder)")
    p.add_argument("--dataset", help="the set: this dataset's clips (variants left out)")
    p.add_argument("--split", help="with --dataset: only this split (train, dev, test)")
    p.add_argument("--clips", help="the set: comma-separated clip ids")
    p.add_argument("--run-missing", action="store_true",
                   help="first probe the clips of the set without a probe (needs --model)")
    p.add_argument("--attention", action="store_true",
                   help="with --run-missing: capture attention too (Cohen's d per layer)")
    p.add_argument("--scenarios", help="with --run-missing: comma-separated scenarios "
                   "(default: all six)")
    p.add_argument("--device", help="with --run-missing: cpu, cuda, ...")
    add_placement_arguments(p)
    p.add_argument("--frames", type=positive_int,
                   help="with --run-missing: frames per clip (default 4)")
    p.add_argument("--max-pixels", type=positive_int, help="with --run-missing: pixels per frame")
    p.add_argument("--csv", help="also write the table as CSV")
    add_selection_args(p)
    p.set_defaults(handler=cmd_probe_table)


def _run_ids(store: Store, args) -> list[int]:
    if args.runs:
        return list(args.runs)
    if not args.task:
        raise UsageError("give probe run ids, or --task T for every probe of a task")

    return probe_run_ids(store, args.task, args.model)


# flags that only set up the probes --run-missing makes
RUN_MISSING_FLAGS = (("--attention", "attention"), ("--scenarios", "scenarios"),
                     ("--device", "device"), ("--device-map", "device_map"),
                     ("--max-memory", "max_memory"), ("--frames", "frames"),
                     ("--max-pixels", "max_pixels"))


def _set_clips(store: Store, args) -> list[int] | None:
    if not args.run_missing:
        for flag, attribute in RUN_MISSING_FLAGS:
            if getattr(args, attribute):
                raise UsageError(f"{flag} goes with --run-missing (it sets up the probes made)")
    if not (args.dataset or args.clips):
        for flag, given in (("--split", args.split), ("--run-missing", args.run_missing)):
            if given:
                raise UsageError(f"{flag} goes with a set of clips (--dataset or --clips)")
        return None
    if not args.task:
        raise UsageError("a set of clips needs --task")
    if args.runs:
        raise UsageError("give probe run ids or a set of clips (--dataset / --clips), not both")
    if args.run_missing and not args.model:
        raise UsageError("--run-missing needs --model")
    try:
        ids = [int(c) for c in args.clips.split(",") if c.strip()] if args.clips else None
    except ValueError:
        raise UsageError(f"--clips: give clip ids separated by ',', not {args.clips!r}") from None
    try:
        return set_clips(store, clip_ids=ids, dataset=args.dataset, split=args.split)
    except ValueError as exc:  # no such dataset in this project
        raise CliError(f"--clips/--dataset: {exc}") from exc


def _run_missing(store: Store, clips: list[int], args) -> None:
    engine = probe_engine(store, args.model, args)
    update, close = progress_bar("probes")
    try:
        run_probe_set(store, engine, clips, args.task, attention=args.attention,
                      settings=probe_settings(args), scenarios=split_list(args.scenarios or ""),
                      progress=lambda done, total, _run: update(done, total))
    finally:
        close()
        engine.close()


def cmd_probe_table(store: Store, args) -> int:
    if args.model:  # the probes record the registered name: `--model tiny` must find them
        found = find_model(store, args.model)
        args.model = found["name"] if found else args.model
    clips = _set_clips(store, args)
    if clips is not None and args.run_missing:
        _run_missing(store, clips, args)
    if clips is not None:
        table = set_table(store, clips, args.task, args.model, selection_from_args(args))
        print(f"{count(table.clips, 'clip')} in the set, {len(table.run_ids)} probed "
              f"({table.missing} without a probe)")
        print_selection(table.labels)
    else:
        source = selection_from_args(args).labels
        results = [regold(store, load_probe(store, run_id), source)
                   for run_id in _run_ids(store, args)]
        table = SetTable(len({r.clip_id for r in results}), [r.run_id for r in results],
                         mma_table(results) if results else [], cohens_d_of(results))
        print(f"{len(results)} probes, {table.clips} clips")
    if not table.run_ids:
        raise CliError("no probe runs found")
    print_table([{k: (f"{v * 100:.1f}" if isinstance(v, float) else v) for k, v in row.items()}
                 for row in table.rows],
                ["scenario", "n", "visual_focused", "audio_focused", "zero_shot"])
    if table.cohens_d:
        print("\nCohen's d per layer, visual- vs audio-focused prompt (aligned clips):")
        for modality, ds in table.cohens_d.items():
            print(f"  {modality:5} " + " ".join("—" if d is None else f"{d:+.2f}" for d in ds))
    if args.csv:
        print(f"csv: {set_table_csv(table, args.csv)}")
    return EXIT_OK
