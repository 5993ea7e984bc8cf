"""Offline processors that need no torchvision and no torchcodec (reference/env_probe.md 4).

transformers 5.23 marks every video processor `@requires(torchvision)`, and the CPU torch here
has no matching torchvision, so `Qwen2VLVideoProcessor` cannot even be imported. The numpy
version below reproduces its `smart_resize` + normalise + patchify exactly (same
`video_grid_thw`, same patch layout); only the resize filter differs (OpenCV area/bicubic
against torchvision's antialiased bicubic). The Omni and VL processors are subclassed so they
accept it, and processors are saved and reloaded by hand, because AutoProcessor cannot rebuild
a custom class (it silently returns a bare tokenizer).

Layout on disk (the hub's, so real checkpoints load the same way): tokenizer files,
`preprocessor_config.json` (image processor + Whisper feature extractor keys),
`video_preprocessor_config.json`, `chat_template.jinja`.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import ClassVar

import cv2
import numpy as np
from transformers import Qwen2_5_VLProcessor, Qwen2_5OmniProcessor, Qwen2VLProcessor
from transformers.feature_extraction_utils import BatchFeature
from transformers.video_processing_utils import VideoProcessorMixin
from transformers.video_utils import VideoMetadata

from mmla_core.models.registry import ModelLoadError, check_tokenizer_files

__all__ = [
    "NumpyQwen2VLVideoProcessor",
    "OfflineOmniProcessor",
    "OfflineQwen2VLProcessor",
    "OfflineQwen2_5_VLProcessor",
    "load_processor",
    "per_video_fps",
    "save_processor",
    "smart_resize",
    "target_size",
]

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
VIDEO_MIN_PIXELS = 128 * 28 * 28  # Qwen's video default (qwen-vl-utils / the processor class)
VIDEO_MAX_PIXELS = 768 * 28 * 28


def smart_resize(height: int, width: int, factor: int = 28, min_pixels: int = 56 * 56,
                 max_pixels: int = 14 * 14 * 4 * 1280) -> tuple[int, int]:
    """Qwen2-VL's resize rule, verbatim: sides divisible by `factor`, area within the range."""
    if max(height, width) / min(height, width) > 200:
        ratio = max(height, width) / min(height, width)
        raise ValueError(f"aspect ratio must be below 200, got {ratio}")
    h_bar = round(height / factor) * factor
    w_bar = round(width / factor) * factor
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


def target_size(height: int, width: int, factor: int, low: int, high: int) -> tuple[int, int]:
    """smart_resize, except it never exceeds `high`: when upsampling to `low` would overshoot
    the cap (`low` close to `high`), the frame is only rounded to the patch grid."""
    new_h, new_w = smart_resize(height, width, factor=factor, min_pixels=low, max_pixels=high)
    if new_h * new_w > high:
        new_h, new_w = smart_resize(height, width, factor, min_pixels=factor * factor,
                                    max_pixels=high)
    return new_h, new_w


def _size_range(size) -> tuple[int, int]:
    size = dict(size or {})
    low = size.get("shortest_edge", size.get("min_pixels", VIDEO_MIN_PIXELS))
    high = size.get("longest_edge", size.get("max_pixels", VIDEO_MAX_PIXELS))
    return int(low), int(high)


