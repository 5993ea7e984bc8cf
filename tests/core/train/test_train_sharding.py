"""Sharded training (FSDP, DeepSpeed ZeRO-3): the generated configs, the checks, the memory
estimate. The runs themselves need CUDA GPUs (accelerate shards only on GPUs, DeepSpeed needs
CUDA): those tests skip without them."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest
import torch

from mmla_core.train.config import TrainConfig, TrainConfigError
from mmla_core.train.fit import GiB, estimate_memory_bytes
from mmla_core.train.sharding import deepspeed_config, sharding_arguments, write_deepspeed_config
from tests.support.multiprocess_helpers import LAUNCH_TIMEOUT_S, rank_env
from tests.support.train_fixtures import toy_config, toy_db, toy_project, toy_text_model

__all__ = ["toy_db", "toy_project", "toy_text_model"]

# LLaMA-Factory examples/deepspeed/ds_z3_config.json, the ZeRO-3 recipe MMLA trained with
LLAMA_FACTORY_Z3 = {
    "train_batch_size": "auto", "train_micro_batch_size_per_gpu": "auto",
    "gradient_accumulation_steps": "auto", "gradient_clipping": "auto",
    "zero_allow_untested_optimizer": True,
    "fp16": {"enabled": "auto", "loss_scale": 0, "loss_scale_window": 1000,
             "initial_scale_power": 16, "hysteresis": 2, "min_loss_scale": 1},
    "bf16": {"enabled": "auto"},
    "zero_optimization": {
        "stage": 3, "overlap_comm": False, "contiguous_gradients": True, "sub_group_size": 1e9,
        "reduce_bucket_size": "auto", "stage3_prefetch_bucket_size": "auto",
        "stage3_param_persistence_threshold": "auto", "stage3_max_live_parameters": 1e9,
        "stage3_max_reuse_distance": 1e9, "stage3_gather_16bit_weights_on_model_save": True},
}
QWEN_72B = {"hidden_size": 8192, "intermediate_size": 29568, "num_hidden_layers": 80,
            "vocab_size": 152064, "max_position_embeddings": 32768}
TWO_GPUS = torch.cuda.is_available() and torch.cuda.device_count() >= 2


def test_zero3_json_is_llama_factorys_recipe(tmp_path):
    assert deepspeed_config("zero3") == LLAMA_FACTORY_Z3
    offload = deepspeed_config("zero3_offload")   # ds_z3_offload_config.json: MMLA's 72B runs
    assert offload["zero_optimization"]["offload_param"] == {"device": "cpu", "pin_memory": True}
    assert offload["zero_optimization"]["offload_optimizer"] == {"device": "cpu",
                                                                 "pin_memory": True}
    rest = {k: v for k, v in offload["zero_optimization"].items() if not k.startswith("offload")}
    assert rest == LLAMA_FACTORY_Z3["zero_optimization"]
    path = write_deepspeed_config(tmp_path, "zero3")
    assert json.loads(path.read_text()) == LLAMA_FACTORY_Z3
    assert sharding_arguments("zero3", tmp_path, []) == {"deepspeed": str(path)}
    # bf16 "auto" is the Trainer's bf16, which the trainer turns on for CUDA
    with pytest.raises(ValueError):
        deepspeed_config("fsdp")


def test_fsdp_wraps_the_omni_blocks_and_uses_fsdps_own_checkpointing(tmp_path):
    from mmla_core.train.trainer import wrap_classes

    classes = wrap_classes("qwen2_5_omni")
    assert {"Qwen2_5OmniDecoderLayer", "Qwen2_5OmniVisionBlock"} <= set(classes)
    args = sharding_arguments("fsdp", tmp_path, classes)
    assert args["fsdp"] is True and args["activation_checkpointing"] is False
    assert args["fsdp_config"]["transformer_layer_cls_to_wrap"] == sorted(classes)
    assert args["fsdp_config"]["version"] == 2
    assert sharding_arguments("none", tmp_path, classes) == {}


def test_config_checks_sharding_and_round_trips(toy_text_model):
    config = toy_config(toy_text_model, sharding="zero3", gpus=8)
    assert TrainConfig.from_yaml(config.to_yaml()) == config
    assert "torchrun --nproc_per_node 8" in config.command_line("run.yaml")
    with pytest.raises(TrainConfigError, match="sharding 'zero2' is not one of"):
        TrainConfig.from_dict({**config.to_dict(), "sharding": "zero2"})
    with pytest.raises(TrainConfigError, match="needs CUDA GPUs"):
        TrainConfig.from_dict({**config.to_dict(), "sharding": "fsdp", "device": "cpu"})
    with pytest.raises(TrainConfigError, match="gpus must be > 0"):
        TrainConfig.from_dict({**config.to_dict(), "gpus": 0})


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal without CUDA")
def test_a_sharded_run_without_cuda_is_refused_before_loading(toy_text_model):
    from mmla_core.train.trainer import training_device

    with pytest.raises(TrainConfigError, match="needs CUDA GPUs"):
        training_device(toy_config(toy_text_model, sharding="fsdp"), 0)


def test_memory_estimate_divides_the_sharded_weights_over_the_gpus():
    params, tokens = 72_000_000_000, 2048

    def need(**kw) -> float:
        config = toy_config("m", batch_size=1, **kw)
        return estimate_memory_bytes(config, QWEN_72B, params, tokens, on_cuda=True) / GiB

    whole = need()
    assert whole > 140                                  # 72B in bf16 does not fit an 80 GB GPU
    fsdp8 = need(sharding="fsdp", gpus=8)
    assert 15 < fsdp8 - (whole - params * 2 * 1.02 / GiB) < 22   # ~1/8 of the weights + a block
    assert need(sharding="zero3", gpus=8) == pytest.approx(fsdp8)
    assert need(sharding="fsdp", gpus=4) > fsdp8
    assert need(sharding="zero3_offload", gpus=8) < fsdp8   # the weights wait in CPU RAM


def test_fit_check_names_the_sharding(toy_project, toy_text_model, monkeypatch):
    from mmla_core.store import open_store
    from mmla_core.train import fit
    from mmla_core.train.preflight import validate

    monkeypatch.setattr(fit, "device_memory", lambda device: ("cuda:0 (test GPU)", 1 * GiB))
    monkeypatch.setattr(fit, "_parameter_count", lambda path: 40 * GiB)   # an 80 GB model
    config = toy_config(toy_text_model, device="cuda")
    with open_store(toy_project) as store:
        plain = validate(store, config)
        sharded = validate(store, toy_config(toy_text_model, device="cuda", sharding="fsdp",
                                             gpus=8))
    assert "shard the model over several GPUs (sharding fsdp or zero3" in plain[-1]
    assert "per GPU (fsdp over 8 GPUs)" in sharded[-1]


def _sharded_run(tmp_path, project, model, sharding: str,
                 *extra: str) -> subprocess.CompletedProcess:
    config = toy_config(model, output_dir=str(tmp_path / sharding), sharding=sharding, gpus=2,
                        max_steps=4, save_every=2, eval_every=2, test_split="none")
    (tmp_path / "run.yaml").write_text(config.to_yaml())
    return subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
         "-m", "mmla_core.train", str(tmp_path / "run.yaml"), "--db", str(project), *extra],
        env={**rank_env(), "CUDA_VISIBLE_DEVICES": "0,1"}, capture_output=True, text=True,
        timeout=LAUNCH_TIMEOUT_S)


@pytest.mark.gpu
@pytest.mark.skipif(not TWO_GPUS, reason="FSDP through accelerate needs two CUDA GPUs")
def test_fsdp_run_on_two_gpus_saves_and_resumes(toy_project, toy_text_model, tmp_path):
    done = _sharded_run(tmp_path, toy_project, toy_text_model, "fsdp")
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "fsdp" / "adapter" / "adapter_model.safetensors").is_file()
    assert (tmp_path / "fsdp" / "checkpoint-4").is_dir()
    again = _sharded_run(tmp_path, toy_project, toy_text_model, "fsdp", "--resume",
                         str(tmp_path / "fsdp" / "checkpoint-2"))
    assert again.returncode == 0 and "done at step 4" in again.stdout, again.stderr[-3000:]


@pytest.mark.gpu
@pytest.mark.skipif(not TWO_GPUS or importlib.util.find_spec("deepspeed") is None,
                    reason="DeepSpeed ZeRO-3 needs two CUDA GPUs and the deepspeed package")
def test_zero3_run_on_two_gpus(toy_project, toy_text_model, tmp_path):
    done = _sharded_run(tmp_path, toy_project, toy_text_model, "zero3")
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads((tmp_path / "zero3" / "ds_config.json").read_text()) == LLAMA_FACTORY_Z3
    assert (tmp_path / "zero3" / "adapter" / "adapter_model.safetensors").is_file()
