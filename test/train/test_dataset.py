"""train.dataset: synthetic bags (another writer than ours) -> aligned, split episodes."""

from __future__ import annotations

import numpy as np
import pytest
from bag_factory import (
    COMPRESSED_TOPIC,
    JOINTS,
    TWIST_TOPIC,
    dataset_config,
    image_pixels,
    write_synthetic_bag,
)

from liquid_controller.errors import ConfigError, DatasetError
from liquid_controller.sensing.imu import IMU_FIELDS
from liquid_controller.train.data_fit import spec_from_splits
from liquid_controller.train.dataset import load_dataset
from liquid_controller.train.dataset_config import load_dataset_config

NO_SPLIT = {"validation": 0, "test": 0}


def _only_episode(splits):
    (episode,) = splits.train
    return episode


@pytest.mark.parametrize("store", ["ros2_humble", "ros2_jazzy"])
@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_rows_hold_the_recorded_signals_and_their_known_target(tmp_path, storage, store):
    truth = write_synthetic_bag(tmp_path / "run", storage=storage, store=store, seconds=2.0)
    config = dataset_config(tmp_path / "d.yaml", [truth.path], split=NO_SPLIT, typestore=store)
    splits = load_dataset(config, progress=False)
    episode = _only_episode(splits)
    assert episode.name == "run#0"
    assert len(episode) == len(truth.t_s)
    # The command (Float64MultiArray, no header) is placed at its receive time, 2 ms after
    # the sensors' header stamps; ticks start when every input has a sample.
    np.testing.assert_allclose(episode.t_s, truth.t_s + 0.002, atol=1e-9)
    np.testing.assert_allclose(episode.dt_s, 0.05, atol=1e-9)
    imu = episode.observations["imu"]
    np.testing.assert_allclose(imu[:, 0], truth.ax, atol=1e-6)
    np.testing.assert_allclose(imu[:, 5], truth.wz, atol=1e-6)
    np.testing.assert_allclose(episode.action, truth.action, atol=1e-6)
    expected_images = np.stack(
        [image_pixels(a, w, (8, 16)) for a, w in zip(truth.ax, truth.wz, strict=True)]
    )
    np.testing.assert_array_equal(episode.observations["image"], expected_images)
    np.testing.assert_allclose(episode.observations["joint_velocity"], truth.action, atol=1e-6)
    assert splits.action_names == ("left_wheel", "right_wheel")
    assert splits.vector_fields == {
        "imu": IMU_FIELDS,
        "joint_position": JOINTS,
        "joint_velocity": JOINTS,
    }
    assert splits.image_shape == (8, 16, 3)
    assert episode.action.dtype == np.float32 and episode.observations["image"].dtype == np.uint8


def test_compressed_camera_twist_target_and_resizing(tmp_path):
    truth = write_synthetic_bag(
        tmp_path / "run", camera="compressed", target="twist", joints=False, image_size=(16, 32)
    )
    config = dataset_config(
        tmp_path / "d.yaml",
        [truth.path],
        camera=COMPRESSED_TOPIC,
        target=TWIST_TOPIC,
        joints=False,
        image_size=(4, 8),
        split=NO_SPLIT,
    )
    splits = load_dataset(config, progress=False)
    episode = _only_episode(splits)
    np.testing.assert_allclose(episode.action[:, 0], truth.ax, atol=1e-6)
    np.testing.assert_allclose(episode.action[:, 1], truth.wz, atol=1e-6)
    assert splits.action_names == ("linear.x", "angular.z")
    assert episode.observations["image"].shape == (len(truth.t_s), 4, 8, 3)
    assert set(episode.observations) == {"image", "imu"}
    # A uniform image stays uniform through the resize.
    expected = image_pixels(truth.ax[3], truth.wz[3], (4, 8))
    np.testing.assert_array_equal(episode.observations["image"][3], expected)


def test_crop_is_cut_before_resizing(tmp_path):
    truth = write_synthetic_bag(tmp_path / "run", seconds=1.0, image_size=(8, 16))
    config = dataset_config(
        tmp_path / "d.yaml",
        [truth.path],
        image={"height": 2, "width": 4, "crop": {"top": 4, "left": 8}},
        split=NO_SPLIT,
    )
    splits = load_dataset(config, progress=False)
    episode = _only_episode(splits)
    assert episode.observations["image"].shape[1:] == (2, 4, 3)
    expected = image_pixels(truth.ax[0], truth.wz[0], (2, 4))
    np.testing.assert_array_equal(episode.observations["image"][0], expected)
    # The crop travels to the robot in the trained policy's spec, also from the cache.
    assert splits.image_crop == (4, 0, 8, 0)
    assert load_dataset(config, progress=False).image_crop == (4, 0, 8, 0)
    assert spec_from_splits(splits).image.crop == (4, 0, 8, 0)


