"""A curator's transcript edit reaches the variants made from the clip (store.variant_text)."""

from mmla_core.store.labels import set_transcript, undo
from mmla_core.store.variant_text import rederived
from mmla_core.variants.store_ops import create_variant


def test_rederived_keeps_what_the_recipes_added():
    assert rederived("hi there", "hi there", "Hi there!") == "Hi there!"
    assert rederived("Video_caption: joy. hi there", "hi there", "Hi!") == "Video_caption: joy. Hi!"
    assert rederived("hi there dog cat", "hi there", "Hi!") == "Hi! dog cat"
    assert rederived("Video_caption: joy. hi there dog", "hi there", "") == \
        "Video_caption: joy. dog"
    assert rederived("someone else's words", "hi there", "Hi!") is None


def _texts(store, parent_id):
    return [r["transcript"] for r in store.query(
        "SELECT transcript FROM clips WHERE parent_clip_id = ? ORDER BY id", (parent_id,))]


def test_an_edit_and_its_undo_reach_the_variants(demo_store):
    parent = 1
    create_variant(demo_store, parent, [("caption_misleading", {"caption": "fear"})], seed=0)
    create_variant(demo_store, parent, [("context_long", {"words": 3})], seed=0)
    create_variant(demo_store, parent, [("caption_misleading", {"mode": "replace",
                                                                "donor_clip_id": 2})], seed=0)
    old = demo_store.scalar("SELECT transcript FROM clips WHERE id = ?", (parent,))
    donor_text = demo_store.scalar("SELECT transcript FROM clips WHERE id = 2")
    caption, filler, replaced = _texts(demo_store, parent)
    assert (caption, replaced) == (f"Video_caption: fear. {old}", donor_text)

    set_transcript(demo_store, parent, "Curated words.", "alice")
    assert _texts(demo_store, parent) == [
        "Video_caption: fear. Curated words.",
        "Curated words." + filler.removeprefix(old),
        donor_text,  # the donor's text, not the parent's: untouched
    ]
    set_transcript(demo_store, 2, "The donor's words, curated.", "alice")
    assert _texts(demo_store, parent)[2] == "The donor's words, curated."  # follows its donor
    undo(demo_store, "alice")
    undo(demo_store, "alice")
    assert _texts(demo_store, parent) == [caption, filler, replaced]
