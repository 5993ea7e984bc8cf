"""A model split over two devices answers as the whole model does (accelerate big-model
inference), and the placement is chosen from the settings and the model's size."""

from __future__ import annotations

import pytest

from mmla_core.models.engine import Engine, InferenceSettings
from mmla_core.models.placement import parse_max_memory, plan_placement
from mmla_core.models.registry import ModelLoadError, inspect_model
from mmla_core.tasks import builtin_task
from tests.support import models_fixtures
from tests.support.models_fixtures import SMALL_PIXELS, synthetic_clip

omni_dir = models_fixtures.omni_dir
text_dir = models_fixtures.text_dir


def _share_of_the_weights(model_dir, share: float) -> str:
    """A CPU cap that holds the towers and embeddings, not the decoder layers (they go to disk)."""
    check = inspect_model(model_dir)
    return f"{int(sum(f.stat().st_size for f in check.weight_files) * share) // 1024}KB"


def test_omni_split_over_cpu_and_disk_answers_as_the_whole_model(omni_dir):
    task, clip = builtin_task("MELD"), synthetic_clip(1, frames=2)
    whole = Engine.load(omni_dir, device="cpu")
    split = Engine.load(omni_dir, device_map="auto",
                        max_memory={"cpu": _share_of_the_weights(omni_dir, 0.92)})
    try:
        assert whole.info.device_map is None
        assert set(split.info.device_map) == {"cpu", "disk"}, split.info.device_map
        assert split.info.device == "cpu"
        for mode in ("scoring", "generation"):
            settings = InferenceSettings(num_frames=2, max_pixels=SMALL_PIXELS,
                                         answer_mode=mode, max_new_tokens=4)
            a, b = whole.predict(clip, task, settings), split.predict(clip, task, settings)
            assert (a.raw_output, a.parsed_label) == (b.raw_output, b.parsed_label)
            assert a.logprobs == pytest.approx(b.logprobs, abs=1e-4)
    finally:
        whole.close()
        split.close()


def test_an_explicit_device_map_and_a_single_device_name(text_dir):
    import torch

    layers = {"model.embed_tokens": "cpu", "model.layers": "disk", "model.norm": "cpu",
              "model.rotary_emb": "cpu", "lm_head": "cpu"}
    split = Engine.load(text_dir, device_map=layers)
    single = Engine.load(text_dir, device_map="cpu")
    try:
        assert split.info.device_map == {"cpu": 4, "disk": 1}
        assert single.info.device_map is None and single.info.device == "cpu"
        ids = torch.tensor([[3, 5, 7, 11, 13]])
        with torch.no_grad():
            assert torch.allclose(split.model(input_ids=ids).logits,
                                  single.model(input_ids=ids).logits, atol=1e-5)
    finally:
        split.close()
        single.close()


def test_placement_choice(text_dir, monkeypatch):
    from mmla_core.models import placement

    check = inspect_model(text_dir)
    assert not plan_placement(check, "cpu").split
    assert plan_placement(check, "cpu", "balanced").device_map == "balanced"
    assert plan_placement(check, "cpu", max_memory="0=1GiB,cpu=2GiB").max_memory == {
        0: "1GiB", "cpu": "2GiB"}
    # a GPU with less free memory than the weights: split automatically, unless a device was named
    monkeypatch.setattr(placement, "_cuda_free_bytes", lambda device: 1000)
    auto = plan_placement(check, "cuda")
    assert auto.device_map == "auto" and "free memory" in auto.reason
    assert not plan_placement(check, "cuda", device_given=True).split
    with pytest.raises(ModelLoadError, match="device map"):
        plan_placement(check, "cpu", "everywhere")


@pytest.mark.parametrize("text", ["0=20", "gpu=2GiB", "cpu:3GiB", "1=lots"])
def test_bad_max_memory_says_how_to_write_it(text):
    if text == "0=20":
        assert parse_max_memory(text) == {0: "20"}   # bytes, as accelerate reads a plain number
        return
    with pytest.raises(ModelLoadError, match="DEVICE=SIZE"):
        parse_max_memory(text)


def test_cli_eval_and_predict_take_a_device_map(demo_db, omni_dir, tmp_path, capsys):
    import json
    import shutil

    from mmla_core.cli import main
    from mmla_core.store import open_store

    db = tmp_path / "p.sqlite"
    shutil.copy(demo_db, db)
    split = ["--device-map", "auto", "--max-memory", f"cpu={_share_of_the_weights(omni_dir, .92)}"]
    assert main(["--db", str(db), "eval", "--in-process", "--model", str(omni_dir), "--task",
                 "MELD", "--dataset", "demo", "--frames", "2", "--max-pixels", "3136",
                 *split]) == 0
    with open_store(db) as store:
        settings = json.loads(store.scalar("SELECT settings_json FROM runs WHERE id = 1"))
        assert store.scalar("SELECT count(*) FROM predictions WHERE run_id = 1") == 3
    assert set(settings["engine"]["device_map"]) == {"cpu", "disk"}
    assert main(["--db", str(db), "predict", "demo/demo_03", "--model", str(omni_dir),
                 "--task", "MELD", "--frames", "2", "--max-pixels", "3136", *split]) == 0
    assert main(["--db", str(db), "predict", "demo/demo_03", "--model", str(omni_dir),
                 "--task", "MELD", "--device-map", "everywhere"]) == 2
    assert "device map 'everywhere'" in capsys.readouterr().err


def test_an_adapter_on_a_disk_offloaded_model_is_refused_clearly(omni_dir, tmp_path):
    from peft import LoraConfig, get_peft_model
    from transformers import Qwen2_5OmniThinkerForConditionalGeneration

    from mmla_core.train.trainer import lora_target_regex

    base = Qwen2_5OmniThinkerForConditionalGeneration.from_pretrained(omni_dir)
    get_peft_model(base, LoraConfig(r=2, target_modules=lora_target_regex(
        "qwen2_5_omni", ["q_proj"]))).save_pretrained(tmp_path / "adapter")
    with pytest.raises(ModelLoadError, match="offloaded to disk"):
        Engine.load(omni_dir, device_map="auto", adapter_path=tmp_path / "adapter",
                    max_memory={"cpu": _share_of_the_weights(omni_dir, 0.92)})
