"""Exit codes of `mmla` (docs/cli.md): a usage mistake a command finds after argparse read the
line exits 2 with the command's usage line, as argparse's own errors do; a failure of the data,
the project or the environment stays 1. At least one case per command module."""

from __future__ import annotations

import shutil

import pytest

from mmla_core.cli import main
from mmla_core.cli.common import EXIT_FAILED, EXIT_USAGE


@pytest.fixture(scope="module")
def project(demo_db, tmp_path_factory):
    """A private copy of the session's demo project (nothing below writes to it on purpose)."""
    return shutil.copy(demo_db, tmp_path_factory.mktemp("exits") / "project.sqlite")


USAGE_MISTAKES = [  # (module, arguments, the command's usage line, words of the message)
    ("catalog", ["ls", "--datasets", "demo"], "mmla ls", "--datasets lists datasets"),
    ("catalog", ["ls", "--limit", "-3"], "mmla ls", "--limit -3"),
    ("catalog", ["tasks", "--labels", "a,b"], "mmla tasks", "go with --add"),
    ("catalog", ["tasks", "--add", "One", "--labels", "only"], "mmla tasks", "two labels"),
    ("data", ["export", "llamafactory", "OUT", "--dataset", "demo"], "mmla export",
     "needs --dataset and --task"),
    ("data", ["export", "jsonl", "OUT.jsonl", "--labels", "nobody"], "mmla export",
     "label source"),
    ("data", ["import", "FOLDER", "--kind", "folder", "--only", "MELD"], "mmla import",
     "--only applies to mmla imports"),
    ("data", ["export", "jsonl", "OUT.jsonl", "--task", "MELD"], "mmla export",
     "--task does not apply to a jsonl export"),
    ("data", ["export", "csv", "OUT.jsonl", "--splits", "train"], "mmla export",
     "--splits does not apply to a csv export"),
    ("review", ["label", "1", "MELD", "joy", "--clear", "--annotator", "a"], "mmla label",
     "LABEL or --clear"),
    ("review", ["checks", "demo", "--reset", "--set", "lips=Do the lips move?"],
     "mmla checks", "not both"),
    ("review", ["agreement", "--dataset", "demo", "--annotators", "alice"], "mmla agreement",
     "two or more names"),
    ("review", ["export", "eaf", "OUT"], "mmla export", "eaf export needs --dataset"),
    ("variants", ["variants", "make", "--dataset", "demo"], "mmla variants make",
     "give --recipes and/or --preset"),
    ("variants", ["variants", "make", "--dataset", "demo", "--recipes", "audio_swap:fit"],
     "mmla variants make", "key=value"),
    ("variants", ["variants", "make", "--clip", "1", "--split", "train", "--recipes",
                  "audio_swap"], "mmla variants make", "--split picks clips of --dataset"),
    ("eval", ["eval", "--task", "MELD"], "mmla eval", "give --model, --task and --dataset"),
    ("eval", ["eval", "--model", "m", "--task", "MELD", "--dataset", "demo", "--max-memory",
              "lots"], "mmla eval", "max memory 'lots'"),
    ("eval", ["eval", "--model", "m", "--task", "MELD", "--dataset", "demo", "--variants",
              "audio_swap,upside_down"], "mmla eval", "unknown recipe 'upside_down'"),
    ("eval", ["eval", "--model", "m", "--task", "MELD", "--dataset", "demo", "--prompt-kind",
              "zero-shot"], "mmla eval", "--prompt-kind: unknown zero-shot"),
    ("eval", ["runs", "compare", "1"], "mmla runs compare", "two or more run ids"),
    ("eval", ["runs", "export", "1", "OUT.txt"], "mmla runs export", "cannot tell the format"),
    ("models", ["predict", "1", "--model", "/nowhere", "--task", "MELD", "--device-map",
                "everywhere"], "mmla predict", "device map 'everywhere'"),
    ("probe", ["probe", "1", "--model", "/nowhere", "--task", "MELD", "--scenarios",
               "aligned,upside_down"], "mmla probe", "unknown upside_down"),
    ("probe", ["probe", "1", "--model", "/nowhere", "--task", "MELD", "--prompts",
               "zero_shot", "--prompt-audio", "{transcript}?"], "mmla probe",
     "audio_focused, which --prompts does not probe"),
    ("probe", ["probe", "show"], "mmla probe", "give the probe's run id"),
    ("probe_set", ["probe-table", "--split", "test"], "mmla probe-table",
     "--split goes with a set of clips"),
    ("probe_set", ["probe-table", "--dataset", "demo", "--task", "MELD", "--run-missing"],
     "mmla probe-table", "--run-missing needs --model"),
    ("probe_set", ["probe-table", "--task", "MELD", "--frames", "2"], "mmla probe-table",
     "--frames goes with --run-missing"),
    ("train", ["train", "launch"], "mmla train launch", "give CONFIG.yaml"),
    ("train", ["train", "launch", "--task", "MELD", "--model", "m", "--mode", "sideways"],
     "mmla train launch", "sideways"),
]


