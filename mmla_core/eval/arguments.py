"""The options of an evaluation, shared by `mmla eval` (cli/commands_eval.py) and one rank of a
torchrun / accelerate launch (`python -m mmla_core.eval`, eval/__main__.py): the argparse
flags and what they mean as `run_evaluation` keyword arguments. The label-source and placement
flags are used by other commands too (cli/common.py passes them on).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from mmla_core.eval.comparable import adapter_settings
from mmla_core.store.db import Store
from mmla_core.store.label_policy import LabelSourceError
from mmla_core.store.verdicts import Selection

__all__ = ["LABELS_HELP", "ArgumentError", "adapter_defaults", "add_eval_arguments",
           "add_placement_arguments", "add_selection_args", "eval_kwargs", "placement_kwargs",
           "positive_float", "positive_int", "selection_from_args", "settings_from_args"]


class ArgumentError(ValueError):
    """Options that do not make an evaluation (a missing --model, a bad --labels)."""


def positive_int(text: str) -> int:
    """An argparse type: a count (frames, pixels, workers, clips) of 1 or more; argparse turns
    the error into its own usage error (exit 2)."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"give 1 or more, not {value}")
    return value


def positive_float(text: str) -> float:
    """An argparse type: a rate (frames per second) above 0."""
    value = float(text)
    if not value > 0:  # NaN too
        raise argparse.ArgumentTypeError(f"give a number above 0, not {text}")
    return value


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
    """The verdicts.Selection the flags ask for; a bad --labels is an ArgumentError."""
    try:
        return Selection(getattr(args, "labels", None) or "curated",
                         bool(getattr(args, "include_rejected", False)),
                         bool(getattr(args, "only_accepted", False)))
    except LabelSourceError as exc:
        raise ArgumentError(str(exc)) from exc


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


# --- an evaluation ---------------------------------------------------------------------------

def add_eval_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", help="registered model name (mmla models ls) or a model folder")
    p.add_argument("--task", help="task name, e.g. MELD")
    p.add_argument("--dataset", help="dataset name (mmla ls --datasets)")
    p.add_argument("--split", default="test", help="train | dev | test | all (default: test)")
    p.add_argument("--variants", help="conflict variants too: mmabench, or recipes such as "
                   "audio_swap,frames_black+audio_silent")
    p.add_argument("--mode", choices=("scoring", "generation"), default="scoring",
                   help="label scoring (default) or MMLA's generation + parser")
    p.add_argument("--frames", type=positive_int,
                   help="frames per clip (default 4, MMLA's setting)")
    p.add_argument("--fps", type=positive_float,
                   help="sample frames at this rate instead of --frames")
    p.add_argument("--max-pixels", type=positive_int, help="pixels per frame (default 360*420)")
    p.add_argument("--no-audio", action="store_true", help="do not feed the clip's audio")
    p.add_argument("--prompt-kind", help="zero_shot (default; with --adapter: the form its "
                   "training used), sft, ...")
    p.add_argument("--template", type=Path, help="file with your own prompt template")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-new-tokens", type=positive_int, help="generation: token limit")
    p.add_argument("--attn", help="attention implementation (sdpa, eager, flash_attention_2)")
    p.add_argument("--adapter", help="LoRA adapter folder (a fine-tune's checkpoint)")
    p.add_argument("--allow-pickle", action="store_true", help="allow pickle weights (unsafe)")
    p.add_argument("--batch-size", type=positive_int, default=4, help="clips per batch and commit")
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
        raise ArgumentError("give --model, --task and --dataset (or --resume RUN_ID)")
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


def adapter_defaults(store: Store, kwargs: dict, args) -> str:
    """Evaluating an adapter: take the frames, max pixels, prompt form (and audio) its training
    used where the command line does not say otherwise (eval.comparable.adapter_settings), into
    `kwargs["settings"]`. Returns the line that says what was taken ('' for a folder that is
    not there: the evaluation refuses it)."""
    found = adapter_settings(store, args.adapter, args.task)
    if found is None and not Path(args.adapter).expanduser().is_dir():
        return ""  # no such folder: the evaluation refuses it, saying so once
    if found is None:
        return (f"mmla eval: {args.adapter} was not trained in this project: MMLA's zero-shot "
                "defaults (or your flags) apply")
    frames_given = args.frames is not None or args.fps is not None
    given = {"num_frames": frames_given, "sample_fps": frames_given,
             "max_pixels": args.max_pixels is not None,
             "prompt_kind": args.prompt_kind is not None,
             "template": args.template is not None, "audio_on": args.no_audio}
    taken = {k: v for k, v in found["inference"].items() if k in given and not given[k]}
    kwargs["settings"].update(taken)
    shown = ", ".join(f"{k} {v}" for k, v in taken.items() if v is not None)
    return (f"inference settings of training job {found['job_id']}: {shown or 'as given'} "
            "(--frames/--fps/--max-pixels/--prompt-kind override them)")
