"""Bags written by rosbags (mcap and sqlite3, Humble and Jazzy stores, raw and compressed camera)
replay into an output bag that the ``mcap`` reader / rosbags read back, with rosbag2's metadata,
the nodes' topics and types, and the comparison with the executed commands."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml
from bag_factory import write_synthetic_bag
from rosbags.highlevel import AnyReader
from test_equivalence import MODEL, SAFETY, read_mcap

from liquid_controller.data.typestore import typestore_with_custom_messages
from liquid_controller.replay import TopicNames, replay_bag

OUTPUT_TYPES = {
    "/effort_controller/commands": "std_msgs/msg/Float64MultiArray",
    "/policy_node/nominal_command": "std_msgs/msg/Float64MultiArray",
    "/policy_node/policy_state": "liquid_controller/msg/PolicyState",
    "/safety_filter_node/safety_status": "liquid_controller/msg/SafetyStatus",
    "/diagnostics": "diagnostic_msgs/msg/DiagnosticArray",
}


def metadata_topics(bag):
    info = yaml.safe_load((bag / "metadata.yaml").read_text())["rosbag2_bagfile_information"]
    assert info["version"] == 9
    return {
        t["topic_metadata"]["name"]: (t["topic_metadata"]["type"], t["message_count"])
        for t in info["topics_with_message_count"]
    }, info


@pytest.mark.parametrize(
    ("storage_in", "store", "camera", "storage_out"),
    [
        ("mcap", "ros2_jazzy", "raw", "mcap"),
        ("sqlite3", "ros2_humble", "compressed", "sqlite3"),
        ("sqlite3", "ros2_jazzy", "raw", "mcap"),
    ],
)
def test_output_bag_holds_the_nodes_topics(tmp_path, storage_in, store, camera, storage_out):
    bag = write_synthetic_bag(
        tmp_path / "in", storage=storage_in, store=store, camera=camera, seconds=1.2,
        rate_hz=30.0, image_size=(24, 32),
    ).path  # fmt: skip
    out = tmp_path / "out"
    result = replay_bag(bag, MODEL, SAFETY, out, storage=storage_out, copy_inputs=True)
    topics, info = metadata_topics(out)
    assert info["storage_identifier"] == storage_out
    for topic, msgtype in OUTPUT_TYPES.items():
        assert topics[topic][0] == msgtype
    ticks = result.summary["ticks"]
    assert topics["/effort_controller/commands"][1] == ticks == 58  # 1.167 s at 50 Hz
    assert topics["/diagnostics"][1] == 2  # one per node, once (1 s period)
    assert topics["/recorded/effort_controller/commands"][1] == 36  # executed, copied through
    assert result.summary["input_storage"] == storage_in
    comparison = result.summary["comparison"]
    assert comparison["topic"] == "/effort_controller/commands"
    assert comparison["compared_ticks"] > 0
    if storage_out == "mcap":
        statuses = read_mcap(out, ["/safety_filter_node/safety_status"])
        commands = read_mcap(out, ["/effort_controller/commands"])
    else:
        with AnyReader([out], default_typestore=typestore_with_custom_messages()) as reader:

            def read(topic):
                conns = [c for c in reader.connections if c.topic == topic]
                return [
                    (topic, t, reader.deserialize(d, c.msgtype))
                    for c, t, d in reader.messages(connections=conns)
                ]

            statuses, commands = (
                read("/safety_filter_node/safety_status"),
                read("/effort_controller/commands"),
            )
    assert len(statuses) == len(commands) == ticks
    for (_, t1, status), (_, t2, command) in zip(statuses, commands, strict=True):
        assert t1 == t2
        np.testing.assert_array_equal(np.array(status.filtered), np.array(command.data))
        assert list(status.actuator_names) == ["left_wheel", "right_wheel"]
        assert command.layout.dim[0].label == "actuators"


def test_report_and_summary_files(tmp_path):
    bag = write_synthetic_bag(
        tmp_path / "in", seconds=1.5, rate_hz=30.0, image_size=(24, 32), gaps=[(0.6, 1.0)]
    ).path
    result = replay_bag(bag, MODEL, SAFETY, tmp_path / "out", report_dir=tmp_path / "report")
    summary = json.loads((tmp_path / "report" / "summary.json").read_text())
    assert summary["ticks"] == result.summary["ticks"]
    assert summary["limit_violations"] == 0
    assert summary["fallback_causes"] == {"stale image, imu": summary["fallbacks"]}
    page = (tmp_path / "report" / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 5  # commands, filter, inputs, timing, raster
    assert "http" not in page.replace("http-equiv", "")  # self-contained


def test_topics_remapped(tmp_path):
    from mcap_bags import sensor_records, write_mcap_bag

    records = [r._replace(topic="/front" + r.topic) for r in sensor_records(0.5)]
    bag = write_mcap_bag(tmp_path / "in", records)
    names = TopicNames(
        camera="/front/camera/image_raw", imu="/front/imu/data", joint_states="/front/joint_states"
    )
    result = replay_bag(bag, MODEL, SAFETY, tmp_path / "out", topics=names)
    assert result.summary["topics"]["camera"] == "/front/camera/image_raw"
    assert result.summary["policy_steps"] > 0
    assert result.summary["comparison"] is None


def test_barrier_values_at_the_joint_state_the_filter_was_given(tmp_path):
    from mcap_bags import JOINTS, sensor_records, write_mcap_bag

    records = sensor_records(0.6)  # wheel velocities (0.5, -0.5) rad/s; limits +-15 rad/s
    # Joint states stop at 0.3 s: h is NaN once they are older than input_timeout_s.
    records = [r for r in records if r.topic != JOINTS or r.stamp_ns < 100.3e9]
    bag = write_mcap_bag(tmp_path / "in", records)
    result = replay_bag(bag, MODEL, SAFETY, tmp_path / "out")
    assert result.summary["barriers"] == {
        "wheel_speed.upper[left_wheel]": {"min_h": 14.5, "ticks_h_negative": 0},
        "wheel_speed.upper[right_wheel]": {"min_h": 15.5, "ticks_h_negative": 0},
        "wheel_speed.lower[left_wheel]": {"min_h": 15.5, "ticks_h_negative": 0},
        "wheel_speed.lower[right_wheel]": {"min_h": 14.5, "ticks_h_negative": 0},
    }
    h = result.recorder.barrier_values.array(5)
    fresh = h[:, 0] <= 0.28 + 0.25  # last joint state at 0.28 s (+1 ms latency)
    assert np.isfinite(h[fresh, 1:]).all() and np.isnan(h[~fresh, 1:]).all()
