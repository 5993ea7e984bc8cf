"""What the forms offer: the probe-set and model-check windows' models, tasks and splits."""

from mmla_core.store import open_store
from mmla_core.store.catalog import (
    add_variant_clip,
    ensure_task,
    list_clips,
    upsert_clips,
    upsert_dataset,
)
from mmla_core.store.form_choices import models_in_order, splits_by_dataset, task_names
from mmla_core.store.results import add_model
from mmla_core.tasks import builtin_task


def test_models_tasks_and_each_datasets_splits(tmp_path):
    with open_store(tmp_path / "p.sqlite") as store:
        for name, splits in (("MELD", ("train", "test")), ("AnnoMi", ("dev",))):
            ds = upsert_dataset(store, name, f"/data/{name}", "mmla")
            upsert_clips(store, ds, [{"external_id": f"{name}-{s}", "split": s,
                                      "media_path": None, "transcript": ""} for s in splits])
        parent = next(c["id"] for c in list_clips(store) if c["split"] == "dev")
        variant = add_variant_clip(store, parent, "v", None, "", {"type": "audio_silent"})
        with store.write() as conn:  # a variant with a split of its own is not a split
            conn.execute("UPDATE clips SET split = 'extra' WHERE id = ?", (variant,))
        add_model(store, "zeta", "text_lm", "/m/zeta")
        add_model(store, "alpha", "text_lm", "/m/alpha")
        assert splits_by_dataset(store) == {"AnnoMi": ["dev"], "MELD": ["test", "train"]}
        assert models_in_order(store) == [("zeta", "/m/zeta"), ("alpha", "/m/alpha")]
        for task in ("MIntRec", "AnnoMi-client"):
            ensure_task(store, builtin_task(task))
        assert task_names(store) == ["AnnoMi-client", "MIntRec"]
