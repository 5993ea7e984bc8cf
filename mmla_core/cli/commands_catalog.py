"""`mmla demo | ls | show | tasks`: look at what a project holds."""

from __future__ import annotations

import json

from mmla_core.cli.common import CliError, UsageError, clip_or_fail, print_table
from mmla_core.demo import ensure_demo
from mmla_core.prompts import PromptError, check_template
from mmla_core.store import Store
from mmla_core.store.catalog import (
    clip_count,
    dataset_by_name,
    ensure_builtin_tasks,
    ensure_task,
    find_dataset,
    list_clips,
    list_datasets,
    list_tasks,
)
from mmla_core.store.dataset_tasks import attach_new_task, attach_task_named
from mmla_core.store.import_reads import curated_transcripts
from mmla_core.store.label_policy import CURATED, resolve_labels
from mmla_core.store.labels import check_answers, labels_for_clip
from mmla_core.store.review import notes_for_clip, reviewed_by
from mmla_core.store.task_rows import task_names_by_id
from mmla_core.store.verdicts import overall_verdicts
from mmla_core.tasks import TaskError, make_custom_task


def register(sub) -> None:
    demo = sub.add_parser("demo", help="build (or refresh) the bundled demo project")
    demo.set_defaults(handler=cmd_demo)

    ls = sub.add_parser("ls", help="list clips (of all datasets, or one), or the datasets")
    ls.add_argument("dataset", nargs="?", help="only this dataset")
    ls.add_argument("--datasets", action="store_true", help="list datasets instead of clips")
    ls.add_argument("--split", help="only this split")
    ls.add_argument("--grep", help="only clips whose id or transcript contains this")
    ls.add_argument("--limit", type=int, default=0, help="at most this many clips")
    ls.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    ls.set_defaults(handler=cmd_ls)

    show = sub.add_parser("show", help="everything about one clip")
    show.add_argument("clip", help="clip id, DATASET/EXTERNAL_ID or a unique external id")
    show.set_defaults(handler=cmd_show)

    tasks = sub.add_parser("tasks", help="list tasks, add a custom one, or attach one to a "
                                         "dataset (its clips get that task's labels)")
    tasks.add_argument("name", nargs="?", metavar="TASK",
                       help="show this task: every label in full, one a line (the list cuts "
                       "long label sets)")
    tasks.add_argument("--add", metavar="NAME", help="create a custom task with this name")
    tasks.add_argument("--attach", metavar="NAME",
                       help="attach this task (MMLA's or custom) to --dataset")
    tasks.add_argument("--dataset", metavar="D",
                       help="with --attach or --add: the dataset whose clips get the task")
    tasks.add_argument("--labels", help="comma-separated labels of the new task")
    tasks.add_argument("--key", default="", help="prompt word / label column (default: name)")
    tasks.add_argument("--template", help="prompt template with {transcript} {task} {labels}")
    tasks.set_defaults(handler=cmd_tasks)


def cmd_demo(store: Store, args) -> int:
    dataset_id = ensure_demo(store)
    count = clip_count(store, dataset_id)
    print(f"demo project ready: {count} clips in {store.path}")
    return 0


def cmd_ls(store: Store, args) -> int:
    if args.datasets and (args.dataset or args.split or args.grep):
        raise UsageError("--datasets lists datasets: DATASET, --split and --grep pick clips")
    if args.limit < 0:
        raise UsageError(f"--limit {args.limit}: give a number of clips (0: all)")
    if args.datasets:
        rows = list_datasets(store)
        if args.json:
            for row in rows:
                print(json.dumps(row))
        else:
            print_table(rows, ["name", "clip_count", "source_kind", "root"], widths={"root": 70})
        return 0
    dataset_id = None
    if args.dataset:
        dataset = dataset_by_name(store, args.dataset)
        if dataset is None:
            raise CliError(f"no dataset named {args.dataset!r} (see `mmla ls --datasets`)")
        dataset_id = dataset["id"]
    clips = list_clips(store, dataset_id=dataset_id, split=args.split, text=args.grep,
                       limit=args.limit or None)
    _print_clips(clips, as_json=args.json)
    if not clips and not args.json:  # a bare header reads as "something broke"
        print("no clip matches (the project has clips: DATASET, --split or --grep left them "
              "out)" if list_clips(store, limit=1) else "no clips in this project yet: "
              "mmla import FOLDER (or mmla demo: the 8 demo clips)")
    return 0


def _print_clips(clips: list[dict], *, as_json: bool) -> None:
    columns = ["id", "dataset_name", "split", "external_id", "duration_s", "health", "transcript"]
    if as_json:
        for clip in clips:
            print(json.dumps({c: clip[c] for c in [*columns, "media_path"]}))
    else:
        print_table(clips, columns, widths={"transcript": 60, "external_id": 30})


