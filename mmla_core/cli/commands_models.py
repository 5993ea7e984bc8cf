"""`mmla models add | download | ls | tiny` and `mmla predict`: local models from the command line.

`models download` is the only command that uses the network (the Hugging Face Hub); `models add`
validates a folder from its files (config, family, weights index, hash) without
loading the weights; `predict` answers one clip for a researcher poking at it and writes nothing.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tqdm import tqdm

from mmla_core.cli.common import (
    CliError,
    add_placement_arguments,
    clip_or_fail,
    placement_kwargs,
    positive_float,
    positive_int,
    print_table,
)
from mmla_core.models.download import download_model
from mmla_core.models.engine import Engine
from mmla_core.models.inputs import InferenceSettings, clip_input_from_store
from mmla_core.models.registry import ModelLoadError, inspect_model
from mmla_core.models.tiny import TINY_FAMILIES, build_tiny
from mmla_core.store import Store
from mmla_core.store.catalog import task_by_name
from mmla_core.store.results import add_model, all_models, find_model
from mmla_core.tasks import TaskError, builtin_task

TINY_CHOICES = ("all", "qwen2_5_omni", "qwen2_vl", "qwen2_5_vl", "text_lm")
PROMPT_CHOICES = ("zero_shot", "visual_focused", "audio_focused")
BAR_WIDTH = 40


def register(sub) -> None:
    models = sub.add_parser("models", help="register, list and build local models")
    msub = models.add_subparsers(dest="models_command", required=True, metavar="ACTION")

    add = msub.add_parser("add", help="register a model folder or a cached Hugging Face id")
    add.add_argument("path", help="model folder (config.json + *.safetensors) or ORG/NAME")
    add.add_argument("--name", help="name in the project (default: the folder name)")
    add.add_argument("--allow-pickle", action="store_true",
                     help="accept pickle weights (*.bin); only for models you trust")
    add.set_defaults(handler=cmd_add)

    download = msub.add_parser(
        "download", help="download a model from the Hugging Face Hub, then register it")
    download.add_argument("repo_id", help="Hugging Face id, e.g. Qwen/Qwen2.5-Omni-3B")
    download.add_argument("--revision", help="branch, tag or commit (default: main)")
    download.add_argument("--name", help="name in the project (default: the repo name)")
    download.set_defaults(handler=cmd_download)

    ls = msub.add_parser("ls", help="list the project's models")
    ls.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    ls.set_defaults(handler=cmd_ls)

    tiny = msub.add_parser("tiny", help="build tiny random models (tests, trying the app)")
    tiny.add_argument("out", type=Path, help="output folder (one subfolder per family for all)")
    tiny.add_argument("--family", choices=TINY_CHOICES, default="all")
    tiny.add_argument("--seed", type=int, default=0)
    tiny.add_argument("--add", action="store_true", help="also register them in the project")
    tiny.set_defaults(handler=cmd_tiny)

    predict = sub.add_parser("predict", help="ask a model about one clip (writes nothing)")
    predict.add_argument("clip", help="clip id, DATASET/EXTERNAL_ID or a unique external id")
    predict.add_argument("--model", required=True, help="registered model name or a folder")
    predict.add_argument("--task", required=True, help="task name, e.g. MIntRec or MELD")
    predict.add_argument("--mode", choices=("scoring", "generation"), default="scoring")
    rate = predict.add_mutually_exclusive_group()
    rate.add_argument("--frames", type=positive_int,
                      help="frames sampled over the clip (default 4)")
    rate.add_argument("--fps", type=positive_float,
                      help="sample this many frames per second instead")
    predict.add_argument("--max-pixels", type=positive_int, default=360 * 420)
    predict.add_argument("--no-audio", action="store_true", help="do not let the model hear")
    predict.add_argument("--prompt", choices=PROMPT_CHOICES, default="zero_shot")
    predict.add_argument("--max-new-tokens", type=positive_int, default=32)
    predict.add_argument("--device", help="cpu, cuda, cuda:1 (default: a GPU when present)")
    add_placement_arguments(predict)
    predict.add_argument("--adapter", help="LoRA adapter folder to apply")
    predict.add_argument("--allow-pickle", action="store_true")
    predict.set_defaults(handler=cmd_predict)


def cmd_add(store: Store, args) -> int:
    try:
        check = inspect_model(args.path, allow_pickle=args.allow_pickle)
    except ModelLoadError as exc:
        raise CliError(str(exc)) from exc
    name = args.name or check.path.name
    model_id = add_model(store, name, check.family, str(check.path),
                         weights_hash=check.weights_hash, random_weights=check.random_weights)
    size = sum(f.stat().st_size for f in check.weight_files) / 2**20
    print(f"model {name!r} (id {model_id}): {check.family}, {len(check.weight_files)} "
          f"{check.weights_format} file(s), {size:.1f} MiB, {check.weights_hash}")
    if check.random_weights:
        print("  random weights: its predictions are noise (a tiny test model)")
    return 0


def cmd_download(store: Store, args) -> int:
    """Fetch safetensors + configs into the HF cache (tqdm on stderr), then register like `add`.

    Ctrl+C stops cleanly: nothing is registered, finished files stay in the cache and a rerun
    fetches only the rest."""
    bar = tqdm(desc=args.repo_id, unit="B", unit_scale=True, file=sys.stderr, disable=None,
               leave=False)

    def progress(done: int, total: int, name: str) -> None:
        bar.total = total
        bar.set_postfix_str(name, refresh=False)
        bar.update(done - bar.n)

    try:
        path = download_model(args.repo_id, revision=args.revision, progress=progress)
    except KeyboardInterrupt:
        bar.close()
        print("mmla models download: cancelled; nothing registered. Finished files stay in "
              "the cache: run it again to resume", file=sys.stderr)
        return 130
    except ModelLoadError as exc:
        raise CliError(str(exc)) from exc
    finally:
        bar.close()
    args.path, args.allow_pickle = str(path), False
    args.name = args.name or args.repo_id.split("/")[-1]
    return cmd_add(store, args)


def cmd_ls(store: Store, args) -> int:
    rows = all_models(store)
    if args.json:
        for row in rows:
            print(json.dumps(row))
        return 0
    for row in rows:
        row["random"] = "yes" if row["random_weights"] else ""
        row["hash"] = (row["weights_hash"] or "")[:20]
    print_table(rows, ["id", "name", "family", "random", "hash", "path"], widths={"path": 70})
    return 0


def cmd_tiny(store: Store, args) -> int:
    families = TINY_FAMILIES if args.family == "all" else (args.family,)
    for family in families:
        out = args.out / family if args.family == "all" else args.out
        path = build_tiny(out, family, seed=args.seed)
        line = f"{family:13} {path}"
        if args.add:
            check = inspect_model(path)
            add_model(store, f"tiny-{family}", family, str(check.path),
                      weights_hash=check.weights_hash, random_weights=True)
            line += f"  (registered as tiny-{family})"
        print(line)
    return 0


def _model_ref(store: Store, ref: str) -> tuple[str, str]:
    """(path, name) of a registered model (its name, id or an unambiguous start of its name,
    as every `--model` takes), else the argument as a folder."""
    row = find_model(store, ref)
    return (row["path"], row["name"]) if row else (ref, Path(ref).name)


def _task(store: Store, name: str):
    found = task_by_name(store, name)
    if found is not None:
        return found[1]
    try:
        return builtin_task(name)
    except TaskError as exc:
        raise CliError(str(exc)) from exc


def _settings(args):
    frames = None if args.fps else (args.frames or 4)
    return InferenceSettings(num_frames=frames, sample_fps=args.fps, max_pixels=args.max_pixels,
                             audio_on=not args.no_audio, answer_mode=args.mode,
                             prompt_kind=args.prompt, max_new_tokens=args.max_new_tokens)


def cmd_predict(store: Store, args) -> int:
    clip_row = clip_or_fail(store, args.clip)
    task, settings = _task(store, args.task), _settings(args)
    path, name = _model_ref(store, args.model)
    try:
        engine = Engine.load(path, device=args.device, allow_pickle=args.allow_pickle,
                             adapter_path=args.adapter, name=name, **placement_kwargs(args))
    except ModelLoadError as exc:
        raise CliError(str(exc)) from exc
    try:
        clip = clip_input_from_store(store, clip_row["id"], settings)
        result = engine.predict(clip, task, settings)
    finally:
        info = engine.info
        engine.close()
    _print_prediction(info, clip_row, task, settings, result)
    return 0


def _print_prediction(info, clip_row: dict, task, settings, result) -> None:
    noise = ", RANDOM WEIGHTS: predictions are noise" if info.random_weights else ""
    adapter = f" + adapter {info.adapter_path}" if info.adapter_path else ""
    print(f"model    {info.name} ({info.family}, {info.device} {info.dtype}{adapter}{noise})")
    print(f"clip     {clip_row['id']} {clip_row['dataset_name']}/{clip_row['external_id']}: "
          f"{(clip_row.get('transcript') or '')[:70]!r}")
    frames = (f"{settings.num_frames} frames" if settings.num_frames
              else f"{settings.sample_fps:g} fps")
    heard = "heard" if result.audio_on else "not heard"
    print(f"task     {task.name} ({task.prompt_word}), {result.prompt_kind}, "
          f"{result.answer_mode}, {frames}, audio {heard}")
    print(f"answer   {result.raw_output!r} -> {result.parsed_label}")
    width = max(len(label) for label in result.scores)
    for label, prob in sorted(result.scores.items(), key=lambda kv: -kv[1]):
        bar = "█" * round(prob * BAR_WIDTH)
        print(f"  {label:<{width}}  {prob:6.3f}  {bar}")
    print(f"latency  {result.latency_ms:.0f} ms")
