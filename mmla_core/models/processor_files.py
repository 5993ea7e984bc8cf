"""A model folder's processor settings, in either layout, and whether they fit the model.

Two layouts exist side by side (both read here, without torch):
- the Hub's: `preprocessor_config.json` (image processor and Whisper feature extractor keys,
  flat) and `video_preprocessor_config.json`;
- transformers 5's `save_pretrained`: one `processor_config.json` holding an `image_processor`,
  `video_processor` and `feature_extractor` section each.

A folder whose processor does not fit its model (mel bins other than the audio encoder's, a
patch size other than the vision tower's) loads fine and then dies at the first forward with a
shape error; `processor_problems` finds that at registration instead.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["ProcessorFiles", "UnreadableProcessorFile", "processor_problems",
           "read_processor_files"]

# transformers' defaults when a file does not say (Qwen2-VL image/video processors, Whisper)
_VISION_DEFAULTS = {"patch_size": 14, "temporal_patch_size": 2, "merge_size": 2}
_MODEL_VISION_KEYS = {"patch_size": "patch_size", "temporal_patch_size": "temporal_patch_size",
                      "merge_size": "spatial_merge_size"}
_WHISPER_DEFAULT_MEL_BINS = 80
_OMNI_DEFAULT_MEL_BINS = 128


@dataclass(frozen=True)
class ProcessorFiles:
    """The sections found, each a plain dict ({} when the folder has none)."""

    image: dict = field(default_factory=dict)
    video: dict = field(default_factory=dict)
    audio: dict = field(default_factory=dict)
    processor_class: str | None = None
    sources: tuple[str, ...] = ()


class UnreadableProcessorFile(ValueError):
    """A processor config file that is not JSON (the message names the file)."""


def _read(file: Path) -> dict:
    if not file.is_file():
        return {}
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UnreadableProcessorFile(f"{file}: unreadable ({exc}); re-download the model") from exc
    return data if isinstance(data, dict) else {}


def read_processor_files(path: str | Path) -> ProcessorFiles:
    """Merge both layouts; transformers 5's nested `processor_config.json` wins where both are."""
    path = Path(path)
    nested = _read(path / "processor_config.json")
    flat = _read(path / "preprocessor_config.json")
    video_file = _read(path / "video_preprocessor_config.json")
    # the Hub's Qwen2.5-Omni file holds the image and the Whisper keys side by side
    flat_audio = flat if "feature_size" in flat or "feature_extractor_type" in flat else {}
    sources = tuple(name for name, data in (("processor_config.json", nested),
                                            ("preprocessor_config.json", flat),
                                            ("video_preprocessor_config.json", video_file))
                    if data)
    return ProcessorFiles(
        image=nested.get("image_processor") or flat,
        video=nested.get("video_processor") or video_file or _vision_keys(flat),
        audio=nested.get("feature_extractor") or flat_audio,
        processor_class=nested.get("processor_class") or flat.get("processor_class"),
        sources=sources)


def _vision_keys(image: dict) -> dict:
    keys = (*_VISION_DEFAULTS, "image_mean", "image_std")
    return {k: image[k] for k in keys if k in image}


def _model_section(config: dict, name: str) -> dict:
    """`vision_config` / `audio_config`, top level (thinker, VL) or under `thinker_config` (the
    Hub's full Qwen2.5-Omni config)."""
    return config.get(name) or (config.get("thinker_config") or {}).get(name) or {}


def processor_problems(path: str | Path, family: str, config: dict) -> list[str]:
    """Why this folder's processor cannot feed its model (empty = it fits)."""
    if family == "text_lm":
        return []
    files = read_processor_files(path)
    problems = []
    vision = _model_section(config, "vision_config")
    for part, settings in (("image processor", files.image), ("video processor", files.video)):
        for key, model_key in _MODEL_VISION_KEYS.items():
            ours = settings.get(key, _VISION_DEFAULTS[key])
            theirs = vision.get(model_key, _VISION_DEFAULTS[key])
            if int(ours) != int(theirs):
                problems.append(f"the {part} has {key} {ours} but the vision tower's "
                                f"{model_key} is {theirs}")
    if family == "qwen2_5_omni":
        mel_bins = _model_section(config, "audio_config").get("num_mel_bins",
                                                               _OMNI_DEFAULT_MEL_BINS)
        if not files.audio:
            problems.append(
                "no feature extractor settings (processor_config.json 'feature_extractor' or "
                f"preprocessor_config.json): Whisper's default {_WHISPER_DEFAULT_MEL_BINS} mel "
                f"bins would be fed to an audio encoder that takes {mel_bins}")
        elif int(files.audio.get("feature_size", _WHISPER_DEFAULT_MEL_BINS)) != int(mel_bins):
            problems.append(f"the feature extractor makes {files.audio.get('feature_size')} mel "
                            f"bins but the audio encoder takes num_mel_bins {mel_bins}")
    return problems
