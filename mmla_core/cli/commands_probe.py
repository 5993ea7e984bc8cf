"""`mmla probe CLIP` (the scenario x prompt matrix of one clip + its reliance profile),
`mmla probe show RUN` (a stored probe) and `mmla checks-model` (MMA-Bench's four checks answered
by a model for a dataset, as a model layer in the checks panel)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from mmla_core.cli.commands_data import cmd_probe
from mmla_core.cli.common import (
    EXIT_OK,
    CliError,
    UsageError,
    add_placement_arguments,
    check_prompt_kinds,
    clip_or_fail,
    placement_kwargs,
    positive_int,
    print_table,
    progress_bar,
)
from mmla_core.models.engine import Engine, ModelLoadError
from mmla_core.models.inputs import InferenceSettings
from mmla_core.models.prompting import PromptKindError
from mmla_core.probe import load_probe, run_probe
from mmla_core.probe.compare import compare_probes
from mmla_core.probe.export import probe_to_csv
from mmla_core.probe.model_checks import run_model_checks
from mmla_core.probe.reliance import cell_reliance, reliance_profile
from mmla_core.store.catalog import (
    dataset_by_name,
    original_clip_ids,
    variant_descendants,
)
from mmla_core.store.checks import model_answer_counts
from mmla_core.store.results import find_model
from mmla_core.variants.presets import MMABENCH

DEFAULT_SCENARIOS = "aligned,audio_swap,misleading_caption,long_context,frames_zeroed,audio_removed"
DEFAULT_PROMPTS = "zero_shot,visual_focused,audio_focused"


MEDIA_NOTICE = ("mmla probe: probing media files is now `mmla media probe [DATASET]`; "
                "running it (`mmla probe CLIP --model M --task T` probes a model on a clip)")


def register(sub) -> None:
    """`mmla probe CLIP --model M --task T` probes a model on a clip, `mmla probe show RUN`
    reopens a probe, `mmla probe compare A B` puts two side by side. The old media form
    (`mmla probe [DATASET]` without --model) still runs `mmla media probe`, with a notice."""
    p = sub.add_parser("probe", help="probe a model on one clip (media files: `mmla media "
                       "probe`)")
    p.description = ("`mmla probe CLIP --model M --task T` runs the scenario x prompt matrix of "
                     "one clip (MMA-Bench scenarios) and prints it with the modality reliance "
                     "profile; `mmla probe show RUN` reopens a stored probe; `mmla probe "
                     "compare RUN_A RUN_B` compares two probes of one clip cell by cell. "
                     "(`mmla probe [DATASET]` without --model is the old spelling of `mmla media "
                     "probe`.)")
    p.add_argument("dataset", nargs="?", metavar="CLIP|show|compare",
                   help="the clip (id, DATASET/external_id or a unique external id)")
    p.add_argument("run", nargs="*", type=int, help="with show: a probe's run id; with "
                   "compare: two run ids")
    p.add_argument("--workers", type=positive_int, default=None, help=argparse.SUPPRESS)
    p.add_argument("--model", help="registered model name (mmla models ls) or a model folder")
    p.add_argument("--task", help="task name, e.g. MIntRec")
    p.add_argument("--scenarios", default=DEFAULT_SCENARIOS,
                   help=f"comma-separated MMA-Bench scenarios (default: {DEFAULT_SCENARIOS})")
    p.add_argument("--prompts", default=DEFAULT_PROMPTS,
                   help=f"comma-separated prompt kinds (default: {DEFAULT_PROMPTS})")
    p.add_argument("--prompt-task", metavar="TEXT",
                   help="the task prompt's text ({transcript} {task} {labels}; default: MMLA's)")
    p.add_argument("--prompt-visual", metavar="TEXT",
                   help="the visual-focused question's text (default: MMA-Bench's)")
    p.add_argument("--prompt-audio", metavar="TEXT",
                   help="the audio-focused question's text (default: MMA-Bench's)")
    p.add_argument("--variants", default="none", metavar="existing|none|ID,...",
                   help="existing variant clips of the clip to probe as extra rows: all of "
                   "them, none (default), or these clip ids")
    p.add_argument("--attention", action="store_true",
                   help="also capture attention shares by modality per layer (each prompt's last "
                   "token once more with eager attention, over the probe's own cached pass: "
                   "about 10-15%% more time)")
    p.add_argument("--frames", type=positive_int, help="frames per clip (default 4)")
    p.add_argument("--max-pixels", type=positive_int, help="pixels per frame (default 360*420)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", help="cpu, cuda, ... (default: auto)")
    add_placement_arguments(p)
    p.add_argument("--adapter", help="LoRA adapter folder")
    p.add_argument("--csv", type=Path, help="also write the probe as CSV")
    p.set_defaults(handler=_probe)
    c = sub.add_parser("checks-model", help="answer MMA-Bench's four alignment checks with a "
                       "model for a dataset (a model layer; human answers are never touched)")
    c.add_argument("--dataset", required=True)
    c.add_argument("--model", required=True)
    c.add_argument("--limit", type=positive_int, help="only the first N clips")
    c.add_argument("--frames", type=positive_int)
    c.add_argument("--max-pixels", type=positive_int)
    c.add_argument("--device")
    add_placement_arguments(c)
    c.set_defaults(handler=_checks_model)


def probe_settings(args):
    values: dict[str, Any] = {"seed": getattr(args, "seed", 0)}  # argparse's values
    if args.frames is not None:
        values["num_frames"] = args.frames
    if args.max_pixels is not None:
        values["max_pixels"] = args.max_pixels
    return InferenceSettings(**values)


def probe_engine(store, ref: str, args):
    row = find_model(store, ref)
    path, name = (row["path"], row["name"]) if row else (ref, None)
    try:
        return Engine.load(path, device=args.device, name=name,
                           adapter_path=getattr(args, "adapter", None), **placement_kwargs(args))
    except ModelLoadError as exc:
        raise CliError(str(exc)) from exc


def split_list(text: str) -> tuple[str, ...]:
    return tuple(t.strip() for t in text.split(",") if t.strip())


def _templates(args) -> dict:
    given = {"zero_shot": args.prompt_task, "visual_focused": args.prompt_visual,
             "audio_focused": args.prompt_audio}
    return {kind: text for kind, text in given.items() if text is not None}


def _variant_ids(store, clip_id: int, spec: str) -> list[int]:
    """`existing`: every variant of the clip; `none`; or comma-separated clip ids."""
    if spec in ("", "none"):
        return []
    if spec == "existing":
        return [int(r["id"]) for r in variant_descendants(store, clip_id) if r["id"] != clip_id]
    try:
        return [int(v) for v in split_list(spec)]
    except ValueError:
        raise UsageError(f"--variants: give existing, none or clip ids, not {spec!r}") from None


def _check_probe_words(args) -> None:
    """Scenario and prompt names, and a prompt text for a prompt not probed: usage mistakes,
    refused before a model loads."""
    known = [s.key for s in MMABENCH]
    unknown = [s for s in split_list(args.scenarios) if s not in known]
    if unknown:
        raise UsageError(f"--scenarios: unknown {', '.join(unknown)}; known: {', '.join(known)}")
    prompts = split_list(args.prompts)
    check_prompt_kinds("--prompts", prompts)
    unused = [kind for kind in _templates(args) if kind not in prompts]
    if unused:
        raise UsageError(f"a prompt text was given for {', '.join(unused)}, which --prompts "
                         "does not probe")


def _probe(store, args) -> int:
    clip_ref = args.dataset
    if clip_ref not in ("show", "compare") and not (args.model or args.task):
        if args.run:
            raise UsageError("give --model and --task to probe a clip, or `mmla probe show RUN`")

        print(MEDIA_NOTICE, file=sys.stderr)
        return cmd_probe(store, args)
    if clip_ref == "compare":
        return _compare(store, args.run)
    if clip_ref == "show":
        if len(args.run) != 1:
            raise UsageError("give the probe's run id: mmla probe show RUN")
        result = load_probe(store, args.run[0])
    else:
        result = _probe_clip(store, clip_ref, args)
    print_probe(result)
    if getattr(args, "csv", None) is not None:
        print(f"csv: {probe_to_csv(result, args.csv)}")
    return EXIT_OK


def _probe_clip(store, clip_ref: str | None, args):
    """`mmla probe CLIP --model M --task T`: the line checked first, then the model loaded."""
    if not (args.model and args.task):
        raise UsageError("give --model and --task")
    if clip_ref is None:
        raise UsageError("give the clip: mmla probe CLIP --model M --task T")
    if args.run:
        raise UsageError(f"one clip at a time: {' '.join(map(str, args.run))} left over")
    _check_probe_words(args)
    row = clip_or_fail(store, clip_ref)
    variants = _variant_ids(store, int(row["id"]), args.variants)
    engine = probe_engine(store, args.model, args)
    try:
        return run_probe(store, engine, int(row["id"]), args.task,
                         scenarios=split_list(args.scenarios), prompts=split_list(args.prompts),
                         settings=probe_settings(args), seed=args.seed,
                         attention=args.attention, templates=_templates(args),
                         variants=variants)
    except PromptKindError as exc:  # a --prompt-* text that does not render: the line's
        raise UsageError(str(exc)) from exc
    except ValueError as exc:  # no such task, a --variants id not of this clip: exit 1
        raise CliError(str(exc)) from exc
    finally:
        engine.close()


def _compare(store, runs: list[int]) -> int:
    if len(runs) != 2:
        raise UsageError("give two probe run ids: mmla probe compare RUN_A RUN_B")
    comparison = compare_probes(load_probe(store, runs[0]), load_probe(store, runs[1]))
    print(f"A: {comparison.a.title()}\nB: {comparison.b.title()}\nclip "
          f"{comparison.a.clip_id}, task {comparison.a.task}, gold {comparison.a.gold or '-'}")

    def answer(cell) -> str:
        return "-" if cell is None else f"{cell.predicted} {cell.p_predicted:.2f}"

    rows = []
    for row in comparison.rows:
        line = {"scenario": row}
        for prompt in comparison.prompts:
            pair = comparison.pair(row, prompt)
            assert pair is not None  # compare_probes pairs every row with every prompt
            mark = "≠ " if pair.differs else ""
            change = f" ({pair.correctness_changed})" if pair.correctness_changed else ""
            line[prompt] = f"{mark}{answer(pair.a)} | {answer(pair.b)}{change}"
        rows.append(line)
    print_table(rows, ["scenario", *comparison.prompts],
                widths=dict.fromkeys(comparison.prompts, 60))
    print(comparison.summary())
    return EXIT_OK


def print_probe(result) -> None:
    adapter = f" + adapter {result.adapter}" if result.adapter else ""
    print(f"probe run {result.run_id}: clip {result.clip_id}, task {result.task}, model "
          f"{result.model}{adapter}, gold {result.gold or '-'} ({result.status})")
    for kind, text in result.templates.items():
        print(f"{kind} prompt (edited): {text!r}")
    rows = []
    for scenario in result.scenarios:
        row = {"scenario": result.row_title(scenario)}
        for prompt in result.prompts:
            cell = result.cell(scenario, prompt)
            mark = "" if cell is None or cell.correct is None else (" ✓" if cell.correct else
                                                                    " ✗")
            row[prompt] = "-" if cell is None else \
                f"{cell.predicted} {cell.p_predicted:.2f}{mark}"
        rows.append(row)
    print_table(rows, ["scenario", *result.prompts])
    rel = cell_reliance(result)
    if rel:
        print("\nvs aligned (same prompt):")
        print_table([{"scenario": r.scenario, "prompt": r.prompt, "dP(gold)": r.delta_p_gold,
                      "flipped": "yes" if r.flipped else "", "KL": f"{r.kl:.4f}"} for r in rel],
                    ["scenario", "prompt", "dP(gold)", "flipped", "KL"])
    profile = reliance_profile(result)
    print("\nreliance profile (mean drop of P(gold) / mean KL / flip rate):")
    for modality in ("video", "audio", "text"):
        drop, kl, flips = (profile.drop[modality], profile.kl[modality],
                           profile.flips[modality])
        if drop is None and kl is None:
            print(f"  {modality:<5}  -")
            continue
        print(f"  {modality:<5}  drop {_num(drop)}  KL {_num(kl)}  flips {_num(flips)}")
    print(f"  relied on: {profile.verdict()}")
    attention = [c for c in result.cells if c.attention]
    if attention:
        print("\nattention at the answer position (video / audio / text, mean over layers):")
        for cell in attention:
            n = len(cell.attention)
            v, a, t = (sum(layer[i] for layer in cell.attention) / n for i in range(3))
            print(f"  {cell.scenario:<20} {cell.prompt:<16} {v:.3f} / {a:.3f} / {t:.3f}")


def _num(value) -> str:
    return "-" if value is None else f"{value:+.4f}"


def _checks_model(store, args) -> int:
    dataset = dataset_by_name(store, args.dataset)
    if dataset is None:
        raise CliError(f"no dataset {args.dataset!r} (see `mmla ls --datasets`)")
    clip_ids = original_clip_ids(store, dataset["id"], limit=args.limit)
    args.seed = 0
    engine = probe_engine(store, args.model, args)
    update, close = progress_bar("checks")
    try:
        run_id = run_model_checks(store, engine, clip_ids, settings=probe_settings(args),
                                  progress=update)
    finally:
        close()
        engine.close()
    counts = model_answer_counts(store, run_id)
    print(f"checks run {run_id}: {len(clip_ids)} clip(s) answered by the model")
    print_table(counts, ["check_key", "answer", "n"])
    return EXIT_OK


