"""sensing.joints: JointState mapped by name onto a configured joint order."""

from __future__ import annotations

import array
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from rosbags.typesys import Stores, get_typestore

from liquid_controller.errors import ConfigError, MessageConversionError
from liquid_controller.sensing import JointStateMapper

TYPES = get_typestore(Stores.ROS2_JAZZY).types
JointState = TYPES["sensor_msgs/msg/JointState"]
Header = TYPES["std_msgs/msg/Header"]
Time = TYPES["builtin_interfaces/msg/Time"]


def make_state(names, position, velocity=(), effort=()):
    return JointState(
        header=Header(stamp=Time(sec=0, nanosec=0), frame_id=""),
        name=list(names),
        position=np.asarray(position, dtype=np.float64),
        velocity=np.asarray(velocity, dtype=np.float64),
        effort=np.asarray(effort, dtype=np.float64),
    )


def test_maps_by_name_and_ignores_extra_joints():
    mapper = JointStateMapper(["shoulder", "elbow"])
    msg = make_state(
        ["gripper", "elbow", "shoulder"], [9.0, 2.0, 1.0], [0.9, 0.2, 0.1], [90.0, 20.0, 10.0]
    )
    sample = mapper.map(msg)
    np.testing.assert_array_equal(sample.position, [1.0, 2.0])
    np.testing.assert_array_equal(sample.velocity, [0.1, 0.2])
    np.testing.assert_array_equal(sample.effort, [10.0, 20.0])


def test_empty_velocity_and_effort_are_absent():
    sample = JointStateMapper(["a"]).map(make_state(["a"], [0.5]))
    assert sample.velocity is None and sample.effort is None
    np.testing.assert_array_equal(sample.position, [0.5])


def test_cached_order_follows_a_reordered_message():
    mapper = JointStateMapper(["a", "b"])
    np.testing.assert_array_equal(mapper.map(make_state(["a", "b"], [1, 2])).position, [1, 2])
    np.testing.assert_array_equal(mapper.map(make_state(["b", "a"], [1, 2])).position, [2, 1])
    np.testing.assert_array_equal(mapper.map(make_state(["b", "a"], [3, 4])).position, [4, 3])


def test_rclpy_style_containers():
    class RclpyJointState:
        name = ["b", "a"]
        position = array.array("d", [2.0, 1.0])
        velocity = array.array("d")
        effort = [5, 6]

    sample = JointStateMapper(["a", "b"]).map(RclpyJointState())
    np.testing.assert_array_equal(sample.position, [1.0, 2.0])
    assert sample.velocity is None
    np.testing.assert_array_equal(sample.effort, [6.0, 5.0])


@pytest.mark.parametrize(
    ("msg", "field", "match"),
    [
        (make_state(["a"], [1.0]), "name", r"missing joints \['b'\]; message has \['a'\]"),
        (make_state(["a", "b", "a"], [1, 2, 3]), "name", r"'a' appears twice \(at 0 and 2\)"),
        (make_state(["a", "b"], [1.0]), "position", "got 1 values for 2 names"),
        (make_state(["a", "b"], []), "position", "got 0 values for 2 names"),
        (make_state(["a", "b"], [1, 2], [1.0]), "velocity", "got 1 values for 2 names"),
        (make_state(["a", "b"], [1, 2], [], [1, 2, 3]), "effort", "got 3 values for 2 names"),
        (make_state(["a", "b"], [1, math.nan]), "position[b]", "got nan; expected a finite"),
        (make_state(["a", "b"], [1, 2], [math.inf, 0]), "velocity[a]", "got inf"),
    ],
    ids=[
        "missing",
        "duplicate",
        "short-position",
        "empty-position",
        "short-velocity",
        "long-effort",
        "nan-position",
        "inf-velocity",
    ],
)
def test_errors_name_the_field(msg, field, match):
    with pytest.raises(MessageConversionError, match=match) as info:
        JointStateMapper(["a", "b"]).map(msg)
    assert info.value.field == field


def test_non_finite_value_of_an_unused_joint_is_ignored():
    sample = JointStateMapper(["a"]).map(make_state(["a", "x"], [1.0, math.nan]))
    np.testing.assert_array_equal(sample.position, [1.0])


def test_bad_field_types():
    mapper = JointStateMapper(["a"])
    msg = make_state(["a"], [1.0])
    msg.name = "a"
    with pytest.raises(MessageConversionError, match="expected a list of names") as info:
        mapper.map(msg)
    assert info.value.field == "name"
    msg.name = 7
    with pytest.raises(MessageConversionError, match="got 7; expected a list") as info:
        mapper.map(msg)
    msg.name = ["a", 2]
    with pytest.raises(MessageConversionError, match="got 2; expected a string") as info:
        mapper.map(msg)
    assert info.value.field == "name[1]"
    msg = make_state(["a"], [1.0])
    msg.position = ["one"]
    with pytest.raises(MessageConversionError, match="real numbers") as info:
        mapper.map(msg)
    assert info.value.field == "position"


@pytest.mark.parametrize(
    ("names", "key", "match"),
    [
        ([], "joint_names", "non-empty list"),
        ("elbow", "joint_names", "non-empty list"),
        (["a", ""], r"joint_names\[1\]", "non-empty string"),
        (["a", 3], r"joint_names\[1\]", "non-empty string"),
        (["a", "b", "a"], "joint_names", r"repeated: \['a'\]"),
    ],
)
def test_configuration_is_validated(names, key, match):
    with pytest.raises(ConfigError, match=f"config key '{key}'.*{match}"):
        JointStateMapper(names)


joint_names = st.lists(st.text(min_size=1, max_size=6), min_size=1, max_size=8, unique=True)


@given(joint_names, st.data())
def test_any_permutation_maps_by_name(names, data):
    extra = data.draw(
        st.lists(
            st.text(min_size=1, max_size=6).filter(lambda n: n not in names),
            max_size=3,
            unique=True,
        )
    )
    configured = data.draw(st.permutations(names))
    message_names = data.draw(st.permutations(names + extra))
    # Give each joint a value derived from its name so the expected order is known.
    value = {name: float(sum(map(ord, name)) + len(name) / 10) for name in message_names}
    msg = make_state(
        message_names,
        [value[n] for n in message_names],
        [-value[n] for n in message_names],
        [2 * value[n] for n in message_names],
    )
    sample = JointStateMapper(configured).map(msg)
    expected = np.array([value[n] for n in configured])
    np.testing.assert_array_equal(sample.position, expected)
    np.testing.assert_array_equal(sample.velocity, -expected)
    np.testing.assert_array_equal(sample.effort, 2 * expected)
