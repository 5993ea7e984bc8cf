"""Tiny random models of each family, built offline, for tests and for trying the app.

Each is a real transformers model (the same classes the full checkpoints load into) with a few
thousand parameters per block, plus an offline processor whose tokenizer is a byte-level BPE
trained here on MMLA's own prompt text (so label answers take a realistic handful of tokens).
Everything is deterministic given the seed, saved as safetensors (< 2 MB a model), and marked
as random (`mmla_tiny.json` + `mmla_random_weights` in config.json): what it predicts is noise
and the app says so.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers, trainers

from mmla_core.checks import MMA_CHECKS
from mmla_core.models.loader import quiet_progress
from mmla_core.models.registry import FAMILIES, RANDOM_FLAG, TINY_MARKER
from mmla_core.prompts import answer, render
from mmla_core.tasks import MMLA_TASKS

__all__ = ["TINY_FAMILIES", "build_tiny", "tiny_tokenizer"]

TINY_FAMILIES = ("qwen2_5_omni", "qwen2_vl", "qwen2_5_vl", "text_lm")
VOCAB_SIZE = 640
_QWEN_PAT = (r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|"""
             r""" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+""")
_BASE_SPECIALS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
_SPECIALS = {
    "qwen2_5_omni": {"image_token": "<|IMAGE|>", "audio_token": "<|AUDIO|>",
                     "video_token": "<|VIDEO|>", "vision_bos_token": "<|vision_bos|>",
                     "vision_eos_token": "<|vision_eos|>", "audio_bos_token": "<|audio_bos|>",
                     "audio_eos_token": "<|audio_eos|>"},
    "qwen2_vl": {"image_token": "<|image_pad|>", "video_token": "<|video_pad|>",
                 "vision_start_token": "<|vision_start|>", "vision_end_token": "<|vision_end|>"},
    "text_lm": {},
}
_SPECIALS["qwen2_5_vl"] = _SPECIALS["qwen2_vl"]

_SYSTEM = ("{% for message in messages %}{% if loop.first and message['role'] != 'system' %}"
           "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
           "<|im_start|>{{ message['role'] }}\n")
_MEDIA = {"qwen2_5_omni": ("<|vision_bos|><|VIDEO|><|vision_eos|>",
                           "<|audio_bos|><|AUDIO|><|audio_eos|>",
                           "<|vision_bos|><|IMAGE|><|vision_eos|>"),
          "qwen2_vl": ("<|vision_start|><|video_pad|><|vision_end|>", "",
                       "<|vision_start|><|image_pad|><|vision_end|>")}
_MEDIA["qwen2_5_vl"] = _MEDIA["qwen2_vl"]


def _chat_template(family: str) -> str:
    """ChatML as the Qwen checkpoints ship it (default system prompt, media placeholders)."""
    end = ("<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n"
           "{% endif %}")
    if family == "text_lm":
        return _SYSTEM + "{{ message['content'] }}" + end
    video, audio, image = _MEDIA[family]
    parts = ("{% if message['content'] is string %}{{ message['content'] }}{% else %}"
             "{% for content in message['content'] %}"
             f"{{% if content['type'] == 'video' %}}{video}"
             f"{{% elif content['type'] == 'audio' %}}{audio}"
             f"{{% elif content['type'] == 'image' %}}{image}"
             "{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}{% endif %}")
    return _SYSTEM + parts + end


def _corpus() -> list[str]:
    """MMLA prompts and answers for every task, the MMA-Bench prompts and the check questions."""
    lines = ["You are a helpful assistant.", "system user assistant", "Yes No yes no"]
    sample = "I can't believe you did that, thank you so much!"
    for task in MMLA_TASKS:
        for kind in ("zero_shot", "sft", "text_sft"):
            lines.append(render(task, sample, kind=kind))
        lines += [answer(task, label, kind=kind) for label in task.labels
                  for kind in ("sft", "text_sft")]
    lines += [c.model_prompt for c in MMA_CHECKS]
    lines += [f"Which class best describes the {m} content of this video? Options: [a, b]. "
              "Answer using a single class name." for m in ("visual", "audio")]
    return lines * 4


