"""`mmla eval` (a model on a split, in the model worker process) and `mmla runs` (list, show,
compare, export, pool): the CLI twin of the Evaluate window and the Results view."""

from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path

from mmla_core.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_PARTIAL,
    CliError,
    UsageError,
    check_prompt_kinds,
    placement_kwargs,
    print_selection,
    print_table,
    progress_bar,
    selection_from_args,
)
from mmla_core.eval.arguments import adapter_defaults, add_eval_arguments, eval_kwargs
from mmla_core.eval.comparable import (
    describe_differences,
    eval_command,
    zero_shot_rerun,
)
from mmla_core.eval.compare import compare_runs, metrics_rows, pooled_accuracy, run_report
from mmla_core.eval.export import ExportFormatError, export_format, export_run
from mmla_core.eval.finetune_compare import KINDS, best_by_kind, config_diff, finetune_rows
from mmla_core.eval.run_plan import variant_specs
from mmla_core.eval.runs import EvalError, run_evaluation
from mmla_core.eval.shards import ShardError
from mmla_core.store.results import list_runs, require_run, run_accuracy, run_error_rows
from mmla_core.store.run_owners import fail_orphan_runs
from mmla_core.train.merge import merge_run_folder
from mmla_core.variants.recipes import RecipeError
from mmla_core.words import count
from mmla_core.worker.client import WorkerClient

METRIC_COLUMNS = ["run", "variant", "n", "ACC", "F1", "Precision", "Recall", "WF1", "WP", "flips",
                  "errors"]  # MMLA's metric columns in eval.py's order
EXIT_CANCELLED = 130
MAX_ERRORS_LISTED = 20


def register(sub) -> None:
    p = sub.add_parser("eval", help="evaluate a model on a dataset split (resumable)")
    add_eval_arguments(p)
    p.add_argument("--in-process", action="store_true",
                   help="run the model in this process instead of the worker process")
    p.set_defaults(handler=_eval)
    runs = sub.add_parser("runs", help="evaluation runs: ls, show, compare, export, pooled, "
                                       "finetune, diff, merge")
    rsub = runs.add_subparsers(dest="runs_command", required=True, metavar="ACTION")
    rsub.add_parser("ls", help="list runs").set_defaults(handler=_runs_ls)
    show = rsub.add_parser("show", help="a run's settings and metrics")
    show.add_argument("run", type=int)
    show.add_argument("--confusion", action="store_true", help="print the confusion matrix")
    show.set_defaults(handler=_runs_show)
    compare = rsub.add_parser("compare", help="two or more runs side by side")
    compare.add_argument("runs", type=int, nargs="+")
    compare.add_argument("--disagreements", type=int, default=20, metavar="N",
                         help="list the first N samples they answer differently (default 20)")
    compare.set_defaults(handler=_runs_compare)
    export = rsub.add_parser("export", help="a run's predictions as CSV, JSONL or Parquet (by "
                             "the file's extension), or lmms-eval's per-sample JSONL")
    export.add_argument("run", type=int)
    export.add_argument("out", type=Path, help="FILE.csv, FILE.jsonl or FILE.parquet")
    export.add_argument("--format", choices=("csv", "jsonl", "parquet", "lmms-eval"),
                        default=None, help="override the extension; lmms-eval: the fields "
                        "lmms-eval logs per sample (doc_id, target, arguments, resps, ...)")
    export.set_defaults(handler=_runs_export)
    pooled = rsub.add_parser("pooled", help="accuracy pooled over runs (weighted by test size)")
    pooled.add_argument("runs", type=int, nargs="+")
    pooled.set_defaults(handler=_runs_pooled)
    finetune = rsub.add_parser("finetune", help="zero-shot vs SFT vs IT per task (MMLA's table)")
    finetune.add_argument("--task", help="only this task")
    finetune.add_argument("--all", action="store_true",
                          help="every run, not only the best of each kind")
    finetune.add_argument("--labels", metavar="SOURCE", help="only runs whose gold came from "
                          "this label source (curated, import, annotator:NAME, majority)")
    finetune.set_defaults(handler=_runs_finetune)
    merge = rsub.add_parser("merge", help="fold a run folder's shards (ranks that wrote JSONL "
                                          "instead of the database) into this project")
    merge.add_argument("folder", type=Path, help="the evaluation's --out folder or a training "
                                                 "run's output folder")
    merge.set_defaults(handler=_runs_merge)
    diff = rsub.add_parser("diff", help="how two runs' configs differ (with their training)")
    diff.add_argument("run_a", type=int)
    diff.add_argument("run_b", type=int)
    diff.set_defaults(handler=_runs_diff)