def test_camera_slower_than_the_policy_repeats_the_last_frame(tmp_path):
    truth = write_synthetic_bag(tmp_path / "run", seconds=1.0, rate_hz=10.0)
    config = dataset_config(tmp_path / "d.yaml", [truth.path], rate_hz=40.0, split=NO_SPLIT)
    episode = _only_episode(load_dataset(config, progress=False))
    # Ticks that bring no newer sample are not steps (the node would not step either).
    assert len(episode) == len(truth.t_s)
    np.testing.assert_allclose(episode.dt_s[1:], 0.1, atol=1e-9)


def test_gaps_split_episodes_and_the_split_is_by_episode_and_seeded(tmp_path):
    bags = [
        write_synthetic_bag(
            tmp_path / f"run{i}", seconds=3.0, phase_s=5.0 * i, gaps=[(1.0, 1.8)], joints=False
        ).path
        for i in range(4)
    ]
    split = {"validation": 0.25, "test": 0.25, "seed": 3}
    config = dataset_config(tmp_path / "d.yaml", bags, gap_s=0.3, split=split, joints=False)
    splits = load_dataset(config, progress=False)
    names = {s: [e.name for e in splits.split(s)] for s in ("train", "validation", "test")}
    every = sorted(sum(names.values(), []))
    assert every == sorted(f"run{i}#{k}" for i in range(4) for k in range(2))
    assert len(names["validation"]) == 2 and len(names["test"]) == 2
    for episode in (e for s in ("train", "validation", "test") for e in splits.split(s)):
        assert np.all(np.diff(episode.t_s) < 0.3)
    # Same seed, bags listed in another order: the same split.
    config_reordered = dataset_config(
        tmp_path / "d2.yaml", bags[::-1], gap_s=0.3, split=split, joints=False, cache_dir="c2"
    )
    again = load_dataset(config_reordered, progress=False)
    assert {s: sorted(e.name for e in again.split(s)) for s in names} == {
        s: sorted(v) for s, v in names.items()
    }
    other_seed = dataset_config(
        tmp_path / "d3.yaml", bags, gap_s=0.3, split={**split, "seed": 4}, joints=False
    )
    moved = load_dataset(other_seed, progress=False)
    assert {s: sorted(e.name for e in moved.split(s)) for s in names} != {
        s: sorted(v) for s, v in names.items()
    }


def test_too_few_episodes_for_the_split_is_an_error(tmp_path):
    bag = write_synthetic_bag(tmp_path / "run", seconds=1.0).path
    config = dataset_config(tmp_path / "d.yaml", [bag])
    with pytest.raises(
        DatasetError, match=r"1 episode\(s\) cannot fill train, validation and test"
    ):
        load_dataset(config, progress=False)


def test_folders_of_bags_and_files_inside_a_bag(tmp_path):
    write_synthetic_bag(tmp_path / "runs" / "a", seconds=1.0)
    b = write_synthetic_bag(tmp_path / "runs" / "nested" / "b", seconds=1.0, storage="sqlite3")
    db3 = next(b.path.glob("*.db3"))
    config = dataset_config(tmp_path / "d.yaml", ["runs", str(db3)], split=NO_SPLIT)
    splits = load_dataset(load_dataset_config(config), progress=False)
    assert sorted(e.name for e in splits.train) == ["a#0", "b#0"]


def test_bag_folder_names_must_be_unique(tmp_path):
    one = write_synthetic_bag(tmp_path / "x" / "run", seconds=1.0).path
    two = write_synthetic_bag(tmp_path / "y" / "run", seconds=1.0).path
    config = dataset_config(tmp_path / "d.yaml", [one, two], split=NO_SPLIT)
    with pytest.raises(ConfigError, match="distinct folder names"):
        load_dataset(config, progress=False)


def test_header_clock_against_receive_clock(tmp_path):
    # Received 80 ms after their header stamp (more than a 50 ms period).
    truth = write_synthetic_bag(tmp_path / "run", seconds=1.0, latency_s=0.08)
    header = dataset_config(tmp_path / "h.yaml", [truth.path], split=NO_SPLIT)
    receive = dataset_config(
        tmp_path / "r.yaml", [truth.path], split=NO_SPLIT, clock="receive", cache_dir="c2"
    )
    by_header = _only_episode(load_dataset(header, progress=False))
    by_receive = _only_episode(load_dataset(receive, progress=False))
    # Ticks start with the first command (receive time, no header) in both cases ...
    np.testing.assert_allclose(by_header.t_s[0], truth.t_s[0] + 0.08, atol=1e-9)
    np.testing.assert_allclose(by_receive.t_s[0], truth.t_s[0] + 0.08, atol=1e-9)
    # ... but on the header clock the IMU sample stamped 50 ms after the first is already
    # due at that tick; on the receive clock it arrives 30 ms later.
    np.testing.assert_allclose(by_header.observations["imu"][0, 0], truth.ax[1], atol=1e-6)
    np.testing.assert_allclose(by_receive.observations["imu"][0, 0], truth.ax[0], atol=1e-6)
