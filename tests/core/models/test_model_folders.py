"""Model folders as transformers 5 saves them and as the Hub has them; mismatches refused early.

The tiny folders are written by transformers' own `save_pretrained` (`processor_config.json`);
the Hub layout (`preprocessor_config.json` + `video_preprocessor_config.json`) is made from them.
"""

import json
import shutil

import numpy as np
import pytest

from mmla_core.cli import main
from mmla_core.models.registry import ModelLoadError, inspect_model
from tests.support import models_fixtures

omni_dir = models_fixtures.omni_dir
vl_dir = models_fixtures.vl_dir
vl25_dir = models_fixtures.vl25_dir
text_dir = models_fixtures.text_dir
models_demo_db = models_fixtures.models_demo_db
FAMILY_DIRS = {"qwen2_5_omni": "omni_dir", "qwen2_vl": "vl_dir", "qwen2_5_vl": "vl25_dir",
               "text_lm": "text_dir"}


@pytest.fixture
def project(tmp_path, models_demo_db):
    shutil.copy(models_demo_db, tmp_path / "p.sqlite")
    return tmp_path / "p.sqlite"


def _mmla(db, *args) -> int:
    return main(["--db", str(db), *args])


def hub_layout(folder, out):
    """The same processor in the Hub's files: one flat preprocessor_config.json (image and
    Whisper keys side by side) and video_preprocessor_config.json."""
    out = shutil.copytree(folder, out)
    nested = json.loads((out / "processor_config.json").read_text())
    (out / "processor_config.json").unlink()
    flat = {"processor_class": nested["processor_class"], **nested["image_processor"],
            **nested.get("feature_extractor", {})}
    (out / "preprocessor_config.json").write_text(json.dumps(flat))
    (out / "video_preprocessor_config.json").write_text(json.dumps(nested["video_processor"]))
    return out


@pytest.mark.parametrize("family", list(FAMILY_DIRS))
def test_save_pretrained_folder_of_each_family_registers_and_predicts(family, request, project,
                                                                      capsys):
    folder = request.getfixturevalue(FAMILY_DIRS[family])
    assert not (folder / "preprocessor_config.json").exists()  # transformers 5's layout
    assert (folder / "processor_config.json").is_file() == (family != "text_lm")
    assert _mmla(project, "models", "add", str(folder), "--name", family) == 0
    capsys.readouterr()
    assert _mmla(project, "predict", "demo/demo_03", "--model", family, "--task", "MIntRec",
                 "--max-pixels", str(models_fixtures.SMALL_PIXELS)) == 0
    out = capsys.readouterr().out
    assert "ask for help" in out  # every label scored
    assert ("audio heard" in out) == (family == "qwen2_5_omni")


def test_hub_layout_omni_gives_the_same_inputs_and_predicts(tmp_path, omni_dir, project, capsys):
    from mmla_core.models.inputs import InferenceSettings, build_model_inputs
    from mmla_core.models.processors import load_processor

    hub = hub_layout(omni_dir, tmp_path / "hub")
    ours, theirs = load_processor(omni_dir, "qwen2_5_omni"), load_processor(hub, "qwen2_5_omni")
    assert theirs.feature_extractor.feature_size == 128  # not Whisper's default 80
    clip, settings = models_fixtures.synthetic_clip(), InferenceSettings(max_pixels=12544)
    a = build_model_inputs(ours, "qwen2_5_omni", clip, "q", settings)
    b = build_model_inputs(theirs, "qwen2_5_omni", clip, "q", settings)
    for key in ("input_ids", "pixel_values_videos", "video_grid_thw", "input_features"):
        assert np.array_equal(np.asarray(a[key]), np.asarray(b[key])), key
    assert _mmla(project, "models", "add", str(hub), "--name", "hub") == 0
    assert _mmla(project, "predict", "demo/demo_03", "--model", "hub", "--task", "MIntRec",
                 "--max-pixels", str(models_fixtures.SMALL_PIXELS)) == 0
    assert "audio heard" in capsys.readouterr().out


def _edit(folder, section, **changes):
    path = folder / "processor_config.json"
    data = json.loads(path.read_text())
    for key, value in changes.items():
        if value is None:
            data.pop(section)
        else:
            data[section][key] = value
    path.write_text(json.dumps(data))


