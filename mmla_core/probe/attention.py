"""Attention by modality at the answer position (MMA-Bench's white-box analysis, section 2.8).

At the answer position (the last prompt token, whose output is the first answer token) each
decoder layer's attention row is averaged over heads and summed over the key positions of each
modality:

- video: the video placeholder tokens (`video_token_id` / `video_token_index` of the config, else
  the tokenizer's), and image placeholders, if any;
- audio: the audio placeholder tokens (`audio_token_id` / `audio_token_index`);
- text: every other token (chat template, the vision/audio begin/end markers, the prompt).

The three shares are divided by their sum, so they sum to 1 per layer (they already do up to
rounding: the row is a softmax over the unpadded keys of one clip).

Only that row is computed: the prompt minus its last token runs once with the model's own
attention (SDPA / flash) and a KV cache (`scoring.run_prefix`, mRoPE offset kept), then the
model switches to eager for ONE token, the last, extended from that cache with
`output_attentions=True` (`scoring.extend_prefix`): each layer returns heads x 1 x L weights,
never the heads x L x L matrix a full eager forward materialises (~0.5 GB per layer in fp16
for a 5 s clip at 7B scale, and ~20k x 20k per head for long_context). The attention
implementation is restored afterwards, also on error. In a probe the prompt's cached pass
already exists (the leaf of `shared_prefix`'s prompt tree, which scored the labels):
`leaf_profile` crops a view of its cache to the prompt minus its last token and runs only the
one-token step, so the capture adds no prompt pass (`answer_attention` runs its own for other
callers). Both equal the full eager forward's row up to float rounding
(tests/core/probe/test_probe_attention.py).

Cohen's d per layer compares the shares under visual- and audio-focused prompts over a set of
clips: d = (mean_v - mean_a) / pooled s.d., pooled s.d. =
sqrt(((n_v-1) s_v^2 + (n_a-1) s_a^2) / (n_v + n_a - 2)); d > 0: more attention under the visual
prompt (MMA-Bench's sign convention).
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass

from mmla_core.models.inputs import InferenceSettings, build_model_inputs, with_view
from mmla_core.models.prompting import plan_prompt
from mmla_core.models.scoring import crop_prefix, extend_prefix, run_prefix

__all__ = ["MODALITIES", "AttentionProfile", "answer_attention", "attention_shares", "cohens_d",
           "cohens_d_by_layer", "leaf_attention", "leaf_profile", "modality_spans",
           "modality_token_ids", "shares_by_modality"]

MODALITIES = ("video", "audio", "text")


@dataclass
class AttentionProfile:
    shares: list[list[float]]        # per decoder layer: [video, audio, text], summing to 1
    spans: dict[str, list[int]]      # token positions of each modality in the prompt
    num_tokens: int

    def layer_share(self, modality: str) -> list[float]:
        i = MODALITIES.index(modality)
        return [row[i] for row in self.shares]


def modality_token_ids(engine) -> dict[str, set[int]]:
    """Placeholder token ids of video and audio, from the model config (tokenizer fallback)."""
    config = getattr(engine.model, "config", None)
    tok = getattr(engine.processor, "tokenizer", engine.processor)

    def ids(*names):
        found = set()
        for name in names:
            for source in (config, getattr(config, "thinker_config", None), tok):
                value = getattr(source, name, None) if source is not None else None
                if isinstance(value, int):
                    found.add(value)
                    break
        return found

    return {"video": ids("video_token_id", "video_token_index") |
            ids("image_token_id", "image_token_index"),
            "audio": ids("audio_token_id", "audio_token_index")}


def modality_spans(input_ids, token_ids: dict[str, set[int]], mask=None) -> dict[str, list[int]]:
    """Positions of each modality's tokens in one row of input ids (padding left out)."""
    ids = [int(t) for t in input_ids]
    keep = [True] * len(ids) if mask is None else [bool(m) for m in mask]
    spans: dict[str, list[int]] = {m: [] for m in MODALITIES}
    for pos, (tid, real) in enumerate(zip(ids, keep, strict=True)):
        if not real:
            continue
        kind = next((m for m in ("video", "audio") if tid in token_ids[m]), "text")
        spans[kind].append(pos)
    return spans


def attention_shares(engine, clip, task, settings: InferenceSettings, *,
                     labels=None) -> AttentionProfile:
    """The share of attention to video / audio / text at the answer position, per layer."""
    plan = plan_prompt(task, clip.transcript, settings.prompt_kind, template=settings.template,
                       labels=labels)
    inputs = build_model_inputs(engine.processor, engine.info.family, with_view(clip, plan.view),
                                plan.text, settings)
    spans = modality_spans(inputs["input_ids"][0], modality_token_ids(engine),
                           inputs["attention_mask"][0] if "attention_mask" in inputs else None)
    rows = answer_attention(engine, engine._to_device(inputs))
    return AttentionProfile(shares_by_modality(rows, spans), spans,
                            int(inputs["input_ids"].shape[1]))


