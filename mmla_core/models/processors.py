"""Processors for a model folder, loaded with transformers' own classes wherever they work.

transformers' own pieces load from the folder as they are (either layout: the Hub's
`preprocessor_config.json` or transformers 5's `processor_config.json`, see processor_files):
`AutoTokenizer`, `Qwen2VLImageProcessorPil`, `WhisperFeatureExtractor`. The one piece we write
ourselves is the video processor, and only where transformers' cannot run: every transformers
video processor is `@requires(torchvision)`, and the CPU torch here has no matching torchvision
wheel (PyPI's torchvision is a CUDA build whose `_C.so` needs libtorch_cuda; reference/
env_probe.md 4), so `Qwen2VLVideoProcessor` cannot even be imported, and neither
`AutoProcessor` nor the stock `Qwen2_5OmniProcessor` can be built (its class check looks the
video class up in a mapping that is a dummy without torchvision). Where torchvision works (the
`gpu` extra), `AutoProcessor.from_pretrained` gives the stock pieces and we use them.

The numpy video processor reproduces `Qwen2VLVideoProcessor`'s `smart_resize` + normalise +
patchify exactly (same `video_grid_thw`, same patch layout); only the resize filter differs
(OpenCV area/bicubic against torchvision's antialiased bicubic). The Omni and VL processors are
subclassed so they accept it and take a sampling rate per video.

Saved with transformers' own `save_pretrained` (`processor_config.json`), naming only stock
classes (`Qwen2_5OmniProcessor`, `Qwen2VLVideoProcessor`, ...), so plain transformers (and
LLaMA-Factory) load the full processor from our folders where torchvision is installed.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import cv2
import numpy as np

# The classes below subclass transformers' own: this module is on pyproject.toml's
# banned-module-level-imports list itself, so its importers load it (and transformers) lazily.
from transformers import (  # noqa: TID253
    Qwen2_5_VLProcessor,
    Qwen2_5OmniProcessor,
    Qwen2VLProcessor,
)
from transformers.feature_extraction_utils import BatchFeature  # noqa: TID253
from transformers.video_processing_utils import VideoProcessorMixin  # noqa: TID253
from transformers.video_utils import VideoMetadata  # noqa: TID253

if TYPE_CHECKING:
    from transformers import ProcessorMixin

from mmla_core.models.processor_files import UnreadableProcessorFile, read_processor_files
from mmla_core.models.registry import ModelLoadError, check_tokenizer_files

log = logging.getLogger(__name__)

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

    # not ClassVar: VideoProcessorMixin declares it a plain attribute, read from instances
    model_input_names: list[str] = ["pixel_values_videos", "video_grid_thw"]  # noqa: RUF012
    # saved under the name of the class whose config it reproduces, so transformers with
    # torchvision loads the stock Qwen2VLVideoProcessor from our folders
    video_processor_type: str = "Qwen2VLVideoProcessor"

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

    # VideoProcessorMixin.__call__(videos, **kwargs) already overrides BaseImageProcessor's
    # (images, *args, ...) incompatibly: a video processor takes videos, not images
    def __call__(  # type: ignore[override]
            self, videos, size=None, fps=None, return_tensors=None, return_metadata=False,
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
        data: dict[str, Any] = {"pixel_values_videos": np.concatenate(patches),
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


if TYPE_CHECKING:   # the processors this mixes into; at run time a plain mixin
    _ProcessorBase = ProcessorMixin
else:
    _ProcessorBase = object


class _AcceptsNumpyVideo(_ProcessorBase):
    """Without torchvision, transformers' VIDEO_PROCESSOR_MAPPING is a dummy and the class
    check of the video slot fails; accept any VideoProcessorMixin there. Saved under the stock
    class name (`stock_name`), which is what plain transformers must build from the folder."""

    stock_name: ClassVar[str] = ""

    def to_dict(self) -> dict:
        data = super().to_dict()
        data["processor_class"] = self.stock_name
        return data

    def check_argument_for_proper_class(self, argument_name, argument):
        if argument_name == "video_processor":
            if not isinstance(argument, VideoProcessorMixin):
                raise TypeError("video_processor must be a VideoProcessorMixin, "
                                f"got {type(argument)}")
            return VideoProcessorMixin
        return super().check_argument_for_proper_class(argument_name, argument)


class OfflineOmniProcessor(_AcceptsNumpyVideo, Qwen2_5OmniProcessor):
    """Qwen2.5-Omni's processor with the numpy video processor and per-video sampling rates."""

    stock_name = "Qwen2_5OmniProcessor"

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

    stock_name = "Qwen2VLProcessor"