@pytest.mark.parametrize(("section", "changes", "message"), [
    ("feature_extractor", {"feature_size": 80}, "80 mel bins but the audio encoder takes "
                                                "num_mel_bins 128"),
    ("feature_extractor", {"x": None}, "no feature extractor settings"),
    ("image_processor", {"patch_size": 16}, "image processor has patch_size 16 but the vision "
                                            "tower's patch_size is 14"),
    ("video_processor", {"merge_size": 4}, "video processor has merge_size 4 but the vision "
                                           "tower's spatial_merge_size is 2"),
])
def test_processor_model_mismatch_is_refused_at_registration(tmp_path, omni_dir, project, capsys,
                                                             section, changes, message):
    folder = shutil.copytree(omni_dir, tmp_path / "bad")
    _edit(folder, section, **changes)
    with pytest.raises(ModelLoadError, match="the processor does not fit the model"):
        inspect_model(folder)
    assert _mmla(project, "models", "add", str(folder), "--name", "bad") == 1
    err = capsys.readouterr().err
    assert message in err and str(folder) in err


def test_mismatch_in_the_hub_layout_is_refused_too(tmp_path, vl_dir):
    hub = hub_layout(vl_dir, tmp_path / "hub")
    pre = json.loads((hub / "preprocessor_config.json").read_text())
    (hub / "preprocessor_config.json").write_text(json.dumps({**pre, "temporal_patch_size": 1}))
    with pytest.raises(ModelLoadError, match="temporal_patch_size 1"):
        inspect_model(hub)


def test_tiny_folders_name_only_transformers_own_processor_classes(omni_dir, vl_dir, text_dir):
    """Plain transformers builds the full processor from our folders: with torchvision the
    stock classes; without it (this CPU torch), AutoProcessor goes for the stock
    Qwen2_5OmniProcessor and stops only at torchvision, never a bare tokenizer, and every
    sub-processor loads with transformers' own classes from the folder."""
    from transformers import AutoProcessor, AutoTokenizer, WhisperFeatureExtractor
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import (
        Qwen2VLImageProcessorPil,
    )
    from transformers.utils import is_torchvision_available

    saved = json.loads((omni_dir / "processor_config.json").read_text())
    assert saved["processor_class"] == "Qwen2_5OmniProcessor"
    assert saved["video_processor"]["video_processor_type"] == "Qwen2VLVideoProcessor"
    assert saved["image_processor"]["image_processor_type"] == "Qwen2VLImageProcessor"
    assert saved["feature_extractor"]["feature_extractor_type"] == "WhisperFeatureExtractor"
    assert json.loads((vl_dir / "processor_config.json").read_text())[
        "processor_class"] == "Qwen2VLProcessor"
    if is_torchvision_available():
        full = AutoProcessor.from_pretrained(omni_dir)
        assert type(full).__name__ == "Qwen2_5OmniProcessor"
        assert full.feature_extractor.feature_size == 128
        assert type(full.video_processor).__name__ == "Qwen2VLVideoProcessor"
    else:
        with pytest.raises((ImportError, ValueError), match=r"(?i)torchvision"):
            AutoProcessor.from_pretrained(omni_dir)
    assert WhisperFeatureExtractor.from_pretrained(omni_dir).feature_size == 128
    assert Qwen2VLImageProcessorPil.from_pretrained(omni_dir).patch_size == 14
    assert AutoTokenizer.from_pretrained(omni_dir).convert_tokens_to_ids("<|AUDIO|>") > 0
    assert type(AutoProcessor.from_pretrained(text_dir)).__name__ == "Qwen2Tokenizer"


def test_transformers_own_processor_is_used_where_torchvision_works(omni_dir, monkeypatch):
    """With torchvision, load_processor takes AutoProcessor's pieces as they are; a torchvision
    that is installed but broken (ImportError/RuntimeError) falls back to the numpy video
    processor instead of failing the model."""
    import transformers
    import transformers.utils

    from mmla_core.models.processors import NumpyQwen2VLVideoProcessor, load_processor

    own = load_processor(omni_dir, "qwen2_5_omni")
    seen = []

    def stock_from_pretrained(path, **kwargs):
        seen.append((str(path), kwargs.get("trust_remote_code")))
        return own  # stands in for the stock Qwen2_5OmniProcessor

    monkeypatch.setattr(transformers.utils, "is_torchvision_available", lambda: True)
    monkeypatch.setattr(transformers.AutoProcessor, "from_pretrained", stock_from_pretrained)
    again = load_processor(omni_dir, "qwen2_5_omni")
    assert seen == [(str(omni_dir), False)]
    assert again.video_processor is own.video_processor
    assert again.feature_extractor is own.feature_extractor

    def broken(path, **kwargs):
        raise RuntimeError("operator torchvision::nms does not exist")

    monkeypatch.setattr(transformers.AutoProcessor, "from_pretrained", broken)
    fallback = load_processor(omni_dir, "qwen2_5_omni")
    assert isinstance(fallback.video_processor, NumpyQwen2VLVideoProcessor)
    assert fallback.feature_extractor.feature_size == 128
