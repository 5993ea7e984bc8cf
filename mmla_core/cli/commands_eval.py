"""`mmla eval` (a model on a split, in the model worker process) and `mmla runs` (list, show,
compare, export, pool): the CLI twin of the Evaluate window and the Results view."""

from __future__ import annotations

import argparse
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
    add_placement_arguments,
    add_selection_args,
    placement_kwargs,
    print_selection,
    print_table,
    progress_bar,
    selection_from_args,
)

METRIC_COLUMNS = ["run", "variant", "n", "ACC", "F1", "WF1", "WP", "P", "R", "flips", "errors"]
EXIT_CANCELLED = 130


def add_eval_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", help="registered model name (mmla models ls) or a model folder")
    p.add_argument("--task", help="task name, e.g. MELD")
    p.add_argument("--dataset", help="dataset name (mmla ls --datasets)")
    p.add_argument("--split", default="test", help="train | dev | test | all (default: test)")
    p.add_argument("--variants", help="conflict variants too: mmabench, or recipes such as "
                   "audio_swap,frames_black+audio_silent")
    p.add_argument("--mode", choices=("scoring", "generation"), default="scoring",
                   help="label scoring (default) or MMLA's generation + parser")
    p.add_argument("--frames", type=int, help="frames per clip (default 4, MMLA's setting)")
    p.add_argument("--fps", type=float, help="sample frames at this rate instead of --frames")
    p.add_argument("--max-pixels", type=int, help="pixels per frame (default 360*420)")
    p.add_argument("--no-audio", action="store_true", help="do not feed the clip's audio")
    p.add_argument("--prompt-kind", help="zero_shot (default; with --adapter: the form its "
                   "training used), sft, ...")
    p.add_argument("--template", type=Path, help="file with your own prompt template")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-new-tokens", type=int, help="generation: token limit")
    p.add_argument("--attn", help="attention implementation (sdpa, eager, flash_attention_2)")
    p.add_argument("--adapter", help="LoRA adapter folder (a fine-tune's checkpoint)")
    p.add_argument("--allow-pickle", action="store_true", help="allow pickle weights (unsafe)")
    p.add_argument("--batch-size", type=int, default=4, help="clips per batch and commit")
    add_placement_arguments(p)
    p.add_argument("--name", default="", help="a name for the run")
    p.add_argument("--resume", type=int, metavar="RUN_ID",
                   help="resume a run: only the samples it has not answered are predicted")
    add_selection_args(p)
    p.add_argument("--db-mode", choices=("auto", "direct", "shards"), default=None,
                   help="direct: write the project database; shards: open it read-only and "
                        "write per-rank JSONL shards to --out (ranks on other machines), merged "
                        "with `mmla runs merge`; auto: shards when the database is on a network "
                        "file system or not writable (default: direct for mmla eval, auto for "
                        "a torchrun rank)")
    p.add_argument("--out", type=Path, metavar="RUN_FOLDER",
                   help="with shards: the run folder every rank can write (shared storage)")
    p.add_argument("--engine-factory", help=argparse.SUPPRESS)  # tests: fake engines
    p.add_argument("--input-factory", help=argparse.SUPPRESS)


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

def settings_from_args(args) -> dict:
    settings = {"audio_on": not args.no_audio, "answer_mode": args.mode, "seed": args.seed}
    if args.prompt_kind is not None:
        settings["prompt_kind"] = args.prompt_kind
    if args.fps is not None:
        settings.update(sample_fps=args.fps, num_frames=None)
    elif args.frames is not None:
        settings["num_frames"] = args.frames
    if args.template is not None:
        settings["template"] = args.template.read_text(encoding="utf-8")
    optional = {"max_pixels": args.max_pixels, "max_new_tokens": args.max_new_tokens,
                "attn_implementation": args.attn}
    settings.update({k: v for k, v in optional.items() if v is not None})
    return settings


def eval_kwargs(args) -> dict:
    if args.resume is None and not (args.model and args.task and args.dataset):
        raise CliError("give --model, --task and --dataset (or --resume RUN_ID)")
    return {"model": args.model, "task": args.task, "dataset": args.dataset,
            "split": None if args.split == "all" else args.split,
            "settings": settings_from_args(args), "variants": args.variants,
            "adapter": args.adapter, "resume": args.resume, "name": args.name,
            "batch_size": args.batch_size, "allow_pickle": args.allow_pickle,
            "selection": selection_from_args(args).to_dict(), **placement_kwargs(args),
            **_shard_kwargs(args)}


def _shard_kwargs(args) -> dict:
    given = {"db_mode": args.db_mode, "out_dir": args.out}
    return {k: v for k, v in given.items() if v is not None}


