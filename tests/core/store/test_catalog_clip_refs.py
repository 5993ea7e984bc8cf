"""Why a clip reference found no clip: the CLI said "no single clip matches 'demo/nope'; use
its numeric id" for a clip that is not there at all (user guide: exit 1, "no clip or dataset by
that name here")."""

from mmla_core.store.catalog import clip_miss, find_clip, upsert_clips, upsert_dataset


def test_each_miss_says_what_is_missing_and_where(demo_store):
    assert clip_miss(demo_store, "999") == "no clip with id 999 in this project"
    assert clip_miss(demo_store, "nodata/demo_01").startswith("no dataset 'nodata' in this")
    assert clip_miss(demo_store, "demo/nope").startswith("dataset 'demo' has no clip 'nope'")
    assert clip_miss(demo_store, "nope").startswith("no clip 'nope' in this project")


def test_an_id_two_datasets_share_names_both_and_how_to_choose(demo_store):
    talk = upsert_dataset(demo_store, "talk", "/nowhere", "folder")
    upsert_clips(demo_store, talk, [{"external_id": "demo_01", "split": "train",
                                     "media_path": None, "transcript": "hi"}])
    assert find_clip(demo_store, "demo_01") is None
    assert clip_miss(demo_store, "demo_01") == (
        "2 clips have the id 'demo_01' (datasets: demo, talk): write DATASET/demo_01 or the "
        "clip's numeric id")
    assert find_clip(demo_store, "talk/demo_01")["transcript"] == "hi"
