"""Live replay: the nodes on use_sim_time, fed by a player of a bag written here, as
``ros2 launch liquid_controller replay.launch.py`` runs them with ``ros2 bag play --clock``.

The bag (rosbag2's sqlite3 tables, messages serialised by rclpy) holds 2 s of a 30 Hz camera,
a 100 Hz IMU and 50 Hz joint states. ``bag_player.py`` publishes /clock at 200 Hz (the launch
file's default ``clock_rate``) and the messages at their recorded times, then runs the clock
on for 1 s of bag time. (At ``--clock``'s default 40 Hz the same run steps at about 39 Hz:
each /clock message moves time 25 ms, past a whole 20 ms period.) The controller must
publish finite commands within the limits, filtered from the policy's nominal while the
bag plays, at the control rate of the bag's clock, and the safe command once the bag has
ended.
"""

from __future__ import annotations

import math
import sqlite3
import sys
from pathlib import Path

from builtin_interfaces.msg import Time
from liquid_controller.msg import SafetyStatus
from rclpy.serialization import serialize_message
from sensor_feed import make_raw_image
from sensor_msgs.msg import Imu, JointState
from std_msgs.msg import Float64MultiArray
from test_controller_node import EFFORT_MAX, SAFETY_YAML

NS = 1_000_000_000
START_NS = 1_000 * NS
BAG_S = 2.0
RATE_HZ = 50.0


def stamp(ns: int) -> Time:
    return Time(sec=ns // NS, nanosec=ns % NS)


def write_bag(folder: Path) -> Path:
    """Camera, IMU and joint states in rosbag2's sqlite3 tables; return the .db3 file."""
    folder.mkdir()
    path = folder / "replay_0.db3"
    db = sqlite3.connect(path)
    db.execute(
        "CREATE TABLE topics(id INTEGER PRIMARY KEY, name TEXT NOT NULL, type TEXT NOT NULL, "
        "serialization_format TEXT NOT NULL, offered_qos_profiles TEXT NOT NULL)"
    )
    db.execute(
        "CREATE TABLE messages(id INTEGER PRIMARY KEY, topic_id INTEGER NOT NULL, "
        "timestamp INTEGER NOT NULL, data BLOB NOT NULL)"
    )
    topics = [
        (1, "/camera/image_raw", "sensor_msgs/msg/Image", 30.0),
        (2, "/imu/data", "sensor_msgs/msg/Imu", 100.0),
        (3, "/joint_states", "sensor_msgs/msg/JointState", 50.0),
    ]
    image = make_raw_image()
    imu = Imu()
    imu.orientation_covariance[0] = -1.0
    imu.linear_acceleration.z = 9.81
    joints = JointState(name=["left_wheel", "right_wheel"], position=[0.0, 0.0])
    for topic_id, name, msgtype, rate in topics:
        db.execute("INSERT INTO topics VALUES (?, ?, ?, 'cdr', '')", (topic_id, name, msgtype))
        for k in range(int(BAG_S * rate)):
            t_ns = START_NS + round(k * NS / rate)
            msg = {1: image, 2: imu, 3: joints}[topic_id]
            msg.header.stamp = stamp(t_ns)
            if topic_id == 3:
                msg.velocity = [0.1 * math.sin(k / 10), 0.1]
            db.execute(
                "INSERT INTO messages (topic_id, timestamp, data) VALUES (?, ?, ?)",
                (topic_id, t_ns + 1_000_000, serialize_message(msg)),
            )
    db.commit()
    db.close()
    return path


def test_nodes_on_the_bags_clock_command_within_limits_then_fall_back(
    tmp_path, ros_node, start_node, start_process, write_safety_config
):
    db = write_bag(tmp_path / "bag")
    start_node(
        "controller_node",
        params={
            "use_sim_time": True,
            "rate_hz": RATE_HZ,
            "input_timeout_s": 0.2,
            "safety_config": str(write_safety_config(SAFETY_YAML)),
        },
    )
    commands = ros_node.subscribe("/effort_controller/commands", Float64MultiArray)
    statuses = ros_node.subscribe("/controller_node/safety_status", SafetyStatus)
    player_script = str(Path(__file__).with_name("bag_player.py"))
    # clock 200 Hz (replay.launch.py's clock_rate), playback rate 1.0, clock tail 1.0 s
    player = start_process([sys.executable, player_script, str(db), "200", "1.0", "1.0"])
    # Spin the test node meanwhile: it receives only while it spins.
    ros_node.wait_for(
        lambda: "played 360 messages" in player.output(), timeout_s=30.0, what="the bag played"
    )
    ros_node.wait_for(
        lambda: any("stale" in s.reason for s in statuses.messages[-10:]),
        timeout_s=10.0,
        what="the safe command after the bag ended",
    )
    ros_node.spin_for(0.3)
    assert commands.messages, "no command at all"
    for command in commands.messages:
        assert len(command.data) == 2
        assert all(math.isfinite(u) and abs(u) <= EFFORT_MAX + 1e-9 for u in command.data)
    filtered = [s for s in statuses.messages if len(s.nominal) == 2]
    stamps_s = [s.header.stamp.sec + s.header.stamp.nanosec / NS for s in filtered]
    assert stamps_s, "no command was filtered from a policy nominal"
    # On the bag's clock: every status stamped inside the bag's time, and the 50 Hz timer
    # stepping at 50 Hz of bag time (a 40 Hz /clock would cap it at 40 steps per second).
    assert min(stamps_s) >= START_NS / NS and max(stamps_s) <= START_NS / NS + BAG_S + 0.25
    span_s = max(stamps_s) - min(stamps_s)
    assert len(filtered) / span_s > 45.0, (len(filtered), span_s)
    last = statuses.messages[-1]
    assert last.status.startswith("fallback") and "stale" in last.reason
    assert list(commands.messages[-1].data) == [0.0, 0.0]  # the safe command (zero)