def _eval(store, args) -> int:
    kwargs = eval_kwargs(args)
    if args.adapter and args.resume is None:
        _adapter_defaults(store, kwargs, args)
    runner = _eval_in_process if args.in_process else _eval_in_worker
    run_id = runner(store.path, kwargs, args)
    if run_id is None:
        return EXIT_FAILED
    if run_id == 0 and args.out is not None:   # shards: fold them in now (this process can)
        run_id = _merge(store, args.out).target_id
    return _summarise(store, run_id)


def _merge(store, folder: Path):
    from mmla_core.eval.shards import ShardError
    from mmla_core.train.merge import merge_run_folder

    try:
        report = merge_run_folder(store, folder)
    except (ShardError, OSError, ValueError, KeyError) as exc:
        raise CliError(f"{folder}: cannot merge ({exc})") from exc
    print(report.describe())
    return report


def _adapter_defaults(store, kwargs: dict, args) -> None:
    """Evaluating an adapter: the frames, max pixels, prompt form (and audio) its training used,
    where the command line does not say otherwise (eval.comparable.adapter_settings)."""
    from mmla_core.eval.comparable import adapter_settings

    found = adapter_settings(store, args.adapter, args.task)
    if found is None:
        print(f"mmla eval: {args.adapter} was not trained in this project: MMLA's zero-shot "
              "defaults (or your flags) apply", file=sys.stderr)
        return
    given = {"num_frames": args.frames is not None or args.fps is not None,
             "sample_fps": args.frames is not None or args.fps is not None,
             "max_pixels": args.max_pixels is not None, "prompt_kind": args.prompt_kind
             is not None, "template": args.template is not None, "audio_on": args.no_audio}
    settings = kwargs["settings"]
    taken = {k: v for k, v in found["inference"].items() if k in given and not given[k]}
    settings.update(taken)
    shown = ", ".join(f"{k} {v}" for k, v in taken.items() if v is not None)
    print(f"inference settings of training job {found['job_id']}: {shown or 'as given'} "
          "(--frames/--fps/--max-pixels/--prompt-kind override them)", file=sys.stderr)


def _eval_in_process(db_path: Path, kwargs: dict, args) -> int:
    from mmla_core.eval.runs import EvalError, run_evaluation

    update, close = progress_bar("eval")
    stop = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: _cancel_once(stop, previous))
    try:
        return run_evaluation(db_path, **kwargs, progress=lambda e: update(e.done, e.total),
                              cancel=stop, engine_factory=args.engine_factory,
                              input_factory=args.input_factory)
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
    from mmla_core.worker.client import WorkerClient

    client = WorkerClient(db_path, engine_factory=args.engine_factory,
                          input_factory=args.input_factory)
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
    from mmla_core.eval.compare import metrics_rows, run_report
    from mmla_core.store.results import get_run

    run = get_run(store, run_id)
    report = run_report(store, run_id)
    if report.metrics.n:
        print_table(metrics_rows([report]), METRIC_COLUMNS)
    print(f"run {run_id}: {run['status']}, {report.written} of {run['total']} samples written"
          f"{f', {report.errors} errors' if report.errors else ''}")
    print_selection(json.loads(run["settings_json"] or "{}").get("labels"))
    if run["status"] == "done":
        return EXIT_PARTIAL if report.errors else EXIT_OK
    print(f"mmla eval: run {run_id} {run['status']}: {run['error'] or ''}\n"
          f"resume it with: mmla eval --resume {run_id}", file=sys.stderr)
    return EXIT_CANCELLED if run["status"] == "cancelled" else EXIT_FAILED


def run_eval_entry(argv: list[str] | None = None) -> int:
    """`python -m mmla_core.eval.runs`: one rank of a torchrun / accelerate launch."""
    from mmla_core.config import default_db_path
    from mmla_core.eval.runs import (
        EvalError,
        launch_key_from_env,
        run_evaluation,
        shard_from_env,
    )
    from mmla_core.store import StoreError

    parser = argparse.ArgumentParser(prog="python -m mmla_core.eval.runs",
                                     description="one rank of a data-parallel evaluation")
    parser.add_argument("--db", type=Path, default=None)
    add_eval_arguments(parser)
    parser.add_argument("--device", help="default: cuda:LOCAL_RANK when CUDA is there")
    args = parser.parse_args(argv)
    rank, world = shard_from_env()
    kwargs = eval_kwargs(args)
    kwargs.setdefault("db_mode", "auto")   # a rank on another machine: shards, not SQLite
    try:
        run_id = run_evaluation(
            args.db or default_db_path(), **kwargs, rank=rank, world_size=world,
            launch_key=launch_key_from_env(), device=args.device or _rank_device(),
            engine_factory=args.engine_factory, input_factory=args.input_factory,
            progress=lambda e: _rank_line(rank, e))
    except (CliError, EvalError, StoreError, OSError) as exc:
        print(f"mmla eval (rank {rank}/{world}): {exc}", file=sys.stderr)
        return EXIT_FAILED
    where = f"run {run_id}" if run_id else f"shards in {args.out} (mmla runs merge {args.out})"
    print(f"rank {rank}/{world}: {where}", file=sys.stderr)
    return EXIT_OK


