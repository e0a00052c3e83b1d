"""data.bags: rosbag2 (mcap, sqlite3) written in tmp_path and read back, custom messages too."""

from __future__ import annotations

import numpy as np
import pytest
from rosbags.rosbag2 import WriterError

from liquid_controller.data import (
    POLICY_STATE,
    SAFETY_STATUS,
    BagMessage,
    StoragePlugin,
    iter_messages,
    read_streams,
    typestore_with_custom_messages,
    write_bag,
)
from liquid_controller.errors import ConfigError, MessageConversionError
from liquid_controller.sensing import header_stamp_ns, image_to_rgb, imu_to_vector

STORE = typestore_with_custom_messages()
T = STORE.types
Header = T["std_msgs/msg/Header"]
Time = T["builtin_interfaces/msg/Time"]
SafetyStatus = T[SAFETY_STATUS]
PolicyState = T[POLICY_STATE]


def header(t_ns):
    return Header(stamp=Time(sec=t_ns // 10**9, nanosec=t_ns % 10**9), frame_id="base")


def safety_status(t_ns, k):
    return SafetyStatus(
        header=header(t_ns),
        nominal=np.array([1.5 * k, -2.0]),
        filtered=np.array([1.0, -2.0]),
        actuator_names=["left_wheel", "right_wheel"],
        intervened=k % 2 == 1,
        status="optimal" if k % 2 else "passthrough",
        reason="",
        active_constraints=["effort_max[left_wheel]"] if k % 2 else [],
        slack=np.array([0.0, 0.25 * k]),
        solve_time_s=1e-4 * k,
    )


def policy_state(t_ns, k):
    return PolicyState(
        header=header(t_ns),
        activity=np.linspace(-1.0, 1.0, 5) * k,
        neuron_types=["inter", "inter", "command", "motor", "motor"],
        dt_s=0.02,
        inference_time_s=3e-4,
        state_reset=k == 0,
    )


def imu(t_ns, k):
    vector3 = T["geometry_msgs/msg/Vector3"]
    return T["sensor_msgs/msg/Imu"](
        header=header(t_ns),
        orientation=T["geometry_msgs/msg/Quaternion"](0.0, 0.0, 0.0, 1.0),
        orientation_covariance=np.array([-1.0] + [0.0] * 8),
        angular_velocity=vector3(0.0, 0.0, 0.1 * k),
        angular_velocity_covariance=np.zeros(9),
        linear_acceleration=vector3(0.0, 0.0, 9.81),
        linear_acceleration_covariance=np.zeros(9),
    )


def image(t_ns, k):
    pixels = np.full((4, 6, 3), k, np.uint8)
    pixels[..., 2] = 200
    return T["sensor_msgs/msg/Image"](
        header=header(t_ns),
        height=4,
        width=6,
        encoding="bgr8",
        is_bigendian=0,
        step=18,
        data=pixels.reshape(-1),
    )


def recording():
    """Three topics at different rates, written out of time order."""
    records = []
    for k in range(3):
        t = 1_000_000_000 + k * 20_000_000
        records.append(BagMessage("/controller/safety_status", t + 1, safety_status(t, k)))
        records.append(BagMessage("/policy/policy_state", t, policy_state(t, k)))
    for k in range(6):
        t = 1_000_000_000 + k * 10_000_000
        records.append(BagMessage("/imu/data", t, imu(t, k)))
    records.append(BagMessage("/camera/image_raw", 1_005_000_000, image(1_005_000_000, 7)))
    return records[::-1]


@pytest.mark.parametrize(
    ("storage", "suffix"),
    [
        (StoragePlugin.MCAP, "mcap"),
        (StoragePlugin.SQLITE3, "db3"),
        ("sqlite3", "db3"),
        ("MCAP", "mcap"),
    ],
)
def test_round_trip_preserves_every_field(tmp_path, storage, suffix):
    records = recording()
    bag = write_bag(tmp_path / "bag", records, storage=storage)
    assert [p.suffix for p in bag.iterdir() if p.name != "metadata.yaml"] == [f".{suffix}"]

    read = list(iter_messages(bag))
    assert [r.timestamp_ns for r in read] == sorted(r.timestamp_ns for r in records)
    originals = {(r.topic, r.timestamp_ns): r.message for r in records}
    assert len(read) == len(originals)
    for record in read:
        original = originals[(record.topic, record.timestamp_ns)]
        assert record.msgtype == type(original).__msgtype__
        # Re-serialising both gives the same CDR bytes only if every field survived.
        assert bytes(STORE.serialize_cdr(record.message, record.msgtype)) == bytes(
            STORE.serialize_cdr(original, record.msgtype)
        )


def test_custom_message_fields_read_back(tmp_path):
    bag = write_bag(tmp_path / "bag", recording(), storage="mcap")
    streams = read_streams(bag, ["/controller/safety_status", "/policy/policy_state"])
    assert set(streams) == {"/controller/safety_status", "/policy/policy_state"}
    status = streams["/controller/safety_status"]
    assert status.msgtype == SAFETY_STATUS
    np.testing.assert_array_equal(
        status.timestamps_ns, [1_000_000_001, 1_020_000_001, 1_040_000_001]
    )
    last = status.messages[-1]
    np.testing.assert_array_equal(last.nominal, [3.0, -2.0])
    np.testing.assert_array_equal(last.slack, [0.0, 0.5])
    assert last.actuator_names == ["left_wheel", "right_wheel"]
    assert (last.intervened, last.status, last.active_constraints) == (
        False,
        "passthrough",
        [],
    )
    state = streams["/policy/policy_state"].messages[0]
    assert state.neuron_types[2] == "command" and state.state_reset is True
    assert header_stamp_ns(state) == 1_000_000_000


def test_streams_feed_the_sensing_converters(tmp_path):
    bag = write_bag(tmp_path / "bag", recording(), storage="sqlite3")
    streams = read_streams(bag, ["/imu/data", "/camera/image_raw"])
    imu_stream = streams["/imu/data"]
    assert imu_stream.timestamps_ns.dtype == np.int64
    assert np.all(np.diff(imu_stream.timestamps_ns) == 10_000_000)
    np.testing.assert_allclose(imu_to_vector(imu_stream.messages[5]), [0, 0, 9.81, 0, 0, 0.5])
    rgb = image_to_rgb(streams["/camera/image_raw"].messages[0])
    np.testing.assert_array_equal(rgb[0, 0], [200, 7, 7])


def test_bags_embed_definitions_so_a_plain_store_reads_them(tmp_path):
    from rosbags.typesys import Stores, get_typestore

    bag = write_bag(tmp_path / "bag", recording(), storage="mcap")
    plain = get_typestore(Stores.ROS2_JAZZY)  # no custom messages registered
    first = next(iter_messages(bag, ["/controller/safety_status"], typestore=plain))
    assert first.message.status == "passthrough"


def test_humble_store_writes_and_reads(tmp_path):
    humble = typestore_with_custom_messages("ros2_humble")
    msg = humble.types[POLICY_STATE](
        header=humble.types["std_msgs/msg/Header"](
            stamp=humble.types["builtin_interfaces/msg/Time"](sec=1, nanosec=0), frame_id=""
        ),
        activity=np.array([0.5]),
        neuron_types=["unit"],
        dt_s=0.01,
        inference_time_s=0.0,
        state_reset=False,
    )
    bag = write_bag(tmp_path / "bag", [BagMessage("/s", 5, msg)], typestore=humble)
    (read,) = iter_messages(bag, typestore=humble)
    np.testing.assert_array_equal(read.message.activity, [0.5])


def test_empty_topic_selection_and_unknown_topics(tmp_path):
    bag = write_bag(tmp_path / "bag", recording(), storage="mcap")
    assert list(iter_messages(bag, [])) == []
    with pytest.raises(ConfigError, match=r"config key 'topics'.*\['/nope'\].*'/imu/data'"):
        list(iter_messages(bag, ["/imu/data", "/nope"]))
    with pytest.raises(ConfigError, match="config key 'path'"):
        list(iter_messages(tmp_path / "missing"))


def test_write_errors(tmp_path):
    good = BagMessage("/s", 1, policy_state(1, 0))
    with pytest.raises(ConfigError, match=r"config key 'storage'.*'zip'.*\['mcap', 'sqlite3'\]"):
        write_bag(tmp_path / "a", [good], storage="zip")
    with pytest.raises(MessageConversionError, match="got -5") as info:
        write_bag(tmp_path / "b", [good._replace(timestamp_ns=-5)])
    assert info.value.field == "timestamp_ns"
    with pytest.raises(MessageConversionError, match="got 1.5") as info:
        write_bag(tmp_path / "c", [good._replace(timestamp_ns=1.5)])
    with pytest.raises(MessageConversionError, match="no __msgtype__") as info:
        write_bag(tmp_path / "d", [BagMessage("/s", 1, object())])
    assert info.value.field == "msgtype"
    with pytest.raises(MessageConversionError, match="'pkg/msg/Nope'.*not in the type store"):
        write_bag(tmp_path / "e", [good._replace(msgtype="pkg/msg/Nope")])
    broken = policy_state(1, 0)
    broken.neuron_types = 3
    with pytest.raises(MessageConversionError, match="does not serialise as") as info:
        write_bag(tmp_path / "f", [BagMessage("/s", 1, broken)])
    assert info.value.field == "message"
    write_bag(tmp_path / "g", [good])
    with pytest.raises(WriterError, match="exists already"):
        write_bag(tmp_path / "g", [good])
