"""train.dataset: bad data gets a clear error and nothing is written to the cache."""

from __future__ import annotations

import re

import numpy as np
import pytest
from bag_factory import (
    CAMERA_TOPIC,
    EFFORT_TOPIC,
    IMU_TOPIC,
    JOINT_TOPIC,
    Record,
    dataset_config,
    float64_array_msg,
    image_msg,
    imu_msg,
    typestore,
    write_messages,
    write_synthetic_bag,
)

from liquid_controller.errors import ConfigError, DatasetError
from liquid_controller.train.dataset import load_dataset

NO_SPLIT = {"validation": 0, "test": 0}


def _load_fails(tmp_path, bag, match, **config):
    path = dataset_config(tmp_path / "d.yaml", [bag], split=NO_SPLIT, **config)
    with pytest.raises(DatasetError, match=match) as raised:
        load_dataset(path, progress=False)
    cache = tmp_path / "cache"
    assert not cache.exists() or not any(cache.iterdir()), "a failed build left files behind"
    return str(raised.value)


def test_missing_topic_lists_the_topics_and_types_present(tmp_path):
    bag = write_synthetic_bag(tmp_path / "run", seconds=0.5, joints=False).path
    message = _load_fails(tmp_path, bag, "has no topic /joint_states", joints=True)
    assert "(topics.joint_states)" in message
    for pair in (
        f"{CAMERA_TOPIC} (sensor_msgs/msg/Image)",
        f"{IMU_TOPIC} (sensor_msgs/msg/Imu)",
        f"{EFFORT_TOPIC} (std_msgs/msg/Float64MultiArray)",
    ):
        assert pair in message


def test_a_type_that_does_not_fit_its_role(tmp_path):
    bag = write_synthetic_bag(tmp_path / "run", seconds=0.5).path
    path = dataset_config(tmp_path / "d.yaml", [bag], split=NO_SPLIT, joints=False)
    text = path.read_text().replace(f"imu: {IMU_TOPIC}", f"imu: {JOINT_TOPIC}")
    path.write_text(text)
    with pytest.raises(
        DatasetError,
        match=re.escape(
            f"topic {JOINT_TOPIC} (topics.imu) carries sensor_msgs/msg/JointState; "
            "the imu role takes sensor_msgs/msg/Imu"
        ),
    ):
        load_dataset(path, progress=False)


def test_empty_bag(tmp_path):
    bag = write_messages(
        tmp_path / "empty",
        [],
        topics=[
            (IMU_TOPIC, "sensor_msgs/msg/Imu"),
            (EFFORT_TOPIC, "std_msgs/msg/Float64MultiArray"),
        ],
    )
    _load_fails(
        tmp_path,
        bag,
        r"is empty \(no messages; topics: /effort_controller",
        camera=None,
        joints=False,
    )


def test_a_topic_without_messages(tmp_path):
    store = typestore()
    records = [Record(IMU_TOPIC, "sensor_msgs/msg/Imu", 10**9, imu_msg(store, 10**9, 0.0, 0.0))]
    bag = write_messages(
        tmp_path / "quiet", records, topics=[(EFFORT_TOPIC, "std_msgs/msg/Float64MultiArray")]
    )
    _load_fails(
        tmp_path,
        bag,
        f"topic {EFFORT_TOPIC} \\(topics.target\\) has no usable sample",
        camera=None,
        joints=False,
    )


def test_truncated_mcap_says_where_it_breaks(tmp_path):
    bag = write_synthetic_bag(tmp_path / "run", seconds=2.0).path
    (storage,) = bag.glob("*.mcap")
    data = storage.read_bytes()
    storage.write_bytes(data[: int(len(data) * 0.6)])
    message = _load_fails(tmp_path, bag, "cannot be opened \\(damaged or truncated file\\?\\)")
    assert re.search(rf"run\.mcap: intact up to byte \d+ of {int(len(data) * 0.6)}", message)


