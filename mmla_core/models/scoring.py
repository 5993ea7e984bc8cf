"""Label scoring: the log-likelihood of every candidate answer, sharing one prefix pass.

Each candidate is its answer text (`"<task word>: <label>"` for MMLA prompts) tokenised on its
own plus the end token (`<|im_end|>`), so "sad" cannot win as a prefix of "sadness".
The clip prefix (encoders + prompt) runs ONCE with `use_cache=True`; the token prefix that all
candidates share (e.g. "intent:") is appended to it, so it is scored once too. Then every
candidate's remaining tokens run in one batch over a copy of the prefix KV cache expanded to
one row per candidate, with explicit positions: text positions continue after the prefix
(+ the mRoPE offset `rope_deltas` that Qwen's multimodal position ids leave behind).

DynamicCache in transformers 5.23: `update()` concatenates into new tensors and
`batch_repeat_interleave()` replaces a layer's tensors in place of the old ones, so the cache
object returned by the prefix pass is never handed to a candidate pass: each chunk of
candidates gets a fresh DynamicCache built from the prefix tensors repeated per row, and the
prefix cache stays reusable (more candidates, or generation after scoring).

Scores: per label the summed log-prob of its answer tokens (the model's probability of that
exact answer) and the length-normalised one (sum / number of tokens). The probabilities are a
softmax of the SUMMED log-probs over the label set, i.e. P(answer | one of the answers is
given): the choice that keeps a proper conditional distribution; the mean log-probs are kept
next to it for comparison (they favour long labels less harshly, but are not a likelihood).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mmla_core.models.kv_names import cache_keyword, cache_of
from mmla_core.models.no_grad import no_grad
from mmla_core.models.prompting import end_token_id

if TYPE_CHECKING:
    import torch
    from transformers import Cache

__all__ = [
    "LabelScores",
    "Prefix",
    "answer_token_ids",
    "crop_prefix",
    "extend_prefix",
    "naive_scores",
    "prefix_from_generation",
    "run_prefix",
    "score_candidates",
    "score_from_prefix",
    "score_packed",
]

MAX_ROWS = 64  # candidate rows per continuation pass (memory: rows x prefix KV cache)


@dataclass
class LabelScores:
    """One clip's scores, in label order."""

    labels: tuple[str, ...]
    sum_logprobs: list[float]
    token_counts: list[int]

    @property
    def mean_logprobs(self) -> list[float]:
        return [s / max(1, n) for s, n in zip(self.sum_logprobs, self.token_counts, strict=True)]

    @property
    def probabilities(self) -> list[float]:
        top = max(self.sum_logprobs)
        weights = [math.exp(s - top) for s in self.sum_logprobs]
        total = sum(weights)
        return [w / total for w in weights]

    @property
    def best(self) -> str:
        return self.labels[max(range(len(self.labels)), key=self.sum_logprobs.__getitem__)]


@dataclass
class Prefix:
    """The state after the shared prefix: cache, next-token log-probs, masks and offsets."""

    cache: Cache                      # DynamicCache over (batch, prefix length)
    next_logprobs: torch.Tensor       # (B, V) log-probs of the token after the prefix
    mask: torch.Tensor                # (B, P) attention mask of the prefix (left padded)
    rope_delta: torch.Tensor | None   # (B, 1) mRoPE offset, None for plain 1-D positions
    shared_logprob: torch.Tensor      # (B,) log-prob of shared answer tokens already in it
    shared_count: int = 0
    attentions: tuple | None = None   # per layer (B, heads, new tokens, keys), when asked for


def answer_token_ids(processor, answers) -> list[list[int]]:
    """Token ids of each answer text followed by the end token."""
    tok = getattr(processor, "tokenizer", processor)
    end = end_token_id(processor)
    return [tok(a, add_special_tokens=False)["input_ids"] + [end] for a in answers]


def _base(model):
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def _rope_delta(model, family: str, batch: int) -> torch.Tensor | None:
    """The mRoPE offset the last prefix pass left on the model (zeros for a text-only prompt)."""
    import torch

    if family == "text_lm":
        return None
    delta = _base(model).model.rope_deltas
    return torch.zeros(batch, 1, dtype=torch.long) if delta is None else delta


def _forget_rope_delta(model, family: str) -> None:
    """A text-only pass does not recompute it: drop the previous batch's value first."""
    if family != "text_lm":
        _base(model).model.rope_deltas = None


def common_prefix(cands: list[list[int]]) -> list[int]:
    """Tokens every candidate starts with, leaving at least one token in each."""
    shortest = min(len(c) for c in cands)
    common = []
    for i in range(shortest - 1):
        if len({c[i] for c in cands}) != 1:
            break
        common.append(cands[0][i])
    return common


