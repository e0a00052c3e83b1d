"""Sensor messages -> runner inputs, by the nodes' rules, without subscriptions.

What a node's subscription callback does with one message, given the node time of its
arrival: convert it (:mod:`liquid_controller.sensing`), take its header stamp, and submit
it to the runner; a message that does not convert (unknown encoding, NaN, a missing joint
...) is dropped and counted per input by the runner and never reaches the policy. The
rclpy nodes (:mod:`liquid_controller.ros.inputs`) and offline replay
(:mod:`liquid_controller.replay`) both call these, so a bag replayed offline is fed exactly
as the live nodes are fed. Messages are duck-typed: anything with the ROS 2 field names
(rclpy messages, ``rosbags`` type-store objects).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from liquid_controller.control.diagnostics import WindowStats
from liquid_controller.control.policy_runner import IMAGE_INPUT, PolicyRunner
from liquid_controller.control.safety_runner import JOINT_STATE_INPUT, SafetyRunner
from liquid_controller.errors import ConfigError, MessageConversionError
from liquid_controller.runtime.spec import PolicySpec
from liquid_controller.sensing import (
    JointSample,
    JointStateMapper,
    header_stamp_ns,
    image_to_rgb,
    imu_to_vector,
)

__all__ = [
    "IMU_INPUT",
    "JOINT_POSITION_INPUT",
    "JOINT_VELOCITY_INPUT",
    "JointConsumer",
    "JointFeed",
    "PolicyFeed",
    "SafetyJoints",
    "feed_safety_joints",
    "policy_joint_names",
]

IMU_INPUT = "imu"
JOINT_POSITION_INPUT = "joint_position"
JOINT_VELOCITY_INPUT = "joint_velocity"
NS_PER_S = 1e9
AGE_WINDOW = 500
OnMessage = Callable[[str, float], None]


def _ignore(name: str, now_s: float) -> None:
    """Default ``on_message``: no rate metering."""


class PolicyFeed:
    """Feed camera, IMU and joint-state messages to a :class:`PolicyRunner`.

    Args:
        runner: receives the converted samples (``submit`` / ``record_drop``).
        on_message: called with (input name, now) for every arriving message (rates).
    """

    def __init__(self, runner: PolicyRunner, *, on_message: OnMessage | None = None) -> None:
        self._runner = runner
        self._on_message = on_message or _ignore
        self.arrival_age: dict[str, WindowStats] = {}
        """Per input: node time at arrival minus header stamp, seconds (sensor + transport
        latency, meaningful when the sensor and the node share a clock)."""
        names = set(runner.input_names)
        self.joint_inputs = tuple(
            n for n in (JOINT_POSITION_INPUT, JOINT_VELOCITY_INPUT) if n in names
        )
        """The policy's joint inputs (empty: it reads no joint state)."""

    def image(self, msg: Any, now_s: float) -> bool:
        """Submit a ``sensor_msgs/Image`` or ``CompressedImage``; return whether it was accepted."""
        self._on_message(IMAGE_INPUT, now_s)
        try:
            height, width, _ = self._runner.input_shape(IMAGE_INPUT)
            crop = self._runner.spec.image.crop if self._runner.spec.image else None
            # Fused (without a crop): the channel shuffle runs on the small, resized image.
            image = image_to_rgb(msg, (height, width), crop=crop)
            stamp = header_stamp_ns(msg) / NS_PER_S
        except MessageConversionError as err:
            self._runner.record_drop(IMAGE_INPUT, str(err))
            return False
        return self._submit(IMAGE_INPUT, image, stamp, now_s)

    def imu(self, msg: Any, now_s: float) -> bool:
        """Submit a ``sensor_msgs/Imu``; return whether it was accepted."""
        self._on_message(IMU_INPUT, now_s)
        try:
            vector = imu_to_vector(msg)
            stamp = header_stamp_ns(msg) / NS_PER_S
        except MessageConversionError as err:
            self._runner.record_drop(IMU_INPUT, str(err))
            return False
        return self._submit(IMU_INPUT, vector, stamp, now_s)

    def _submit(self, name: str, value: Any, stamp_s: float, now_s: float) -> bool:
        if self._runner.submit(name, value, stamp_s=stamp_s, now_s=now_s) is not None:
            return False
        self.arrival_age.setdefault(name, WindowStats(AGE_WINDOW)).add(now_s - stamp_s)
        return True

    def accept_joints(self, sample: JointSample, stamp_s: float, now_s: float) -> None:
        """Submit the policy's joint inputs from a converted joint state."""
        for name in self.joint_inputs:
            values = sample.position if name == JOINT_POSITION_INPUT else sample.velocity
            if values is None:
                self._runner.record_drop(name, "joint state has no velocity")
            else:
                self._runner.submit(name, values, stamp_s=stamp_s, now_s=now_s)

    def reject_joints(self, reason: str) -> None:
        """Count a joint state that did not convert against the policy's joint inputs."""
        for name in self.joint_inputs:
            self._runner.record_drop(name, reason)


