"""A variant made with its parent's labels keeps them in step with the parent's labels
(store.variant_labels); a label set on the variant itself stays."""

from mmla_core.store.catalog import task_by_name
from mmla_core.store.labels import adjudicate, set_label, undo
from mmla_core.variants.store_ops import create_variant


def _rows(store, clip_id: int, task_id: int) -> dict[str, str]:
    return dict(store.conn.execute("SELECT annotator, label FROM annotations WHERE clip_id = ? "
                                   "AND task_id = ?", (clip_id, task_id)).fetchall())


def test_a_first_label_a_relabel_an_adjudication_and_undo_reach_the_copies(demo_store):
    meld = task_by_name(demo_store, "MELD")[0]
    copied = create_variant(demo_store, 1, [("caption_misleading", {"caption": "fear"})],
                            copy_labels=True).clip_id
    own = create_variant(demo_store, 1, ["context_long"], copy_labels=True).clip_id
    plain = create_variant(demo_store, 1, ["audio_silent"]).clip_id  # no labels of its own
    set_label(demo_store, own, meld, "neutral", "bob")  # the variant's own label: it keeps it
    set_label(demo_store, 1, meld, "surprise", "alice")  # the parent's first person label
    assert _rows(demo_store, copied, meld) == {"import": "joy", "alice": "surprise"}
    assert _rows(demo_store, own, meld) == {"import": "joy", "bob": "neutral"}
    assert _rows(demo_store, plain, meld) == {}
    set_label(demo_store, 1, meld, "anger", "alice")
    adjudicate(demo_store, 1, meld, "sadness", "carol")
    assert _rows(demo_store, copied, meld) == {"import": "joy", "alice": "anger",
                                                 "adjudicated:carol": "sadness"}
    undo(demo_store, "alice")
    undo(demo_store, "alice")  # alice's first label undone: gone from the copy too
    assert _rows(demo_store, copied, meld) == {"import": "joy", "adjudicated:carol": "sadness"}
    assert _rows(demo_store, own, meld) == {"import": "joy", "bob": "neutral"}
