"""PeakPyramid: bounded output per view and an envelope equal to brute force min/max."""

import numpy as np
import pytest

from mmla_core.media.waveform import BASE_BLOCK, PeakPyramid

RATE = 16000


@pytest.fixture(scope="module")
def signal():
    rng = np.random.default_rng(42)
    return rng.standard_normal(RATE * 7 + 1234).astype(np.float32)  # not a multiple of 64


@pytest.fixture(scope="module")
def pyramid(signal):
    return PeakPyramid.build(signal, RATE)


def block_of(times: np.ndarray, mins: np.ndarray, n_samples: int) -> int:
    """The block size a query used, from its time spacing."""
    if times.size < 2:
        return n_samples
    return round((times[1] - times[0]) * RATE)


def assert_envelope_is_exact(signal, times, mins, maxs):
    block = block_of(times, mins, signal.size)
    starts = np.round(times * RATE).astype(int)
    assert np.all(starts % block == 0)
    for start, lo, hi in zip(starts, mins, maxs, strict=True):
        chunk = signal[start : start + block]
        assert lo == chunk.min() and hi == chunk.max()


def test_levels_halve(pyramid, signal):
    assert pyramid.duration_s == pytest.approx(signal.size / RATE)
    for level, (mins, maxs) in enumerate(pyramid.levels):
        block = BASE_BLOCK << level
        assert mins.size == maxs.size == -(-signal.size // block)
    assert pyramid.levels[-1][0].size == 1
    assert pyramid.levels[-1][0][0] == signal.min() and pyramid.levels[-1][1][0] == signal.max()


def test_random_views_match_brute_force(pyramid, signal):
    rng = np.random.default_rng(7)
    for _ in range(150):
        t0 = rng.uniform(-0.5, pyramid.duration_s)
        t1 = t0 + 10 ** rng.uniform(-3, 1)
        pixels = int(rng.integers(1, 2000))
        times, mins, maxs = pyramid.query(t0, t1, pixels)
        assert times.size == mins.size == maxs.size
        assert times.size <= 2 * pixels + 2
        if times.size:
            assert_envelope_is_exact(signal, times, mins, maxs)
            assert times[0] <= max(t0, 0.0) and times[-1] < t1


def test_envelope_covers_the_window(pyramid, signal):
    t0, t1 = 1.2345, 3.4567
    _, mins, maxs = pyramid.query(t0, t1, 800)
    window = signal[int(np.floor(t0 * RATE)) : int(np.ceil(t1 * RATE))]
    assert mins.min() <= window.min() and maxs.max() >= window.max()


def test_close_zoom_returns_raw_samples(pyramid, signal):
    times, mins, maxs = pyramid.query(1.0, 1.0 + 100 / RATE, 1600)
    np.testing.assert_array_equal(mins, signal[RATE : RATE + 100])
    np.testing.assert_array_equal(maxs, mins)
    np.testing.assert_allclose(times, (RATE + np.arange(100)) / RATE)


def test_whole_file_view_is_bounded(pyramid):
    times, _, _ = pyramid.query(0, pyramid.duration_s, 1600)
    assert 1600 <= times.size <= 3200


def test_empty_and_outside_windows(pyramid):
    for t0, t1, pixels in [(5.0, 5.0, 100), (50.0, 60.0, 100), (-3.0, -1.0, 100), (0, 1, 0)]:
        times, mins, maxs = pyramid.query(t0, t1, pixels)
        assert times.size == mins.size == maxs.size == 0


def test_empty_signal():
    empty = PeakPyramid.build(np.zeros(0, np.float32), RATE)
    assert empty.duration_s == 0.0
    assert empty.query(0, 1, 100)[0].size == 0


def test_short_signal_below_one_block():
    tiny = np.array([0.1, -0.5, 0.3], np.float32)
    pyramid = PeakPyramid.build(tiny, RATE)
    times, mins, maxs = pyramid.query(0, 1, 1)
    assert times.size <= 2
    assert mins.min() == np.float32(-0.5) and maxs.max() == np.float32(0.3)


def test_save_load_round_trip(tmp_path, pyramid):
    path = pyramid.save(tmp_path / "peaks.npz")
    assert path.name == "peaks.npz"
    loaded = PeakPyramid.load(path)
    assert (loaded.rate, loaded.n_samples, loaded.base_block) == (RATE, pyramid.n_samples, 64)
    for view in [(0, 7, 1600), (2.0, 2.01, 1600), (3.3, 5.9, 640)]:
        for got, want in zip(loaded.query(*view), pyramid.query(*view), strict=True):
            np.testing.assert_array_equal(got, want)
    assert not list(tmp_path.glob(".*tmp"))  # the atomic write left no temp file


def test_load_without_samples_still_draws(tmp_path, pyramid, signal):
    loaded = PeakPyramid.load(pyramid.save(tmp_path / "light.npz", include_samples=False))
    assert loaded.samples is None
    times, mins, maxs = loaded.query(1.0, 1.01, 1600)  # closer than the finest level
    assert 0 < times.size <= 3200
    assert_envelope_is_exact(signal, times, mins, maxs)


def test_load_refuses_pickles(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, meta=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError):
        PeakPyramid.load(path)
