"""How long each LLaMA-Factory sample is in tokens, and the `cutoff_len` that keeps it whole.

LLaMA-Factory cuts every sample at `cutoff_len` (default 2048, `data_args.cutoff_len`) without a
word, and the prompt goes first: a sample longer than that loses the end of its question or its
answer. The export counts each record as the model will see it:

- text: with the chosen model's tokenizer (the chat template applied when it has one), else an
  estimate that errs long: one token per 3 ASCII characters, one per other character (CJK
  text runs about one token a character), plus 32 for the chat wrapper (system prompt, roles);
- video (`video`, `video_audio` modes): the frames the project's training defaults sample
  (`TrainConfig`: 8 frames at 2 fps, 128*28*28 pixels each) at Qwen2-VL / Qwen2.5-Omni rates
  (token_rates.py: two frames per temporal group, 28*28 pixels a token); audio: 25 tokens a
second. The tokenizer itself is loaded by the caller (`models.registered.load_tokenizer`).
"""

from __future__ import annotations

import math

from mmla_core.token_rates import (
    AUDIO_TOKENS_PER_S,
    PIXELS_PER_TOKEN,
    TRAIN_FPS,
    TRAIN_FRAMES,
    TRAIN_MAX_PIXELS,
)

DEFAULT_CUTOFF_LEN = 2048
CHAT_WRAPPER_TOKENS = 32
CUTOFF_STEP = 256
MEDIA_TOKENS = ("<video>", "<audio>", "<image>")


class TokenCounter:
    """Counts one record's tokens; `counted_with` says how (stored in mmla_export.json)."""

    def __init__(self, tokenizer=None, name: str | None = None):
        self.tokenizer = getattr(tokenizer, "tokenizer", tokenizer)  # a processor's tokenizer
        if tokenizer is None:
            self.counted_with = ("estimate (3 ASCII characters or 1 other character a token, "
                                 f"+{CHAT_WRAPPER_TOKENS} chat wrapper)")
        else:
            self.counted_with = f"tokenizer of {name or type(self.tokenizer).__name__}"

    def conversation(self, prompt: str, answer: str) -> int:
        for token in MEDIA_TOKENS:
            prompt = prompt.replace(token, "")
        if self.tokenizer is None:
            return _estimate(prompt) + _estimate(answer) + CHAT_WRAPPER_TOKENS
        if getattr(self.tokenizer, "chat_template", None):
            messages = [{"role": "user", "content": prompt},
                        {"role": "assistant", "content": answer}]
            ids = self.tokenizer.apply_chat_template(messages, tokenize=True)
            return len(ids["input_ids"] if hasattr(ids, "keys") else ids)  # transformers 5: a
            # BatchEncoding
        encode = self.tokenizer.encode
        return (len(encode(prompt, add_special_tokens=False))
                + len(encode(answer, add_special_tokens=False)) + CHAT_WRAPPER_TOKENS)


def _estimate(text: str) -> int:
    ascii_chars = sum(1 for ch in text if ord(ch) < 128)
    return math.ceil(ascii_chars / 3) + (len(text) - ascii_chars)


def media_tokens(mode: str, duration_s: float | None) -> int:
    """The video (+ audio) tokens one clip adds at the project's training defaults."""
    if mode == "text":
        return 0
    frames = TRAIN_FRAMES
    if duration_s and duration_s > 0:
        frames = max(2, min(TRAIN_FRAMES, math.ceil(duration_s * TRAIN_FPS)))
    video = math.ceil(frames / 2) * (TRAIN_MAX_PIXELS // PIXELS_PER_TOKEN)
    audio = math.ceil((duration_s or 0) * AUDIO_TOKENS_PER_S) if mode == "video_audio" else 0
    return video + audio


def cutoff_len_for(longest: int) -> int:
    """LLaMA-Factory's default when it fits, else the next multiple of 256 above the longest."""
    if longest <= DEFAULT_CUTOFF_LEN:
        return DEFAULT_CUTOFF_LEN
    return math.ceil(longest / CUTOFF_STEP) * CUTOFF_STEP
