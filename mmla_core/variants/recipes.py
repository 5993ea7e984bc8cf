"""The recipe registry: what each conflict recipe is called, its parameters, and their checks.

A variant's recipe is an ordered list of *steps* `(name, params)`; later steps work on what the
earlier ones produced (frames_black then audio_swap = black frames with another clip's voice).
Parameters are validated and completed with their defaults here, so a stored recipe always
names every parameter it was built with and can be rebuilt exactly (DESIGN rules 5 and 6).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "RECIPES",
    "RECIPE_TITLES",
    "Param",
    "Recipe",
    "RecipeError",
    "VariantError",
    "badge",
    "format_spec",
    "normalize_steps",
    "parse_spec",
    "recipe_title",
    "steps_label",
    "validate_step",
]

Step = tuple[str, dict]
NO_LIMIT = None


class RecipeError(ValueError):
    """A recipe name or parameter that is not valid (before any clip is touched)."""


class VariantError(ValueError):
    """A recipe that cannot apply to one clip; the message names the clip and the recipe."""

    def __init__(self, clip: str, recipe: str, why: str):
        self.clip, self.recipe, self.why = clip, recipe, why
        super().__init__(f"{clip}, recipe {recipe}: {why}")


@dataclass(frozen=True)
class Param:
    """One recipe parameter: its kind (int, float, str, choice, clip), default and bounds."""

    name: str
    kind: str
    default: object
    help: str
    minimum: float | None = NO_LIMIT
    maximum: float | None = NO_LIMIT
    choices: tuple[str, ...] = ()
    optional: bool = False  # None is allowed (and means "choose for me" / "whole clip")

    def check(self, recipe: str, value: object) -> int | float | str | None:
        """The value converted to this parameter's kind, or RecipeError saying why not."""
        if value is None or value == "":
            if self.optional:
                return None
            if value is None:
                raise RecipeError(f"{recipe}: parameter {self.name} needs a value")
        try:
            converted = _convert(self.kind, value)
        except (TypeError, ValueError) as exc:
            raise RecipeError(f"{recipe}: {self.name}={value!r} is not a {self.kind}") from exc
        if self.choices and converted not in self.choices:
            raise RecipeError(f"{recipe}: {self.name} must be one of {list(self.choices)}")
        if isinstance(converted, str):   # the str and choice kinds have no bounds
            return converted
        if self.minimum is not None and converted < self.minimum:
            raise RecipeError(f"{recipe}: {self.name} must be >= {self.minimum}")
        if self.maximum is not None and converted > self.maximum:
            raise RecipeError(f"{recipe}: {self.name} must be <= {self.maximum}")
        return converted


def _convert(kind: str, value: Any) -> int | float | str:
    """`value`: whatever a user or a stored recipe gave (Any): int() and float() raise the
    TypeError or ValueError that `Param.check` reports for a value of the wrong kind."""
    if kind in ("int", "clip"):
        if isinstance(value, float) and not value.is_integer():
            raise ValueError(value)
        if isinstance(value, bool):
            raise TypeError(value)
        return int(value)
    if kind == "float":
        number = float(value)
        if number != number or number in (float("inf"), float("-inf")):
            raise ValueError(value)
        return number
    return str(value)


@dataclass(frozen=True)
class Recipe:
    """A named, parameterised, seeded transformation; `changes` says which modalities it edits."""

    name: str
    summary: str
    changes: frozenset[str]
    params: tuple[Param, ...] = field(default_factory=tuple)

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    def defaults(self) -> dict:
        return {p.name: p.default for p in self.params}


_DONOR = Param("donor_clip_id", "clip", None, "donor clip id (empty: random, different label)",
               minimum=1, optional=True)
_START = Param("start_s", "float", None, "range start in s (empty: whole clip)", minimum=0.0,
               optional=True)
_END = Param("end_s", "float", None, "range end in s (empty: whole clip)", minimum=0.0,
             optional=True)

RECIPES: dict[str, Recipe] = {r.name: r for r in (
    Recipe("audio_swap", "audio replaced by a donor clip's, fitted to this clip's length",
           frozenset({"audio"}), (_DONOR, Param(
               "fit", "choice", "loop", "a shorter donor is looped or padded with silence",
               choices=("loop", "pad")))),
    Recipe("frames_black", "every frame black, audio kept", frozenset({"video"})),
    Recipe("audio_silent", "audio replaced by silence of the same length", frozenset({"audio"})),
    Recipe("audio_removed", "no audio stream at all, frames kept", frozenset({"audio"})),
    Recipe("caption_misleading", "transcript replaced by another clip's, or a wrong caption "
           "prepended (MMA-Bench: 'Video_caption: <wrong class>.')", frozenset({"text"}), (
               Param("mode", "choice", "prepend", "prepend a wrong caption or replace the "
                     "transcript", choices=("prepend", "replace")),
               Param("caption", "str", "", "prepend: the wrong class (empty: a random label "
                     "other than the gold one)"),
               _DONOR)),
    Recipe("context_long", "long irrelevant text appended to the transcript",
           frozenset({"text"}), (
               Param("words", "int", 2000, "how many words (or letters) to append",
                     minimum=1, maximum=200_000),
               Param("style", "choice", "words", "random words, or MMA-Bench's random letters",
                     choices=("words", "letters")))),
    Recipe("av_offset", "audio shifted against the frames (+ = audio later)",
           frozenset({"audio"}), (
               Param("ms", "int", 200, "shift in milliseconds, + delays the audio",
                     minimum=-60_000, maximum=60_000), _START, _END)),
    Recipe("audio_noise", "white noise added at a signal-to-noise ratio", frozenset({"audio"}), (
        Param("snr_db", "float", 10.0, "signal-to-noise ratio in dB", minimum=-40.0,
              maximum=80.0), _START, _END)),
)}