def feed_safety_joints(
    runner: SafetyRunner, sample: JointSample, stamp_s: float, now_s: float
) -> None:
    """Feed a joint state (actuator order) to a safety runner; no velocity -> dropped."""
    if sample.velocity is None:
        runner.record_drop(JOINT_STATE_INPUT, "joint state has no velocity")
        return
    runner.submit_joint_state(sample.position, sample.velocity, stamp_s=stamp_s, now_s=now_s)


class SafetyJoints:
    """The safety runner as a :class:`JointConsumer`."""

    def __init__(self, runner: SafetyRunner) -> None:
        self._runner = runner

    def accept_joints(self, sample: JointSample, stamp_s: float, now_s: float) -> None:
        """See :func:`feed_safety_joints`."""
        feed_safety_joints(self._runner, sample, stamp_s, now_s)

    def reject_joints(self, reason: str) -> None:
        """Count a joint state that did not convert."""
        self._runner.record_drop(JOINT_STATE_INPUT, reason)


class JointConsumer(Protocol):
    """Something fed by :class:`JointFeed` (the policy side, the safety side)."""

    def accept_joints(self, sample: JointSample, stamp_s: float, now_s: float) -> None:
        """Take a joint state mapped onto the configured joint order."""
        ...

    def reject_joints(self, reason: str) -> None:
        """Count a joint state that did not convert."""
        ...


class JointFeed:
    """One joint-state stream feeding every consumer, each mapped by name.

    Each consumer names the joints it needs in its own order (actuator order for the
    safety runner, the spec's order for the policy); the message order does not matter.

    Args:
        consumers: ``(joint_names, consumer)`` pairs.
        on_message: called with (``"joint_state"``, now) for every arriving message.

    Raises:
        ConfigError: a consumer's joint names are empty.
    """

    def __init__(
        self,
        consumers: Sequence[tuple[Sequence[str], JointConsumer]],
        *,
        on_message: OnMessage | None = None,
    ) -> None:
        self._on_message = on_message or _ignore
        self._consumers = []
        for names, consumer in consumers:
            if not names:
                raise ConfigError("joint_names", list(names), "the joint names to read (non-empty)")
            self._consumers.append((JointStateMapper(names), consumer))

    def joint_state(self, msg: Any, now_s: float) -> None:
        """Map a ``sensor_msgs/JointState`` for each consumer and hand it over."""
        self._on_message(JOINT_STATE_INPUT, now_s)
        try:
            stamp = header_stamp_ns(msg) / NS_PER_S
        except MessageConversionError as err:
            for _, consumer in self._consumers:
                consumer.reject_joints(str(err))
            return
        for mapper, consumer in self._consumers:
            try:
                sample = mapper.map(msg)
            except MessageConversionError as err:
                consumer.reject_joints(str(err))
                continue
            consumer.accept_joints(sample, stamp, now_s)


def policy_joint_names(
    spec: PolicySpec, joint_inputs: Sequence[str], override: Sequence[str]
) -> list[str]:
    """Joint order of a policy's joint inputs: ``override`` (``joint_names``), else the spec's."""
    if override:
        return list(override)
    for vector in spec.vectors:
        if vector.name in joint_inputs:
            return list(vector.fields)
    return []
