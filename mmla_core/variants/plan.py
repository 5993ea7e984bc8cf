"""Turn a recipe request into a concrete, picklable plan: donors chosen, text written, key made.

Everything random is decided here from the seed (which donor, which wrong class, which filler
words), so the plan alone determines the variant: the in-memory builder and the MP4 writer (in
any worker process) produce the same conflict from it, and the content key names it. The key
hashes the parent's media fingerprint, the resolved steps, the donors' fingerprints, the seed
and the resulting transcript: the same request gives the same key, so nothing is built twice.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mmla_core.paths import PathEscapeError
from mmla_core.store.catalog import CLIP_MEDIA_COLUMNS, clip_media_path, get_clip, tasks_for_dataset
from mmla_core.store.clip_rows import dataset_name, original_clips
from mmla_core.store.db import Store
from mmla_core.store.label_policy import gold_labels
from mmla_core.store.labels import gold_label
from mmla_core.tasks import Task
from mmla_core.variants.recipes import (
    RECIPES,
    Step,
    VariantError,
    normalize_steps,
    steps_label,
)
from mmla_core.variants.transforms import derive_seed, long_context, prepend_caption

__all__ = ["FORMAT_VERSION", "ClipRef", "DatasetContext", "VariantPlan", "media_fingerprint",
           "plan_variant"]

FORMAT_VERSION = 1  # bump when the same plan would write different bytes
FINGERPRINT_SPAN = 64 * 1024
DONOR_DRAWS = 64  # rejection-sampling tries before falling back to filtering every clip
UNSAFE_NAME = '/\\:*?"<>| \t\n'
NAME_CHARS = 150  # readable part of a variant file name, as before
NAME_BYTES = 200  # a whole file name, in UTF-8 bytes: under every filesystem's 255


def media_fingerprint(path: str | os.PathLike) -> str:
    """Size plus the first and last 64 KiB: cheap, survives a copy or touch, sees an edit."""
    target = Path(path)
    size = target.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with open(target, "rb") as handle:
        digest.update(handle.read(FINGERPRINT_SPAN))
        if size > FINGERPRINT_SPAN:
            handle.seek(max(FINGERPRINT_SPAN, size - FINGERPRINT_SPAN))
            digest.update(handle.read(FINGERPRINT_SPAN))
    return digest.hexdigest()[:32]


@dataclass(frozen=True)
class ClipRef:
    """What planning needs to know about one clip of the dataset."""

    id: int
    external_id: str
    transcript: str
    label: str | None
    is_variant: bool
    row: dict = field(repr=False, compare=False)

    @property
    def name(self) -> str:
        return f"clip {self.id} ({self.external_id})"

    @property
    def has_audio(self) -> bool | None:
        value = self.row.get("has_audio")
        return None if value is None else bool(value)

    @property
    def has_video(self) -> bool | None:
        value = self.row.get("has_video")
        return None if value is None else bool(value)

    def facts(self) -> dict:
        """The row's probe columns: lets a worker skip re-probing a file that is unchanged."""
        return {k: self.row.get(k) for k in (*CLIP_MEDIA_COLUMNS, "has_video", "has_audio")}

    def media(self, recipe: str) -> str:
        """The clip's media file, or VariantError (text-only, unsafe path, file gone)."""
        try:
            path = clip_media_path(self.row)
        except PathEscapeError as exc:
            raise VariantError(self.name, recipe, f"unsafe media path ({exc})") from exc
        if path is None:
            raise VariantError(self.name, recipe, "text-only clip: it has no media file")
        if not path.is_file():
            raise VariantError(self.name, recipe, f"media file not found: {path}")
        return str(path)


