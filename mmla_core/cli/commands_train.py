"""`mmla train ...`: LoRA fine-tuning runs from the command line, the twin of the training panel.

`launch` starts a detached run (it keeps going after the command returns; `follow` watches it,
Ctrl+C detaches), `ls` / `show` report, `stop` / `resume` / `rm` control, `export-config` writes
the YAML and the command lines to run it on another machine.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from pathlib import Path

import yaml

from mmla_core.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    LABELS_HELP,
    CliError,
    UsageError,
    positive_int,
    print_selection,
    print_table,
)
from mmla_core.store.jobs import job_events, job_resumes
from mmla_core.train import control, logfile
from mmla_core.train.config import TrainConfig, TrainConfigError, yaml_problem
from mmla_core.train.logtext import readable_log
from mmla_core.train.outputs import SAMPLES_FILE, read_samples
from mmla_core.train.preflight import validate
from mmla_core.train.samples import labels_record, preview

POLL_S = 0.5

# (flag, TrainConfig field, type, help) for `mmla train launch`; a flag overrides the YAML.
CONFIG_FLAGS = [
    ("--name", "name", str, "run name (default: <task>-<model>)"),
    ("--model", "model", str, "registered model name or a local model folder"),
    ("--mode", "mode", str, "sft (one task), it (several tasks) or alignment (MMA-Bench)"),
    ("--dataset", "dataset", str, "dataset id or name (default: every dataset with the task)"),
    ("--modality", "modality", str, "auto, video or text"),
    ("--dev-split", "dev_split", str, "split evaluated during training (default dev)"),
    ("--test-split", "test_split", str, "split evaluated after training (default test)"),
    ("--rank", "lora_rank", int, "LoRA rank (default 8)"),
    ("--alpha", "lora_alpha", int, "LoRA alpha (default 16)"),
    ("--dropout", "lora_dropout", float, "LoRA dropout (default 0.05)"),
    ("--lr", "learning_rate", float, "learning rate (default 1e-4)"),
    ("--scheduler", "lr_scheduler", str, "learning-rate schedule (default cosine)"),
    ("--warmup", "warmup_ratio", float, "warmup ratio (default 0.1)"),
    ("--epochs", "epochs", float, "epochs (default 1)"),
    ("--max-steps", "max_steps", int, "stop after N steps (overrides --epochs)"),
    ("--batch-size", "batch_size", int, "per-device batch size (default 1)"),
    ("--grad-accum", "grad_accum", int, "gradient accumulation steps (default 1)"),
    ("--frames", "frames", int, "frames per clip (default 8)"),
    ("--fps", "fps", float, "frame sampling rate (default 2)"),
    ("--max-pixels", "max_pixels", int, "pixels per frame (default 128*28*28)"),
    ("--seed", "seed", int, "random seed (default 42)"),
    ("--eval-every", "eval_every", int, "dev evaluation every N steps (default 50)"),
    ("--save-every", "save_every", int, "checkpoint every N steps (default 50)"),
    ("--device", "device", str, "auto, cpu, cuda or cuda:N (default auto)"),
    ("--sharding", "sharding", str, "none (DDP), fsdp, zero3 or zero3_offload: a model larger "
                                    "than one GPU (default none)"),
    ("--gpus", "gpus", int, "GPUs the run spreads over, for the memory check and the torchrun "
                            "line (default 1)"),
    ("--output-dir", "output_dir", str, "run folder (default <project>.train/<id>-<name>)"),
    ("--labels", "labels", str, LABELS_HELP),
]
LIST_FLAGS = [   # comma-separated lists
    ("--task", "tasks", "task name(s), comma-separated; several = instruction tuning"),
    ("--train-splits", "train_splits", "training split(s), comma-separated (default train)"),
    ("--targets", "target_modules", "LoRA target modules, comma-separated (default q_proj,v_proj)"),
]


def register(sub) -> None:
    p = sub.add_parser("train", help="LoRA fine-tuning runs: launch, watch, stop, resume",
                       description=__doc__.splitlines()[0])
    tsub = p.add_subparsers(dest="train_command", required=True, metavar="ACTION")
    _register_launch(tsub)
    ls = tsub.add_parser("ls", help="list training runs")
    ls.add_argument("--json", action="store_true", help="one JSON object per run")
    ls.set_defaults(handler=_ls)
    for name, handler, help_text in (
        ("show", _show, "status, last events, best accuracy, checkpoints, log tail, OOM advice"),
        ("follow", _follow, "print events as they come until the run ends (Ctrl+C detaches; "
                            "the run goes on)"),
        ("stop", _stop, "ask the run to save a checkpoint and exit"),
        ("resume", _resume, "start a stopped or failed run again from a checkpoint"),
        ("rm", _rm, "delete a finished run and its folder"),
        ("export-config", _export, "write the run's YAML and print the command lines to run "
                                   "it elsewhere"),
    ):
        action = tsub.add_parser(name, help=help_text, description=help_text)
        action.add_argument("job", type=int, help="training job id (mmla train ls)")
        action.set_defaults(handler=handler)
        _register_extras(name, action)


def _register_launch(tsub) -> None:
    launch = tsub.add_parser("launch", help="validate a config and start a detached run",
                             description="Start a LoRA run from CONFIG.yaml and/or flags (flags "
                             "override the file). --dry-run only validates and previews samples.")
    launch.add_argument("config", nargs="?", type=Path, help="YAML with TrainConfig fields")
    for flag, dest, kind, help_text in CONFIG_FLAGS:
        launch.add_argument(flag, dest=f"cfg_{dest}", type=kind, help=help_text,
                            metavar={int: "N", float: "X"}.get(kind, "TEXT"))
    for flag, dest, help_text in LIST_FLAGS:
        launch.add_argument(flag, dest=f"cfg_{dest}", help=help_text, metavar="A,B")
    launch.add_argument("--eval-on-variants", dest="cfg_eval_on_variants", action="store_true",
                        default=None, help="after training, also evaluate the test variants")
    rule = launch.add_mutually_exclusive_group()
    rule.add_argument("--include-rejected", dest="cfg_include_rejected", action="store_const",
                      const=True, help="train on clips whose review verdict is reject too "
                      "(left out by default)")
    rule.add_argument("--only-accepted", dest="cfg_only_accepted", action="store_const",
                      const=True, help="train only on clips whose review verdict is accept")
    launch.add_argument("--dry-run", action="store_true",
                        help="print the validated config and 3 sample previews; start nothing")
    launch.add_argument("--follow", action="store_true", help="then follow it (like `follow`)")
    launch.set_defaults(handler=_launch)


def _register_extras(name: str, action) -> None:
    if name == "follow":
        action.add_argument("--log", action="store_true", help="print the log, not the events")
    elif name == "stop":
        action.add_argument("--force", action="store_true",
                            help="also send SIGTERM (for a trainer that does not react)")
    elif name == "resume":
        action.add_argument("--checkpoint", help="a checkpoint folder or step (default: latest)")
    elif name == "rm":
        action.add_argument("--keep-files", action="store_true",
                            help="forget the run but keep its folder")
    elif name == "show":
        action.add_argument("--lines", type=positive_int, default=20, help="log lines to show")
    elif name == "export-config":
        action.add_argument("--out", type=Path, help="YAML to write (default ./<name>.yaml)")


# --- launch --------------------------------------------------------------------------------

def config_from_args(args):
    """The YAML (if any) with the flags on top, validated by TrainConfig.from_dict."""
    values: dict = {}
    if args.config is not None:
        try:
            values = yaml.safe_load(args.config.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise TrainConfigError(f"{args.config}: not valid YAML{yaml_problem(exc)}") from exc
        except UnicodeDecodeError as exc:
            raise TrainConfigError(f"{args.config}: not UTF-8 text (byte {exc.start})") from exc
        if not isinstance(values, dict):
            raise TrainConfigError(f"{args.config}: expected a mapping of TrainConfig fields")
    for key, value in vars(args).items():
        if key.startswith("cfg_") and value is not None:
            field = key.removeprefix("cfg_")
            is_list = any(dest == field for _, dest, _ in LIST_FLAGS)
            values[field] = [v.strip() for v in value.split(",") if v.strip()] if is_list \
                else value
    if args.cfg_output_dir:   # relative to where the command runs, not to the project
        values["output_dir"] = str(Path(args.cfg_output_dir).resolve())
    if "name" not in values and values.get("tasks") and values.get("model"):
        values["name"] = f"{'+'.join(values['tasks'])}-{Path(str(values['model'])).name}"
    try:
        return TrainConfig.from_dict(values)
    except TrainConfigError as exc:
        where = f"{args.config}: " if args.config else ""
        raise TrainConfigError([f"{where}{p}" for p in exc.problems]) from exc


def _launch(store, args) -> int:
    if args.config is None and not (args.cfg_tasks and args.cfg_model):
        raise UsageError("give CONFIG.yaml, or --task and --model")
    try:
        config = config_from_args(args)
    except TrainConfigError as exc:
        if args.config is None:  # the flags alone make no config: usage (a YAML's content: 1)
            raise UsageError(str(exc)) from exc
        raise
    if args.dry_run:
        return _dry_run(store, config)
    job_id = control.launch(store.path, config)
    job = control.refresh(store, job_id)
    print(f"training job {job_id} '{config.name}' started in {job['output_dir']}")
    print_selection(json.loads(job.get("labels_json") or "null"))
    print(f"  watch: mmla train follow {job_id}    stop: mmla train stop {job_id}")
    return _follow_job(store, job_id, log=False) if args.follow else EXIT_OK


def _dry_run(store, config) -> int:
    print(config.to_yaml().rstrip())
    print_selection(labels_record(store, config))
    problems = validate(store, config)
    if problems:
        for problem in problems:
            print(f"refused: {problem}", file=sys.stderr)
        return EXIT_FAILED
    print("\nsample previews:")
    for sample in preview(store, config, 3):
        print(f"--- clip {sample.clip_id} ({sample.split}, {sample.task}"
              f"{', variant ' + sample.variant if sample.variant else ''}) media: "
              f"{sample.media_path or '-'}")
        print(f"prompt: {sample.prompt}")
        print(f"answer: {sample.answer}")
    print("\nconfig OK (dry run: nothing started)")
    return EXIT_OK


# --- reports -------------------------------------------------------------------------------

def _ls(store, args) -> int:
    rows = []
    for job in control.list_jobs(store):
        config = json.loads(job["config_json"])
        rows.append({"id": job["id"], "name": job["name"], "status": job["status"],
                     "model": config.get("model"), "tasks": ",".join(config.get("tasks", [])),
                     "mode": config.get("mode"), "device": config.get("device"),
                     "step": job["last_step"], "best_dev_acc": job["best_eval_accuracy"],
                     "test_acc": job["test_accuracy"], "exit": job["exit_code"],
                     "started": control.shown_time(job["started_at"]),
                     "resumed": control.shown_time(job.get("resumed_at")),
                     "resumes": len(job_resumes(job))})
    if args.json:
        for row in rows:
            print(json.dumps(row))
    elif rows:
        print_table(rows, list(rows[0]), widths={"name": 24, "model": 24, "tasks": 24})
    else:
        print("no training runs yet (mmla train launch --task T --model M)")
    return EXIT_OK


def _show(store, args) -> int:
    job = control.refresh(store, args.job)
    config = json.loads(job["config_json"])
    events = job_events(store, args.job)
    # the best adapter's (kept through a resume from an earlier checkpoint, as `ls` says)
    evals = [e["eval_accuracy"] for e in events if e["kind"] == "eval"
             and e["eval_accuracy"] is not None] + [job["best_eval_accuracy"]] * (
                 job["best_eval_accuracy"] is not None)
    facts = {"job": f"{job['id']} '{job['name']}'", "status": job["status"],
             "model": config.get("model"), "tasks": ", ".join(config.get("tasks", [])),
             "mode": config.get("mode"), "device": config.get("device"),
             "output": job["output_dir"], "started": job["started_at"],
             "finished": job["finished_at"], "exit code": job["exit_code"],
             "best dev accuracy": f"{max(evals):.3f}" if evals else "-"}
    for key, value in facts.items():
        print(f"{key:<18} {'-' if value is None else value}")
    for resume in job_resumes(job):  # the start above is the first run's; each resume after
        step = f" (step {resume['step']})" if resume.get("step") is not None else ""
        print(f"{'resumed':<18} {resume.get('at')} from {resume.get('checkpoint') or '?'}{step}")
    print_selection(json.loads(job.get("labels_json") or "null"))
    _print_samples(job)
    print("\nlast events:")
    _print_events(events[-5:])
    steps = [str(c["step"]) for c in control.checkpoints(job)]  # "checkpoints: 2" read as two
    print("\ncheckpoints: " + (f"at step{'s' if len(steps) > 1 else ''} {', '.join(steps)}"
                              if steps else "none"))
    running = job["status"] in control.ACTIVE
    tail = logfile.log_tail(job, args.lines) if running or not job["stderr_tail"] \
        else "\n".join(job["stderr_tail"].splitlines()[-args.lines:])
    print(f"\nlog tail ({logfile.log_path(job)}):\n{readable_log(tail) or '(empty)'}")
    advice = logfile.oom_advice(tail, config)
    if advice:
        print(f"\n{advice}")
    return EXIT_OK


def _print_samples(job: dict) -> None:
    """How many samples per split the run trained and was checked on, and where they are."""
    samples = read_samples(job["output_dir"] or "")
    if samples:
        per_split = Counter(s["split"] for s in samples)
        print(f"samples: {', '.join(f'{n} {split}' for split, n in per_split.items())} "
              f"({Path(job['output_dir']) / SAMPLES_FILE})")


def _print_events(events: list[dict], *, say_none: bool = True) -> None:
    if not events and say_none:
        print("  (none yet)")
    for e in events:
        parts = [f"step {e['step']}", e["kind"]]
        for key, label, fmt in (("loss", "loss", ".4f"), ("eval_loss", "eval loss", ".4f"),
                                ("eval_accuracy", "acc", ".3f"), ("learning_rate", "lr", ".2e"),
                                ("samples_per_s", "samples/s", ".2f"),
                                ("gpu_mem_mb", "GPU MB", ".0f")):
            if e.get(key) is not None:
                parts.append(f"{label} {e[key]:{fmt}}")
        print("  " + "  ".join(parts))


def _follow(store, args) -> int:
    return _follow_job(store, args.job, log=args.log)


def _follow_job(store, job_id: int, log: bool) -> int:
    """Events (or log lines) as they come, until the run has ended; Ctrl+C only detaches."""
    after, offset = 0, 0
    try:
        while True:
            job = control.refresh(store, job_id)
            path = logfile.log_path(job) if log else None   # None: no run folder yet
            if path is not None:
                text, offset = logfile.read_log_from(path, offset)
                print(readable_log(text), end="", flush=True)
            else:
                events = job_events(store, job_id, after)
                _print_events(events, say_none=False)  # quiet while a step is running
                after = events[-1]["id"] if events else after
            if control.has_ended(job):
                return _report_end(job)
            time.sleep(POLL_S)
    except KeyboardInterrupt:
        print(f"\ndetached: job {job_id} keeps running (mmla train stop {job_id} stops it)")
        return EXIT_OK


def _report_end(job: dict) -> int:
    print(f"job {job['id']} {job['status']} (exit code {job['exit_code']})")
    if job["status"] != "failed":
        return EXIT_OK
    print(job["stderr_tail"] or "", file=sys.stderr)
    advice = logfile.oom_advice(job["stderr_tail"] or "", json.loads(job["config_json"]))
    if advice:
        print(advice, file=sys.stderr)
    return EXIT_FAILED


# --- control -------------------------------------------------------------------------------

def _stop(store, args) -> int:
    control.request_stop(store, args.job, force=args.force)
    print(f"stop requested for job {args.job}: it saves a checkpoint, then exits "
          f"(mmla train follow {args.job} to watch)")
    return EXIT_OK


def _resume(store, args) -> int:
    note = control.resume(store.path, args.job, args.checkpoint)
    print(f"training job {args.job} resumed from {args.checkpoint or 'its latest checkpoint'}"
          + (f" ({note})" if note else ""))
    return EXIT_OK


def _rm(store, args) -> int:
    job = control.refresh(store, args.job)
    note = control.delete(store, args.job, remove_files=not args.keep_files)
    kept = " (folder kept)" if args.keep_files else f"; {note}" if note else \
        f" and {job['output_dir']}"
    print(f"deleted training job {args.job}{kept}")
    return EXIT_OK


def _export(store, args) -> int:
    job = control.refresh(store, args.job)
    out = args.out or Path(f"{job['name'].replace(' ', '_').replace('/', '_')}.yaml")
    if out.exists() and out.is_dir():
        raise CliError(f"{out} is a folder; give a file name with --out")
    config, lines = control.export_config(job, store.path, out)
    out.write_text(config.to_yaml(), encoding="utf-8")
    print(f"wrote {out}")
    for kind, line in lines.items():
        print(f"{kind + ':':<12} {line}")
    return EXIT_OK
