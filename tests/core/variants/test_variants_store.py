"""Variant rows and files together: provenance, idempotence, delete, donors, export, presets."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile

from mmla_core.cli import main
from mmla_core.store import open_store
from mmla_core.store.catalog import clip_media_path, get_clip, list_variants
from mmla_core.store.labels import gold_label
from mmla_core.variants.export_audio import export_audio_path
from mmla_core.variants.presets import MMABENCH, mmabench_in_memory
from mmla_core.variants.recipes import VariantError
from mmla_core.variants.store_ops import create_variant, delete_variant, describe_variants
from tests.support.variant_media import audio, build_project, corr, make_media


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    return make_media(tmp_path_factory.mktemp("variant_media"))


@pytest.fixture()
def project(tmp_path, media):
    return build_project(tmp_path / "p", media)


def test_a_variant_is_a_clip_with_parent_recipe_and_own_media_root(project):
    with project.store() as store:
        made = create_variant(store, project.ids["a"], ["audio_swap"], seed=5)
        row = get_clip(store, made.clip_id)
        parent = get_clip(store, project.ids["a"])
    recipe = json.loads(row["recipe_json"])
    assert row["parent_clip_id"] == project.ids["a"]
    assert row["dataset_id"] == parent["dataset_id"] and row["split"] == parent["split"]
    assert recipe["type"] == "audio_swap" and recipe["seed"] == 5 and recipe["owns_media"]
    assert recipe["donor_clip_id"] == recipe["params"]["donor_clip_id"] != project.ids["a"]
    assert row["media_root"] == str(project.variants_dir)
    assert clip_media_path(row) == made.path and made.path.is_file()
    assert row["health"] == "ok" and row["has_video"] == 1 and row["has_audio"] == 1
    assert row["transcript"] == parent["transcript"]
    assert row["external_id"].startswith("a~audio_swap~")


def test_random_donor_has_another_label_and_follows_the_seed(project):
    with project.store() as store:
        donors = set()
        for seed in range(8):
            recipe = create_variant(store, project.ids["a"], ["audio_swap"], seed=seed).recipe
            donor = recipe["donor_clip_id"]
            assert gold_label(store, donor, project.task_id) != "surprise"
            assert get_clip(store, donor)["has_audio"] == 1
            donors.add(donor)
        again = create_variant(store, project.ids["a"], ["audio_swap"], seed=0).recipe
    assert len(donors) > 1
    assert again["donor_clip_id"] == create_donor(project, seed=0)


def create_donor(project, seed: int) -> int:
    with project.store() as store:
        return create_variant(store, project.ids["a"], ["audio_swap"], seed=seed).recipe[
            "donor_clip_id"]


def test_same_request_is_not_built_twice_and_a_lost_file_is_rebuilt(project):
    with project.store() as store:
        first = create_variant(store, project.ids["a"], ["frames_black"])
        stamp = first.path.stat().st_mtime_ns
        second = create_variant(store, project.ids["a"], ["frames_black"])
        assert (second.clip_id, second.created) == (first.clip_id, False)
        assert first.path.stat().st_mtime_ns == stamp
        first.path.unlink()
        third = create_variant(store, project.ids["a"], ["frames_black"])
        assert third.clip_id == first.clip_id and first.path.is_file()
        assert len(list_variants(store, project.ids["a"])) == 1


def test_after_a_transcript_edit_the_same_request_finds_the_variants_again(project):
    """The edit re-derives the variants' text (store.variant_text); asking for them again must
    not build a second copy of each (their content key holds the text they were built with)."""
    from mmla_core.store.labels import set_transcript
    from mmla_core.variants.batch import make_variants

    recipes = [["frames_black"], [("caption_misleading", {"caption": "fear"})]]
    with project.store() as store:
        first = [create_variant(store, project.ids["a"], r) for r in recipes]
        set_transcript(store, project.ids["a"], "Curated words.", "alice")
        again = [create_variant(store, project.ids["a"], r) for r in recipes]
        assert [(v.clip_id, v.created) for v in again] == [(v.clip_id, False) for v in first]
        batch = make_variants(store, "tiny", recipes, clip_ids=[project.ids["a"]], workers=1)
        assert (batch.created, batch.skipped) == (0, 2)
        texts = [get_clip(store, v.clip_id)["transcript"] for v in first]
        assert texts == ["Curated words.", "Video_caption: fear. Curated words."]
        assert len(list_variants(store, project.ids["a"])) == 2


def test_delete_removes_row_file_labels_and_nested_variants(project):
    with project.store() as store:
        swap = create_variant(store, project.ids["a"], ["audio_swap"], copy_labels=True)
        nested = create_variant(store, swap.clip_id, ["frames_black"])
        wav = export_audio_path(get_clip(store, swap.clip_id), swap.path)
        assert gold_label(store, swap.clip_id, project.task_id) == "surprise"
        removed = delete_variant(store, swap.clip_id).removed
        assert set(removed) == {swap.path, nested.path, wav}
        assert get_clip(store, swap.clip_id) is None and get_clip(store, nested.clip_id) is None
        assert store.scalar("SELECT count(*) FROM annotations WHERE clip_id = ?",
                            (swap.clip_id,)) == 0
        with pytest.raises(ValueError, match="not a variant"):
            delete_variant(store, project.ids["a"])
    assert not swap.path.exists() and not nested.path.exists() and not wav.exists()
    assert (project.root / "media" / "a.mp4").is_file()


def test_delete_in_a_copied_project_leaves_the_originals_variant_file(project, capsys):
    with project.store() as store:
        swap = create_variant(store, project.ids["a"], ["audio_swap"])
    copy = project.root.parent / "copy" / project.db_path.name
    copy.parent.mkdir()
    copy.write_bytes(project.db_path.read_bytes())
    with open_store(copy) as store:
        removal = delete_variant(store, swap.clip_id)
        assert removal.removed == [] and removal.left == [swap.path]
        assert removal.left_note() == (f"1 variant file left, e.g. {swap.path}: outside this "
                                       f"project's folder {copy.parent / 'project.variants'}")
        assert get_clip(store, swap.clip_id) is None
    assert swap.path.is_file()
    nested = create_nested_copy(project)
    assert main(["--db", str(nested.db), "variants", "rm", str(nested.variant)]) == 0
    assert f"; 1 variant file left, e.g. {nested.path}: outside this project's folder" in \
        capsys.readouterr().out
    assert nested.path.is_file()


def create_nested_copy(project):
    """A second variant in the original, then a copy of the database made after it."""
    with project.store() as store:
        made = create_variant(store, project.ids["b"], ["audio_swap"])
    copy = project.root.parent / "copy2" / project.db_path.name
    copy.parent.mkdir()
    copy.write_bytes(project.db_path.read_bytes())
    return SimpleNamespace(db=copy, variant=made.clip_id, path=made.path)


def test_text_variants_share_the_parents_media_and_never_delete_it(project):
    with project.store() as store:
        caption = create_variant(store, project.ids["b"], ["caption_misleading"], seed=1)
        replaced = create_variant(store, project.ids["b"],
                                  [("caption_misleading", {"mode": "replace"})], seed=1)
        context = create_variant(store, project.ids["b"],
                                 [("context_long", {"words": 30})], seed=1)
        rows = {v["id"]: v for v in describe_variants(store, project.ids["b"])}
        donor = replaced.recipe["donor_clip_id"]
        donor_text = get_clip(store, donor)["transcript"]
        assert gold_label(store, donor, project.task_id) != "joy"
        for made in (caption, replaced, context):
            assert made.path == project.root / "media" / "b.mp4"
            delete_variant(store, made.clip_id)
    wrong = caption.recipe["params"]["caption"]
    assert wrong != "joy" and rows[caption.clip_id]["transcript"] == (
        f"Video_caption: {wrong}. That is wonderful news.")
    assert rows[replaced.clip_id]["transcript"] == donor_text
    assert len(rows[context.clip_id]["transcript"].split()) == 4 + 30
    assert rows[caption.clip_id]["badge"] == f"caption prepended: {wrong!r}"
    assert (project.root / "media" / "b.mp4").is_file()


def test_export_audio_wav_when_the_audio_differs(project):
    with project.store() as store:
        swap = create_variant(store, project.ids["a"], ["audio_swap"])
        black = create_variant(store, project.ids["a"], ["frames_black"])
        removed = create_variant(store, project.ids["a"], ["audio_removed"])
        rows = [get_clip(store, v.clip_id) for v in (swap, black, removed)]
        parent = get_clip(store, project.ids["a"])
    wav = export_audio_path(rows[0], swap.path)
    assert wav == swap.path.with_suffix(".16k.wav")
    samples, rate = soundfile.read(wav, dtype="float32")
    assert rate == 16000 and corr(samples, audio(swap.path)) > 0.999
    stamp = wav.stat().st_mtime_ns
    assert export_audio_path(rows[0], swap.path).stat().st_mtime_ns == stamp
    assert export_audio_path(rows[1], black.path) == black.path
    assert export_audio_path(rows[2], removed.path) == removed.path
    media = project.root / "media" / "a.mp4"
    assert export_audio_path(parent, media) == media


def test_mmabench_in_memory_builds_six_scenarios_from_one_decode(project, media):
    with project.store() as store:
        six = mmabench_in_memory(store, project.ids["c"], seed=2)
    assert list(six) == [s.key for s in MMABENCH]
    aligned = six["aligned"]
    assert aligned.recipe is None and aligned.frames.shape[0] == 25 and aligned.fps == 25
    assert six["frames_zeroed"].frames.max() == 0
    assert six["frames_zeroed"].audio is aligned.audio
    assert six["audio_removed"].audio is None and six["audio_removed"].frames is aligned.frames
    donor = six["audio_swap"].recipe["donor_clip_id"]
    assert six["audio_swap"].audio.size == aligned.audio.size
    with project.store() as store:
        donor_path = clip_media_path(get_clip(store, donor))
    assert corr(six["audio_swap"].audio, audio(donor_path)) > 0.99
    assert six["misleading_caption"].transcript.startswith("Video_caption: ")
    assert len(six["long_context"].transcript.split()) == len(aligned.transcript.split()) + 10_000
    assert np.array_equal(six["long_context"].frames, aligned.frames)


def test_in_memory_sampling_and_unknown_clip(project):
    from mmla_core.variants.inmemory import build_in_memory

    with project.store() as store:
        arrays = build_in_memory(store, project.ids["a"], ["frames_black"],
                                 times=[0.0, 0.5], max_side=80)
        assert arrays.frames.shape == (2, 60, 80, 3) and arrays.fps == pytest.approx(2.0)
        with pytest.raises(VariantError, match="no such clip"):
            build_in_memory(store, 999, ["frames_black"])


def test_a_variant_recorded_meanwhile_by_another_process_is_reused(project):
    from mmla_core.variants.plan import DatasetContext, plan_variant
    from mmla_core.variants.store_ops import media_columns, record_variant
    from mmla_core.variants.writer import write_variant

    with project.store() as store:
        parent = get_clip(store, project.ids["a"])
        ctx = DatasetContext(store, parent["dataset_id"])
        plan = plan_variant(ctx, parent["id"], ["audio_silent"], 0, project.variants_dir)
        write_variant(plan)
        columns = media_columns(plan, parent)
        first = record_variant(store, plan, columns, parent)
        assert record_variant(store, plan, columns, parent) == first  # not a second row
        assert len(list_variants(store, parent["id"])) == 1