# what people call each recipe (the GUI's check boxes, lists and tooltips); the key stays the
# recipe's name in stored recipes, file names and the CLI
RECIPE_TITLES: dict[str, str] = {
    "audio_swap": "Audio from another clip",
    "frames_black": "Black frames",
    "audio_silent": "Silent audio",
    "audio_removed": "No audio track",
    "caption_misleading": "Misleading caption",
    "context_long": "Long irrelevant text",
    "av_offset": "Audio out of sync",
    "audio_noise": "Noisy audio",
}


def recipe_title(name: str) -> str:
    """'Audio from another clip' for 'audio_swap'; an unknown name as it is."""
    return RECIPE_TITLES.get(name, name.replace("_", " "))


def validate_step(name: str, params: Mapping | None = None) -> Step:
    """(name, every parameter with its checked value); unknown names or parameters refused."""
    recipe = RECIPES.get(name)
    if recipe is None:
        raise RecipeError(f"unknown recipe {name!r}; known: {', '.join(RECIPES)}")
    given = dict(params or {})
    unknown = sorted(set(given) - {p.name for p in recipe.params})
    if unknown:
        known = ", ".join(p.name for p in recipe.params) or "none"
        raise RecipeError(f"{name}: unknown parameter(s) {', '.join(unknown)} (known: {known})")
    values = {p.name: p.check(name, given.get(p.name, p.default)) for p in recipe.params}
    start, end = values.get("start_s"), values.get("end_s")
    if isinstance(start, float) and isinstance(end, float) and end <= start:  # float params
        raise RecipeError(f"{name}: end_s ({end}) must be after start_s ({start})")
    return name, values


def normalize_steps(steps: Iterable) -> tuple[Step, ...]:
    """Steps given as names, (name, params) pairs or {"name", "params"} dicts, validated."""
    result = []
    for step in steps:
        if isinstance(step, str):
            result.append(validate_step(step))
        elif isinstance(step, Mapping):
            result.append(validate_step(step["name"], step.get("params")))
        else:
            name, params = step
            result.append(validate_step(name, params))
    if not result:
        raise RecipeError("a variant needs at least one recipe")
    return tuple(result)


def parse_spec(text: str) -> list[tuple[Step, ...]]:
    """CLI syntax: variants separated by ',', steps of one variant by '+', params by ':'.

    `audio_swap,frames_black+audio_swap:fit=pad,av_offset:ms=-300` is three variants.
    """
    variants = []
    for chunk in (c.strip() for c in text.split(",")):
        if not chunk:
            continue
        steps = []
        for part in chunk.split("+"):
            name, *pairs = part.strip().split(":")
            params = {}
            for pair in pairs:
                key, sep, value = pair.partition("=")
                if not sep:
                    raise RecipeError(f"{part!r}: parameters are written key=value")
                params[key.strip()] = value.strip()
            steps.append((name.strip(), params))
        variants.append(normalize_steps(steps))
    if not variants:
        raise RecipeError("no recipes given")
    return variants


def format_spec(steps: Iterable[Step]) -> str:
    """The CLI spelling of one variant's steps, listing only non-default parameters."""
    parts = []
    for name, params in steps:
        defaults = RECIPES[name].defaults()
        changed = [f"{k}={v}" for k, v in params.items() if v != defaults.get(k)]
        parts.append(":".join([name, *changed]))
    return "+".join(parts)


def steps_label(steps: Iterable[Step]) -> str:
    """Recipe names joined by '+': the readable part of a variant's id and file name."""
    return "+".join(name for name, _ in steps)


def _range_text(params: dict) -> str:
    start, end = params.get("start_s"), params.get("end_s")
    if start is None and end is None:
        return ""
    left = f"{start:g}" if start is not None else "0"
    right = f"{end:g}" if end is not None else "end"
    return f" ({left}–{right} s)"


def _step_badge(name: str, params: dict) -> str:
    donor = params.get("donor_clip_id")
    if name == "audio_swap":
        return f"audio ← clip {donor}"
    if name == "frames_black":
        return "frames black"
    if name == "audio_silent":
        return "audio silent"
    if name == "audio_removed":
        return "audio removed"
    if name == "caption_misleading":
        if params.get("mode") == "replace":
            return f"transcript replaced (← clip {donor})"
        return f"caption prepended: {params.get('caption')!r}"
    if name == "context_long":
        return f"+{params.get('words')} {params.get('style')} of context"
    if name == "av_offset":
        return f"audio offset {params.get('ms'):+d} ms{_range_text(params)}"
    if name == "audio_noise":
        return f"noise at {params.get('snr_db'):g} dB SNR{_range_text(params)}"
    return name


def badge(recipe: Mapping) -> str:
    """What a stored recipe changed, for a list row: 'audio ← clip 17 · frames black'."""
    steps = recipe.get("steps") or []
    return " · ".join(_step_badge(s["name"], s.get("params", {})) for s in steps)
