"""A variant made with its parent's labels keeps them in step with the parent's relabels
(store.variant_labels); a label set on the variant itself stays."""

from mmla_core.store.catalog import task_by_name
from mmla_core.store.label_policy import CURATED, resolve_labels
from mmla_core.store.labels import adjudicate, set_label, undo
from mmla_core.variants.store_ops import create_variant


def _curated(store, clip_id: int, task_id: int) -> str | None:
    return resolve_labels(store, CURATED, clip_ids=[clip_id]).get(clip_id, task_id)


def test_a_relabel_its_undo_and_an_adjudication_reach_the_copies(demo_store):
    meld = task_by_name(demo_store, "MELD")[0]
    set_label(demo_store, 1, meld, "surprise", "alice")
    copied = create_variant(demo_store, 1, [("caption_misleading", {"caption": "fear"})],
                            copy_labels=True).clip_id
    own = create_variant(demo_store, 1, ["context_long"], copy_labels=True).clip_id
    set_label(demo_store, own, meld, "neutral", "alice")  # the variant's own label: stays
    set_label(demo_store, 1, meld, "anger", "alice")
    assert (_curated(demo_store, copied, meld), _curated(demo_store, own, meld)) == (
        "anger", "neutral")
    adjudicate(demo_store, 1, meld, "sadness", "carol")  # no copy of carol's: not added
    assert _curated(demo_store, copied, meld) == "anger"
    undo(demo_store, "alice")  # alice's relabel of the parent, undone on the copy too
    assert _curated(demo_store, copied, meld) == "surprise"
    set_label(demo_store, 1, meld, None, "alice")  # cleared on the parent: the copy goes too
    assert _curated(demo_store, copied, meld) == "joy"  # the demo's own (import) label