class OfflineQwen2_5_VLProcessor(_AcceptsNumpyVideo, Qwen2_5_VLProcessor):
    """Qwen2.5-VL's processor with the numpy video processor."""

    stock_name = "Qwen2_5_VLProcessor"


_VIDEO_CLASSES: dict[str, type[ProcessorMixin]] = {
    "qwen2_5_omni": OfflineOmniProcessor, "qwen2_vl": OfflineQwen2VLProcessor,
    "qwen2_5_vl": OfflineQwen2_5_VLProcessor}


def save_processor(processor, out_dir: str | Path) -> None:
    """transformers' own `save_pretrained` (tokenizer files, `chat_template.jinja`,
    `processor_config.json`), under the stock class names (see `_AcceptsNumpyVideo`)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    processor.save_pretrained(out)


def load_processor(path: str | Path, family: str):
    """The processor of a model folder (the tokenizer alone for text_lm)."""
    path = Path(path)
    check_tokenizer_files(path)
    tokenizer = _tokenizer(path)
    template = _chat_template(path) or tokenizer.chat_template
    if family == "text_lm":
        tokenizer.chat_template = template
        return tokenizer
    try:
        files = read_processor_files(path)
    except UnreadableProcessorFile as exc:
        raise ModelLoadError(str(exc)) from exc
    if family == "qwen2_5_omni":
        _name_omni_tokens(tokenizer)
    parts = _stock_parts(path) or _own_parts(path, family, files)
    return _VIDEO_CLASSES[family](tokenizer=tokenizer, chat_template=template, **parts)


def _tokenizer(path: Path):
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(path, trust_remote_code=False)
    except (OSError, ValueError) as exc:
        raise ModelLoadError(
            f"{path}: tokenizer cannot be loaded ({exc}); the folder needs tokenizer.json or "
            "vocab.json + merges.txt") from exc


def _stock_parts(path: Path) -> dict | None:
    """transformers' own image / video / audio processors, where torchvision makes them work."""
    from transformers import AutoProcessor
    from transformers.utils import is_torchvision_available

    if not is_torchvision_available():
        return None
    try:
        stock = AutoProcessor.from_pretrained(path, trust_remote_code=False)
    except (ImportError, RuntimeError) as exc:  # a torchvision that is installed but broken
        log.warning("%s: transformers' processor failed (%s); using the numpy video processor",
                    path, exc)
        return None
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"{path}: the processor cannot be loaded ({exc})") from exc
    names = ("image_processor", "video_processor", "feature_extractor")
    parts = {n: getattr(stock, n) for n in names if getattr(stock, n, None) is not None}
    return parts if "video_processor" in parts else None


def _own_parts(path: Path, family: str, files) -> dict:
    """transformers' image processor (PIL backend) and feature extractor from the folder, plus
    the numpy video processor (no torchvision)."""
    from transformers import WhisperFeatureExtractor
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import (
        Qwen2VLImageProcessorPil,
    )

    parts: dict[str, object] = {
        "image_processor": Qwen2VLImageProcessorPil(**_image_kwargs(files.image)),
        "video_processor": NumpyQwen2VLVideoProcessor(**files.video)}
    if family == "qwen2_5_omni":
        if not files.audio:  # Whisper's defaults (80 mel bins) would not fit the encoder
            raise ModelLoadError(f"{path}: no feature extractor settings (processor_config.json "
                                 "or preprocessor_config.json); copy the checkpoint's files")
        keys = ("feature_size", "sampling_rate", "hop_length", "chunk_length", "n_fft",
                "padding_value", "return_attention_mask", "dither", "padding_side")
        parts["feature_extractor"] = WhisperFeatureExtractor(
            **{k: files.audio[k] for k in keys if k in files.audio})
    return parts


def _image_kwargs(image: dict) -> dict:
    """The Qwen2-VL image processor's keys (the Hub's flat file also holds Whisper's)."""
    keys = ("patch_size", "temporal_patch_size", "merge_size", "image_mean", "image_std",
            "size", "do_resize", "do_rescale", "do_normalize", "do_convert_rgb",
            "rescale_factor", "resample")
    kwargs = {k: image[k] for k in keys if k in image}
    size = image.get("size") or {}
    low = image.get("min_pixels") or size.get("shortest_edge")
    high = image.get("max_pixels") or size.get("longest_edge")
    if low and high:
        kwargs["size"] = {"shortest_edge": int(low), "longest_edge": int(high)}
    return kwargs


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