# --- mmla eval ----------------------------------------------------------------------------------

def _eval(store, args) -> int:
    placement_kwargs(args)  # a --device-map / --max-memory that cannot be read: usage, now
    try:
        variant_specs(args.variants)
    except RecipeError as exc:  # an unknown recipe or a bad parameter, before a model loads
        raise UsageError(f"--variants: {exc}") from exc
    if args.prompt_kind:
        check_prompt_kinds("--prompt-kind", [args.prompt_kind])
    kwargs = eval_kwargs(args)  # flags that make no evaluation: an ArgumentError (usage)
    if args.adapter and args.resume is None:
        note = adapter_defaults(store, kwargs, args)
        if note:
            print(note, file=sys.stderr)
    runner = _eval_in_process if args.in_process else _eval_in_worker
    run_id = runner(store.path, kwargs, args)
    if run_id is None:
        return EXIT_FAILED
    if run_id == 0 and args.out is not None:   # shards: fold them in now (this process can)
        run_id = _merge(store, args.out).target_id
    return _summarise(store, run_id)


def _merge(store, folder: Path):
    try:
        report = merge_run_folder(store, folder)
    except (ShardError, OSError, ValueError, KeyError) as exc:
        raise CliError(f"{folder}: cannot merge ({exc})") from exc
    print(report.describe())
    return report


def _eval_in_process(db_path: Path, kwargs: dict, args) -> int:
    update, close = progress_bar("eval")
    stop = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: _cancel_once(stop, previous))
    try:
        return run_evaluation(db_path, **kwargs, progress=lambda e: update(e.done, e.total),
                              cancel=stop)
    except EvalError as exc:
        raise CliError(str(exc)) from exc
    finally:
        signal.signal(signal.SIGINT, previous)
        close()


def _cancel_once(stop: threading.Event, previous) -> None:
    print("\nmmla eval: cancelling after this batch (Ctrl+C again to abort)", file=sys.stderr)
    stop.set()
    signal.signal(signal.SIGINT, previous)


def _eval_in_worker(db_path: Path, kwargs: dict, args) -> int | None:
    client = WorkerClient(db_path)
    update, close = progress_bar("eval")
    client.start()
    try:
        request = client.evaluate(**kwargs)
        final = _wait(client, request, update)
    finally:
        close()
        client.stop()
    if final["type"] == "crashed":
        print(f"mmla eval: {final['message']}\n{final['log_tail']}", file=sys.stderr)
        return final["run_ids"][0] if final["run_ids"] else None
    if final["type"] == "error":
        raise CliError(final["message"])
    return final["run_id"]


def _wait(client, request: int, update) -> dict:
    def on_event(event: dict) -> None:
        if event["type"] == "progress":
            update(event["done"], event["total"])

    while True:
        try:
            return client.wait(request, on_event=on_event)
        except KeyboardInterrupt:
            print("\nmmla eval: cancelling after this batch", file=sys.stderr)
            client.cancel()


def _summarise(store, run_id: int) -> int:
    run = require_run(store, run_id)
    report = run_report(store, run_id)
    if report.metrics.n:
        print_table(metrics_rows([report]), METRIC_COLUMNS)
    errors = f", {count(report.errors, 'error')}" if report.errors else ""
    print(f"run {run_id}: {run['status']}, {report.written} of {run['total']} samples written"
          f"{errors}")
    print_selection(json.loads(run["settings_json"] or "{}").get("labels"))
    if run["status"] == "done":
        if not report.errors:
            return EXIT_OK
        _print_errors(store, run_id, report.errors)
        return EXIT_PARTIAL
    print(f"mmla eval: run {run_id} {run['status']}: {run['error'] or ''}\n"
          f"resume it with: mmla eval --resume {run_id}", file=sys.stderr)
    return EXIT_CANCELLED if run["status"] == "cancelled" else EXIT_FAILED


