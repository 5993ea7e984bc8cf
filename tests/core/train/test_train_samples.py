"""Training samples, refusals before launch, the loss mask, config YAML (no training here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mmla_core.store import open_store
from mmla_core.train.config import TrainConfig, TrainConfigError
from mmla_core.train.preflight import validate
from mmla_core.train.samples import build_samples, preview
from tests.support import models_fixtures
from tests.support.train_fixtures import TOY_TASK, toy_config, toy_db, toy_project

omni_dir = models_fixtures.omni_dir
text_dir = models_fixtures.text_dir
__all__ = ["toy_db", "toy_project"]


def test_config_yaml_round_trip_and_command_lines():
    config = TrainConfig(name="meld run", model="Qwen/Qwen2.5-Omni-7B", tasks=["MELD", "MOSI"],
                         mode="it", learning_rate=1.1e-4, target_modules=["q_proj", "v_proj"])
    assert TrainConfig.from_yaml(config.to_yaml()) == config
    lines = config.command_lines("runs/meld run.yaml")
    assert lines["single"] == "python -m mmla_core.train 'runs/meld run.yaml'"
    assert lines["torchrun"].startswith("torchrun --nproc_per_node 4 -m mmla_core.train ")
    with pytest.raises(TrainConfigError) as bad:
        TrainConfig.from_yaml("name: x\nmodel: m\ntasks: [MELD, MOSI]\nlr: 3\nbatch_size: two\n")
    assert "unknown config key 'lr'" in bad.value.problems
    assert "batch_size must be a whole number, got 'two'" in bad.value.problems
    with pytest.raises(TrainConfigError, match="mode 'sft' trains one task, got 2"):
        TrainConfig.from_dict({"name": "x", "model": "m", "tasks": ["MELD", "MOSI"]})


def test_sft_samples_use_mmla_prompt_and_answer(toy_project, text_dir):
    with open_store(toy_project) as store:
        samples = build_samples(store, toy_config(text_dir), "train")
        shown = preview(store, toy_config(text_dir), n=3)
    assert len(samples) == 12 and shown == samples[:3]
    first = samples[0]
    # MMLA adds no period after the utterance in its SFT files; a custom task gets the plain
    # text-only form (spaced task word, labels as written)
    assert first.prompt.startswith("The speaker says: It is cold cold cold today. Based on the "
                                   "text, what is the speaking style of this speaker?")
    assert first.prompt_kind == "text_sft" and first.template is None
    assert "[sincere, sarcastic]" in first.prompt
    assert (first.answer, first.label) == ("speaking style: sincere", "sincere")


def test_omni_samples_use_the_video_prompt(toy_project, omni_dir):
    with open_store(toy_project) as store:
        sample = build_samples(store, toy_config(omni_dir), "train")[0]
    assert sample.prompt.startswith("You are presented with a video in which the speaker says")
    assert sample.media_path.endswith("demo_01.mp4")


def test_alignment_answers_follow_the_asked_modality(toy_project, omni_dir):
    with open_store(toy_project) as store:
        samples = build_samples(store, toy_config(omni_dir, mode="alignment"), "train")
        gold = {r["id"]: r["label"] for r in store.query("SELECT clip_id AS id, label "
                                                         "FROM annotations")}
    swapped = [s for s in samples if s.variant == "audio_swap"]
    assert {s.prompt_kind for s in samples} == {"visual_focused", "audio_focused"}
    assert {s.variant for s in samples} == {"aligned", "audio_swap", "misleading_caption"}
    for sample in swapped:
        if sample.prompt_kind == "visual_focused":
            assert sample.answer == gold[sample.clip_id]
    # the donor has another class, so the audio question's answer is not the clip's own
    audio = [s for s in swapped if s.prompt_kind == "audio_focused"]
    assert audio and all(s.answer != gold[s.clip_id] for s in audio)
    caption = next(s for s in samples if s.variant == "misleading_caption")
    assert caption.prompt.startswith("Video_caption:")


def _problems(path, config):
    with open_store(path) as store:
        return validate(store, config)


def test_validate_accepts_the_toy_task(toy_project, omni_dir, text_dir):
    assert _problems(toy_project, toy_config(omni_dir)) == []
    assert _problems(toy_project, toy_config(text_dir)) == []


def test_validate_refuses_names_it_cannot_find(toy_project, text_dir, tmp_path):
    assert "unknown task 'nope'" in _problems(toy_project, toy_config(text_dir, tasks=["nope"]))[0]
    assert "unknown dataset 'gone'" in _problems(toy_project,
                                                 toy_config(text_dir, dataset="gone"))[0]
    assert "no such folder" in _problems(toy_project, toy_config(tmp_path / "none"))[0]


def test_validate_refuses_bad_training_data(toy_project, omni_dir, text_dir):
    empty = _problems(toy_project, toy_config(text_dir, train_splits=["holdout"]))
    assert "no labelled clips in split(s) holdout" in empty[0]
    with open_store(toy_project) as store:
        task_id = store.scalar("SELECT id FROM tasks WHERE name = ?", (TOY_TASK,))
        train = [r["id"] for r in store.query("SELECT id FROM clips WHERE split = 'train'")]
        with store.write() as conn:
            conn.execute("UPDATE annotations SET label = 'sincere' WHERE task_id = ?", (task_id,))
            conn.execute("UPDATE annotations SET label = 'ironic' WHERE clip_id = ?", (train[1],))
            conn.execute("UPDATE clips SET has_audio = 0 WHERE id = ?", (train[2],))
    problems = " | ".join(_problems(toy_project, toy_config(omni_dir)))
    assert f"1 clip(s) have labels outside the task's set (clip {train[1]}: 'ironic')" \
        in problems
    assert "every training clip has the label 'sincere'" not in problems  # 'ironic' is a 2nd
    assert f"have no audio track (e.g. clip {train[2]}" in problems
    assert "set modality 'video'" in problems
    assert not any("audio" in p for p in _problems(toy_project,
                                                   toy_config(omni_dir, modality="video")))
    with open_store(toy_project) as store, store.write() as conn:
        conn.execute("UPDATE annotations SET label = 'sincere' WHERE task_id = ?", (task_id,))
    single = _problems(toy_project, toy_config(text_dir))
    assert any("every training clip has the label 'sincere'" in p for p in single)


def test_validate_refuses_clips_whose_media_file_is_missing(toy_project, omni_dir, text_dir):
    """A re-import keeps a clip whose file went missing as `missing_file` (no longer text-only,
    which this check caught as "no video"): training refuses it before launch."""
    from mmla_core.store.media_state import mark_media_missing

    with open_store(toy_project) as store:
        clip = store.query("SELECT id, external_id, media_path FROM clips WHERE split = 'train' "
                           "AND media_path IS NOT NULL ORDER BY id LIMIT 1")[0]
        mark_media_missing(store, [(clip["id"], "gone.mp4: file not found.")])
    problems = " | ".join(_problems(toy_project, toy_config(omni_dir)))
    assert f"1 clip(s) have a missing media file (e.g. clip {clip['id']} " \
        f"{clip['external_id']!r}: {clip['media_path']})" in problems
    assert _problems(toy_project, toy_config(text_dir)) == []  # text: the transcript is enough


def test_validate_refuses_a_config_that_cannot_fit(toy_project, omni_dir):
    long = _problems(toy_project, toy_config(omni_dir, frames=64, fps=30.0,
                                                   max_pixels=2000 * 28 * 28))
    assert "over the model's 32768-position limit: lower frames or max_pixels" in long[0]
    huge = _problems(toy_project, toy_config(omni_dir, batch_size=200_000, device="cpu"))
    assert huge[0].startswith("does not fit: ~")
    assert "batch_size 200000" in huge[0] and "batch_size 1 needs ~" in huge[0]


@pytest.mark.parametrize("family_dir", ["text_dir", "omni_dir"])
def test_loss_mask_covers_exactly_the_answer_tokens(toy_project, family_dir, request):
    from mmla_core.models.loader import load_model
    from mmla_core.train.data import IGNORE, Collator, TrainDataset
    from mmla_core.train.samples import effective_modality

    model_dir = request.getfixturevalue(family_dir)
    config = toy_config(model_dir)
    with open_store(toy_project) as store:
        samples = build_samples(store, config, "train")[:3]
    loaded = load_model(model_dir, device="cpu")
    modality = effective_modality(config, loaded.check.family)
    dataset = TrainDataset(samples, toy_project, config, modality)
    batch = Collator(loaded.processor, loaded.check.family, dataset.settings)(
        [dataset[i] for i in range(len(samples))])
    tok = getattr(loaded.processor, "tokenizer", loaded.processor)
    for row, sample in enumerate(samples):
        kept = batch["labels"][row][batch["labels"][row] != IGNORE]
        assert tok.decode(kept) == sample.answer + "<|im_end|>"
        assert (batch["labels"][row, : -len(kept)] == IGNORE).all()
    if family_dir == "omni_dir":
        assert batch["use_audio_in_video"] is True and "pixel_values_videos" in batch


def test_exported_command_lines_name_the_project_database(tmp_path):
    from mmla_core.train import control

    db = tmp_path / "my project" / "p.sqlite"
    config = TrainConfig(name="r", model="m", tasks=["MELD"], output_dir="/here/only")
    exported, lines = control.export_config(config, db, "run.yaml")
    assert exported.output_dir == "" and exported.name == "r"
    quoted = f"'{db.resolve()}'"
    assert lines["single"] == f"python -m mmla_core.train run.yaml --db {quoted}"
    assert lines["torchrun"].endswith(f"mmla_core.train run.yaml --db {quoted}")
    assert lines["accelerate"].endswith(f"mmla_core.train run.yaml --db {quoted}")


@pytest.mark.parametrize("targets", [[], ["lm_head"], ["q_proj", " "]])
def test_lora_targets_naming_no_language_model_layer_are_refused(targets):
    with pytest.raises(TrainConfigError, match=r"target_modules .*(no language-model|empty)"):
        TrainConfig.from_dict({"name": "r", "model": "m", "tasks": ["MELD"],
                               "target_modules": targets})


def test_validate_keeps_torch_out_of_the_gui_process(toy_project, text_dir):
    config = toy_config(text_dir, device="auto")
    code = ("import sys\nfrom mmla_core.store import open_store\n"
            "from mmla_core.train.config import TrainConfig\n"
            "from mmla_core.train.preflight import validate\n"
            f"config = TrainConfig.from_yaml({config.to_yaml()!r})\n"
            f"with open_store({str(toy_project)!r}) as store:\n"
            "    print(validate(store, config))\n"
            "print('torch' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split("\n")[:2] == ["[]", "False"]


def test_gpu_memory_comes_from_nvidia_smi_and_its_absence_skips_the_check(monkeypatch):
    from mmla_core.train import devices

    monkeypatch.delitem(sys.modules, "torch", raising=False)
    monkeypatch.setattr("mmla_core.train.devices.resolve_device", lambda device: "cuda:0")
    monkeypatch.setattr(devices.Path, "glob", lambda self, pattern: iter([Path("/dev/nvidia0")]))
    monkeypatch.setattr(devices.subprocess, "run", lambda *a, **k: subprocess.CompletedProcess(
        a, 0, stdout="81559\n", stderr=""))
    assert devices.device_memory("cuda") == ("cuda:0", 81559 * 2**20)

    def absent(*args, **kwargs):
        raise FileNotFoundError("nvidia-smi")

    monkeypatch.setattr(devices.subprocess, "run", absent)
    assert devices.device_memory("cuda") == ("cuda:0", None)
