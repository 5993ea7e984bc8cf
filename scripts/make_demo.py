"""Regenerate the bundled demo clips in resources/demo/ with our own synth code.

Run once when the demo changes (the result is committed):  .venv/bin/python scripts/make_demo.py
Speech comes from espeak-ng when installed, else from a generated voiced signal.
"""

from __future__ import annotations

import json
import math

from mmla_core.config import resources_dir
from mmla_core.media.synth import make_clip, speech_audio

FPS = 25
RATE = 16000
# (transcript, split, MELD emotion, MIntRec intent)
DEMO_CLIPS = [
    ("Thank you so much, this is wonderful!", "train", "joy", "thank"),
    ("I can't believe you lost the keys again.", "train", "anger", "complain"),
    ("Sorry, I didn't mean to hurt you.", "train", "sadness", "apologise"),
    ("You built all of this yourself? Amazing.", "dev", "surprise", "praise"),
    ("Could you help me carry these boxes?", "dev", "neutral", "ask for help"),
    ("Hello everyone, welcome to the meeting.", "test", "neutral", "greet"),
    ("I have to go now, see you tomorrow.", "test", "neutral", "leave"),
    ("Don't touch that, it is dangerous!", "test", "fear", "prevent"),
]


def clip_duration(text: str, seed: int) -> float:
    """Speech length plus a little air, rounded up to whole frames."""
    seconds = len(speech_audio(text, RATE, seed=seed)) / RATE + 0.4
    return math.ceil(seconds * FPS) / FPS


def main() -> None:
    folder = resources_dir() / "demo"
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for number, (text, split, emotion, intent) in enumerate(DEMO_CLIPS, start=1):
        name = f"demo_{number:02d}.mp4"
        make_clip(folder / name, text=text, duration_s=clip_duration(text, number), width=320,
                  height=240, fps=FPS, seed=number)
        rows.append({"path": name, "transcript": text, "split": split,
                     "labels": {"MELD": emotion, "MIntRec": intent}})
    with open(folder / "manifest.jsonl", "w", encoding="utf-8") as out:
        out.writelines(json.dumps(row) + "\n" for row in rows)
    total = sum(p.stat().st_size for p in folder.glob("*.mp4"))
    print(f"wrote {len(rows)} clips ({total // 1024} KiB) to {folder}")


if __name__ == "__main__":
    main()
