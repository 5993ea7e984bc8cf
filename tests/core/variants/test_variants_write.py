"""Written variants checked on the output files: samples, frames, durations, bytes, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from mmla_core.media.probe import probe
from mmla_core.variants import streams
from mmla_core.variants.inmemory import build_in_memory
from mmla_core.variants.recipes import VariantError
from mmla_core.variants.store_ops import create_variant
from tests.support.variant_media import all_frames, audio, build_project, corr, make_media

AAC_FRAME_S = 1024 / 16000


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    return make_media(tmp_path_factory.mktemp("variant_media"))


@pytest.fixture()
def project(tmp_path, media):
    extra = (("zero", "zero.mp4", "nothing", "joy"), ("uneven", "uneven.mp4", "uneven", "joy"))
    return build_project(tmp_path / "p", media, extra)


def make(project, clip: str, steps, seed: int = 0):
    with project.store() as store:
        return create_variant(store, project.ids[clip], steps, seed)


def assert_same_durations(variant, parent, *, audio_too: bool = True):
    got, want = probe(variant), probe(parent)
    assert got.video_duration_s == pytest.approx(want.video_duration_s, abs=1e-6)
    assert got.frame_count == want.frame_count
    if audio_too:
        assert abs(got.audio_duration_s - want.audio_duration_s) <= AAC_FRAME_S


def test_audio_swap_has_the_donors_samples_and_the_parents_frames(project, media):
    made = make(project, "a", [("audio_swap", {"donor_clip_id": project.ids["b"]})])
    assert made.created and made.path.parent == project.variants_dir
    assert corr(audio(made.path), audio(media / "b.mp4")) > 0.95
    assert corr(audio(made.path), audio(media / "a.mp4")) < 0.5
    assert np.array_equal(all_frames(made.path), all_frames(media / "a.mp4"))
    assert_same_durations(made.path, media / "a.mp4")


@pytest.mark.parametrize(("donor", "fit"), [("long", "loop"), ("short", "loop"),
                                            ("short", "pad")])
def test_swapped_audio_is_fitted_to_the_targets_exact_length(project, media, donor, fit):
    made = make(project, "a", [("audio_swap", {"donor_clip_id": project.ids[donor],
                                               "fit": fit})])
    got, source = audio(made.path), audio(media / f"{donor}.mp4")
    assert abs(got.size - audio(media / "a.mp4").size) <= 1024
    n = min(source.size, got.size)
    assert corr(got[:n], source[:n]) > 0.95
    tail = got[source.size + 200:]
    if fit == "loop" and tail.size:
        assert corr(tail, source[200:200 + tail.size]) > 0.95
    elif tail.size:
        assert np.abs(tail).max() < 0.01
    assert_same_durations(made.path, media / "a.mp4")


def test_frames_black_is_black_and_keeps_the_audio_and_timing(project, media):
    made = make(project, "a", ["frames_black"])
    frames = all_frames(made.path)
    assert frames.shape == all_frames(media / "a.mp4").shape
    assert frames.max() == 0
    assert np.array_equal(audio(made.path), audio(media / "a.mp4"))
    assert_same_durations(made.path, media / "a.mp4")


def test_audio_silent_and_audio_removed(project, media):
    silent = make(project, "a", ["audio_silent"])
    assert np.abs(audio(silent.path)).max() < 1e-4
    assert np.array_equal(all_frames(silent.path), all_frames(media / "a.mp4"))
    assert_same_durations(silent.path, media / "a.mp4")
    removed = make(project, "a", ["audio_removed"])
    info = probe(removed.path)
    assert not info.has_audio and info.frame_count == probe(media / "a.mp4").frame_count
    assert np.array_equal(all_frames(removed.path), all_frames(media / "a.mp4"))


def test_av_offset_moves_the_audio_against_the_frames(project, media):
    later = audio(make(project, "a", [("av_offset", {"ms": 100})]).path)
    earlier = audio(make(project, "a", [("av_offset", {"ms": -100})]).path)
    original = audio(media / "a.mp4")
    assert corr(later[1600:], original) > 0.95 and np.abs(later[:1500]).max() < 0.01
    assert corr(earlier, original[1600:]) > 0.95
    ranged = audio(make(project, "a", [("av_offset", {"ms": 100, "start_s": 0.5,
                                                      "end_s": 0.9})]).path)
    assert corr(ranged[:7000], original[:7000]) > 0.99
    assert corr(ranged[8500:14000], original[6900:12400]) > 0.95


def test_audio_noise_at_the_snr_only_in_the_range(project, media):
    original = audio(media / "a.mp4")
    noisy = audio(make(project, "a", [("audio_noise", {"snr_db": 0.0, "start_s": 0.5})]).path)
    assert corr(noisy[:7500], original[:7500]) > 0.99
    part = slice(8500, original.size - 500)
    snr = 10 * np.log10(np.mean(original[part] ** 2) / np.mean((noisy[part] - original[part]) ** 2))
    assert -1.5 < snr < 1.5


def test_composed_black_frames_with_swapped_audio(project, media):
    made = make(project, "a", ["frames_black", ("audio_swap", {"donor_clip_id":
                                                               project.ids["b"]})])
    assert all_frames(made.path).max() == 0
    assert corr(audio(made.path), audio(media / "b.mp4")) > 0.95
    assert made.recipe["type"] == "frames_black+audio_swap"


@pytest.mark.parametrize("steps", [["audio_swap"], ["frames_black"], ["audio_silent"],
                                   [("audio_noise", {"snr_db": 5})], [("av_offset", {"ms": 40})],
                                   [("audio_swap", {"fit": "pad"})]])
def test_the_same_seed_gives_byte_identical_files(tmp_path, media, steps):
    first = build_project(tmp_path / "one", media)
    second = build_project(tmp_path / "two", media)
    a, b = make(first, "long", steps, seed=3), make(second, "long", steps, seed=3)
    assert a.path.read_bytes() == b.path.read_bytes()
    assert a.recipe["key"] == b.recipe["key"]


def test_another_seed_gives_another_noise(project):
    one = make(project, "a", [("audio_noise", {"snr_db": 5})], seed=1)
    two = make(project, "a", [("audio_noise", {"snr_db": 5})], seed=2)
    assert one.path != two.path and one.path.read_bytes() != two.path.read_bytes()


@pytest.mark.parametrize("steps", [
    [("audio_swap", {"fit": "loop"})], ["frames_black"], ["audio_silent"], ["audio_removed"],
    [("av_offset", {"ms": -80})], [("audio_noise", {"snr_db": 20, "end_s": 0.5})],
    ["caption_misleading", ("context_long", {"words": 20})],
])
def test_in_memory_and_written_variants_agree(project, steps):
    made = make(project, "c", steps, seed=4)
    with project.store() as store:
        arrays = build_in_memory(store, project.ids["c"], steps, seed=4)
        transcript = store.scalar("SELECT transcript FROM clips WHERE id = ?", (made.clip_id,))
    assert arrays.recipe["key"] == made.recipe["key"]
    assert arrays.transcript == transcript
    assert np.array_equal(arrays.frames, all_frames(made.path))
    if arrays.audio is None:
        assert not probe(made.path).has_audio
        return
    written = audio(made.path)
    assert abs(written.size - arrays.audio.size) <= 1024
    if np.abs(arrays.audio).max() == 0:
        assert np.abs(written).max() < 1e-4
    else:
        assert corr(written, arrays.audio) > 0.95


@pytest.mark.parametrize(("clip", "steps", "message"), [
    ("a", [("audio_swap", {"donor_clip_id": "mute"})], "donor clip"),
    ("radio", ["frames_black"], "no video stream"),
    ("zero", ["frames_black"], "zero-length clip"),
    ("zero", ["audio_silent"], "zero-length clip"),
    ("uneven", ["audio_silent"], "streams differ in length"),
    ("text", ["frames_black"], "text-only clip"),
    ("mute", [("av_offset", {"ms": 10})], "no audio to change"),
    ("a", ["audio_silent", "audio_noise"], "silent"),
    ("a", ["audio_removed", "av_offset"], "no audio to change"),
])
def test_recipes_that_cannot_apply_raise_and_leave_nothing(project, clip, steps, message):
    steps = [(n, {"donor_clip_id": project.ids[p["donor_clip_id"]]}) if p.get("donor_clip_id")
             else (n, p) for n, p in ((s, {}) if isinstance(s, str) else s for s in steps)]
    with project.store() as store:
        before = store.scalar("SELECT count(*) FROM clips")
        with pytest.raises(VariantError) as err:
            create_variant(store, project.ids[clip], steps)
        assert store.scalar("SELECT count(*) FROM clips") == before
    assert message in str(err.value)
    assert f"clip {project.ids[clip]} ({clip})" in str(err.value)
    leftovers = list(project.variants_dir.glob("*")) if project.variants_dir.exists() else []
    assert leftovers == []


def test_a_failure_mid_write_leaves_no_partial_file(project, monkeypatch):
    def broken(self):
        yield from ()
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(streams.EncodedAudio, "packets", broken)
    with project.store() as store, pytest.raises(VariantError, match="No space left"):
        create_variant(store, project.ids["a"], ["audio_silent"])
    assert list(project.variants_dir.iterdir()) == []


def test_an_unwritable_variants_folder_is_a_clear_error(project):
    project.variants_dir.parent.mkdir(parents=True)
    project.variants_dir.write_text("a file where the folder should be")
    with project.store() as store, pytest.raises(VariantError, match=r"writing .* failed"):
        create_variant(store, project.ids["a"], ["frames_black"])


def test_black_frames_keep_a_vfr_clips_timestamps_and_templates_do_not_matter(
        tmp_path, monkeypatch):
    from mmla_core.media.decode import frame_times
    from mmla_core.media.synth import make_clip

    clip = make_clip(tmp_path / "vfr.mp4", duration_s=1.0, width=96, height=64, vfr=True)
    first, second = tmp_path / "one.mp4", tmp_path / "two.mp4"
    streams.mux(first, [streams.BlackVideo(clip), streams.CopyStream(clip, "audio")])
    streams.black_template.cache_clear()
    monkeypatch.setattr(streams, "BLACK_GOP", 1000)  # a longer template, same first packets
    streams.mux(second, [streams.BlackVideo(clip), streams.CopyStream(clip, "audio")])
    assert first.read_bytes() == second.read_bytes()
    assert np.array_equal(frame_times(first), frame_times(clip))
    assert all_frames(first).max() == 0