def _append_tokens(inputs: dict, ids: list[int]) -> dict:
    """The inputs with text tokens appended to every row (masks and type ids extended)."""
    import torch

    if not ids:
        return dict(inputs)
    out = dict(inputs)
    rows = inputs["input_ids"].shape[0]
    extra = torch.tensor(ids, dtype=inputs["input_ids"].dtype, device=inputs["input_ids"].device)
    out["input_ids"] = torch.cat([inputs["input_ids"], extra.expand(rows, -1)], 1)
    for key, value in (("attention_mask", 1), ("mm_token_type_ids", 0), ("token_type_ids", 0)):
        if key in inputs:
            pad = torch.full((rows, len(ids)), value, dtype=inputs[key].dtype,
                             device=inputs[key].device)
            out[key] = torch.cat([inputs[key], pad], 1)
    return out


def _text_positions(family: str, mask: torch.Tensor) -> dict:
    """1-D models count positions over real tokens only (left padding), as mRoPE ones do."""
    if family != "text_lm":
        return {}
    return {"position_ids": (mask.long().cumsum(-1) - 1).clamp(min=0)}


def _forward_tail(model, keep: int, *, drop_last: bool = False, **inputs):
    """The decoder's output and the logits of only the last `keep` positions.

    The LM head over a whole multimodal prefix (1.7k positions x 152k vocabulary for a 5 s clip)
    costs ~5% of the forward and GBs of memory in a batch, and scoring reads a handful of them.
    `drop_last` leaves out the very last position (a candidate's end token predicts nothing).
    """
    base = _base(model)
    if "past_key_values" in inputs:
        inputs[cache_keyword(base.model)] = inputs.pop("past_key_values")
    out = base.model(**inputs)
    hidden = out.last_hidden_state
    if drop_last:
        hidden = hidden[:, :-1]
    hidden = hidden[:, hidden.shape[1] - keep:] if keep > 0 else hidden[:, :0]
    return out, base.lm_head(hidden)


@no_grad
def run_prefix(model, family: str, inputs: dict, shared: list[int] | None = None, *,
               scored: int | None = None) -> Prefix:
    """One forward over the clip prefix (+ the shared answer tokens), keeping the cache.

    `scored`: how many of the appended tokens (the last ones) are answer tokens whose
    log-probs count (default: all of them).
    """
    import torch

    shared = shared or []
    full = _append_tokens(inputs, shared)
    k = len(shared) if scored is None else scored
    _forget_rope_delta(model, family)
    out, logits = _forward_tail(model, k + 1, **full,
                                **_text_positions(family, full["attention_mask"]), use_cache=True)
    logprobs = logits.float().log_softmax(-1)
    if k:
        ids = full["input_ids"][:, -k:]
        picked = logprobs[:, :-1].gather(-1, ids[..., None]).squeeze(-1).sum(-1)
    else:
        picked = torch.zeros(logprobs.shape[0], device=logprobs.device)
    return Prefix(cache_of(out), logprobs[:, -1], full["attention_mask"],
                  _rope_delta(model, family, logprobs.shape[0]), picked, k)


def prefix_from_generation(model, family: str, inputs: dict, generated) -> Prefix:
    """The prefix state left by `generate(..., return_dict_in_generate=True, output_logits=True)`.

    Its cache also holds the generated tokens but the last; they are cropped off.
    """
    import torch

    cache = cache_of(generated)
    prompt_len = inputs["input_ids"].shape[1]
    extra = cache.get_seq_length() - prompt_len
    if extra > 0:
        cache.crop(-extra)
    first = generated.logits[0].float().log_softmax(-1)
    zeros = torch.zeros(first.shape[0], device=first.device)
    delta = _rope_delta(model, family, first.shape[0])
    return Prefix(cache, first, inputs["attention_mask"], delta, zeros, 0)


def _expanded_cache(cache, repeats: int):
    """A new cache with each batch row repeated; the prefix cache is left untouched."""
    from transformers import DynamicCache

    layers = getattr(cache, "layers", [])
    if not layers or any(getattr(layer, "is_sliding", False) for layer in layers):
        fresh = copy.deepcopy(cache)
        fresh.batch_repeat_interleave(repeats)
        return fresh
    return DynamicCache([(layer.keys.repeat_interleave(repeats, 0),
                          layer.values.repeat_interleave(repeats, 0)) for layer in layers])


def _shared_cache(cache):
    """A new cache over the same tensors: a pass that extends it leaves `cache` as it was
    (DynamicCache.update concatenates into new tensors), so sibling prompts can reuse it."""
    from transformers import DynamicCache

    layers = getattr(cache, "layers", [])
    if not layers or any(getattr(layer, "is_sliding", False) for layer in layers):
        return copy.deepcopy(cache)
    return DynamicCache([(layer.keys, layer.values) for layer in layers])