def answer_attention(engine, inputs: dict) -> list:
    """Per layer, the last token's attention row (heads x keys) of one-row model inputs."""
    prefix = run_prefix(engine.model, engine.info.family, _without_last_token(inputs))
    return _last_token_rows(engine, prefix, int(inputs["input_ids"][0, -1]))


def leaf_attention(engine, leaf, prompt_ids: list[int]) -> list:
    """`answer_attention` of a prompt whose cached pass already ran (the probe's leaf).

    `leaf` covers the prompt `prompt_ids` (media placeholders expanded) followed by its
    `shared_count` answer tokens; a view of its cache cropped to the prompt minus its last
    token is extended by that token with eager attention, and `leaf` stays as it was.
    """
    covered = leaf.mask.shape[1] - leaf.shared_count
    if covered != len(prompt_ids):
        raise ValueError(f"the cached pass covers {covered} prompt tokens, the prompt has "
                         f"{len(prompt_ids)}: not this prompt's cache")
    return _last_token_rows(engine, crop_prefix(leaf, covered - 1), int(prompt_ids[-1]))


def leaf_profile(engine, leaf, prompt_ids: list[int]) -> AttentionProfile:
    """`attention_shares` from a prompt's cached pass (see `leaf_attention`)."""
    spans = modality_spans(prompt_ids, modality_token_ids(engine))
    rows = leaf_attention(engine, leaf, prompt_ids)
    return AttentionProfile(shares_by_modality(rows, spans), spans, len(prompt_ids))


def _last_token_rows(engine, prefix, token: int) -> list:
    """Per layer, the attention row (heads x keys) of `token` extending `prefix`, eager."""
    with _eager_attention(engine):
        last = extend_prefix(engine.model, engine.info.family, prefix, [token],
                             output_attentions=True)
    assert last.attentions is not None  # output_attentions=True: the eager pass returns them
    return [layer[0, :, -1, :] for layer in last.attentions]


def shares_by_modality(rows, spans: dict[str, list[int]]) -> list[list[float]]:
    """[video, audio, text] per layer from (heads x keys) rows: heads averaged, summed per
    modality, divided by the total."""
    shares = []
    for layer in rows:
        row = layer.float().mean(0).cpu()
        parts = [float(row[spans[m]].sum()) if spans[m] else 0.0 for m in MODALITIES]
        total = sum(parts) or 1.0
        shares.append([p / total for p in parts])
    return shares


def _without_last_token(inputs: dict) -> dict:
    """The inputs minus the last position (the answer position is a text token, so the media
    inputs stay whole)."""
    out = dict(inputs)
    for key in ("input_ids", "attention_mask", "mm_token_type_ids", "token_type_ids"):
        if key in inputs:
            out[key] = inputs[key][:, :-1]
    return out


@contextmanager
def _eager_attention(engine):
    """Eager attention (the only one that returns weights) inside, the previous one after."""
    previous = engine.info.attn_implementation
    if previous != "eager":
        engine.model.set_attn_implementation("eager")
    try:
        yield
    finally:
        if previous != "eager":
            engine.model.set_attn_implementation(previous)


def cohens_d(first: list[float], second: list[float]) -> float | None:
    """Cohen's d of two samples with the pooled standard deviation (None if undefined)."""
    n1, n2 = len(first), len(second)
    if n1 < 1 or n2 < 1 or n1 + n2 < 3:
        return None
    m1, m2 = sum(first) / n1, sum(second) / n2
    ss = sum((x - m1) ** 2 for x in first) + sum((x - m2) ** 2 for x in second)
    pooled = math.sqrt(ss / (n1 + n2 - 2))
    if pooled == 0:
        return 0.0 if m1 == m2 else None
    return (m1 - m2) / pooled


def cohens_d_by_layer(visual: list[AttentionProfile | list[list[float]]],
                      audio: list[AttentionProfile | list[list[float]]],
                      modality: str) -> list[float | None]:
    """Per layer, Cohen's d of `modality`'s share: visual-focused vs audio-focused prompts, one
    profile per clip in each list (e.g. the aligned cells of several probes)."""
    i = MODALITIES.index(modality)

    def rows(p):
        return p.shares if isinstance(p, AttentionProfile) else p

    vis, aud = [rows(p) for p in visual], [rows(p) for p in audio]
    layers = min(len(r) for r in vis + aud) if vis and aud else 0
    return [cohens_d([r[layer][i] for r in vis], [r[layer][i] for r in aud])
            for layer in range(layers)]