def _print_errors(store, run_id: int, errors: int) -> None:
    """Each sample that failed, with why (a missing or broken file...), and how to retry."""
    for row in run_error_rows(store, run_id, MAX_ERRORS_LISTED):
        variant = f", {row['variant']}" if row["variant"] else ""
        print(f"  ! clip {row['clip_id']} ({row['external_id']}{variant}): {row['error']}",
              file=sys.stderr)
    if errors > MAX_ERRORS_LISTED:
        print(f"  ! … and {errors - MAX_ERRORS_LISTED} more (mmla runs export {run_id} "
              "FILE.csv: the error column)", file=sys.stderr)
    print(f"mmla eval: retry them with: mmla eval --resume {run_id}", file=sys.stderr)


# --- mmla runs ----------------------------------------------------------------------------------

def _runs_ls(store, args) -> int:
    fail_orphan_runs(store)  # a run whose process was killed shows failed, not running
    rows = list_runs(store)
    for row in rows:
        _, _, accuracy = run_accuracy(store, row["id"])
        row["acc"] = "" if accuracy is None else f"{accuracy * 100:.2f}"
        row["n"] = f"{row['prediction_count']}/{row['total'] or '?'}"
        row["model"] = (row["model_name"] or "") + (" +adapter" if row["adapter_path"] else "")
    print_table(rows, ["id", "kind", "status", "model", "task_name", "dataset_name", "split",
                       "n", "acc", "started_at", "error"], widths={"error": 50})
    return EXIT_OK


def _report(store, run_id: int):
    try:
        return run_report(store, run_id)
    except ValueError as exc:
        raise CliError(str(exc)) from exc


def _runs_show(store, args) -> int:
    fail_orphan_runs(store)
    report = _report(store, args.run)
    run = report.run
    print(f"run {run['id']} ({run['kind']}): {run['status']}  {report.title()}")
    split = "all splits" if run["split"] is None else run["split"] or "(unsplit)"
    print(f"dataset {run['dataset_name']} / {split}, {report.written} of "
          f"{run['total']} samples written, {count(report.errors, 'error')}")
    if run["error"]:
        print(f"error: {run['error']}")
    print(f"settings: {json.dumps(report.settings.get('inference', {}), sort_keys=True)}")
    print(f"engine: {json.dumps(report.settings.get('engine', {}), sort_keys=True)}")
    print_selection(report.settings.get("labels"))  # gold: label source, kinds, left out
    if run.get("environment_json"):  # runs started before migration m009 have none
        # re-dumped: the owner stamp (store.run_owners) rewrites the stored JSON compactly
        print(f"environment: {json.dumps(json.loads(run['environment_json']))}")
    print_table(metrics_rows([report]), METRIC_COLUMNS)
    if args.confusion:
        _print_confusion(report.labels, report.matrix)
    return EXIT_OK


def _print_confusion(labels: list[str], matrix: list[list[int]]) -> None:
    print("\nconfusion matrix (rows: gold, columns: predicted)")
    short = [label[:12] for label in labels]
    short = [s if short.count(s) == 1 else f"{s[:9]}~{i}" for i, s in enumerate(short)]
    rows = [{"gold": label, **dict(zip(short, counts, strict=True))}
            for label, counts in zip(labels, matrix, strict=True) if any(counts)]
    print_table(rows, ["gold", *short])