def _rank_device() -> str | None:
    import os

    if "LOCAL_RANK" not in os.environ:
        return None
    import torch

    local = int(os.environ["LOCAL_RANK"])
    return f"cuda:{local}" if torch.cuda.is_available() and local < torch.cuda.device_count() \
        else None


def _rank_line(rank: int, event) -> None:
    if event.stage != "running" or event.done == event.total:
        print(f"rank {rank}: {event.stage} {event.done}/{event.total} {event.message}",
              file=sys.stderr)


# --- mmla runs ----------------------------------------------------------------------------------

def _runs_ls(store, args) -> int:
    from mmla_core.store.results import list_runs, run_accuracy

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
    from mmla_core.eval.compare import run_report

    try:
        return run_report(store, run_id)
    except ValueError as exc:
        raise CliError(str(exc)) from exc


def _runs_show(store, args) -> int:
    from mmla_core.eval.compare import metrics_rows

    report = _report(store, args.run)
    run = report.run
    print(f"run {run['id']} ({run['kind']}): {run['status']}  {report.title()}")
    split = "all splits" if run["split"] is None else run["split"] or "(unsplit)"
    print(f"dataset {run['dataset_name']} / {split}, {report.written} of "
          f"{run['total']} samples written, {report.errors} errors")
    if run["error"]:
        print(f"error: {run['error']}")
    print(f"settings: {json.dumps(report.settings.get('inference', {}), sort_keys=True)}")
    print(f"engine: {json.dumps(report.settings.get('engine', {}), sort_keys=True)}")
    print_selection(report.settings.get("labels"))  # gold: label source, kinds, left out
    if run.get("environment_json"):  # runs started before migration m009 have none
        print(f"environment: {run['environment_json']}")
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
    from mmla_core.eval.compare import compare_runs, metrics_rows

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
    from mmla_core.eval.export import export_run

    _report(store, args.run)
    count, fmt = export_run(store, args.run, args.out, args.format)
    print(f"{count} predictions of run {args.run} -> {args.out} ({fmt})")
    return EXIT_OK


def _runs_pooled(store, args) -> int:
    from mmla_core.eval.compare import pooled_accuracy

    reports = [_report(store, run_id) for run_id in args.runs]
    rows = [{"run": r.run_id, "task": r.run["task_name"], "n": r.metrics.n,
             "ACC": r.metrics.percent()["ACC"]} for r in reports]
    print_table(rows, ["run", "task", "n", "ACC"])
    pooled = pooled_accuracy(reports)
    print(f"pooled accuracy over {sum(r.metrics.n for r in reports)} samples: "
          f"{'—' if pooled is None else f'{pooled * 100:.2f}'}")
    return EXIT_OK


def _runs_finetune(store, args) -> int:
    from mmla_core.eval.finetune_compare import KINDS, best_by_kind, finetune_rows

    labels = None if args.labels is None else selection_from_args(args).labels
    rows = finetune_rows(store, args.task, labels)
    if not rows:
        raise CliError("no evaluation runs" + (f" for task {args.task}" if args.task else "")
                       + (f" with labels {labels}" if labels else ""))
    if args.all:
        print_table([vars(r) for r in rows], ["task", "kind", "run_id", "model", "job_name",
                                              "dataset", "split", "n", "accuracy", "macro_f1"])
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
    from mmla_core.eval.comparable import describe_differences, eval_command, zero_shot_rerun

    out = []
    for line in lines:
        for kind, diff in line["differs"].items():
            zero, tuned = line["zero-shot"].run_id, line[kind].run_id
            command = eval_command(zero_shot_rerun(store, zero, tuned), store.path)
            out.append(f"! {line['task']} {kind} run {tuned} vs zero-shot run {zero}: "
                       f"{describe_differences(diff)}\n  comparable zero-shot: {command}")
    return out


def _runs_merge(store, args) -> int:
    report = _merge(store, args.folder)
    return EXIT_PARTIAL if report.problems else EXIT_OK


def _runs_diff(store, args) -> int:
    from mmla_core.eval.finetune_compare import config_diff

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
