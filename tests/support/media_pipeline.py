"""Run every clip of a project through what the app does with it, in a child process.

`python media_pipeline.py DB MODEL_DIR [FORWARD_NAMES...] < clip ids` prints one JSON line per
clip and step: {"clip": id, "step": ..., "outcome": "ok" | "error" | "crash", "error": ...}.
"error" is a documented error (MediaError, VariantError, ...): the test checks its message names
the file. "crash" is any other exception type: a bug. A segfault ends the process; the parent
sees the last "start" line and restarts after that clip.

Steps (what the player, the waveform pane, the variants panel and the probe do):
first_frame, audio, waveform, variant:audio_silent, variant:frames_black, probe_inputs, and for
clips whose file name is in FORWARD_NAMES, one forward of the tiny Omni model (label scoring).
"""

from __future__ import annotations

import json
import os
import sys
import traceback

os.environ.setdefault("OMP_NUM_THREADS", "1")

DOCUMENTED = ("MediaError", "VariantError", "RecipeError", "InferenceError")


def _emit(**fields) -> None:
    print(json.dumps(fields, ensure_ascii=False), flush=True)


def _step(clip_id: int, name: str, fn) -> object:
    try:
        result = fn()
    except Exception as exc:
        outcome = "error" if type(exc).__name__ in DOCUMENTED else "crash"
        _emit(clip=clip_id, step=name, outcome=outcome, type=type(exc).__name__,
              error=str(exc)[:500], trace=traceback.format_exc()[-1500:] if outcome == "crash"
              else "")
        return None
    _emit(clip=clip_id, step=name, outcome="ok")
    return result


def run_clip(store, processor, engine, clip_id: int, forward: bool) -> None:
    from mmla_core.media.decode import decode_audio, decode_first_frame
    from mmla_core.media.waveform import PeakPyramid
    from mmla_core.models.inputs import InferenceSettings, build_model_inputs, clip_input_from_store
    from mmla_core.store.catalog import clip_media_path, get_clip
    from mmla_core.tasks import builtin_task
    from mmla_core.variants.inmemory import build_in_memory

    row = get_clip(store, clip_id)
    path = clip_media_path(row)
    _emit(clip=clip_id, step="start", path=str(path), health=row["health"],
          detail=row.get("health_detail") or "")
    if row.get("has_video"):
        _step(clip_id, "first_frame", lambda: decode_first_frame(path))
    audio = _step(clip_id, "audio", lambda: decode_audio(path)) if row.get("has_audio") else None
    if audio is not None:
        _step(clip_id, "waveform", lambda: PeakPyramid.build(audio, 16000).query(
            0.0, len(audio) / 16000, 800))
    for recipe in ("audio_silent", "frames_black"):
        _step(clip_id, f"variant:{recipe}", lambda r=recipe: build_in_memory(
            store, clip_id, [r], times=None, max_side=128))
    settings = InferenceSettings(max_pixels=112 * 112)
    task = builtin_task("MELD")
    clip = _step(clip_id, "probe_inputs", lambda: clip_input_from_store(store, clip_id, settings))
    if clip is None:
        return
    _step(clip_id, "model_inputs", lambda: build_model_inputs(
        processor, "qwen2_5_omni", clip, "What emotion is expressed? Answer in one word.",
        settings))
    if forward:
        _step(clip_id, "forward", lambda: engine.predict(clip, task, settings))


def main(argv: list[str]) -> int:
    from mmla_core.models.engine import Engine
    from mmla_core.store.db import open_store

    db_path, model_dir, *forward_names = argv
    engine = Engine.load(model_dir, device="cpu")
    clip_ids = [int(line) for line in sys.stdin.read().split()]
    with open_store(db_path) as store:
        from mmla_core.store.catalog import clip_media_path, get_clip

        for clip_id in clip_ids:
            path = clip_media_path(get_clip(store, clip_id))
            forward = path is not None and os.path.basename(str(path)) in forward_names
            run_clip(store, engine.processor, engine, clip_id, forward)
            _emit(clip=clip_id, step="done", outcome="ok")
    engine.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
