"""Audio-visual alignment checks: MMA-Bench's four, per-dataset custom lists, and the verdict.

MMA-Bench (seeds_systems.md 2.2) keeps a clip only when a judge answers "Yes" to four queries, an
AND gate: the video with **audio muted** + a vision-focused prompt, **black frames** with audio +
an audio-focused prompt, and the **full audio-video** with each of the two prompts. A curator
answers the same four here (Yes / No / Unsure), watching what the judge was shown, so human and
model answers (`check_answers.source` human | model) sit side by side and can be compared.

This module is pure (no database): the check lists and answers stored per dataset and clip are
read and written by `mmla_core.store.checks`.

Their focus-prompt wording is unpublished (only the placeholders and "Answer with Yes or No" are),
so the questions below are ours, phrased for utterance clips where the sound source is the speaker.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

# What the curator (or the judge) is shown, in MMA-Bench's own words.
SHOWN = {
    "muted": "video with audio muted",
    "black_frames": "black frames with audio",
    "full": "full audio-video",
}
ANSWER_SUFFIX = "Answer with Yes or No."
VISION_FOCUS = "Is the person who is speaking visible in this video?"
AUDIO_FOCUS = "Is the speaker's voice audible in this video?"
ACCEPT, REJECT = "accept", "reject"
_KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class CheckError(ValueError):
    """A check list or check key that cannot be used."""


@dataclass(frozen=True)
class Check:
    key: str
    question: str            # what the curator answers
    shown: str = "full"      # a SHOWN key: how the clip is played while answering
    focus: str = ""          # vision | audio (MMA-Bench's two prompts); '' for custom checks
    title: str = ""

    @property
    def shown_text(self) -> str:
        return SHOWN.get(self.shown, self.shown)

    @property
    def label(self) -> str:
        return self.title or self.key.replace("_", " ").capitalize()

    @property
    def model_prompt(self) -> str:
        """The judge's prompt, MMA-Bench style: '{focus-prompt}. Answer with Yes or No'."""
        focus = {"vision": VISION_FOCUS, "audio": AUDIO_FOCUS}.get(self.focus, self.question)
        return f"{focus} {ANSWER_SUFFIX}"


MMA_CHECKS: tuple[Check, ...] = (
    Check("visual_only", "With the audio muted: is the sound source (the speaker) visible?",
          shown="muted", focus="vision", title="Visual only"),
    Check("audio_only", "With the frames black: is the sound event (the speaker's voice) "
          "audible?", shown="black_frames", focus="audio", title="Audio only"),
    Check("full_visual", "Full clip, vision-focused: is the visible speaker the one you hear?",
          shown="full", focus="vision", title="Full clip · vision"),
    Check("full_audio", "Full clip, audio-focused: does the voice you hear belong to what you "
          "see, with no other dominant sound?", shown="full", focus="audio",
          title="Full clip · audio"),
)
MMA_KEYS = tuple(c.key for c in MMA_CHECKS)
_BUILTIN = {c.key: c for c in MMA_CHECKS}


def verdict(answers: Mapping[str, str], keys: Iterable[str] = MMA_KEYS) -> str | None:
    """'accept' when every check is Yes, 'reject' when any is No, None while undecided.

    An Unsure or a missing answer leaves the clip undecided: the AND gate needs a Yes everywhere.
    """
    wanted = list(keys)
    given = [answers.get(k) for k in wanted]
    if any(a == "no" for a in given):
        return REJECT
    if wanted and all(a == "yes" for a in given):
        return ACCEPT
    return None


# --- per-dataset check lists -------------------------------------------------------------------

def make_check(key: str, question: str) -> Check:
    """A check for a dataset list; a built-in key keeps what MMA-Bench shows for it."""
    key, question = key.strip(), question.strip()
    if not _KEY_RE.match(key):
        raise CheckError(f"check key {key!r} must be lower-case letters, digits and _ "
                         "(starting with a letter, at most 40 characters)")
    if not question:
        raise CheckError(f"check {key!r} needs a question")
    base = _BUILTIN.get(key)
    if base is None:
        return Check(key, question)
    return Check(key, question, shown=base.shown, focus=base.focus, title=base.title)


def check_by_key(checks: Iterable[Check], key: str) -> Check:
    found = next((c for c in checks if c.key == key), None)
    if found is None:
        known = ", ".join(c.key for c in checks)
        raise CheckError(f"no check {key!r} for this clip's dataset (checks: {known})")
    return found


# --- one clip's answers ------------------------------------------------------------------------

@dataclass
class ClipCheckState:
    """Everything the checks panel shows for one clip and one annotator."""

    clip_id: int
    checks: list[Check]
    mine: dict[str, str]                           # key -> my (human) answer
    others: dict[str, list[tuple[str, str]]]       # key -> [(annotator, answer)], other humans
    model: dict[str, dict]                         # key -> latest model answer row

    @property
    def verdict(self) -> str | None:
        return verdict(self.mine, [c.key for c in self.checks])

    @property
    def answered(self) -> int:
        return sum(1 for c in self.checks if c.key in self.mine)

    def first_open_index(self) -> int:
        """The first check without a Yes/No from me (where a curator picks up)."""
        return next((i for i, c in enumerate(self.checks)
                     if self.mine.get(c.key) not in ("yes", "no")), 0)

    def model_to_accept(self) -> dict[str, str]:
        """Model answers for the listed checks I have not answered, in check-list order."""
        return {c.key: self.model[c.key]["answer"] for c in self.checks
                if c.key in self.model and c.key not in self.mine}
