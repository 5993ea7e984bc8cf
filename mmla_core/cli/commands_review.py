"""`mmla label | transcript | check | checks | note | review | undo | redo | agreement |
export-eaf | export-review`: curate from the command line, exactly as the GUI does.

The annotator comes from `--annotator` or the MMLA_ANNOTATOR environment variable.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

from mmla_core.checks import CheckError
from mmla_core.cli.common import (
    EXIT_OK,
    EXIT_PARTIAL,
    CliError,
    UsageError,
    add_selection_args,
    clip_or_fail,
    print_selection,
    print_table,
    print_warnings,
    selection_from_args,
)
from mmla_core.datasets.eaf import export_eaf
from mmla_core.datasets.review_export import export_review_csv, export_review_jsonl
from mmla_core.eval.agreement import annotators_for_dataset, dataset_agreement
from mmla_core.store import Store, labels
from mmla_core.store.catalog import dataset_by_name, task_by_name
from mmla_core.store.checks import (
    answer_check,
    clip_check_state,
    dataset_checks,
    set_dataset_checks,
)
from mmla_core.store.labels import CHECK_ANSWERS, IMPORT_ANNOTATOR, adjudicate, set_label, set_note
from mmla_core.store.review import AUTO, mark_reviewed, review_progress
from mmla_core.store.task_rows import task_name

ANNOTATOR_ENV = "MMLA_ANNOTATOR"
MAX_LISTED = 50  # clips listed by name per problem; the rest are counted


def register(sub) -> None:
    _curation_commands(sub)
    _review_commands(sub)
    _export_commands(sub)


def _annotator_option(parser) -> None:
    default = os.environ.get(ANNOTATOR_ENV)
    parser.add_argument("--annotator", default=default, required=default is None,
                        help=f"who is annotating (default: ${ANNOTATOR_ENV})")


def _curation_commands(sub) -> None:
    label = sub.add_parser("label", help="set (or --clear) one annotator's label of a clip")
    label.add_argument("clip", help="clip id, DATASET/EXTERNAL_ID or a unique external id")
    label.add_argument("task", help="task name, e.g. MELD")
    label.add_argument("label", nargs="?", help="one of the task's labels")
    label.add_argument("--clear", action="store_true", help="remove this annotator's label")
    _annotator_option(label)
    label.set_defaults(handler=cmd_label)

    settle = sub.add_parser("adjudicate", help="settle a (clip, task): the adjudicated label "
                            "wins over everyone's (undo with `mmla undo`)")
    settle.add_argument("clip", help="clip id, DATASET/EXTERNAL_ID or a unique external id")
    settle.add_argument("task", help="task name, e.g. MELD")
    settle.add_argument("label", nargs="?", help="one of the task's labels")
    settle.add_argument("--clear", action="store_true", help="withdraw your adjudication")
    _annotator_option(settle)
    settle.set_defaults(handler=cmd_label)

    check = sub.add_parser("check", help="answer one alignment check of a clip")
    check.add_argument("clip")
    check.add_argument("check", help="check key, e.g. visual_only (see `mmla checks DATASET`)")
    check.add_argument("answer", choices=CHECK_ANSWERS)
    _annotator_option(check)
    check.set_defaults(handler=cmd_check)

    checks = sub.add_parser("checks", help="show or set a dataset's alignment-check list")
    checks.add_argument("dataset")
    checks.add_argument("--set", dest="items", action="append", metavar="KEY=QUESTION",
                        help="replace the list (repeat for each check, in order)")
    checks.add_argument("--reset", action="store_true", help="go back to MMA-Bench's four")
    checks.set_defaults(handler=cmd_checks)

    transcript = sub.add_parser("transcript", help="correct a clip's transcript (an edit of "
                                "yours: `mmla undo` takes it back; re-imports keep it)")
    transcript.add_argument("clip", help="clip id, DATASET/EXTERNAL_ID or a unique external id")
    transcript.add_argument("text", help="the clip's new transcript")
    _annotator_option(transcript)
    transcript.set_defaults(handler=cmd_transcript)

    note = sub.add_parser("note", help="set one annotator's free-text note on a clip")
    note.add_argument("clip")
    note.add_argument("text", help="the note ('' clears it)")
    _annotator_option(note)
    note.set_defaults(handler=cmd_note)

    for name, text in (("undo", "undo the annotator's latest label change"),
                       ("redo", "redo the annotator's latest undone label change")):
        parser = sub.add_parser(name, help=text)
        _annotator_option(parser)
        parser.set_defaults(handler=cmd_undo_redo)


def _review_commands(sub) -> None:
    review = sub.add_parser("review", help="mark a clip reviewed (verdict from the checks unless "
                                           "--verdict is given)")
    review.add_argument("clip")
    review.add_argument("--verdict", choices=("accept", "reject", "none"))
    _annotator_option(review)
    review.set_defaults(handler=cmd_review)

    agreement = sub.add_parser("agreement", help="Cohen's / Fleiss' kappa per task and check")
    agreement.add_argument("--dataset", required=True)
    agreement.add_argument("--task", help="only this task (no checks)")
    agreement.add_argument("--annotators", help="comma-separated (default: every annotator "
                                                "except the imported source labels)")
    agreement.add_argument("--json", action="store_true", help="print the report as JSON")
    agreement.set_defaults(handler=cmd_agreement)


def _export_commands(sub) -> None:
    eaf = sub.add_parser("export-eaf", help="write one ELAN .eaf per clip into a folder")
    eaf.add_argument("out", type=Path, help="output folder")
    eaf.add_argument("--dataset", required=True)
    eaf.add_argument("--annotator", help="only this annotator's tiers, with empty ones to fill "
                     "in ELAN (default: every annotator's tiers + the label source's)")
    eaf.add_argument("--split", help="only this split")
    add_selection_args(eaf)  # rejected clips left out unless --include-rejected, as everywhere
    eaf.set_defaults(handler=cmd_export_eaf)

    table = sub.add_parser("export-review", help="labels + check answers + verdicts as CSV/JSONL")
    table.add_argument("out", type=Path, help="output file (.csv or .jsonl)")
    table.add_argument("--dataset", required=True)
    table.add_argument("--format", choices=("csv", "jsonl"),
                       help="default: from the file extension")
    table.add_argument("--split", help="only this split")
    add_selection_args(table)
    table.set_defaults(handler=cmd_export_review)


# --- handlers ------------------------------------------------------------------------------------

def _clip(store: Store, ref: str) -> dict:
    return clip_or_fail(store, ref)


def _writer(args) -> str:
    name = (args.annotator or "").strip()
    if not name:
        raise UsageError(f"give --annotator NAME (or set ${ANNOTATOR_ENV})")
    if name == IMPORT_ANNOTATOR:
        raise UsageError(f"{IMPORT_ANNOTATOR!r} is reserved for imported source labels")
    if ":" in name:
        raise UsageError(f"annotator names may not contain ':' ({name!r}): 'adjudicated:NAME' "
                       "and 'model:NAME' are kept for adjudications and models")
    return name


def cmd_label(store: Store, args) -> int:
    """`mmla label`, and `mmla adjudicate` (the same arguments, written as an adjudication)."""
    if args.clear == (args.label is not None):  # before the lookups: the line is wrong anyway
        raise UsageError("give a LABEL or --clear (not both)")
    annotator, clip = _writer(args), _clip(store, args.clip)
    found = task_by_name(store, args.task)
    if found is None:
        raise CliError(f"no task named {args.task!r} (see `mmla tasks`)")
    task_id, task = found
    label = None
    if not args.clear:
        label = task.canonical_label(args.label)
        if label is None:
            raise UsageError(f"{args.label!r} is not a {task.name} label: {', '.join(task.labels)}")
    settle = args.command == "adjudicate"
    (adjudicate if settle else set_label)(store, clip["id"], task_id, label, annotator)
    print(f"clip {clip['id']} {task.name}: {label or '(cleared)'}  "
          f"({'adjudicated by ' if settle else ''}{annotator})")
    return EXIT_OK


def cmd_check(store: Store, args) -> int:
    annotator, clip = _writer(args), _clip(store, args.clip)
    answer_check(store, clip["id"], args.check, args.answer, annotator)
    state = clip_check_state(store, clip["id"], annotator)
    print(f"clip {clip['id']} {args.check}: {args.answer}  ({annotator}); "
          f"{state.answered} of {len(state.checks)} answered, verdict: {state.verdict or '-'}")
    return EXIT_OK


def cmd_checks(store: Store, args) -> int:
    if args.reset and args.items:
        raise UsageError("--set replaces the list, --reset goes back to MMA-Bench's: not both")
    dataset = _dataset(store, args.dataset)
    if args.reset:
        set_dataset_checks(store, dataset["id"], [])
    elif args.items:
        pairs = [item.partition("=")[::2] for item in args.items]
        try:
            set_dataset_checks(store, dataset["id"], pairs)
        except CheckError as exc:  # a KEY=QUESTION that does not make a check
            raise UsageError(f"--set: {exc}") from exc
    rows = [{"key": c.key, "shown": c.shown_text, "question": c.question}
            for c in dataset_checks(store, dataset["id"])]
    print_table(rows, ["key", "shown", "question"], widths={"question": 90})
    return EXIT_OK


def cmd_transcript(store: Store, args) -> int:
    """`mmla transcript`: the GUI's F2 edit (labels.set_transcript), on the annotator's undo
    stack; a re-import keeps it and reports the rows where the source says otherwise."""
    annotator, clip = _writer(args), _clip(store, args.clip)
    old = clip["transcript"] or ""
    if args.text == old:
        print(f"clip {clip['id']} transcript unchanged: {old!r}")
        return EXIT_OK
    labels.set_transcript(store, clip["id"], args.text, annotator)
    print(f"clip {clip['id']} transcript: {old!r} -> {args.text!r}  ({annotator}; "
          f"undo: mmla undo --annotator {annotator})")
    return EXIT_OK


def cmd_note(store: Store, args) -> int:
    annotator, clip = _writer(args), _clip(store, args.clip)
    set_note(store, clip["id"], annotator, args.text)
    print(f"clip {clip['id']} note saved ({annotator})")
    return EXIT_OK


def cmd_undo_redo(store: Store, args) -> int:
    annotator = _writer(args)
    edit = (labels.undo if args.command == "undo" else labels.redo)(store, annotator)
    if edit is None:
        print(f"nothing to {args.command} for {annotator}")
        return EXIT_OK
    if edit.kind == "label":
        what = task_name(store, edit.task_id) or f"task {edit.task_id}"
        what += " (adjudication)" if edit.owner else ""
    else:
        what = str(edit.check_key) if edit.kind == "check" else "transcript"
    before, after = (edit.new_value, edit.old_value) if args.command == "undo" else (
        edit.old_value, edit.new_value)
    print(f"{args.command}: clip {edit.clip_id} {what}: {before or '(none)'} -> "
          f"{after or '(none)'}")
    return EXIT_OK


def cmd_review(store: Store, args) -> int:
    annotator, clip = _writer(args), _clip(store, args.clip)
    wanted = {None: AUTO, "none": None}.get(args.verdict, args.verdict)
    verdict = mark_reviewed(store, clip["id"], annotator, wanted)
    progress = review_progress(store, clip["dataset_id"], annotator)
    print(f"clip {clip['id']} reviewed by {annotator}: {verdict or 'no verdict'}; "
          f"{clip['dataset_name']}: {progress}")
    return EXIT_OK


def cmd_agreement(store: Store, args) -> int:
    dataset = _dataset(store, args.dataset)
    if args.annotators:
        chosen = [a.strip() for a in args.annotators.split(",") if a.strip()]
        if len(chosen) < 2:
            raise UsageError(f"--annotators: agreement needs two or more names, got "
                             f"{chosen or 'none'}")
        raters = annotators_for_dataset(store, dataset["id"])
        unknown = [a for a in chosen if a not in raters]
        if unknown:  # a typo: else a table of "no clip was rated by all chosen annotators"
            raise CliError(f"{', '.join(map(repr, unknown))} labelled nothing and answered no "
                           f"check in {dataset['name']}; annotators here: "
                           f"{', '.join(raters) or 'none'}")
    else:
        chosen = [a for a in annotators_for_dataset(store, dataset["id"])
                  if a != IMPORT_ANNOTATOR]
    if len(chosen) < 2:
        raise CliError(f"agreement needs two or more annotators; found {chosen or 'none'} "
                       "(add the source labels with --annotators NAME,import)")
    report = dataset_agreement(store, dataset["id"], chosen, task=args.task)
    if args.json:
        print(json.dumps(_report_json(report), indent=2))
        return EXIT_OK
    print(f"annotators: {', '.join(report.annotators)}")
    print_table([_row_dict(r) for r in report.rows],
                ["kind", "name", "method", "items", "kappa", "strength", "agree", "differ",
                 "note"], widths={"note": 50})
    for d in report.disagreements[:50]:
        values = ", ".join(f"{a}={v}" for a, v in d.values.items())
        settled = "" if d.kind != "task" else (
            f" -> adjudicated {d.curated}" if d.adjudicated else
            f" -> curated {d.curated} (settle: mmla adjudicate {d.clip_id} {d.name!r} LABEL)")
        print(f"  ! clip {d.clip_id} ({d.external_id}) {d.name}: {values}{settled}")
    if len(report.disagreements) > 50:
        print(f"  ! … and {len(report.disagreements) - 50} more (use --json)")
    return EXIT_OK


def _row_dict(row) -> dict:
    k = row.kappa
    return {"kind": row.kind, "name": row.name, "method": k.method, "items": k.items,
            "kappa": "—" if k.kappa is None else f"{k.kappa:.3f}", "strength": k.strength,
            "agree": "—" if k.observed is None else f"{k.observed:.0%}",
            "differ": row.disagreements, "note": k.note}


def _report_json(report) -> dict:
    return {"annotators": report.annotators, "rows": [asdict(r) for r in report.rows],
            "disagreements": [asdict(d) for d in report.disagreements]}


def cmd_export_eaf(store: Store, args) -> int:
    """Also serves `mmla export eaf OUT --dataset D` (that parser has no --annotator)."""
    if not args.dataset:
        raise UsageError("eaf export needs --dataset")
    files = export_eaf(store, args.out, dataset=args.dataset,
                       annotator=getattr(args, "annotator", None), split=args.split,
                       selection=selection_from_args(args))
    print(f"wrote {len(files)} .eaf files to {args.out}")
    print_selection(files.labels)
    print_warnings(files.warnings)
    for line in files.write_problems[:MAX_LISTED]:  # each clip whose file was not written
        print(f"  ! not written: {line}")
    if len(files.write_problems) > MAX_LISTED:
        print(f"  ! … and {len(files.write_problems) - MAX_LISTED} more clips not written")
    if files.skipped:
        print("skipped: " + ", ".join(f"{n} {why}" for why, n in sorted(files.skipped.items())))
    return EXIT_PARTIAL if files.skipped else EXIT_OK


def cmd_export_review(store: Store, args) -> int:
    fmt = args.format or ("csv" if args.out.suffix.lower() == ".csv" else "jsonl")
    writer = export_review_csv if fmt == "csv" else export_review_jsonl
    written = writer(store, args.out, dataset=args.dataset, split=args.split,
                     selection=selection_from_args(args))
    print(f"wrote {written.records} clips to {args.out}")
    print_selection(written.labels)
    return EXIT_OK


def _dataset(store: Store, name: str) -> dict:
    dataset = dataset_by_name(store, name)
    if dataset is None:
        raise CliError(f"no dataset named {name!r} (see `mmla ls --datasets`)")
    return dataset
