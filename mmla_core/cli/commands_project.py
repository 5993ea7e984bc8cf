"""`mmla new PATH` (empty, or the demo with --demo) and `mmla datasets ls | rm | move`."""

from __future__ import annotations

import sys
from pathlib import Path

from mmla_core.cli.common import EXIT_FAILED, EXIT_OK, CliError, print_table
from mmla_core.datasets.relocate import listed, move_dataset
from mmla_core.datasets.remove import plan_removal, remove_dataset
from mmla_core.demo import ensure_demo
from mmla_core.store import Store, open_store
from mmla_core.store.catalog import list_datasets
from mmla_core.words import count


def register(sub) -> None:
    new = sub.add_parser("new", help="create a new, empty project database (--demo: with the "
                         "bundled demo dataset)")
    new.add_argument("path", type=Path, help="the new project file, e.g. study.sqlite")
    new.add_argument("--demo", action="store_true", help="import the bundled demo clips into it")
    new.set_defaults(handler=cmd_new, own_store=True)

    datasets = sub.add_parser("datasets", help="list or delete the project's datasets")
    dsub = datasets.add_subparsers(dest="datasets_command", required=True, metavar="ACTION")
    ls = dsub.add_parser("ls", help="list datasets with their clip counts")
    ls.set_defaults(handler=cmd_datasets_ls)
    rm = dsub.add_parser("rm", help="delete a dataset: its clips, labels, variant files and "
                         "runs (the imported media folder is left alone); asks first")
    rm.add_argument("name", help="dataset name (or id)")
    rm.add_argument("--yes", "-y", action="store_true", help="do not ask")
    rm.set_defaults(handler=cmd_datasets_rm)
    move = dsub.add_parser("move", help="re-root a dataset whose folder moved, if every file "
                           "at NEWROOT is the one probed (same size and fingerprint)")
    move.add_argument("name", help="dataset name (or id)")
    move.add_argument("new_root", type=Path)
    move.set_defaults(handler=cmd_datasets_move)


def cmd_new(_store: Store | None, args) -> int:
    path: Path = args.path
    if path.exists():
        raise CliError(f"{path} already exists; open it with `mmla --db {path} ...` or "
                       f"`mmla-studio {path}`")
    if path.parent.exists() and not path.parent.is_dir():
        raise CliError(f"{path.parent} is not a folder")
    path.parent.mkdir(parents=True, exist_ok=True)   # the one command that makes a project's folder
    with open_store(path) as store:
        if args.demo:
            ensure_demo(store)
        count = len(list_datasets(store))
    what = "with the demo dataset" if args.demo else "empty"
    print(f"project created ({what}, {count} dataset{'s' * (count != 1)}): {path}\n"
          f"next: mmla --db {path} import FOLDER   or   mmla-studio {path}")
    return EXIT_OK


def cmd_datasets_ls(store: Store, args) -> int:
    print_table(list_datasets(store), ["id", "name", "clip_count", "source_kind", "root"],
                widths={"root": 70})
    return EXIT_OK


def cmd_datasets_rm(store: Store, args) -> int:
    plan = plan_removal(store, args.name)
    print(f"dataset {plan.footprint.name!r}: {plan.summary()} will be deleted")
    if not args.yes and not _confirm("delete it? [y/N] "):
        print("nothing deleted", file=sys.stderr)
        return EXIT_FAILED
    removal = remove_dataset(store, plan.footprint.dataset_id)
    print(f"deleted dataset {removal.footprint.name!r}: {removal.summary()}")
    return EXIT_OK


def cmd_datasets_move(store: Store, args) -> int:
    check = move_dataset(store, args.name, args.new_root)
    hashed = check.checked - check.size_only
    print(f"dataset {check.dataset!r} moved from {check.old_root} to {check.new_root}: "
          f"{check.checked} files checked ({hashed} by size and fingerprint, "
          f"{check.size_only} by size only: probed before fingerprints were kept)")
    if check.first_seen:
        print(f"{count(len(check.first_seen), 'file')} first seen here: never seen at "
              f"{check.old_root} (missing when probed, or not probed yet), so nothing to compare "
              f"with; `mmla media probe {check.dataset}` probes them:{listed(check.first_seen)}")
    return EXIT_OK


def _confirm(question: str) -> bool:
    try:
        return input(question).strip().lower() in {"y", "yes"}
    except EOFError:  # no terminal to answer on: the safe answer is no
        print(file=sys.stderr)
        return False
