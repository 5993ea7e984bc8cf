"""Model folders: families, clear errors on broken folders, safe loading, weights hash."""

import json
import shutil

import pytest

from mmla_core.models.registry import (
    ModelLoadError,
    detect_family,
    inspect_model,
    resolve_model_path,
    weights_hash,
)
from tests.support import models_fixtures

omni_dir = models_fixtures.omni_dir
text_dir = models_fixtures.text_dir
vl_dir = models_fixtures.vl_dir


def _copy(src, dst):
    shutil.copytree(src, dst)
    return dst


def test_families_are_detected_from_config(omni_dir, vl_dir, text_dir):
    assert inspect_model(omni_dir).family == "qwen2_5_omni"
    assert inspect_model(vl_dir).family == "qwen2_vl"
    assert inspect_model(text_dir).family == "text_lm"
    full = {"architectures": ["Qwen2_5OmniForConditionalGeneration"], "model_type": "qwen2_5_omni"}
    assert detect_family(full) == "qwen2_5_omni"
    assert detect_family({"model_type": "qwen2_5_vl"}) == "qwen2_5_vl"


def test_missing_config_names_the_folder(tmp_path):
    with pytest.raises(ModelLoadError, match=r"no config\.json.*pick the folder"):
        inspect_model(tmp_path)
    with pytest.raises(ModelLoadError, match="no such folder"):
        inspect_model(tmp_path / "nowhere")


def test_a_hub_id_not_in_the_cache_says_hf_download(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelLoadError, match=r"`hf download nobody/none-such`") as missing:
        inspect_model("nobody/none-such")
    assert "huggingface-cli" not in str(missing.value)  # huggingface_hub's CLI is `hf` now


def test_missing_weights(tmp_path, text_dir):
    folder = _copy(text_dir, tmp_path / "m")
    (folder / "model.safetensors").unlink()
    with pytest.raises(ModelLoadError, match=r"no weights.*download the model again"):
        inspect_model(folder)


def test_missing_shard_and_truncated_file(tmp_path, text_dir):
    folder = _copy(text_dir, tmp_path / "m")
    index = {"weight_map": {"a": "model-00001-of-00002.safetensors"}}
    (folder / "model.safetensors.index.json").write_text(json.dumps(index))
    with pytest.raises(ModelLoadError, match="shards missing"):
        inspect_model(folder)
    (folder / "model.safetensors.index.json").unlink()
    (folder / "model.safetensors").write_bytes(b"\x10\x00")
    with pytest.raises(ModelLoadError, match="not a readable safetensors"):
        inspect_model(folder)


def test_unknown_architecture_is_refused(tmp_path, text_dir):
    folder = _copy(text_dir, tmp_path / "m")
    config = json.loads((folder / "config.json").read_text())
    config.update(architectures=["MambaForCausalLM"], model_type="mamba")
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelLoadError, match=r"unsupported architecture \(MambaForCausalLM\)"):
        inspect_model(folder)


def test_remote_code_is_refused(tmp_path, text_dir):
    folder = _copy(text_dir, tmp_path / "m")
    config = json.loads((folder / "config.json").read_text())
    config["auto_map"] = {"AutoModelForCausalLM": "modeling_evil.EvilLM"}
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelLoadError, match="trust_remote_code"):
        inspect_model(folder)


def test_pickle_only_is_refused_then_loads_when_allowed(tmp_path, text_dir):
    import torch
    from safetensors.torch import load_file

    from mmla_core.models.engine import Engine

    folder = _copy(text_dir, tmp_path / "m")
    state = load_file(folder / "model.safetensors")
    (folder / "model.safetensors").unlink()
    torch.save(state, folder / "pytorch_model.bin")
    with pytest.raises(ModelLoadError, match=r"only pickle weights.*allow pickle"):
        inspect_model(folder)
    with pytest.raises(ModelLoadError, match="pickle"):
        Engine.load(folder, device="cpu")
    engine = Engine.load(folder, device="cpu", allow_pickle=True)
    assert engine.info.family == "text_lm"
    engine.close()


def test_weights_hash_is_stable_and_content_sensitive(tmp_path, text_dir):
    files = [text_dir / "model.safetensors"]
    first = weights_hash(files)
    assert first == weights_hash(files) and first.startswith("wh1:")
    copy = tmp_path / "model.safetensors"
    data = bytearray(files[0].read_bytes())
    data[-1] ^= 0xFF
    copy.write_bytes(bytes(data))
    assert weights_hash([copy]) != first


def test_large_files_are_hashed_by_header_and_samples(tmp_path, monkeypatch):
    from mmla_core.models import registry

    monkeypatch.setattr(registry, "FULL_HASH_LIMIT", 1024)
    header = json.dumps({"w": {"dtype": "F32", "shape": [4096], "data_offsets": [0, 16384]}})
    blob = len(header).to_bytes(8, "little") + header.encode() + bytes(16384)
    file = tmp_path / "model.safetensors"
    file.write_bytes(blob)
    base = weights_hash([file])
    changed = bytearray(blob)
    changed[-1] = 1  # the last sample covers the end of the data
    file.write_bytes(bytes(changed))
    assert weights_hash([file]) != base


def test_hub_cache_ids_resolve_offline(tmp_path, monkeypatch, text_dir):
    cache = tmp_path / "hub"
    snapshot = cache / "models--acme--tiny-lm" / "snapshots" / "abc123"
    shutil.copytree(text_dir, snapshot)
    (cache / "models--acme--tiny-lm" / "refs").mkdir()
    (cache / "models--acme--tiny-lm" / "refs" / "main").write_text("abc123")
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert resolve_model_path("acme/tiny-lm") == snapshot
    with pytest.raises(ModelLoadError, match="not in the Hugging Face cache"):
        resolve_model_path("acme/other")


def test_adapter_is_loaded_merged_and_recorded(tmp_path, text_dir, monkeypatch):
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import Qwen2ForCausalLM

    from mmla_core.models.engine import Engine

    base = Qwen2ForCausalLM.from_pretrained(text_dir)
    targets = r".*layers\.\d+\.self_attn\.(q_proj|v_proj)"
    config = LoraConfig(r=4, lora_alpha=8, target_modules=targets)
    peft_model = get_peft_model(base, config)
    with torch.no_grad():
        for name, param in peft_model.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.5)  # a trained adapter changes the output
    peft_model.save_pretrained(tmp_path / "adapter")
    plain = Engine.load(text_dir, device="cpu")
    monkeypatch.chdir(tmp_path)  # `mmla probe --adapter adapter`: recorded absolute
    adapted = Engine.load(text_dir, device="cpu", adapter_path="adapter")
    assert adapted.info.adapter_path == str(tmp_path / "adapter")
    assert adapted.info.adapter_hash.startswith("wh1:")
    ids = torch.tensor([[5, 6, 7, 8]])
    with torch.no_grad():
        assert not torch.allclose(plain.model(ids).logits, adapted.model(ids).logits)
    (tmp_path / "adapter" / "adapter_model.safetensors").rename(
        tmp_path / "adapter" / "adapter_model.bin")
    with pytest.raises(ModelLoadError, match="pickle"):
        Engine.load(text_dir, device="cpu", adapter_path=tmp_path / "adapter")
    with pytest.raises(ModelLoadError, match=r"adapter_config\.json"):
        Engine.load(text_dir, device="cpu", adapter_path=tmp_path)
