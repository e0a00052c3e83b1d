"""numpy -> rclpy message translation (liquid_controller.ros.messages), in the ROS venv."""

from __future__ import annotations

import enum
from types import SimpleNamespace

import numpy as np
import pytest
from builtin_interfaces.msg import Time
from diagnostic_msgs.msg import DiagnosticStatus
from geometry_msgs.msg import Twist, Wrench
from hypothesis import given
from hypothesis import strategies as st
from rclpy.qos import ReliabilityPolicy
from std_msgs.msg import Float64MultiArray

from liquid_controller.errors import ConfigError
from liquid_controller.ros.messages import (
    CommandEncoder,
    diagnostic_array,
    float64_sequence,
    policy_state_msg,
    safety_status_msg,
)
from liquid_controller.ros.qos import command_qos, sensor_qos

finite = st.floats(allow_nan=False, allow_infinity=False, width=64)


@given(st.lists(finite, max_size=12))
def test_float64_multi_array_carries_the_exact_values(values):
    msg = CommandEncoder("float64_multi_array", [f"j{i}" for i in range(len(values))]).encode(
        np.array(values)
    )
    assert isinstance(msg, Float64MultiArray)
    assert list(msg.data) == values
    assert msg.layout.dim[0].size == len(values)


def test_float64_sequence_accepts_float32_and_lists():
    assert list(float64_sequence(np.float32([0.5, -2.0]))) == [0.5, -2.0]
    assert list(float64_sequence([1, 2])) == [1.0, 2.0]


def test_twist_maps_actuator_names_to_fields():
    msg = CommandEncoder("twist", ["linear.x", "angular.z"]).encode([0.3, -1.2])
    assert isinstance(msg, Twist)
    assert (msg.linear.x, msg.linear.y, msg.angular.z) == (0.3, 0.0, -1.2)


def test_wrench_maps_actuator_names_to_fields():
    msg = CommandEncoder("wrench", ["force.z", "torque.y"]).encode([9.0, 0.25])
    assert isinstance(msg, Wrench)
    assert (msg.force.z, msg.torque.y, msg.force.x) == (9.0, 0.25, 0.0)


def test_twist_with_joint_names_is_rejected_naming_the_actuator():
    with pytest.raises(ConfigError, match=r"command_type.*left_wheel"):
        CommandEncoder("twist", ["left_wheel", "right_wheel"])


def test_unknown_command_type_is_rejected_with_the_choices():
    with pytest.raises(
        ConfigError, match=r"'joint_trajectory'.*float64_multi_array, twist, wrench"
    ):
        CommandEncoder("joint_trajectory", ["a"])


def test_policy_state_fields():
    msg = policy_state_msg(
        stamp=Time(sec=3, nanosec=5),
        frame_id="base_link",
        activity=np.arange(3.0),
        neuron_types=["inter", "command", "motor"],
        dt_s=0.02,
        inference_time_s=1e-4,
        state_reset=True,
    )
    assert list(msg.activity) == [0.0, 1.0, 2.0]
    assert msg.neuron_types == ["inter", "command", "motor"]
    assert (msg.header.stamp.sec, msg.header.stamp.nanosec) == (3, 5)
    assert msg.dt_s == 0.02 and msg.state_reset is True


def test_safety_status_without_a_nominal_has_an_empty_nominal():
    msg = safety_status_msg(
        stamp=Time(sec=1),
        frame_id="",
        nominal=None,
        filtered=[0.0, 0.0],
        actuator_names=["l", "r"],
        intervened=True,
        status="fallback_stale_input",
        reason="nominal stale",
        active_constraints=["effort_max[l]"],
        slack=[],
        solve_time_s=0.0,
    )
    assert list(msg.nominal) == [] and list(msg.filtered) == [0.0, 0.0]
    assert msg.status == "fallback_stale_input" and msg.active_constraints == ["effort_max[l]"]


class _Level(enum.Enum):
    OK = 0
    WARN = 1
    ERROR = 2
    STALE = 3


def test_diagnostic_records_become_statuses():
    records = [
        SimpleNamespace(
            name="inputs", level=_Level.WARN, message="imu stale", values={"rate": 1.5}
        ),
        SimpleNamespace(name="policy", level="OK", message="", values=[("drops", 0)]),
    ]
    msg = diagnostic_array(Time(), records, hardware_id="policy_node")
    assert [s.level for s in msg.status] == [DiagnosticStatus.WARN, DiagnosticStatus.OK]
    assert [(kv.key, kv.value) for kv in msg.status[0].values] == [("rate", "1.5")]
    assert msg.status[1].hardware_id == "policy_node"


def test_diagnostic_level_outside_the_four_is_an_error():
    record = SimpleNamespace(name="x", level="FATAL", message="", values={})
    with pytest.raises(ValueError, match="FATAL"):
        diagnostic_array(Time(), [record], hardware_id="n")


def test_qos_profiles():
    assert sensor_qos(3).reliability == ReliabilityPolicy.BEST_EFFORT
    assert sensor_qos(3).depth == 3
    assert sensor_qos(1, "reliable").reliability == ReliabilityPolicy.RELIABLE
    assert command_qos().reliability == ReliabilityPolicy.RELIABLE
    with pytest.raises(ConfigError, match="sensor_qos_depth"):
        sensor_qos(0)
    with pytest.raises(ConfigError, match="sensor_qos_reliability"):
        sensor_qos(2, "sometimes")