def crop_prefix(prefix: Prefix, length: int) -> Prefix:
    """The first `length` positions of a prefix, as a new prefix over views of its cache
    (`prefix` stays as it was): to extend from there, e.g. the answer position alone.

    The next-token log-probs after the cut are not known: they are NaN.
    """
    import torch
    from transformers import DynamicCache

    if not 0 < length <= prefix.mask.shape[1]:
        raise ValueError(f"cannot crop a prefix of {prefix.mask.shape[1]} positions to {length}")
    layers = getattr(prefix.cache, "layers", [])
    if not layers or any(getattr(layer, "is_sliding", False) for layer in layers):
        cache = copy.deepcopy(prefix.cache)
        cache.crop(length)
    else:
        cache = DynamicCache([(layer.keys[:, :, :length], layer.values[:, :, :length])
                              for layer in layers])
    rows = prefix.mask.shape[0]
    return Prefix(cache, torch.full_like(prefix.next_logprobs, float("nan")),
                  prefix.mask[:, :length], prefix.rope_delta,
                  torch.zeros(rows, device=prefix.mask.device))


def _next_positions(prefix: Prefix, family: str, width: int, offsets=None) -> torch.Tensor:
    """Positions of `width` text tokens after the prefix (`offsets`: each token's own step)."""
    import torch

    device = prefix.mask.device
    start = prefix.mask.long().sum(-1, keepdim=True)
    if prefix.rope_delta is not None:
        start = start + prefix.rope_delta.to(device)
    steps = torch.arange(width, device=device) if offsets is None else offsets.to(device)
    pos = (start + steps).long()
    return pos[None].expand(3, -1, -1) if family != "text_lm" else pos


@no_grad
def extend_prefix(model, family: str, prefix: Prefix, ids: list[int], scored: int = 0, *,
                  output_attentions: bool = False) -> Prefix:
    """The prefix followed by text tokens `ids`, in one cached pass; `prefix` stays reusable.

    The last `scored` of `ids` are shared answer tokens: their log-probs are added to the
    new prefix's `shared_logprob` (as `run_prefix` does for the tokens every label shares).
    `output_attentions`: keep the new tokens' attention rows (needs eager attention).
    """
    import torch

    if not ids:
        return prefix
    rows, width = prefix.mask.shape[0], len(ids)
    device = prefix.mask.device
    new = torch.tensor(ids, dtype=torch.long, device=device).expand(rows, -1)
    mask = torch.cat([prefix.mask, torch.ones_like(new, dtype=prefix.mask.dtype)], 1)
    out, logits = _forward_tail(model, min(width, scored + 1), input_ids=new,
                                attention_mask=mask, use_cache=True,
                                position_ids=_next_positions(prefix, family, width),
                                past_key_values=_shared_cache(prefix.cache),
                                **({"output_attentions": True} if output_attentions else {}))
    dists = torch.cat([prefix.next_logprobs[:, None], logits.float().log_softmax(-1)], 1)
    picked = prefix.shared_logprob
    if scored:
        chosen = dists[:, -(scored + 1):-1].gather(-1, new[:, -scored:, None]).squeeze(-1)
        picked = picked + chosen.sum(-1)
    return Prefix(cache_of(out), dists[:, -1], mask, prefix.rope_delta, picked,
                  prefix.shared_count + scored, out.attentions if output_attentions else None)


@no_grad
def score_packed(model, family: str, prefix: Prefix, rests: list[list[int]]) -> torch.Tensor:
    """(N,) summed log-probs of the candidates after a one-row prefix, in ONE pass of one row.

    The candidates are packed end to end with a 4-D mask (each sees the prefix and its own
    earlier tokens), so a long prefix is neither copied per candidate nor attended N times
    over; equal to `score_from_prefix` up to float rounding.
    """
    import torch

    if prefix.mask.shape[0] != 1:
        raise ValueError("score_packed takes a one-row prefix")
    device = prefix.mask.device
    ids = torch.tensor([t for r in rests for t in r], dtype=torch.long, device=device)[None]
    owner = torch.tensor([i for i, r in enumerate(rests) for _ in r], device=device)
    steps = torch.tensor([j for r in rests for j in range(len(r))], device=device)
    width = ids.shape[1]
    own = (owner[:, None] == owner[None, :]) & (steps[:, None] >= steps[None, :])
    seen = torch.cat([prefix.mask.bool().expand(width, -1), own], 1)
    dtype = next(model.parameters()).dtype
    mask = torch.zeros(seen.shape, dtype=dtype, device=device)
    mask.masked_fill_(~seen, torch.finfo(dtype).min)
    _, logits = _forward_tail(model, width, input_ids=ids, attention_mask=mask[None, None],
                              position_ids=_next_positions(prefix, family, width, steps[None]),
                              past_key_values=_shared_cache(prefix.cache), use_cache=True)
    dists = torch.cat([prefix.next_logprobs[:1], logits[0].float().log_softmax(-1)])
    before = torch.where(steps == 0, 0, torch.arange(width, device=device))  # predicting dist
    token_lp = dists[before, ids[0]]
    total = torch.zeros(len(rests), device=device).index_add_(0, owner, token_lp)
    return total + prefix.shared_logprob[0]


