"""All prompts of one scenario answered over ONE pass of its media: the probe's fast path.

The chat template puts the media placeholders before the question, so every prompt of a
scenario starts with the same tokens up to the end of the media (system turn, user header,
video/audio tokens). That prefix (processor, encoders and decoder) runs once with a KV cache;
each prompt's own text is then a cached extension of it. The extensions form a tree: prompts
that go on sharing tokens (the visual- and audio-focused questions both start with the
transcript, long_context's 10k letters included) extend a common node once before they part.
At each leaf the tokens every label shares are scored, then all labels in one packed pass
(`scoring.score_packed`). The results equal `Engine.predict` per prompt up to float rounding
(tests/core/probe/test_probe_prefix.py); a prompt this path cannot take (generation mode, a check's
view, a batch of one) goes through `Engine.predict`. The leaves are handed to the attention
capture (`on_leaf`), which takes the answer position's row from them instead of another pass.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from mmla_core.models.inputs import ClipInput, InferenceSettings, build_chat_inputs, chat_texts
from mmla_core.models.prompting import PromptPlan, plan_prompt
from mmla_core.models.scoring import (
    LabelScores,
    answer_token_ids,
    common_prefix,
    extend_prefix,
    run_prefix,
    score_packed,
)
from mmla_core.tasks import Task

_Seq = TypeVar("_Seq", str, list)  # token lists or chat texts

__all__ = ["FRESH_RUN", "answer_prompts", "media_prefix_text"]

FRESH_RUN = 1024  # text tokens past which a branch is run from the start, not extended


@dataclass
class _Branch:
    key: int                # index of the prompt
    rest: list[int]         # prompt tokens still to run
    shared: list[int]       # answer tokens every label of this prompt starts with


def _special_tokens(processor) -> list[str]:
    tok = getattr(processor, "tokenizer", processor)
    return [t.content for t in tok.added_tokens_decoder.values() if t.special]


def media_prefix_text(processor, texts: list[str]) -> str:
    """The longest common start of the chat texts, cut right after a special token.

    Cutting after a special token (the media's end marker, at the latest) keeps the
    tokenisation of the prefix and of each remainder equal to that of the whole text.
    """
    common = _common(texts)
    ends = [common.rfind(t) + len(t) for t in _special_tokens(processor) if t in common]
    return common[: max(ends, default=0)]


def _usable(engine, settings_list: list[InferenceSettings], plans: list[PromptPlan]) -> bool:
    """The shared pass needs the engine's model and processor (`Engine.shares_media_pass`): an
    engine that only answers `predict` (the tests' fake one) gets one `predict` per prompt."""
    return (getattr(engine, "shares_media_pass", False) and len(plans) > 1
            and all(s.answer_mode == "scoring" for s in settings_list)
            and all(p.view == "full" for p in plans))


def answer_prompts(engine, clip: ClipInput, task: Task, settings_list: list[InferenceSettings],
                   *, labels=None, on_leaf: Callable[[int, object, list[int]], None] | None = None
                   ) -> list:
    """`Engine.predict(clip, task, s)` for every `s` (one per prompt), sharing the media pass.

    All settings must agree on everything but the prompt kind and template. `on_leaf(i, leaf,
    prompt_ids)` is called for each prompt once all are scored (on this path only, not on
    the `Engine.predict` fallback): `leaf` is the `scoring.Prefix` of prompt i's cached pass
    (its token ids `prompt_ids`, then `leaf.shared_count` answer tokens), for the attention
    capture to reuse; it must leave `leaf` as it is.
    """
    plans = [plan_prompt(task, clip.transcript, s.prompt_kind, template=s.template,
                         labels=labels) for s in settings_list]
    if not _usable(engine, settings_list, plans):
        return [engine.predict(clip, task, s, labels=labels) for s in settings_list]
    import torch

    first = settings_list[0]
    engine._use_attention(first.attn_implementation)
    torch.manual_seed(first.seed)
    start = time.perf_counter()
    processor, family = engine.processor, engine.info.family
    texts, heard = chat_texts(processor, family, [clip] * len(plans), [p.text for p in plans],
                              first)
    head = media_prefix_text(processor, texts)
    inputs = engine._to_device(build_chat_inputs(processor, family, clip, head, first))
    cands = [answer_token_ids(processor, p.answers) for p in plans]
    tree, branches = _grown_tree(engine, inputs, [t[len(head):] for t in texts], cands)
    scores = [_leaf_scores(engine, tree.leaves[i], plans[i], cands[i])
              for i in range(len(plans))]
    latency = (time.perf_counter() - start) * 1000 / len(plans)
    if on_leaf is not None:
        media_ids = inputs["input_ids"][0].tolist()  # + a branch's whole rest: its prompt
        for b in branches:
            on_leaf(b.key, tree.leaves[b.key], media_ids + b.rest)
    return [engine._result(plan, s, heard, latency, *answer)
            for plan, s, answer in zip(plans, settings_list, scores, strict=True)]


def _grown_tree(engine, inputs: dict, rests: list[str], cands: list[list[list[int]]]):
    """The prompt tree over the media prefix `inputs`: a leaf per prompt, whose text after
    the media is `rests[i]`, followed by the answer tokens all of `cands[i]` share."""
    tok = getattr(engine.processor, "tokenizer", engine.processor)
    branches = [_Branch(i, tok(rest, add_special_tokens=False)["input_ids"], _shared(c))
                for i, (rest, c) in enumerate(zip(rests, cands, strict=True))]
    tree = _Tree(engine, inputs)
    tree.grow(run_prefix(engine.model, engine.info.family, inputs), [], branches)
    return tree, branches


def _shared(cands: list[list[int]]) -> list[int]:
    return common_prefix(cands)


def _common(rests: list[_Seq]) -> _Seq:
    """The longest common start of sequences (token lists or strings)."""
    shortest = min(len(r) for r in rests)
    n = next((i for i in range(shortest) if len({r[i] for r in rests}) > 1), shortest)
    return rests[0][:n]


class _Tree:
    """Grows the prompt tree from the media prefix; `inputs` are the prefix's model inputs."""

    def __init__(self, engine, inputs: dict):
        self.model, self.family, self.inputs = engine.model, engine.info.family, inputs
        self.leaves: dict[int, object] = {}

    def extend(self, node, path: list[int], ids: list[int], scored: int = 0):
        """`node` (whose text tokens after the media are `path`) followed by `ids`.

        A long run (long_context's letters) is a fresh pass from the start instead of a cached
        extension: on a CPU, attention with an explicit mask (what an extension needs) is ~5x
        slower than the causal kernel a fresh pass gets, and the media prefix is small next to it.
        """
        if len(ids) > FRESH_RUN:
            return run_prefix(self.model, self.family, self.inputs, path + ids, scored=scored)
        return extend_prefix(self.model, self.family, node, ids, scored=scored)

    def grow(self, node, path: list[int], branches: list[_Branch]) -> None:
        """Extend `node` along the branches: shared runs of tokens once, then each branch."""
        if len(branches) == 1 or all(not b.rest for b in branches):
            for b in branches:
                self.leaves[b.key] = self.extend(node, path, b.rest + b.shared, len(b.shared))
            return
        groups: dict[int | None, list[_Branch]] = {}
        for b in branches:
            groups.setdefault(b.rest[0] if b.rest else None, []).append(b)
        for group in groups.values():
            if len(group) == 1:
                self.grow(node, path, group)
                continue
            common = _common([b.rest for b in group])
            self.grow(self.extend(node, path, common), path + common,
                      [_Branch(b.key, b.rest[len(common):], b.shared) for b in group])


def _leaf_scores(engine, leaf, plan: PromptPlan, cands: list[list[int]]):
    done = leaf.shared_count
    sums = score_packed(engine.model, engine.info.family, leaf, [c[done:] for c in cands])
    table = LabelScores(plan.labels, sums.cpu().tolist(), [len(c) for c in cands])
    return plan.answers[plan.labels.index(table.best)], table.best, table
