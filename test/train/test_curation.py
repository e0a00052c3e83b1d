"""train.curation: statistics on data built with duplicates, repeats and stationary stretches."""

from __future__ import annotations

import math

import numpy as np
import pytest
from bag_factory import dataset_config, write_synthetic_bag
from hypothesis import given, settings
from hypothesis import strategies as st

from liquid_controller.train.curation import (
    ActionBins,
    curation_statistics,
    subsample_episodes,
)
from liquid_controller.train.dataset import load_dataset
from liquid_controller.train.dataset_config import CurationConfig
from liquid_controller.train.episodes import Episode

PERIOD = 0.05
NAMES = ("left", "right")


def colour_frames(codes):
    """Uniform 8x16 frames, one distinct colour per code (distinct 16-level fingerprints)."""
    codes = np.asarray(codes)
    colours = np.stack([16 * (codes % 16), 16 * ((codes // 16) % 16), 16 * (codes // 256)], axis=1)
    return np.broadcast_to(colours[:, None, None, :], (len(codes), 8, 16, 3)).astype(np.uint8)


def episode(name, codes, action):
    count = len(codes)
    return Episode(
        name=name,
        t_s=np.arange(count) * PERIOD,
        dt_s=np.full(count, PERIOD),
        observations={"image": colour_frames(codes), "imu": np.zeros((count, 6), np.float32)},
        action=np.asarray(action, dtype=np.float32),
    )


def moving_action(count, start=0):
    k = np.arange(start, start + count)[:, None]
    return np.hstack([0.1 + k / 100, -0.1 - k / 100])


@pytest.fixture
def recorded():
    """A: 40 moving frames, 20 frozen stationary frames, 40 moving; B: a copy of A's first 30."""
    codes_a = np.concatenate([np.arange(40), np.full(20, 40), np.arange(41, 81)])
    action_a = moving_action(100)
    action_a[40:60] = 0.0
    a = episode("a#0", codes_a, action_a)
    b = episode("b#0", codes_a[:30], action_a[:30])
    return a, b


def test_statistics_count_duplicates_repeats_and_stationary_ticks(recorded):
    config = CurationConfig(stretch_ticks=10)
    bins = ActionBins(recorded, config.action_bins)
    stats = curation_statistics(recorded, config, bins, NAMES)
    assert stats["episodes"] == 2 and stats["frames"] == 130
    assert stats["duration_s"] == pytest.approx(99 * PERIOD + 29 * PERIOD)
    # 19 of A's 99 consecutive pairs are frozen; B has none.
    assert stats["near_duplicate_fraction"] == pytest.approx(19 / (99 + 29))
    # Repeats: A's frozen run after its first window (ticks 41..59) and all of B.
    assert stats["repeated_stretch_fraction"] == pytest.approx((19 + 30) / 130)
    assert stats["stationary_fraction"] == pytest.approx(20 / 130)
    for name in NAMES:
        assert sum(stats["actions"][name]["counts"]) == 130
        assert len(stats["actions"][name]["edges"]) == config.action_bins + 1


def test_histogram_entropy_of_a_known_distribution():
    action = np.array([[0.0, 1.0], [1.0, 1.0]] * 10)
    data = (episode("e#0", np.arange(20), action),)
    stats = curation_statistics(data, CurationConfig(action_bins=2), ActionBins(data, 2), NAMES)
    assert stats["actions"]["left"]["counts"] == [10, 10]
    assert stats["actions"]["left"]["entropy_bits"] == pytest.approx(1.0)
    assert stats["actions"]["right"]["entropy_bits"] == pytest.approx(0.0)
    assert stats["joint_action_entropy_bits"] == pytest.approx(1.0)


def test_subsampling_drops_duplicates_and_repeats_and_splits_at_the_hole(recorded):
    config = CurationConfig(stretch_ticks=10, subsample=True)
    bins = ActionBins(recorded, config.action_bins)
    curated = subsample_episodes(recorded, config, bins, period_s=PERIOD, gap_s=0.5, seed=0)
    # B repeats A entirely; A loses 41..59 (a 1 s hole > gap_s) and is cut there.
    assert [(e.name, len(e)) for e in curated] == [("a#0.0", 41), ("a#0.1", 40)]
    assert curated[1].dt_s[0] == PERIOD
    np.testing.assert_allclose(curated[1].t_s[0], 60 * PERIOD)
    after = curation_statistics(curated, config, bins, NAMES)
    assert after["near_duplicate_fraction"] == 0.0
    assert after["repeated_stretch_fraction"] == 0.0


def test_dt_of_a_kept_tick_spans_the_dropped_ones():
    codes = np.array([0, 1, 1, 2, 3])  # tick 2 duplicates tick 1
    data = (episode("e#0", codes, moving_action(5)),)
    config = CurationConfig(subsample=True, drop_repeated_stretches=False)
    (curated,) = subsample_episodes(
        data, config, ActionBins(data, 8), period_s=PERIOD, gap_s=0.5, seed=0
    )
    np.testing.assert_allclose(curated.dt_s, [PERIOD, PERIOD, 2 * PERIOD, PERIOD])


def test_long_stationary_stretches_keep_only_their_start():
    action = moving_action(100)
    action[10:70] = 0.0
    data = (episode("e#0", np.arange(100), action),)
    config = CurationConfig(subsample=True, max_stationary_s=1.0)
    bins = ActionBins(data, 8)
    before = curation_statistics(data, config, bins, NAMES)
    curated = subsample_episodes(data, config, bins, period_s=PERIOD, gap_s=0.5, seed=0)
    assert [len(e) for e in curated] == [30, 30]
    after = curation_statistics(curated, config, bins, NAMES)
    assert before["stationary_fraction"] == pytest.approx(0.6)
    assert after["stationary_fraction"] == pytest.approx(20 / 60)


@settings(max_examples=40)
@given(
    st.lists(st.sampled_from([-1.0, 0.0, 0.5, 1.0]), min_size=4, max_size=120),
    st.sampled_from([0.3, 0.5, 0.7]),
    st.integers(0, 3),
)
def test_rebalancing_caps_the_most_common_action_bin(values, fraction, seed):
    action = np.stack([values, values], axis=1) + 2.0  # never stationary
    data = (episode("e#0", np.arange(len(values)), action),)
    config = CurationConfig(
        subsample=True,
        drop_duplicates=False,
        drop_repeated_stretches=False,
        max_bin_fraction=fraction,
        min_episode_ticks=1,
        action_bins=4,
    )
    bins = ActionBins(data, 4)
    present = len(set(bins.joint(data[0].action).tolist()))
    curated = subsample_episodes(data, config, bins, period_s=PERIOD, gap_s=1e9, seed=seed)
    labels = np.concatenate([bins.joint(e.action) for e in curated])
    shares = np.bincount(labels) / len(labels)
    if fraction * present >= 1:
        assert shares.max() <= fraction + 1e-9
    assert set(labels.tolist()) == set(bins.joint(data[0].action).tolist())  # no bin vanishes


def test_dataset_statistics_before_and_after_are_stored(tmp_path):
    bags = [
        write_synthetic_bag(tmp_path / "run", seconds=4.0, holds=[(1.0, 3.5)], joints=False).path
    ]
    config = dataset_config(
        tmp_path / "d.yaml",
        bags,
        joints=False,
        split={"validation": 0, "test": 0},
        curation={"subsample": True, "max_stationary_s": 0.5},
    )
    statistics = load_dataset(config, progress=False).statistics
    before, after = statistics["before"]["train"], statistics["after"]["train"]
    # 2.5 s of the 4 s stand still (50 of 80 ticks).
    assert before["stationary_fraction"] == pytest.approx(50 / 80)
    assert after["stationary_fraction"] < 0.2
    assert after["frames"] < before["frames"]
    assert math.isfinite(after["joint_action_entropy_bits"])


def _reference_fingerprint(image):
    rows = np.array_split(np.arange(image.shape[0]), min(4, image.shape[0]))
    cols = np.array_split(np.arange(image.shape[1]), min(4, image.shape[1]))
    thumb = np.array([[image[np.ix_(r, c)].mean(axis=(0, 1)) for c in cols] for r in rows])
    return (thumb * 16 / 256).astype(np.uint8)


@pytest.mark.parametrize("shape", [(3, 5), (8, 16), (66, 200)])
def test_chunked_fingerprints_and_differences_match_a_per_frame_reference(shape, monkeypatch):
    from liquid_controller.train import curation

    monkeypatch.setattr(curation, "_CHUNK_FRAMES", 7)  # several chunks and a partial one
    images = np.random.default_rng(1).integers(0, 256, (20, *shape, 3), dtype=np.uint8)
    prints = curation._fingerprints(images)
    for image, fingerprint in zip(images, prints, strict=True):
        np.testing.assert_array_equal(fingerprint, _reference_fingerprint(image))
    diffs = curation._frame_differences(images)
    assert diffs[0] == np.inf
    for k in range(1, len(images)):
        expected = np.abs(images[k].astype(int) - images[k - 1]).mean()
        assert diffs[k] == pytest.approx(expected)