def _candidate_batch(rests: list[list[int]], rows: int, pad_id: int, device):
    import torch

    width = max(len(r) for r in rests)
    ids = torch.full((len(rests), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rests), width), dtype=torch.long)
    for i, rest in enumerate(rests):
        ids[i, : len(rest)] = torch.tensor(rest)
        mask[i, : len(rest)] = 1
    return ids.repeat(rows, 1).to(device), mask.repeat(rows, 1).to(device)


def _continue_chunk(model, family: str, prefix: Prefix, rests: list[list[int]]) -> torch.Tensor:
    """(B, n) summed log-probs of the candidates `rests` after the prefix."""
    import torch

    batch, n = prefix.mask.shape[0], len(rests)
    device = prefix.mask.device
    ids, cand_mask = _candidate_batch(rests, batch, 0, device)  # row = clip * n + candidate
    width = ids.shape[1]
    start = prefix.mask.long().sum(-1, keepdim=True)  # next position of each clip
    if prefix.rope_delta is not None:
        start = start + prefix.rope_delta.to(device)
    pos = (start.repeat_interleave(n, 0) + torch.arange(width, device=device)).long()
    if family != "text_lm":
        pos = pos[None].expand(3, -1, -1)
    attn = torch.cat([prefix.mask.repeat_interleave(n, 0).long(), cand_mask], 1)
    _, logits = _forward_tail(model, width - 1, input_ids=ids, attention_mask=attn,
                              position_ids=pos, use_cache=True,
                              past_key_values=_expanded_cache(prefix.cache, n), drop_last=True)
    first = prefix.next_logprobs.repeat_interleave(n, 0)[:, None]
    logprobs = torch.cat([first, logits.float().log_softmax(-1)], 1)
    picked = logprobs.gather(-1, ids[..., None]).squeeze(-1) * cand_mask
    return picked.sum(-1).view(batch, n)


@no_grad
def score_from_prefix(model, family: str, prefix: Prefix, rests: list[list[int]],
                      *, max_rows: int = MAX_ROWS) -> torch.Tensor:
    """(B, N) summed log-probs (shared tokens included) of the candidates after the prefix."""
    import torch

    batch = prefix.mask.shape[0]
    step = max(1, max_rows // batch)
    parts = [_continue_chunk(model, family, prefix, rests[i: i + step])
             for i in range(0, len(rests), step)]
    return torch.cat(parts, 1) + prefix.shared_logprob[:, None]


def score_candidates(model, family: str, inputs: dict, labels, cands: list[list[int]],
                     *, max_rows: int = MAX_ROWS) -> list[LabelScores]:
    """Scores of every candidate for every clip of the (left-padded) batch `inputs`."""
    shared = common_prefix(cands)
    prefix = run_prefix(model, family, inputs, shared)
    sums = score_from_prefix(model, family, prefix, [c[len(shared):] for c in cands],
                             max_rows=max_rows)
    counts = [len(c) for c in cands]
    return [LabelScores(tuple(labels), row.tolist(), counts) for row in sums.cpu()]


@no_grad
def naive_scores(model, family: str, inputs: dict, labels, cands: list[list[int]]
                 ) -> list[LabelScores]:
    """Reference: one full forward (encoders included) per candidate. For tests/benchmarks."""
    import torch

    prompt_len = inputs["input_ids"].shape[1]
    columns = []
    for cand in cands:
        full = _append_tokens(inputs, cand)
        out = model(**full, **_text_positions(family, full["attention_mask"]), use_cache=False)
        logits = out.logits[:, prompt_len - 1: prompt_len - 1 + len(cand)].float()
        ids = full["input_ids"][:, prompt_len:]
        columns.append(logits.log_softmax(-1).gather(-1, ids[..., None]).squeeze(-1).sum(-1))
    sums = torch.stack(columns, 1).cpu()
    counts = [len(c) for c in cands]
    return [LabelScores(tuple(labels), row.tolist(), counts) for row in sums]