def test_truncated_sqlite3(tmp_path):
    bag = write_synthetic_bag(tmp_path / "run", seconds=2.0, storage="sqlite3").path
    (storage,) = bag.glob("*.db3")
    data = storage.read_bytes()
    storage.write_bytes(data[: len(data) // 2])
    _load_fails(tmp_path, bag, "cannot be opened \\(damaged or truncated file\\?\\).*malformed")


def test_corrupt_bytes_inside_an_mcap(tmp_path):
    bag = write_synthetic_bag(tmp_path / "run", seconds=2.0).path
    (storage,) = bag.glob("*.mcap")
    data = bytearray(storage.read_bytes())
    middle = len(data) // 3
    data[middle : middle + 200] = b"\xff" * 200
    storage.write_bytes(bytes(data))
    _load_fails(tmp_path, bag, f"bag {re.escape(str(bag))}: .*damaged")


def test_images_that_change_size_mid_bag(tmp_path):
    store = typestore()
    records = []
    for k in range(10):
        stamp = (1 + k) * 10**8
        size = (8, 16) if k < 6 else (10, 16)
        pixels = np.zeros((*size, 3), np.uint8)
        records.append(
            Record(CAMERA_TOPIC, "sensor_msgs/msg/Image", stamp, image_msg(store, stamp, pixels))
        )
        records.append(
            Record(IMU_TOPIC, "sensor_msgs/msg/Imu", stamp, imu_msg(store, stamp, 0.0, 0.0))
        )
        command = float64_array_msg(store, [0.0, 0.0])
        records.append(Record(EFFORT_TOPIC, "std_msgs/msg/Float64MultiArray", stamp, command))
    bag = write_messages(tmp_path / "resized", records)
    _load_fails(
        tmp_path,
        bag,
        re.escape(f"topic {CAMERA_TOPIC} message #6")
        + ".*image is 10x16, but the topic's first image was 8x16",
        joints=False,
    )


def test_wrong_number_of_command_values(tmp_path):
    bag = write_synthetic_bag(tmp_path / "run", seconds=0.5).path
    _load_fails(
        tmp_path,
        bag,
        re.escape(f"topic {EFFORT_TOPIC} message #0")
        + ".*holds 2 values; expected one per action \\(3: a, b, c\\)",
        actions=["a", "b", "c"],
    )


def test_nan_samples_are_dropped_and_counted(tmp_path):
    truth = write_synthetic_bag(tmp_path / "run", seconds=1.0, nan_imu_at=[5, 6])
    path = dataset_config(tmp_path / "d.yaml", [truth.path], split=NO_SPLIT)
    splits = load_dataset(path, progress=False)
    (episode,) = splits.train
    assert splits.statistics["dropped_non_finite"] == {"run": {IMU_TOPIC: 2}}
    imu = np.asarray(episode.observations["imu"])
    assert np.all(np.isfinite(imu))
    # Ticks 5 and 6 still step (camera, joints and command are new) with the last good IMU.
    assert len(episode) == len(truth.t_s)
    np.testing.assert_allclose(imu[5:7, 5], truth.wz[4], atol=1e-6)


def test_a_topic_with_only_non_finite_samples(tmp_path):
    truth = write_synthetic_bag(tmp_path / "run", seconds=0.5, nan_imu_at=range(10))
    _load_fails(
        tmp_path, truth.path, r"topics.imu\) has no usable sample \(10 dropped for NaN/inf\)"
    )


@pytest.mark.parametrize(
    ("override", "key", "expected"),
    [
        ({"rate": 20}, "rate", "one of the known keys"),
        ({"rate_hz": 0}, "rate_hz", "a number > 0"),
        ({"clock": "wall"}, "clock", "header or receive"),
        ({"split": {"validation": 0.5, "test": 0.5}}, "split.test", "validation \\+ test < 1"),
        (
            {"joints": False, "topics": {"imu": IMU_TOPIC, "joint_states": JOINT_TOPIC}},
            "joints",
            "joints.names when topics.joint_states is set",
        ),
        ({"twist_fields": ["linear.w"]}, "twist_fields\\[0\\]", "one of linear.x"),
        ({"image": {"height": 0}}, "image.height", "an integer >= 1"),
        ({"curation": {"max_bin_fraction": 2}}, "curation.max_bin_fraction", "a fraction"),
        ({"gap_s": 0.01}, "gap_s", "at least one policy period"),
    ],
)
def test_config_errors_name_the_key(tmp_path, override, key, expected):
    path = dataset_config(tmp_path / "d.yaml", ["somewhere"], **override)
    with pytest.raises(ConfigError, match=f"config key '{key}'.*{expected}"):
        load_dataset(path, progress=False)


def test_bag_paths_that_hold_no_recording(tmp_path):
    (tmp_path / "empty_folder").mkdir()
    for entry, expected in (
        ("missing", "an existing bag folder"),
        ("empty_folder", "no metadata.yaml"),
    ):
        path = dataset_config(tmp_path / "d.yaml", [entry])
        with pytest.raises(ConfigError, match=f"config key 'bags\\[0\\]'.*{expected}"):
            load_dataset(path, progress=False)


def _truncated_multi_chunk_bag(tmp_path, keep=0.8):
    """3 s of 96x128 frames (about 2.3 MB: rosbags closes a chunk every 1 MiB), cut short."""
    truth = write_synthetic_bag(tmp_path / "run", seconds=3.0, image_size=(96, 128))
    (storage,) = truth.path.glob("*.mcap")
    data = storage.read_bytes()
    storage.write_bytes(data[: int(len(data) * keep)])
    return truth, len(data)


def test_a_truncated_mcap_error_points_to_keep_readable(tmp_path):
    truth, _ = _truncated_multi_chunk_bag(tmp_path)
    message = _load_fails(tmp_path, truth.path, "cannot be opened")
    assert "complete messages before it" in message
    assert "damaged_bags: keep_readable uses what comes before the damage" in message


def test_keep_readable_uses_the_messages_before_the_damage(tmp_path):
    truth, _ = _truncated_multi_chunk_bag(tmp_path)
    path = dataset_config(
        tmp_path / "d.yaml", [truth.path], split=NO_SPLIT, damaged_bags="keep_readable"
    )
    splits = load_dataset(path, progress=False)
    (episode,) = splits.train
    assert 10 < len(episode) < len(truth.t_s)
    count = len(episode)
    np.testing.assert_allclose(episode.action, truth.action[:count], atol=1e-6)
    np.testing.assert_allclose(episode.observations["imu"][:, 5], truth.wz[:count], atol=1e-6)
    assert "run.mcap: intact up to byte" in splits.statistics["damaged_bags"]["run"]


def test_walking_an_intact_mcap_finds_what_rosbags_reads(tmp_path):
    from liquid_controller.data import iter_messages
    from liquid_controller.data.mcap_walk import walk_mcap

    truth = write_synthetic_bag(tmp_path / "run", seconds=3.0, image_size=(96, 128))
    (storage,) = truth.path.glob("*.mcap")
    walk = walk_mcap(storage)
    assert walk.damage is None
    expected = [(m.topic, m.timestamp_ns) for m in iter_messages(truth.path)]
    found = sorted(((walk.channels[c][0], t) for c, t, _ in walk.messages), key=lambda x: x[1])
    assert sorted(found) == sorted(expected)
