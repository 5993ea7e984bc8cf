"""Free generation, the paper's protocol: greedy decoding, then MMLA's parser.

Greedy (`do_sample=False`) with a `max_new_tokens` cap; generation stops at `<|im_end|>` or the
tokenizer's eos. MMLA itself left sampling to each checkpoint's generation_config (Qwen2-VL
samples by default); greedy is the reproducible choice and is recorded with the seed anyway.
"""

from __future__ import annotations

from dataclasses import dataclass

from mmla_core.answers import clean
from mmla_core.models.no_grad import no_grad
from mmla_core.models.prompting import end_token_id

__all__ = ["Generated", "generate_answers", "parse_answer"]


@dataclass
class Generated:
    texts: list[str]          # decoded new tokens, special tokens dropped
    token_counts: list[int]   # new tokens per row, up to and including the end token
    raw: object               # the GenerateDecoderOnlyOutput (cache, logits) for reuse


def _stop_ids(processor) -> list[int]:
    tok = getattr(processor, "tokenizer", processor)
    ids = {end_token_id(processor)}
    if tok.eos_token_id is not None:
        ids.add(tok.eos_token_id)
    return sorted(ids)


@no_grad
def generate_answers(model, processor, inputs: dict, *, max_new_tokens: int,
                     keep_state: bool = False) -> Generated:
    """Greedy answers for a left-padded batch; `keep_state` keeps the cache and step logits."""
    from transformers import GenerationConfig

    tok = getattr(processor, "tokenizer", processor)
    stop = _stop_ids(processor)
    config = GenerationConfig(max_new_tokens=max_new_tokens, do_sample=False, num_beams=1,
                              eos_token_id=stop, pad_token_id=tok.pad_token_id,
                              return_dict_in_generate=True, output_logits=keep_state)
    out = model.generate(**inputs, generation_config=config)
    new = out.sequences[:, inputs["input_ids"].shape[1]:]
    texts = tok.batch_decode(new, skip_special_tokens=True)
    counts = [_count(row.tolist(), stop, tok.pad_token_id) for row in new]
    return Generated([t.strip() for t in texts], counts, out if keep_state else None)


def _count(row: list[int], stop: list[int], pad: int | None) -> int:
    for i, token in enumerate(row):
        if token in stop:
            return i + 1
    return len([t for t in row if t != pad]) if pad not in stop else len(row)


def parse_answer(text: str, labels, task_word: str | None = None) -> str:
    """MMLA's clean(): the one label named, else "unknown" / "multi"."""
    return clean(text, labels, task_word)
