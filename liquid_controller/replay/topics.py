"""Which topics of the input bag feed which input, checked against what the bag holds.

Defaults are the nodes' topic names in the root namespace (``/camera/image_raw`` or
``/camera/image_raw/compressed``, ``/imu/data``, ``/joint_states``) and the actuator topic
for the executed commands; each can be remapped. A needed topic that is missing, or that
carries another type, is an error listing every topic the bag has, with its type.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import NamedTuple

from liquid_controller.control.policy_runner import IMAGE_INPUT
from liquid_controller.control.sensor_feed import (
    IMU_INPUT,
    JOINT_POSITION_INPUT,
    JOINT_VELOCITY_INPUT,
)
from liquid_controller.errors import ConfigError

__all__ = [
    "COMMAND_TOPIC",
    "IMAGE_TYPES",
    "InputTopics",
    "resolve_topics",
]

CAMERA_TOPIC = "/camera/image_raw"
COMPRESSED_CAMERA_TOPIC = "/camera/image_raw/compressed"
IMU_TOPIC = "/imu/data"
JOINT_STATES_TOPIC = "/joint_states"
COMMAND_TOPIC = "/effort_controller/commands"
IMAGE_TYPES = {"sensor_msgs/msg/Image": "raw", "sensor_msgs/msg/CompressedImage": "compressed"}
IMU_TYPE = "sensor_msgs/msg/Imu"
JOINT_STATE_TYPE = "sensor_msgs/msg/JointState"
COMMAND_TYPE = "std_msgs/msg/Float64MultiArray"


class InputTopics(NamedTuple):
    """The topics a replay reads (``None``: not read)."""

    camera: str | None
    camera_transport: str | None
    """``"raw"`` or ``"compressed"``, from the camera topic's type."""
    imu: str | None
    joint_states: str | None
    executed: str | None
    """The commands the robot executed, compared with the replayed ones."""

    def names(self) -> list[str]:
        """Every topic read."""
        return [t for t in (self.camera, self.imu, self.joint_states, self.executed) if t]


def _listing(bag_topics: Mapping[str, str]) -> str:
    if not bag_topics:
        return "the bag has no topics"
    return "the bag has " + ", ".join(f"{t} ({m})" for t, m in sorted(bag_topics.items()))


def resolve_topics(
    bag_topics: Mapping[str, str],
    policy_inputs: Collection[str],
    *,
    joint_states_required: bool,
    camera: str | None = None,
    imu: str | None = None,
    joint_states: str | None = None,
    executed: str | None = None,
) -> InputTopics:
    """Choose the input topics for a policy with inputs ``policy_inputs``.

    Args:
        bag_topics: ``{topic: message type}`` of the bag.
        policy_inputs: the policy runner's input names (``image``, ``imu``, joints).
        joint_states_required: the safety runner needs joint states (``require_joint_state``).
        camera: the camera topic (``None``: raw, else compressed, default name).
        imu: the IMU topic (``None``: the default).
        joint_states: the joint-state topic (``None``: the default).
        executed: the executed commands' topic (``None``: the actuator topic, if present).

    Raises:
        ConfigError: a needed topic is missing or carries another type (``topics``); the
            message lists the bag's topics.
    """
    problems: list[str] = []

    def pick(
        given: str | None, defaults: tuple[str, ...], types: Collection[str], need: bool
    ) -> str | None:
        candidates = (given,) if given else defaults
        for topic in candidates:
            if topic in bag_topics:
                if bag_topics[topic] not in types:
                    problems.append(f"{topic} carries {bag_topics[topic]}, expected {types}")
                    return None
                return topic
        if need:
            problems.append(f"{' or '.join(candidates)} ({' / '.join(types)}) is missing")
        return None

    needs_camera = IMAGE_INPUT in policy_inputs
    needs_joints = joint_states_required or bool(
        {JOINT_POSITION_INPUT, JOINT_VELOCITY_INPUT} & set(policy_inputs)
    )
    camera_topic = (
        pick(camera, (CAMERA_TOPIC, COMPRESSED_CAMERA_TOPIC), tuple(IMAGE_TYPES), True)
        if needs_camera
        else None
    )
    imu_topic = pick(imu, (IMU_TOPIC,), (IMU_TYPE,), True) if IMU_INPUT in policy_inputs else None
    joints_topic = pick(joint_states, (JOINT_STATES_TOPIC,), (JOINT_STATE_TYPE,), needs_joints)
    executed_topic = pick(executed, (COMMAND_TOPIC,), (COMMAND_TYPE,), executed is not None)
    if problems:
        raise ConfigError("topics", "; ".join(problems), _listing(bag_topics))
    transport = IMAGE_TYPES[bag_topics[camera_topic]] if camera_topic else None
    return InputTopics(camera_topic, transport, imu_topic, joints_topic, executed_topic)