@lru_cache(maxsize=1)
def _bpe_vocab_merges() -> tuple[dict[str, int], list[tuple[str, str]]]:
    tok = Tokenizer(models.BPE(unk_token=None, byte_fallback=False))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(_QWEN_PAT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    trainer = trainers.BpeTrainer(vocab_size=VOCAB_SIZE, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(_corpus(), trainer)
    model = json.loads(tok.to_str())["model"]
    pairs = (m.split(" ", 1) if isinstance(m, str) else m for m in model["merges"])
    return dict(model["vocab"]), [(first, second) for first, second in pairs]


def tiny_tokenizer(family: str):
    """A Qwen2 tokenizer (Qwen's pre-tokenizer regex, byte-level BPE) with the family's specials."""
    from transformers import Qwen2Tokenizer

    vocab, merges = _bpe_vocab_merges()
    vocab = dict(vocab)  # the cached one stays clean
    specials = _SPECIALS[family]
    for token in (*_BASE_SPECIALS, *specials.values()):
        vocab.setdefault(token, len(vocab))
    # merges: its BPE takes (a, b) pairs, and unk_token=None means none; its annotations
    # (list[str], str) say otherwise
    tok = Qwen2Tokenizer(vocab=vocab, merges=merges,  # type: ignore[arg-type]
                         eos_token="<|im_end|>", pad_token="<|endoftext|>",
                         unk_token=None,  # type: ignore[arg-type]
                         extra_special_tokens=dict(specials) or None,
                         model_max_length=32768)
    tok.add_special_tokens({"additional_special_tokens": list(_BASE_SPECIALS[1:])})
    tok.chat_template = _chat_template(family)
    return tok


def _text_config(tok, hidden: int, mrope: list[int] | None) -> dict:
    config = {"vocab_size": len(tok), "hidden_size": hidden, "intermediate_size": hidden * 2,
              "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
              "hidden_act": "silu", "max_position_embeddings": 32768,
              "tie_word_embeddings": False, "pad_token_id": tok.pad_token_id,
              "eos_token_id": tok.convert_tokens_to_ids("<|im_end|>"), "bos_token_id": None,
              "use_sliding_window": False}
    rope = {"rope_type": "default", "rope_theta": 1e6}
    if mrope:
        rope["mrope_section"] = mrope
    config["rope_parameters"] = rope
    return config


def _omni_model(tok):
    from transformers import Qwen2_5OmniThinkerConfig, Qwen2_5OmniThinkerForConditionalGeneration

    hidden = 64
    # vision_start/end_token_id are no fields of this strict config but it keeps extra
    # keywords as attributes, and the thinker's get_rope_index reads them from it
    config = Qwen2_5OmniThinkerConfig(  # type: ignore[call-arg]
        audio_config={"d_model": 32, "encoder_layers": 2, "encoder_attention_heads": 4,
                      "encoder_ffn_dim": 64, "num_mel_bins": 128, "max_source_positions": 1500,
                      "n_window": 100, "output_dim": hidden},
        vision_config={"depth": 2, "hidden_size": 32, "intermediate_size": 64, "num_heads": 4,
                       "patch_size": 14, "spatial_merge_size": 2, "temporal_patch_size": 2,
                       "window_size": 112, "out_hidden_size": hidden, "fullatt_block_indexes": [1]},
        text_config=_text_config(tok, hidden, [2, 3, 3]),
        audio_token_index=tok.audio_token_id, image_token_index=tok.image_token_id,
        video_token_index=tok.video_token_id, audio_start_token_id=tok.audio_bos_token_id,
        audio_end_token_id=tok.audio_eos_token_id, vision_start_token_id=tok.vision_bos_token_id,
        vision_end_token_id=tok.vision_eos_token_id,
        user_token_id=tok.encode("user", add_special_tokens=False)[0], position_id_per_seconds=25,
        seconds_per_chunk=2)
    return Qwen2_5OmniThinkerForConditionalGeneration(config)


def _vl_model(tok, family: str):
    import transformers

    hidden = 64
    text = _text_config(tok, hidden, [2, 3, 3])
    ids = {"image_token_id": tok.image_token_id, "video_token_id": tok.video_token_id,
           "vision_start_token_id": tok.vision_start_token_id,
           "vision_end_token_id": tok.vision_end_token_id}
    if family == "qwen2_vl":
        # hidden_size: Qwen2-VL's merger projects to the text width
        vision: dict[str, object] = {"depth": 2, "embed_dim": 32, "hidden_size": hidden,
                                     "num_heads": 4, "mlp_ratio": 2, "patch_size": 14,
                                     "spatial_merge_size": 2, "temporal_patch_size": 2}
        return transformers.Qwen2VLForConditionalGeneration(
            transformers.Qwen2VLConfig(text_config=text, vision_config=vision, **ids))
    vision = {"depth": 2, "hidden_size": 32, "intermediate_size": 64, "num_heads": 4,
              "patch_size": 14, "spatial_merge_size": 2, "temporal_patch_size": 2,
              "window_size": 112, "out_hidden_size": hidden, "fullatt_block_indexes": [1]}
    return transformers.Qwen2_5_VLForConditionalGeneration(
        transformers.Qwen2_5_VLConfig(text_config=text, vision_config=vision, **ids))


def _text_model(tok):
    from transformers import Qwen2Config, Qwen2ForCausalLM

    return Qwen2ForCausalLM(Qwen2Config(**_text_config(tok, 64, None)))


def _processor(tok, family: str):
    from transformers import WhisperFeatureExtractor
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import (
        Qwen2VLImageProcessorPil,
    )

    from mmla_core.models import processors

    if family == "text_lm":
        return tok
    image = Qwen2VLImageProcessorPil(min_pixels=56 * 56, max_pixels=28 * 28 * 64)
    video = processors.NumpyQwen2VLVideoProcessor(min_pixels=56 * 56, max_pixels=28 * 28 * 64)
    template = tok.chat_template
    if family == "qwen2_5_omni":
        # the real checkpoint pads to 300 s (chunk_length 300); inputs cap it per clip anyway
        extractor = WhisperFeatureExtractor(feature_size=128, sampling_rate=16000,
                                            hop_length=160, chunk_length=30, n_fft=400)
        return processors.OfflineOmniProcessor(
            image_processor=image, video_processor=video, feature_extractor=extractor,
            tokenizer=tok, chat_template=template)
    cls = (processors.OfflineQwen2VLProcessor if family == "qwen2_vl"
           else processors.OfflineQwen2_5_VLProcessor)
    return cls(image_processor=image, tokenizer=tok, video_processor=video,
               chat_template=template)


def build_tiny(out_dir: str | Path, family: str = "qwen2_5_omni", *, seed: int = 0) -> Path:
    """Build, save and return the folder of a tiny random model of `family`."""
    import torch

    from mmla_core.models.processors import save_processor

    if family not in TINY_FAMILIES:
        raise ValueError(f"unknown family {family!r}; choose from {', '.join(TINY_FAMILIES)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    quiet_progress()
    tok = tiny_tokenizer(family)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = {"qwen2_5_omni": _omni_model, "text_lm": _text_model}.get(
            family, lambda t: _vl_model(t, family))(tok)
    model.config.__dict__[RANDOM_FLAG] = True
    model.generation_config.eos_token_id = tok.convert_tokens_to_ids("<|im_end|>")
    model.generation_config.pad_token_id = tok.pad_token_id
    model.eval().save_pretrained(out, safe_serialization=True)
    save_processor(_processor(tok, family), out)
    marker = {"random_weights": True, "family": family, "seed": seed,
              "title": FAMILIES[family].title,
              "params": sum(p.numel() for p in model.parameters())}
    (out / TINY_MARKER).write_text(json.dumps(marker, indent=2) + "\n")
    return out