class NumpyQwen2VLVideoProcessor(VideoProcessorMixin):
    """`Qwen2VLVideoProcessor` for already-sampled frames, in numpy + OpenCV.

    Input: one video (T, H, W, 3) uint8 RGB or a list of them. Frames are never re-sampled
    here (`do_sample_frames` is ignored): callers sample with real timestamps and pass the fps
    they sampled at, which the Omni processor turns into TMRoPE seconds per grid.
    """

    model_input_names: ClassVar[list[str]] = ["pixel_values_videos", "video_grid_thw"]
    video_processor_type = "NumpyQwen2VLVideoProcessor"

    def __init__(self, patch_size=14, temporal_patch_size=2, merge_size=2, size=None,
                 image_mean=CLIP_MEAN, image_std=CLIP_STD, min_pixels=None, max_pixels=None,
                 **kwargs):
        for key in ("do_resize", "do_rescale", "do_normalize", "do_convert_rgb", "resample",
                    "rescale_factor", "do_sample_frames", "fps", "num_frames", "min_frames",
                    "max_frames", "return_metadata", "video_processor_type", "processor_class",
                    "cap_pixels_per_frame", "max_video_tokens", "default_to_square"):
            kwargs.pop(key, None)
        super().__init__(**kwargs)
        low, high = _size_range(size)
        self.size = {"shortest_edge": int(min_pixels or low),
                     "longest_edge": int(max_pixels or high)}
        self.patch_size, self.temporal_patch_size = int(patch_size), int(temporal_patch_size)
        self.merge_size = int(merge_size)
        self.image_mean, self.image_std = list(image_mean), list(image_std)

    def __call__(self, videos, size=None, fps=None, return_tensors=None, return_metadata=False,
                 video_metadata=None, **_ignored) -> BatchFeature:
        videos = [videos] if isinstance(videos, np.ndarray) and videos.ndim == 4 else list(videos)
        rates = per_video_fps(video_metadata, len(videos)) or [fps] * len(videos)
        low, high = _size_range(size or self.size)
        patches, grids, metadata = [], [], []
        for video, rate in zip(videos, rates, strict=True):
            flat, grid = self._patchify(np.asarray(video), low, high)
            patches.append(flat)
            grids.append(grid)
            count = int(np.asarray(video).shape[0])
            metadata.append(VideoMetadata(total_num_frames=count, fps=rate,
                                          frames_indices=list(range(count))))
        data = {"pixel_values_videos": np.concatenate(patches),
                "video_grid_thw": np.asarray(grids, np.int64)}
        if return_metadata:
            data["video_metadata"] = metadata
        return BatchFeature(data, tensor_type=return_tensors)

    preprocess = __call__

    def _patchify(self, video: np.ndarray, low: int, high: int) -> tuple[np.ndarray, list[int]]:
        ps, tps, ms = self.patch_size, self.temporal_patch_size, self.merge_size
        frames, height, width = video.shape[0], video.shape[1], video.shape[2]
        new_h, new_w = target_size(height, width, ps * ms, low, high)
        shrink = new_h * new_w < height * width
        interp = cv2.INTER_AREA if shrink else cv2.INTER_CUBIC
        resized = np.stack([cv2.resize(np.ascontiguousarray(f), (new_w, new_h),
                                       interpolation=interp) for f in video])
        if pad := -frames % tps:  # the processor repeats the last frame up to a full patch
            resized = np.concatenate([resized, np.repeat(resized[-1:], pad, 0)], 0)
        # (x / 255 - mean) / std as one multiply-add on the contiguous HWC array (fast)
        std = np.asarray(self.image_std, np.float32)
        x = resized.astype(np.float32)
        x *= 1.0 / (255.0 * std)
        x += -np.asarray(self.image_mean, np.float32) / std
        grid_t, grid_h, grid_w = x.shape[0] // tps, new_h // ps, new_w // ps
        p = x.reshape(grid_t, tps, grid_h // ms, ms, ps, grid_w // ms, ms, ps, 3)
        # -> (t, h/m, w/m, m_h, m_w, C, tps, ps_h, ps_w): Qwen2VLVideoProcessor.patchify's order
        p = p.transpose(0, 2, 5, 3, 6, 8, 1, 4, 7)
        flat = p.reshape(grid_t * grid_h * grid_w, 3 * tps * ps * ps)
        return np.ascontiguousarray(flat), [grid_t, grid_h, grid_w]

    def get_num_of_video_patches(self, num_frames, height, width, videos_kwargs=None):
        low, high = _size_range((videos_kwargs or {}).get("size") or self.size)
        factor = self.patch_size * self.merge_size
        new_h, new_w = target_size(height, width, factor, low, high)
        grid_t = math.ceil(num_frames / self.temporal_patch_size)
        return grid_t * (new_h // self.patch_size) * (new_w // self.patch_size)

    def to_dict(self) -> dict:
        return {"video_processor_type": self.video_processor_type, "size": dict(self.size),
                "patch_size": self.patch_size, "temporal_patch_size": self.temporal_patch_size,
                "merge_size": self.merge_size, "image_mean": self.image_mean,
                "image_std": self.image_std}


def per_video_fps(video_metadata, count: int) -> list[float] | None:
    """The sampling rate of each video from `video_metadata` (one entry per video), if given.

    A batch of clips is sampled at different rates (4 frames over clips of different lengths);
    transformers' `fps` kwarg is one number, so the rates travel in the metadata.
    """
    if video_metadata is None:
        return None
    entries = video_metadata if isinstance(video_metadata, (list, tuple)) else [video_metadata]
    if len(entries) != count or any(e is None or e["fps"] is None for e in entries):
        return None
    return [float(e["fps"]) for e in entries]


class _AcceptsNumpyVideo:
    """Without torchvision, transformers' VIDEO_PROCESSOR_MAPPING is a dummy and the class
    check of the video slot fails; accept any VideoProcessorMixin there."""

    def check_argument_for_proper_class(self, argument_name, argument):
        if argument_name == "video_processor":
            if not isinstance(argument, VideoProcessorMixin):
                raise TypeError("video_processor must be a VideoProcessorMixin, "
                                f"got {type(argument)}")
            return VideoProcessorMixin
        return super().check_argument_for_proper_class(argument_name, argument)


class OfflineOmniProcessor(_AcceptsNumpyVideo, Qwen2_5OmniProcessor):
    """Qwen2.5-Omni's processor with the numpy video processor and per-video sampling rates."""

    def _process_videos(self, videos, audio=None, processed_audio=None,
                        video_to_audio_indices=None, **kwargs):
        videos_kwargs = kwargs["videos_kwargs"]
        count = len(videos) if isinstance(videos, (list, tuple)) else 1
        rates = per_video_fps(videos_kwargs.get("video_metadata"), count)
        if rates is None:
            return super()._process_videos(videos, audio=audio, processed_audio=processed_audio,
                                           video_to_audio_indices=video_to_audio_indices,
                                           **kwargs)
        processed = self.video_processor(videos, **videos_kwargs)
        tps = self.video_processor.temporal_patch_size
        processed["video_second_per_grid"] = [tps / rate for rate in rates]
        replacements = [
            self.replace_video_token(processed, video_idx=i, processed_audio=processed_audio,
                                     video_to_audio_indices=video_to_audio_indices, **kwargs)
            for i in range(len(rates))]
        return processed, replacements


class OfflineQwen2VLProcessor(_AcceptsNumpyVideo, Qwen2VLProcessor):
    """Qwen2-VL's processor with the numpy video processor."""


class OfflineQwen2_5_VLProcessor(_AcceptsNumpyVideo, Qwen2_5_VLProcessor):
    """Qwen2.5-VL's processor with the numpy video processor."""


_VIDEO_CLASSES = {"qwen2_5_omni": OfflineOmniProcessor, "qwen2_vl": OfflineQwen2VLProcessor,
                  "qwen2_5_vl": OfflineQwen2_5_VLProcessor}


def save_processor(processor, out_dir: str | Path) -> None:
    """Write a processor (or a text tokenizer) in the hub layout that `load_processor` reads."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = getattr(processor, "tokenizer", processor)
    tokenizer.save_pretrained(out)
    template = getattr(processor, "chat_template", None) or tokenizer.chat_template
    if template:
        (out / "chat_template.jinja").write_text(template, encoding="utf-8")
    if tokenizer is processor:
        return
    pre = {"processor_class": type(processor).__name__.replace("Offline", "")}
    pre.update(_image_config(processor.image_processor))
    if getattr(processor, "feature_extractor", None) is not None:
        pre.update(processor.feature_extractor.to_dict())
    pre.pop("mel_filters", None)
    (out / "preprocessor_config.json").write_text(json.dumps(pre, indent=2, default=_plain))
    video = processor.video_processor.to_dict()
    (out / "video_preprocessor_config.json").write_text(json.dumps(video, indent=2))


def _image_config(image_processor) -> dict:
    size = dict(image_processor.size)
    return {"image_processor_type": "Qwen2VLImageProcessor", "size": size,
            "min_pixels": size.get("shortest_edge"), "max_pixels": size.get("longest_edge"),
            "patch_size": image_processor.patch_size, "merge_size": image_processor.merge_size,
            "temporal_patch_size": image_processor.temporal_patch_size,
            "image_mean": list(image_processor.image_mean),
            "image_std": list(image_processor.image_std)}


def _plain(value):
    return value.tolist() if hasattr(value, "tolist") else str(value)


def load_processor(path: str | Path, family: str):
    """The offline processor of a model folder (the tokenizer alone for text_lm)."""
    from transformers import AutoTokenizer

    path = Path(path)
    check_tokenizer_files(path)
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=False)
    except (OSError, ValueError) as exc:
        raise ModelLoadError(
            f"{path}: tokenizer cannot be loaded ({exc}); the folder needs tokenizer.json or "
            "vocab.json + merges.txt") from exc
    template = _chat_template(path) or tokenizer.chat_template
    if family == "text_lm":
        tokenizer.chat_template = template
        return tokenizer
    pre = _read_json(path / "preprocessor_config.json")
    video = _read_json(path / "video_preprocessor_config.json") or _video_from(pre)
    image_processor = _image_processor(pre)
    video_processor = NumpyQwen2VLVideoProcessor(**video)
    cls = _VIDEO_CLASSES[family]
    if family == "qwen2_5_omni":
        from transformers import WhisperFeatureExtractor

        _name_omni_tokens(tokenizer)
        extractor = WhisperFeatureExtractor(**_whisper_keys(pre))
        return cls(image_processor=image_processor, video_processor=video_processor,
                   feature_extractor=extractor, tokenizer=tokenizer, chat_template=template)
    return cls(image_processor=image_processor, tokenizer=tokenizer,
               video_processor=video_processor, chat_template=template)


OMNI_TOKENS = {"image_token": "<|IMAGE|>", "audio_token": "<|AUDIO|>", "video_token": "<|VIDEO|>",
               "vision_bos_token": "<|vision_bos|>", "vision_eos_token": "<|vision_eos|>",
               "audio_bos_token": "<|audio_bos|>", "audio_eos_token": "<|audio_eos|>"}


def _name_omni_tokens(tokenizer) -> None:
    """Older Omni tokenizer configs do not name the media tokens the processor reads."""
    missing = {k: v for k, v in OMNI_TOKENS.items() if getattr(tokenizer, k, None) is None}
    unknown = [v for v in missing.values() if v not in tokenizer.get_vocab()]
    if unknown:
        raise ModelLoadError(f"the tokenizer lacks the Qwen2.5-Omni tokens {unknown}; is this "
                             "really a Qwen2.5-Omni checkpoint?")
    if missing:
        tokenizer._set_model_specific_special_tokens(special_tokens=missing)


def _chat_template(path: Path) -> str | None:
    jinja = path / "chat_template.jinja"
    if jinja.is_file():
        return jinja.read_text(encoding="utf-8")
    data = _read_json(path / "chat_template.json")
    return data.get("chat_template") if data else None


def _read_json(file: Path) -> dict:
    if not file.is_file():
        return {}
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"{file}: unreadable ({exc}); re-download the model") from exc


def _video_from(pre: dict) -> dict:
    keys = ("patch_size", "temporal_patch_size", "merge_size", "image_mean", "image_std")
    return {k: pre[k] for k in keys if k in pre}


def _image_processor(pre: dict):
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import (
        Qwen2VLImageProcessorPil,
    )

    keys = ("patch_size", "temporal_patch_size", "merge_size", "image_mean", "image_std")
    kwargs = {k: pre[k] for k in keys if k in pre}
    size = pre.get("size") or {}
    low = pre.get("min_pixels") or size.get("shortest_edge")
    high = pre.get("max_pixels") or size.get("longest_edge")
    if low and high:
        kwargs["size"] = {"shortest_edge": int(low), "longest_edge": int(high)}
    return Qwen2VLImageProcessorPil(**kwargs)


def _whisper_keys(pre: dict) -> dict:
    keys = ("feature_size", "sampling_rate", "hop_length", "chunk_length", "n_fft",
            "padding_value", "return_attention_mask", "dither")
    return {k: pre[k] for k in keys if k in pre}