def cmd_show(store: Store, args) -> int:
    clip = clip_or_fail(store, args.clip)
    hidden = {"dataset_root", "recipe_json"}
    for key, value in clip.items():
        if key not in hidden and value is not None:
            print(f"{key:18} {value}")
    if clip["recipe_json"]:
        print(f"{'recipe':18} {clip['recipe_json']}")
    edited = curated_transcripts(store, clip["dataset_id"]).get(clip["id"])
    if edited:
        print(f"{'transcript edited':18} by {edited[1]} (re-imports keep it)")
    for label in labels_for_clip(store, clip["id"]):
        print(f"{'label':18} {label['task']}: {label['label']}  ({label['annotator']})")
    _print_curated(store, clip["id"])
    for answer in check_answers(store, clip["id"]):
        print(f"{'check':18} {answer['check_key']}: {answer['answer']}  ({answer['annotator']})")
    _print_review(store, clip)
    return 0


def _print_curated(store: Store, clip_id: int) -> None:
    """The label each task's curated source gives (what training, evaluation and exports use
    by default) and the kind it is: adjudicated, a person's, or the import's."""
    policy = resolve_labels(store, CURATED, clip_ids=[clip_id])
    names = task_names_by_id(store)
    for task_id, label in sorted(policy.labels.get(clip_id, {}).items()):
        print(f"{'curated':18} {names.get(task_id, task_id)}: {label}  "
              f"({policy.kinds.get((clip_id, task_id), '?')})")


def _print_review(store: Store, clip: dict) -> None:
    """Reviews, the verdict the one rule gives (a variant has its parent's) and notes."""
    for review in reviewed_by(store, clip["id"]):
        print(f"{'review':18} {review['verdict']}  ({review['annotator']})")
    verdict = overall_verdicts(store, clip["dataset_id"]).get(clip["id"])
    if verdict:
        left_out = " (left out of training, evaluation and exports unless --include-rejected)"
        print(f"{'verdict':18} {verdict}{left_out if verdict == 'reject' else ''}")
    for annotator, note in notes_for_clip(store, clip["id"]).items():
        print(f"{'note':18} {note}  ({annotator})")


def cmd_tasks(store: Store, args) -> int:
    if args.name is not None:
        return _show_task(store, args)
    if (args.attach or args.add) and args.dataset:
        return _attach_task(store, args)
    if args.attach or args.dataset:
        raise UsageError("--attach NAME and --dataset D go together (--dataset also with --add)")
    ensure_builtin_tasks(store)
    if args.add:
        task = _custom_task(args)
        ensure_task(store, task)  # a name taken with other labels: the project's, exit 1
        print(f"task {task.name!r} saved with {len(task.labels)} labels")
        return 0
    if args.labels or args.template or args.key:
        raise UsageError("--labels, --key and --template go with --add NAME")
    rows = [
        {"name": t.name, "key": t.task_key, "kind": "MMLA" if t.builtin else "custom",
         "n": len(t.labels), "labels": ", ".join(t.labels)}
        for t in list_tasks(store)
    ]
    print_table(rows, ["name", "key", "kind", "n", "labels"], widths={"labels": 80})
    if any(len(", ".join(t.labels)) > 80 for t in list_tasks(store)):
        print("(a list ending in … is cut: `mmla tasks TASK` prints every label of TASK)")
    return 0


def _show_task(store: Store, args) -> int:
    """`mmla tasks TASK`: the task's exact label strings, one a line (for scripts, too)."""
    if args.add or args.attach or args.dataset or args.labels or args.template or args.key:
        raise UsageError("mmla tasks TASK shows one task; it takes no other option")
    ensure_builtin_tasks(store)
    found = next((t for t in list_tasks(store) if t.name.lower() == args.name.lower()), None)
    if found is None:
        names = ", ".join(t.name for t in list_tasks(store))
        raise CliError(f"no task named {args.name!r}; the tasks: {names}")
    kind = "MMLA" if found.builtin else "custom"
    print(f"{found.name} (key {found.task_key}, {kind}, {len(found.labels)} labels):")
    for label in found.labels:
        print(f"  {label}")
    return 0


def _attach_task(store: Store, args) -> int:
    """`--attach NAME --dataset D`, or `--add NAME --labels ... --dataset D`."""
    if args.attach and args.add:
        raise UsageError("give --attach NAME or --add NAME, not both")
    dataset = find_dataset(store, args.dataset)
    if dataset is None:
        raise CliError(f"no dataset {args.dataset!r} (see `mmla datasets ls`)")
    try:
        if args.attach:
            _task_id, task = attach_task_named(store, dataset["id"], args.attach)
        else:
            task = _custom_task(args)
            attach_new_task(store, dataset["id"], task)
    except (TaskError, ValueError) as exc:
        raise CliError(str(exc)) from exc
    print(f"dataset {dataset['name']!r}: task {task.name!r} attached "
          f"({len(task.labels)} labels)")
    return 0


def _custom_task(args):
    """The task `--add NAME --labels a,b,c [--key K] [--template T]` describes; a flag that
    does not make one (no labels, one label, a template that does not render) is usage."""
    if not args.labels:
        raise UsageError("--add needs --labels a,b,c")
    try:
        if args.template:
            check_template(args.template)
        return make_custom_task(args.add, args.labels.split(","), task_key=args.key,
                                prompt_template=args.template)
    except (PromptError, TaskError) as exc:
        raise UsageError(str(exc)) from exc
