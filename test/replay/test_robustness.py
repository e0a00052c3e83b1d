"""Bad bags: missing topics, wrong types, unsupported encodings, stamps backwards or repeated,
duplicated messages, long gaps, truncated and corrupt files. None crashes the replay or puts a
command outside the limits; each is named in the summary."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from mcap_bags import CAMERA, IMU, image, sensor_records, write_mcap_bag
from test_equivalence import MODEL, SAFETY, read_mcap

from liquid_controller.cli import main
from liquid_controller.errors import ConfigError, LiquidControllerError
from liquid_controller.replay import replay_bag

NS = 1_000_000_000


def replay(tmp_path, records, **kwargs):
    bag = write_mcap_bag(tmp_path / "in", records)
    return replay_bag(bag, MODEL, SAFETY, tmp_path / "out", **kwargs).summary


def inputs(summary):
    return {i["topic"]: i for i in summary["inputs"]}


def test_missing_topic_lists_what_the_bag_has(tmp_path):
    records = [r for r in sensor_records(0.3) if r.topic != IMU]
    with pytest.raises(ConfigError, match=r"/imu/data \(sensor_msgs/msg/Imu\) is missing") as err:
        replay(tmp_path, records)
    assert "the bag has /camera/image_raw (sensor_msgs/msg/Image), /joint_states" in str(err.value)
    assert not (tmp_path / "out").exists()


def test_wrong_type_on_a_topic(tmp_path):
    records = [
        r._replace(topic=CAMERA) if r.topic == "/joint_states" else r
        for r in sensor_records(0.3)
        if r.topic != CAMERA
    ]
    with pytest.raises(ConfigError, match="/camera/image_raw carries sensor_msgs/msg/JointState"):
        replay(tmp_path, records)


def test_unsupported_encoding_is_dropped_and_falls_back(tmp_path):
    records = [
        r._replace(message=image(r.stamp_ns, 5, encoding="32FC1"))
        if r.topic == CAMERA and r.stamp_ns > 100.4e9 else r
        for r in sensor_records(1.0)
    ]  # fmt: skip
    summary = replay(tmp_path, records)
    assert summary["dropped"]["policy.image"] == 17  # frames 13..29
    assert "32FC1" in summary["last_drop_reason"]
    assert summary["fallback_causes"] == {"stale image": summary["fallbacks"]}
    assert summary["fallbacks"] > 0 and summary["limit_violations"] == 0


def test_header_stamps_backwards_and_repeated(tmp_path):
    records = sensor_records(1.0)
    edited = []
    for r in records:
        if r.topic == IMU and 100.3e9 < r.stamp_ns < 100.5e9:
            header = {**r.message["header"], "stamp": {"sec": 99, "nanosec": 0}}
            r = r._replace(message={**r.message, "header": header})
        edited.append(r)
    summary = replay(tmp_path, edited)
    imu = inputs(summary)[IMU]
    assert imu["header_stamp_backwards"] == 1
    assert imu["header_stamp_repeats"] == 18  # 19 messages carry the same stamp
    assert summary["limit_violations"] == 0
    assert summary["ticks"] == 49


def test_duplicated_messages(tmp_path):
    records = sensor_records(0.6)
    doubled = [copy for r in records for copy in ((r, r) if r.topic == IMU else (r,))]
    summary = replay(tmp_path, doubled)
    imu = inputs(summary)[IMU]
    assert imu["messages"] == 120 and imu["header_stamp_repeats"] == 60
    assert summary["limit_violations"] == 0 and summary["fallbacks"] == 0


def test_long_gap_is_shown_as_fallback_not_a_crash(tmp_path):
    records = [r for r in sensor_records(2.0) if not 100.5e9 <= r.stamp_ns < 101.5e9]
    summary = replay(tmp_path, records)
    camera, both = summary["fallback_intervals_listed"]
    # The last frame is at 0.467 s and the last IMU sample at 0.49 s; each times out 0.25 s
    # later (ticks every 20 ms); the first tick after the data returns at 1.5 s resumes.
    assert (camera["cause"], camera["start_s"], camera["end_s"]) == ("stale image", 0.72, 0.76)
    assert (both["cause"], both["start_s"], both["end_s"]) == ("stale image, imu", 0.76, 1.5)
    for topic in (CAMERA, IMU, "/joint_states"):
        assert inputs(summary)[topic]["gaps_over_timeout"] == 1
    assert summary["dt_clamps"].get("first_step") == 2  # reset on resume


def test_time_going_backwards_in_a_walked_file(tmp_path):
    # Without metadata.yaml the file is walked in file order: log times can go backwards.
    records = sensor_records(0.6)
    late = records.pop(5)
    records.insert(30, late)
    bag = write_mcap_bag(tmp_path / "in", records, metadata=False)
    summary = replay_bag(bag, MODEL, SAFETY, tmp_path / "out").summary
    assert summary["out_of_order_log_times"] == 1
    assert summary["damage"] is None
    assert summary["limit_violations"] == 0


def truncated_bag(tmp_path, fraction=0.6):
    bag = write_mcap_bag(tmp_path / "in", sensor_records(1.2), chunk_size=16_384)
    file = next(bag.glob("*.mcap"))
    data = file.read_bytes()
    file.write_bytes(data[: int(len(data) * fraction)])
    return bag


def test_truncated_mcap_replays_up_to_the_damage_and_writes_a_valid_bag(tmp_path):
    bag = truncated_bag(tmp_path)
    result = replay_bag(bag, MODEL, SAFETY, tmp_path / "out")
    damage = result.summary["damage"]
    assert "intact up to byte" in damage and "the last logged at" in damage
    last_logged_s = float(damage.rsplit("the last logged at ", 1)[1].split(" s")[0])
    commands = read_mcap(tmp_path / "out", ["/effort_controller/commands"])
    assert 0.4 < len(commands) / 59 < 1.0  # 60 % of the file: part of the bag, not all
    assert commands[-1][1] <= last_logged_s * NS
    info = yaml.safe_load((tmp_path / "out" / "metadata.yaml").read_text())
    assert info["rosbag2_bagfile_information"]["message_count"] > len(commands)


def test_cli_exit_status_says_damaged(tmp_path, capsys):
    bag = truncated_bag(tmp_path)
    code = main(["replay", str(bag), "--out", str(tmp_path / "out"), "--no-report"])
    assert code == 2
    assert "DAMAGED INPUT" in capsys.readouterr().out


def test_corrupt_sqlite3_replays_up_to_the_damage(tmp_path):
    from bag_factory import write_synthetic_bag

    bag = write_synthetic_bag(
        tmp_path / "in", storage="sqlite3", seconds=2.0, rate_hz=30.0, image_size=(48, 64)
    ).path
    db = next(bag.glob("*.db3"))
    data = bytearray(db.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 4096] = b"\xff" * 4096
    db.write_bytes(bytes(data))
    result = replay_bag(bag, MODEL, SAFETY, tmp_path / "out")
    assert "unreadable after message row" in result.summary["damage"]
    assert 0 < result.summary["ticks"] < 98
    assert (tmp_path / "out" / "metadata.yaml").is_file()


def test_nothing_readable_says_the_bag_is_damaged(tmp_path):
    bag = truncated_bag(tmp_path, fraction=0.01)
    with pytest.raises(LiquidControllerError, match="the bag is damaged: in.mcap: intact up to"):
        replay_bag(bag, MODEL, SAFETY, tmp_path / "out")


def test_undecodable_message_is_counted_and_skipped(tmp_path):
    from bag_factory import image_msg, imu_msg, typestore
    from rosbags.rosbag2 import StoragePlugin, Writer

    store = typestore()
    bag = tmp_path / "in"
    rgb = np.zeros((24, 32, 3), dtype=np.uint8)
    with Writer(bag, version=9, storage_plugin=StoragePlugin.MCAP) as writer:
        camera = writer.add_connection(CAMERA, "sensor_msgs/msg/Image", typestore=store)
        imu = writer.add_connection(IMU, "sensor_msgs/msg/Imu", typestore=store)
        for k in range(30):
            stamp = 100 * NS + k * 20_000_000
            frame = store.serialize_cdr(image_msg(store, stamp, rgb), "sensor_msgs/msg/Image")
            writer.write(camera, stamp, frame[:60] if k == 7 else frame)  # k = 7 cut short
            sample = store.serialize_cdr(imu_msg(store, stamp, 0.1, 0.0), "sensor_msgs/msg/Imu")
            writer.write(imu, stamp, sample)
    summary = replay_bag(bag, MODEL, SAFETY, tmp_path / "out").summary
    assert summary["undecodable"] == {"camera": 1}
    assert summary["first_undecodable"].startswith("/camera/image_raw at 100.140 s")
    assert inputs(summary)[CAMERA]["undecodable"] == 1
    # The policy kept stepping on the other frames (no joint states here: the filter's state
    # barriers make it publish its safe command, a separate matter).
    assert summary["policy_steps"] == summary["ticks"] == 29
    assert summary["limit_violations"] == 0