class DatasetContext:
    """One dataset's source clips, first-task gold labels and media fingerprints, read once.

    `preload=False` (one variant from the GUI) reads a clip only when asked for it and the
    whole dataset only when a random donor must be drawn.
    """

    def __init__(self, store: Store, dataset_id: int, *, preload: bool = True):
        self.store, self.dataset_id = store, dataset_id
        tasks = tasks_for_dataset(store, dataset_id)
        self.task_id: int | None = tasks[0][0] if tasks else None
        self.task: Task | None = tasks[0][1] if tasks else None
        self.dataset_name = dataset_name(store, dataset_id) or ""
        self.clips: dict[int, ClipRef] = {}
        self._sources: list[ClipRef] | None = None
        self._fingerprints: dict[str, str] = {}
        if preload:
            self.sources  # noqa: B018 - load now

    @property
    def sources(self) -> list[ClipRef]:
        """The dataset's clips that are not variants (the donor candidates), by id."""
        if self._sources is None:
            task_id = self.task_id
            gold = ({clip: labels.get(task_id) for clip, labels in gold_labels(
                self.store, dataset_id=self.dataset_id, task_id=task_id).items()}
                if task_id else {})
            rows = original_clips(self.store, self.dataset_id)
            self._sources = [_ref(r, gold.get(r["id"])) for r in rows]
            self.clips.update({c.id: c for c in self._sources})
        return self._sources

    def clip(self, clip_id: int) -> ClipRef:
        found = self.clips.get(clip_id)
        if found is None:
            row = get_clip(self.store, clip_id)
            if row is None:
                raise VariantError(f"clip {clip_id}", "-", "no such clip in the project")
            task_id = self.task_id if row["dataset_id"] == self.dataset_id else None
            found = _ref(row, gold_label(self.store, clip_id, task_id) if task_id is not None
                         else None)
            self.clips[clip_id] = found
        return found

    def fingerprint(self, path: str) -> str:
        if path not in self._fingerprints:
            self._fingerprints[path] = media_fingerprint(path)
        return self._fingerprints[path]

    def random_donor(self, parent: ClipRef, recipe: str, seed: int, need: str) -> ClipRef:
        """A seeded pick among the dataset's own clips with a different gold label.

        `need` is "audio" (has an audio stream, or is unprobed) or "transcript" (non-empty).
        An unlabelled parent takes any other clip: a different label cannot be checked.
        """
        def usable(c: ClipRef) -> bool:
            if c.id == parent.id or (parent.label is not None and c.label in (None, parent.label)):
                return False
            if need == "audio":
                return bool(c.row.get("media_path")) and c.has_audio is not False
            return bool(c.transcript.strip())

        rng = np.random.default_rng(seed)
        if self.sources:
            for _ in range(DONOR_DRAWS):
                pick = self.sources[int(rng.integers(len(self.sources)))]
                if usable(pick):
                    return pick
        pool = [c for c in self.sources if usable(c)]
        if not pool:
            label = f" other than {parent.label!r}" if parent.label is not None else ""
            raise VariantError(parent.name, recipe, f"no donor clip with {need} and a label"
                               f"{label} in dataset {self.dataset_name!r}")
        return pool[int(rng.integers(len(pool)))]

    def wrong_label(self, parent: ClipRef, recipe: str, seed: int) -> str:
        if self.task is None:
            raise VariantError(parent.name, recipe, "the dataset has no task, so there is no "
                               "wrong class to prepend; give caption=... explicitly")
        if parent.label is None:
            raise VariantError(parent.name, recipe, f"no gold label for task {self.task.name}; "
                               "give caption=... explicitly")
        others = [label for label in self.task.labels if label != parent.label]
        if not others:
            raise VariantError(parent.name, recipe, f"task {self.task.name} has no other label")
        return others[int(np.random.default_rng(seed).integers(len(others)))]


def _ref(row: dict, label: str | None) -> ClipRef:
    return ClipRef(int(row["id"]), row["external_id"], row["transcript"] or "", label,
                   row["parent_clip_id"] is not None, row)


