"""What video and audio cost in tokens, and the frames the project's training samples by default.

Qwen2-VL / Qwen2.5-Omni rates: one visual token per 28*28 pixels of a frame, two frames per
temporal group; Qwen2.5-Omni's audio encoder gives 25 tokens a second. The training defaults
(`TrainConfig`: at most 8 frames sampled at 2 fps, 128*28*28 pixels each) live here too, so the
LLaMA-Factory export (datasets.lf_tokens) and the fit estimate (train.fit) count with the same
numbers without one floor importing the other.
"""

from __future__ import annotations

AUDIO_TOKENS_PER_S = 25
PIXELS_PER_TOKEN = 28 * 28
TRAIN_FRAMES = 8
TRAIN_FPS = 2.0
TRAIN_MAX_PIXELS = 128 * 28 * 28
