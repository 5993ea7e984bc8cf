"""Per-sample identity of what the model was fed: a hash of its input and its token counts.

The prompt hash says which template was used (the same for every clip); this says which exact
input one sample got: its token ids (padding left out) and the numbers of its own video frames
patches, image patches and audio features, so two runs whose rows carry the same `input_hash`
fed the model the same thing. Token counts per modality come from the placeholder ids the
processor expanded (video, image and audio tokens; everything else counts as text).
"""

from __future__ import annotations

import hashlib

import numpy as np

__all__ = ["MEDIA_TOKENS", "input_fingerprints"]

MEDIA_TOKENS = {"video": "video_token", "image": "image_token", "audio": "audio_token"}


def _array(value) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch tensor (bf16 has no numpy twin: go through float32)
        value = value.detach().cpu()
        if not value.dtype.is_floating_point:
            return value.numpy()
        return value.float().numpy()
    return np.asarray(value)


def _media_token_ids(processor) -> dict[str, int]:
    tokenizer = getattr(processor, "tokenizer", processor)
    ids = {}
    for modality, attribute in MEDIA_TOKENS.items():
        token = getattr(processor, attribute, None) or getattr(tokenizer, attribute, None)
        if token:
            ids[modality] = int(tokenizer.convert_tokens_to_ids(token))
    return ids


def _split_rows(inputs: dict, key: str, grid_key: str, count: int) -> list | None:
    """Per-sample slices of a patch tensor the processor concatenated over the batch."""
    if key not in inputs or grid_key not in inputs:
        return None
    patches, grids = _array(inputs[key]), _array(inputs[grid_key])
    sizes = [int(np.prod(g)) for g in grids]
    if len(sizes) != count:
        return None  # not one video per sample: hash the ids only
    bounds = np.cumsum([0, *sizes])
    return [patches[bounds[i]:bounds[i + 1]] for i in range(count)]


def _audio_rows(inputs: dict, count: int) -> list | None:
    if "input_features" not in inputs:
        return None
    features = _array(inputs["input_features"])
    mask = inputs.get("feature_attention_mask")
    lengths = _array(mask).sum(-1).astype(int) if mask is not None else [None] * count
    if features.shape[0] != count:
        return None
    return [f[:, :n] if n is not None else f for f, n in zip(features, lengths, strict=True)]


def input_fingerprints(processor, inputs: dict, count: int) -> list[tuple[str, dict]]:
    """(sha256 hex of the sample's input, {text, video, image, audio} token counts) per sample
    of a batch the processor built (before it is moved to the device)."""
    ids = _array(inputs["input_ids"])
    mask = _array(inputs["attention_mask"]) if "attention_mask" in inputs else np.ones_like(ids)
    media_ids = _media_token_ids(processor)
    parts = {name: _split_rows(inputs, name, grid, count) for name, grid in (
        ("pixel_values_videos", "video_grid_thw"), ("pixel_values", "image_grid_thw"))}
    parts["input_features"] = _audio_rows(inputs, count)
    out = []
    for i in range(count):
        tokens = ids[i][mask[i].astype(bool)].astype(np.int64)
        digest = hashlib.sha256(b"ids\0" + tokens.tobytes())
        for name, rows in parts.items():
            if rows is not None:
                row = np.ascontiguousarray(rows[i], dtype=np.float32)
                digest.update(f"\0{name}\0{row.shape}\0".encode() + row.tobytes())
        counts = {m: int((tokens == t).sum()) for m, t in media_ids.items()}
        counts = {"text": int(tokens.size) - sum(counts.values()), **counts}
        out.append((digest.hexdigest(), counts))
    return out