@dataclass(frozen=True)
class VariantPlan:
    """A fully decided variant; picklable, so a worker process can build it."""

    parent_id: int
    parent_name: str
    parent_media: str | None
    steps: tuple[Step, ...]
    seed: int
    step_seeds: tuple[int, ...]
    donor_media: dict
    transcript: str
    key: str
    external_id: str
    out_path: str | None  # None: the media is the parent's (only the text changed)
    facts: dict = field(default_factory=dict)  # media path -> the clip row's probe columns
    media_key: str = ""  # the key without the text: the same variant after a transcript edit

    @property
    def label(self) -> str:
        return steps_label(self.steps)

    @property
    def changes(self) -> frozenset[str]:
        return frozenset().union(*(RECIPES[name].changes for name, _ in self.steps))

    def recipe(self) -> dict:
        """The `recipe_json` of the variant's clip row (DESIGN rule 5)."""
        donors = [p.get("donor_clip_id") for _, p in self.steps if p.get("donor_clip_id")]
        params = self.steps[0][1] if len(self.steps) == 1 else [p for _, p in self.steps]
        return {
            "type": self.label, "params": params, "donor_clip_id": donors[0] if donors else None,
            "seed": self.seed, "steps": [{"name": n, "params": p} for n, p in self.steps],
            "key": self.key, "media_key": self.media_key, "owns_media": self.out_path is not None,
            "version": FORMAT_VERSION,
        }


def safe_name(text: str) -> str:
    """`text` with path-unsafe characters replaced, at most 150 characters and 200 bytes."""
    return _cut(_clean(text)[:NAME_CHARS], NAME_BYTES)


def _clean(text: str) -> str:
    return "".join("_" if ch in UNSAFE_NAME else ch for ch in text)


def _cut(text: str, limit: int) -> str:
    """The longest prefix of `text` within `limit` UTF-8 bytes (never half a character)."""
    return text.encode("utf-8")[:max(0, limit)].decode("utf-8", "ignore")