@pytest.mark.parametrize(("module", "args", "usage", "words"), USAGE_MISTAKES,
                         ids=[f"{m}-{'-'.join(a[:2])}" for m, a, _, _ in USAGE_MISTAKES])
def test_usage_mistakes_exit_2_with_the_commands_usage_line(project, tmp_path, capsys, module,
                                                           args, usage, words):
    args = [str(tmp_path / a) if a in ("OUT", "OUT.jsonl", "OUT.txt", "FOLDER") else a
            for a in args]
    (tmp_path / "FOLDER").mkdir()
    assert main(["--db", str(project), *args]) == EXIT_USAGE
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert lines[0].startswith(f"usage: {usage} "), err   # the command's, not `mmla`'s
    assert f"{usage}: error: " in err and words in err, err
    assert "Traceback" not in err
    assert not (tmp_path / "OUT").exists()  # refused before anything was written


FAILURES = [  # (module, arguments, words of the message): the line is right, the world is not
    ("project", ["new", "PROJECT"], "already exists"),
    ("project", ["datasets", "rm", "nope", "--yes"], "nope"),
    ("catalog", ["show", "no-such-clip"], "no clip 'no-such-clip' in this project"),
    ("data", ["import", "MISSING"], "no such file or folder"),
    ("review", ["label", "1", "NoSuchTask", "joy", "--annotator", "a"], "no task named"),
    ("variants", ["variants", "ls", "no-such-clip"], "no clip 'no-such-clip' in this project"),
    ("eval", ["runs", "show", "42"], "no run 42"),
    ("models", ["predict", "1", "--model", "/nowhere", "--task", "MELD"], "/nowhere"),
    ("probe", ["probe", "show", "999"], "no probe run 999"),
    ("probe_set", ["probe-table", "--task", "MELD"], "no probe runs found"),
    ("train", ["train", "resume", "77"], "no training job 77"),
]


@pytest.mark.parametrize(("module", "args", "words"), FAILURES,
                         ids=[f"{m}-{'-'.join(a[:2])}" for m, a, _ in FAILURES])
def test_failures_of_the_data_or_environment_stay_1(project, tmp_path, capsys, module, args,
                                                    words):
    args = [str(project) if a == "PROJECT" else str(tmp_path / a) if a == "MISSING" else a
            for a in args]
    assert main(["--db", str(project), *args]) == EXIT_FAILED
    err = capsys.readouterr().err
    assert words in err and "usage:" not in err, err


def test_every_command_module_has_a_usage_case():
    from mmla_core import cli

    modules = {name.removeprefix("commands_") for name in dir(cli)
               if name.startswith("commands_")}
    untested = modules - {m for m, *_ in USAGE_MISTAKES} - {"project"}  # none of its own
    assert not untested, f"add a usage mistake of {untested} to USAGE_MISTAKES"
    untested = modules - {m for m, *_ in FAILURES}
    assert not untested, f"add a failure of {untested} to FAILURES"


@pytest.mark.parametrize("args", [
    ["label"],  # a positional missing
    ["variants", "make", "--dataset", "demo", "--recipes", "audio_swap", "--workers", "0"],
    ["predict", "1", "--model", "m", "--task", "MELD", "--fps", "0"],
    ["eval", "--model", "m", "--task", "MELD", "--dataset", "demo", "--batch-size", "-1"],
    ["checks-model", "--dataset", "demo", "--model", "m", "--limit", "0"],
])
def test_argparse_refuses_the_line_with_2(args, capsys):
    """argparse's own usage errors, counts below 1 included, are 2 as well."""
    with pytest.raises(SystemExit) as stop:
        main(args)
    assert stop.value.code == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith("usage: mmla ") and "error: " in err


def test_the_help_lists_the_exit_codes(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "2 bad usage" in " ".join(capsys.readouterr().out.split())