def _runs_compare(store, args) -> int:
    if len(set(args.runs)) < 2:
        raise UsageError("give two or more run ids to compare (`mmla runs show RUN` for one)")
    for run_id in args.runs:
        _report(store, run_id)  # a clear message for a missing run
    result = compare_runs(store, args.runs, limit=args.disagreements)
    for report in result.reports:
        print(f"{report.run_id}: {report.title()}")
    print_table(metrics_rows(result.reports), METRIC_COLUMNS)
    only = ", ".join(f"run {r}: {n}" for r, n in result.only_right.items())
    print(f"\n{result.shared} samples answered by every run; {result.disagreement_count} "
          f"answered differently. Right where the others are wrong: {only}")
    for note in result.notes:
        print(f"note: {note}")
    rows = [{"clip": d.clip_id, "external_id": d.external_id, "variant": d.variant,
             "gold": d.gold, **{f"run {r}": f"{lab} ({'' if p is None else f'{p:.2f}'})"
                                for r, (lab, p) in d.answers.items()}}
            for d in result.disagreements]
    if rows:
        print()
        print_table(rows, ["clip", "external_id", "variant", "gold",
                           *(f"run {r}" for r in args.runs)])
    return EXIT_OK


def _runs_export(store, args) -> int:
    try:
        export_format(args.out, args.format)
    except ExportFormatError as exc:  # a file name or --format that says no format
        raise UsageError(str(exc)) from exc
    _report(store, args.run)
    count, fmt = export_run(store, args.run, args.out, args.format)
    print(f"{count} predictions of run {args.run} -> {args.out} ({fmt})")
    return EXIT_OK


def _runs_pooled(store, args) -> int:
    reports = [_report(store, run_id) for run_id in args.runs]
    rows = [{"run": r.run_id, "task": r.run["task_name"], "n": r.metrics.n,
             "ACC": r.metrics.percent()["ACC"]} for r in reports]
    print_table(rows, ["run", "task", "n", "ACC"])
    pooled = pooled_accuracy(reports)
    print(f"pooled accuracy over {sum(r.metrics.n for r in reports)} samples: "
          f"{'—' if pooled is None else f'{pooled * 100:.2f}'}")
    return EXIT_OK


def _runs_finetune(store, args) -> int:
    labels = None if args.labels is None else selection_from_args(args).labels
    rows = finetune_rows(store, args.task, labels)
    if not rows:
        raise CliError("no evaluation runs" + (f" for task {args.task}" if args.task else "")
                       + (f" with labels {labels}" if labels else ""))
    if args.all:
        print_table([vars(r) for r in rows], ["task", "kind", "run_id", "model", "job_name",
                                              "dataset", "split", "status", "n", "accuracy",
                                              "macro_f1"])
        return EXIT_OK
    lines = best_by_kind(rows)
    flags = _settings_flags(store, lines)
    for line in lines:
        for kind in KINDS:
            best = line.get(kind)
            line[kind] = "" if best is None else f"{best.accuracy:.2f} (#{best.run_id})" + (
                " !" if kind in line["differs"] else "")
    print("best ACC of each kind (run id); `--all` lists every run; ! = settings differ")
    print_table(lines, ["task", "model", "split", *KINDS])
    for flag in flags:
        print(flag)
    return EXIT_OK


def _settings_flags(store, lines: list[dict]) -> list[str]:
    """For each fine-tuned best run whose settings differ from the zero-shot best: the fields,
    and the exact command that re-runs the zero-shot side with its settings."""
    out = []
    for line in lines:
        for kind, diff in line["differs"].items():
            zero, tuned = line["zero-shot"].run_id, line[kind].run_id
            command = eval_command(zero_shot_rerun(store, zero, tuned), store.path)
            # each difference reads "zero-shot value vs tuned value": name the runs that way
            out.append(f"! {line['task']} zero-shot run {zero} vs {kind} run {tuned}: "
                       f"{describe_differences(diff)}\n  comparable zero-shot: {command}")
    return out


def _runs_merge(store, args) -> int:
    report = _merge(store, args.folder)
    return EXIT_PARTIAL if report.problems else EXIT_OK


def _runs_diff(store, args) -> int:
    try:
        diff = config_diff(store, args.run_a, args.run_b)
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    if not diff:
        print(f"runs {args.run_a} and {args.run_b} have the same config")
        return EXIT_OK
    print_table([{"key": k, f"run {args.run_a}": a, f"run {args.run_b}": b} for k, a, b in diff],
                ["key", f"run {args.run_a}", f"run {args.run_b}"], widths={"key": 40})
    return EXIT_OK