def variant_file_name(parent_external_id: str, label: str, key: str) -> str:
    """`<parent>~<recipe>~<key[:10]>.mp4`, shortened in its readable parts only.

    The key stays whole whatever the length: cutting the name's end once made two variants of a
    long-named clip share one file (the second "found" the first's and was recorded on it).
    """
    tail = f"~{key[:10]}"
    full = _clean(f"{parent_external_id}~{label}{tail}")
    if len(full) <= NAME_CHARS and len(full.encode("utf-8")) <= NAME_BYTES:
        return full + ".mp4"  # short names: exactly as before (existing files keep matching)
    room = NAME_BYTES - len(tail) - len(".mp4")
    recipe = _cut(_clean(f"~{label}"), room // 2)
    readable = _cut(_clean(parent_external_id), room - len(recipe.encode("utf-8")))
    return f"{readable}{recipe}{tail}.mp4"


def plan_variant(ctx: DatasetContext, parent_id: int, steps, seed: int,
                 out_dir: str | os.PathLike) -> VariantPlan:
    """Resolve `steps` for one parent clip; VariantError when a recipe cannot apply to it."""
    parent = ctx.clip(parent_id)
    resolved = normalize_steps(steps)
    seeds = tuple(derive_seed(seed, parent.id, i, name) for i, (name, _) in enumerate(resolved))
    transcript, donor_media, final = parent.transcript, {}, []
    _check_streams(parent, resolved)
    for (name, params), step_seed in zip(resolved, seeds, strict=True):
        params = dict(params)
        if name == "audio_swap":
            donor = _donor(ctx, parent, name, params, step_seed, "audio")
            donor_media[donor.id] = donor.media(name)
        elif name == "caption_misleading":
            transcript = _mislead(ctx, parent, params, step_seed, transcript)
        elif name == "context_long":
            transcript = long_context(transcript, params["words"], params["style"], step_seed)
        final.append((name, params))
    changes = frozenset().union(*(RECIPES[n].changes for n, _ in final))
    media = parent.media(steps_label(final)) if changes - {"text"} else None
    key, media_key = _content_keys(ctx, parent, media, final, donor_media, seed, transcript)
    external_id = f"{parent.external_id}~{steps_label(final)}~{key[:10]}"
    out_path = (str(Path(out_dir) / variant_file_name(parent.external_id, steps_label(final), key))
                if media else None)
    facts = {path: ref.facts() for path, ref in
             [(media, parent), *((p, ctx.clip(i)) for i, p in donor_media.items())] if path}
    return VariantPlan(parent.id, parent.name, media, tuple(final), seed, seeds, donor_media,
                       transcript, key, external_id, out_path, facts, media_key)


def _donor(ctx: DatasetContext, parent: ClipRef, recipe: str, params: dict, seed: int,
           need: str) -> ClipRef:
    """The explicit donor, checked, or a seeded random one; its id is written into `params`."""
    if params.get("donor_clip_id") is None:
        donor = ctx.random_donor(parent, recipe, seed, need)
    else:
        donor = ctx.clip(int(params["donor_clip_id"]))
        if donor.id == parent.id:
            raise VariantError(parent.name, recipe, "the donor is the clip itself")
        if need == "audio" and donor.has_audio is False:
            raise VariantError(parent.name, recipe, f"donor {donor.name} has no audio stream")
    params["donor_clip_id"] = donor.id
    return donor


def _mislead(ctx: DatasetContext, parent: ClipRef, params: dict, seed: int, text: str) -> str:
    if params["mode"] == "replace":
        donor = _donor(ctx, parent, "caption_misleading", params, seed, "transcript")
        return donor.transcript
    params["donor_clip_id"] = None
    if not params["caption"]:
        params["caption"] = ctx.wrong_label(parent, "caption_misleading", seed)
    return prepend_caption(text, params["caption"])


def _check_streams(parent: ClipRef, steps: tuple[Step, ...]) -> None:
    """Refuse, from the probed facts, chains that cannot work: no frames to black out, no audio
    to shift or to add noise to (removed, silenced, or never there)."""
    audio = "none" if parent.has_audio is False else "yes"
    media_steps = [n for n, _ in steps if RECIPES[n].changes - {"text"}]
    if media_steps and parent.has_audio is False and parent.has_video is False:
        detail = parent.row.get("health_detail") if parent.row.get("health") != "ok" else ""
        raise VariantError(parent.name, media_steps[0], "zero-length clip: its media holds "
                           "no audio or video samples" + (f" ({detail})" if detail else ""))
    for name, _ in steps:
        if name == "frames_black" and parent.has_video is False:
            raise VariantError(parent.name, name, "the clip has no video stream")
        if name == "audio_swap":
            audio = "yes"
        elif name in ("audio_silent", "audio_removed"):
            audio = "silent" if name == "audio_silent" else "none"
        elif name in ("av_offset", "audio_noise") and audio == "none":
            raise VariantError(parent.name, name, "there is no audio to change at this step")
        elif name == "audio_noise" and audio == "silent":
            raise VariantError(parent.name, name, "the audio is silent: SNR is undefined")


def _content_keys(ctx: DatasetContext, parent: ClipRef, media: str | None, steps: list[Step],
                  donor_media: dict, seed: int, transcript: str) -> tuple[str, str]:
    """(the content key, the same without the text). A transcript edit re-derives a variant's
    text (`store.variant_text`) but not its key: the media key and its text then say it is the
    variant a rebuild asks for (`variants.store_ops.already_made`)."""
    payload = {
        "v": FORMAT_VERSION, "parent": parent.id,
        "media": ctx.fingerprint(media) if media else None,
        "steps": [[n, p] for n, p in steps], "seed": seed,
        "donors": {str(k): ctx.fingerprint(v) for k, v in sorted(donor_media.items())},
    }
    media_key = _sha(payload)
    return _sha({**payload, "text": hashlib.sha256(transcript.encode("utf-8")).hexdigest()}), \
        media_key


def _sha(payload: dict) -> str:
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()
