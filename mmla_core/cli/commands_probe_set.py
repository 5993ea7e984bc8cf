"""`mmla probe-table`: MMA-Bench's view over several probes (a selection or a whole split)."""

from __future__ import annotations

from mmla_core.cli.common import EXIT_OK, CliError, print_table
from mmla_core.store import Store


def register(sub) -> None:
    p = sub.add_parser("probe-table", help="accuracy per scenario and question over probes")
    p.add_argument("runs", nargs="*", type=int, help="probe run ids (default: see --task)")
    p.add_argument("--task", help="every probe run of this task")
    p.add_argument("--model", help="with --task: only this model's probes")
    p.set_defaults(handler=cmd_probe_table)


def _run_ids(store: Store, args) -> list[int]:
    if args.runs:
        return list(args.runs)
    if not args.task:
        raise CliError("give probe run ids, or --task T for every probe of a task")
    sql = ("SELECT r.id FROM runs r JOIN tasks t ON t.id = r.task_id "
           "LEFT JOIN models m ON m.id = r.model_id WHERE r.kind = 'probe' AND t.name = ?")
    params: tuple = (args.task,)
    if args.model:
        sql, params = sql + " AND m.name = ?", (args.task, args.model)
    return [row[0] for row in store.conn.execute(sql + " ORDER BY r.id", params)]


def cmd_probe_table(store: Store, args) -> int:
    from mmla_core.probe.attention import cohens_d_by_layer
    from mmla_core.probe.matrix import load_probe
    from mmla_core.probe.reliance import mma_table

    results = [load_probe(store, run_id) for run_id in _run_ids(store, args)]
    if not results:
        raise CliError("no probe runs found")
    print(f"{len(results)} probes, {len({r.clip_id for r in results})} clips")
    rows = [{k: (f"{v * 100:.1f}" if isinstance(v, float) else v) for k, v in row.items()}
            for row in mma_table(results)]
    print_table(rows, ["scenario", "n", "visual_focused", "audio_focused", "zero_shot"])
    visual = [c.attention for r in results for c in r.cells
              if c.scenario == "aligned" and c.prompt == "visual_focused" and c.attention]
    audio = [c.attention for r in results for c in r.cells
             if c.scenario == "aligned" and c.prompt == "audio_focused" and c.attention]
    if len(visual) > 1 and len(audio) > 1:
        print("\nCohen's d per layer, visual- vs audio-focused prompt (aligned clips):")
        for modality in ("video", "audio"):
            ds = cohens_d_by_layer(visual, audio, modality)
            print(f"  {modality:5} " + " ".join("—" if d is None else f"{d:+.2f}" for d in ds))
    return EXIT_OK
