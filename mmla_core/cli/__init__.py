"""`mmla`: the command line twin of the GUI.

Exit codes scripts can rely on: 0 done, 1 failed (nothing or not everything done, message on
stderr), 2 bad usage (argparse's own errors, and a command's UsageError: the command's usage
line, then the message), 3 done but some rows/files were skipped and reported. An unexpected
error is also 1: one line on stderr, the traceback in a log file it names (cli/crash.py). A reader
that closes the pipe early (`mmla ls | head`) ends the command quietly with 141 (128 + SIGPIPE,
what a shell reports for `yes | head`).
"""

from __future__ import annotations

import argparse
import os
import select
import sqlite3
import sys
from pathlib import Path

from mmla_core.cli import (
    commands_catalog,
    commands_data,
    commands_eval,
    commands_models,
    commands_probe,
    commands_probe_set,
    commands_project,
    commands_review,
    commands_train,
    commands_variants,
)
from mmla_core.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    ArgumentError,
    CliError,
    UsageError,
)
from mmla_core.cli.crash import report_unexpected
from mmla_core.config import default_db_path, prepared_default_db_path
from mmla_core.store import StoreError, open_store
from mmla_core.store.db import describe_sqlite_error, is_storage_error
from mmla_core.store.results import unknown_model_hint

EXIT_READER_GONE = 141
EXIT_CODES_HELP = ("exit codes: 0 done; 1 failed (a clip, dataset, run or file that is not "
                   "there, a model that does not load, a job in the wrong state); 2 bad usage "
                   "(a flag missing, flags that exclude each other, a value the command does "
                   "not accept); 3 done, but some rows or files were skipped, each reported")


class CommandParser(argparse.ArgumentParser):
    """Notes in the namespace which (sub)command's parser read the line (`command_parser`), so a
    usage error the command finds itself prints that command's usage line, as argparse would.
    Subparsers are made of this class too; the innermost one's note is the one kept."""

    def parse_known_args(self, args=None, namespace=None):
        namespace = argparse.Namespace() if namespace is None else namespace
        namespace.command_parser = self
        return super().parse_known_args(args, namespace)


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(prog="mmla", description=__doc__.splitlines()[0],
                           epilog=EXIT_CODES_HELP)
    parser.add_argument("--db", type=Path, default=None,
                        help=f"project database (default: {default_db_path()})")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands_project.register(sub)
    commands_catalog.register(sub)
    commands_data.register(sub)
    commands_variants.register(sub)
    commands_review.register(sub)
    commands_models.register(sub)
    commands_eval.register(sub)
    commands_probe.register(sub)
    commands_probe_set.register(sub)
    commands_train.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "own_store", False):  # `mmla new PATH` makes its own database
        return _run(args.handler, None, args)
    db_path = args.db or prepared_default_db_path()
    try:
        store = open_store(db_path)
    except StoreError as exc:
        print(f"mmla: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except Exception as exc:  # e.g. sqlite3.DatabaseError: not a database
        report_unexpected(args.command, exc)
        return EXIT_FAILED
    if store.read_only:
        print(f"mmla: {store.path}: {store.read_only}; opened read-only (changes will be "
              "refused)", file=sys.stderr)
    try:
        return _run(args.handler, store, args)
    finally:
        store.close()


def _run(handler, store, args) -> int:
    try:
        code = int(handler(store, args) or EXIT_OK)
        if code == EXIT_FAILED:
            _hint_models(store, args)
        return code
    except BrokenPipeError as exc:  # `mmla ... | head`: the reader stopped; nothing failed here
        if _stdout_closed_by_reader():
            return _reader_gone()
        print(f"mmla {args.command}: {exc}", file=sys.stderr)  # another pipe (the worker's)
        return EXIT_FAILED
    except (UsageError, ArgumentError) as exc:  # the line itself is wrong: exit 2, as argparse
        return _usage_error(args, exc)
    except (CliError, ValueError, OSError, StoreError) as exc:
        print(f"mmla {args.command}: {exc}", file=sys.stderr)
        _hint_models(store, args)
        return EXIT_FAILED
    except sqlite3.OperationalError as exc:  # a write outside Store.write (sqlite-utils, ...)
        if not is_storage_error(exc):  # a damaged project, a bug: the crash report
            report_unexpected(args.command, exc)
            return EXIT_FAILED
        where = store.path if store is not None else args.db
        print(f"mmla {args.command}: {where}: {describe_sqlite_error(exc)}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("mmla: interrupted; finished batches are saved", file=sys.stderr)
        return 130
    except Exception as exc:  # anything else: one line + a log file, never a bare traceback
        report_unexpected(args.command, exc)
        return EXIT_FAILED


def _usage_error(args, exc: Exception) -> int:
    """argparse's own form: the command's usage line, then `PROG: error: MESSAGE`."""
    parser = getattr(args, "command_parser", None)
    prog = parser.prog if parser is not None else f"mmla {args.command}"
    if parser is not None:
        parser.print_usage(sys.stderr)
    print(f"{prog}: error: {exc}", file=sys.stderr)
    return EXIT_USAGE


def _stdout_closed_by_reader() -> bool:
    """True when stdout is a pipe whose reading end is closed (poll says POLLERR); a broken
    pipe elsewhere (the model worker's) is a failure like any other."""
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & select.POLLERR for _, events in poller.poll(0))
    except (AttributeError, OSError, ValueError):  # no poll (Windows), no real stdout (tests)
        return False


def _reader_gone() -> int:
    """Quiet end when stdout's reader closed the pipe, as `yes | head` ends: stdout goes to
    /dev/null so the interpreter's last flush does not complain again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return EXIT_READER_GONE


def _hint_models(store, args) -> None:
    """After a failure with --model naming no registered model: list the ones there are."""
    model = getattr(args, "model", None)
    if store is None or not isinstance(model, str):
        return

    hint = unknown_model_hint(store, model)
    if hint:
        print(f"mmla {args.command}: {hint}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
