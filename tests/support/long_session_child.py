"""A long session in one process, measuring its resident memory (RSS) as it goes.

`python long_session_child.py clips N FILE...` opens and closes N clips (cycling through FILEs)
in the real player and waveform widgets, offscreen: load, wait until ready and drawn, step a few
frames, close. `python long_session_child.py probes N DB MODEL_DIR` runs N probes of one clip
(mmla_core.probe.matrix.run_probe, every scenario x prompt) with the tiny Omni model.
Both print one JSON line: RSS in MB after a warm-up (a tenth of the work, at least 5) and at the
end, both measured after a garbage collection and malloc_trim, so what grows is what is kept.
"""

from __future__ import annotations

import ctypes
import gc
import json
import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")


def rss_mb() -> float:
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)  # freed memory back to the OS (glibc)
    except OSError:
        pass
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def measure(count: int, work) -> dict:
    warm = max(5, count // 10)
    started = time.monotonic()
    for i in range(warm):
        work(i)
    after_warmup = rss_mb()
    samples = []
    for i in range(warm, count):
        work(i)
        if (i + 1) % max(1, count // 10) == 0:
            samples.append(round(rss_mb(), 1))
    end = rss_mb()
    return {"count": count, "warmup_mb": round(after_warmup, 1), "end_mb": round(end, 1),
            "growth_mb": round(end - after_warmup, 1), "samples": samples,
            "seconds": round(time.monotonic() - started, 1)}


def clips_session(count: int, files: list[str]) -> dict:
    from PySide6.QtWidgets import QApplication

    from tests.support.qt_wait import run_until as wait

    app = QApplication(["mmla-long-session"])
    from mmla_app.player.player_widget import PlayerWidget
    from mmla_app.player.waveform_pane import WaveformPane

    player, waveform = PlayerWidget(), WaveformPane()
    player.show()
    waveform.show()
    loaded: list[float] = []
    waveform.loaded.connect(loaded.append)

    def open_close(i: int) -> None:
        loaded.clear()
        player.load_clip(files[i % len(files)])
        waveform.load_clip(files[i % len(files)])
        wait(lambda: player.is_ready() and bool(loaded))
        if player.view.image() is not None:  # a video clip: step as a curator does
            player.step_frames(2)
            wait(lambda: player.shown_frame_index() >= 1, 2.0)
        player.close_clip()
        waveform.load_clip(None)

    result = measure(count, open_close)
    player.close()
    waveform.close()
    app.processEvents()
    return result


def probes_session(count: int, db_path: str, model_dir: str) -> dict:
    from mmla_core.models.engine import Engine
    from mmla_core.probe.matrix import run_probe
    from mmla_core.store.db import open_store

    engine = Engine.load(model_dir, device="cpu")
    with open_store(db_path) as store:
        clip_ids = [r["id"] for r in store.query("SELECT id FROM clips ORDER BY id")]
        result = measure(count, lambda i: run_probe(store, engine, clip_ids[i % len(clip_ids)],
                                                    "MELD", seed=i))
        result["predictions"] = store.scalar("SELECT count(*) FROM predictions")
    engine.close()
    return result


if __name__ == "__main__":
    mode, n, *rest = sys.argv[1:]
    session = {"clips": lambda: clips_session(int(n), rest),
               "probes": lambda: probes_session(int(n), *rest)}[mode]
    print(json.dumps(session()), flush=True)
