"""A full-size Qwen2.5-Omni thinker (7B or 3B) with random weights, built offline, for GPU timing.

Timing does not depend on the weight values, so a model built from the published config times
like the real checkpoint and needs no download. The configs below are the `thinker_config` of
Qwen/Qwen2.5-Omni-7B and -3B (config.json on the Hub: layer counts, widths, heads, vocabulary,
mRoPE sections, special token ids). The tokenizer is a byte-level BPE padded to the real
vocabulary size with the Omni special tokens at their real ids; the processor has the real
preprocessing settings (Whisper 128 mel bins, 14 px patches, merge 2). Weights are initialised
directly on the GPU in bf16 (no CPU copy), then saved as safetensors with the app's random
marker, so the app labels everything it predicts as random.

    python benchmarks/make_random_model.py /data/omni-7b-random --size 7b      # ~18 GB on disk
    python benchmarks/make_random_model.py /data/omni-3b-random --size 3b      # ~10 GB
    python benchmarks/bench_scoring.py --model /data/omni-7b-random --device cuda \\
        --batch-sizes 1,2,4,8,16,32

Needs a CUDA GPU with >= 24 GB for 7B (or `--device cpu` and ~40 GB of RAM, slowly).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

_AUDIO = {"d_model": 1280, "encoder_attention_heads": 20, "encoder_ffn_dim": 5120,
          "encoder_layers": 32, "num_mel_bins": 128, "max_source_positions": 1500,
          "n_window": 100, "activation_function": "gelu", "scale_embedding": False}
_VISION = {"depth": 32, "hidden_size": 1280, "intermediate_size": 3420, "num_heads": 16,
           "hidden_act": "silu", "in_channels": 3, "patch_size": 14, "spatial_merge_size": 2,
           "temporal_patch_size": 2, "window_size": 112, "fullatt_block_indexes": [7, 15, 23, 31]}
_TEXT = {"hidden_act": "silu", "max_position_embeddings": 32768, "rms_norm_eps": 1e-6,
         "rope_parameters": {"rope_type": "default", "rope_theta": 1000000.0,
                             "mrope_section": [16, 24, 24]},
         "use_sliding_window": False, "sliding_window": 32768, "tie_word_embeddings": False}
SIZES = {
    "7b": {"text": {"vocab_size": 152064, "hidden_size": 3584, "intermediate_size": 18944,
                    "num_hidden_layers": 28, "num_attention_heads": 28,
                    "num_key_value_heads": 4, "max_window_layers": 28}, "out": 3584},
    "3b": {"text": {"vocab_size": 151936, "hidden_size": 2048, "intermediate_size": 11008,
                    "num_hidden_layers": 36, "num_attention_heads": 16,
                    "num_key_value_heads": 2, "max_window_layers": 36}, "out": 2048},
}
SPECIAL_IDS = {  # the real Qwen2.5-Omni ids
    "<|endoftext|>": 151643, "<|im_start|>": 151644, "<|im_end|>": 151645, "<|AUDIO|>": 151646,
    "<|audio_bos|>": 151647, "<|audio_eos|>": 151648, "<|vision_bos|>": 151652,
    "<|vision_eos|>": 151653, "<|IMAGE|>": 151655, "<|VIDEO|>": 151656,
}
THINKER_IDS = {"audio_token_index": 151646, "image_token_index": 151655,
               "video_token_index": 151656, "audio_start_token_id": 151647,
               "audio_end_token_id": 151648, "vision_start_token_id": 151652,
               "vision_end_token_id": 151653, "user_token_id": 872,
               "position_id_per_seconds": 25, "seconds_per_chunk": 2}


def thinker_config(size: str):
    from transformers import Qwen2_5OmniThinkerConfig

    spec = SIZES[size]
    text = {**_TEXT, **spec["text"], "pad_token_id": 151643, "eos_token_id": 151645}
    return Qwen2_5OmniThinkerConfig(
        audio_config={**_AUDIO, "output_dim": spec["out"]},
        vision_config={**_VISION, "out_hidden_size": spec["out"]},
        text_config=text, **THINKER_IDS)


def full_tokenizer():
    """Byte-level BPE (trained on MMLA's prompts) padded to the real ids of the specials."""
    from transformers import Qwen2Tokenizer

    from mmla_core.models.tiny import _bpe_vocab_merges, _chat_template

    vocab, merges = _bpe_vocab_merges()
    vocab = dict(vocab)  # the function's result is cached: do not grow it
    first_special = min(SPECIAL_IDS.values())
    for i in range(len(vocab), first_special):
        vocab[f"<unused_{i}>"] = i  # unreachable fillers: no merge produces them
    for token, index in sorted(SPECIAL_IDS.items(), key=lambda kv: kv[1]):
        for gap in range(len(vocab), index):
            vocab[f"<|reserved_{gap}|>"] = gap
        vocab[token] = index
    specials = {"image_token": "<|IMAGE|>", "audio_token": "<|AUDIO|>",
                "video_token": "<|VIDEO|>", "vision_bos_token": "<|vision_bos|>",
                "vision_eos_token": "<|vision_eos|>", "audio_bos_token": "<|audio_bos|>",
                "audio_eos_token": "<|audio_eos|>"}
    tok = Qwen2Tokenizer(vocab=vocab, merges=merges, eos_token="<|im_end|>",
                         pad_token="<|endoftext|>", unk_token=None,
                         extra_special_tokens=specials, model_max_length=32768)
    tok.add_special_tokens({"additional_special_tokens": ["<|im_start|>", "<|im_end|>"]})
    tok.chat_template = _chat_template("qwen2_5_omni")
    return tok


def full_processor(tok):
    from transformers import WhisperFeatureExtractor
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import (
        Qwen2VLImageProcessorPil,
    )

    from mmla_core.models.processors import NumpyQwen2VLVideoProcessor, OfflineOmniProcessor

    extractor = WhisperFeatureExtractor(feature_size=128, sampling_rate=16000, hop_length=160,
                                        chunk_length=300, n_fft=400)
    image = Qwen2VLImageProcessorPil(min_pixels=3136, max_pixels=12845056)
    video = NumpyQwen2VLVideoProcessor(min_pixels=128 * 28 * 28, max_pixels=768 * 28 * 28)
    return OfflineOmniProcessor(image_processor=image, video_processor=video,
                                feature_extractor=extractor, tokenizer=tok,
                                chat_template=tok.chat_template)


def build(out: Path, size: str, device: str, seed: int) -> None:
    import torch
    from transformers import Qwen2_5OmniThinkerForConditionalGeneration

    from mmla_core.models.loader import quiet_progress
    from mmla_core.models.processors import save_processor
    from mmla_core.models.registry import RANDOM_FLAG, TINY_MARKER

    quiet_progress()
    torch.manual_seed(seed)
    start = time.perf_counter()
    config = thinker_config(size)
    with torch.device(device):  # parameters are created and initialised on the GPU directly
        model = Qwen2_5OmniThinkerForConditionalGeneration._from_config(config,
                                                                         dtype=torch.bfloat16)
    params = sum(p.numel() for p in model.parameters())
    print(f"built {size} thinker: {params / 1e9:.2f} B params in "
          f"{time.perf_counter() - start:.1f} s on {device}")
    model.config.__dict__[RANDOM_FLAG] = True
    model.generation_config.eos_token_id = SPECIAL_IDS["<|im_end|>"]
    model.generation_config.pad_token_id = SPECIAL_IDS["<|endoftext|>"]
    model.save_pretrained(out, safe_serialization=True, max_shard_size="5GB")
    save_processor(full_processor(full_tokenizer()), out)
    marker = {"random_weights": True, "family": "qwen2_5_omni", "size": size, "seed": seed,
              "params": params, "note": "published Qwen2.5-Omni thinker config, random weights"}
    (out / TINY_MARKER).write_text(json.dumps(marker, indent=2) + "\n")
    print(f"saved to {out} in {time.perf_counter() - start:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--size", choices=sorted(SIZES), default="7b")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    build(args.out, args.size, args.device, args.seed)


if __name__ == "__main__":
    main()
