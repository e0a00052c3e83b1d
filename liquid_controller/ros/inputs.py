"""Sensor subscriptions: ROS message -> runner (through ``control.sensor_feed``).

:class:`PolicyInputs` feeds a ``PolicyRunner`` (``policy_node`` and the composed
``controller_node``). Only the inputs the loaded policy needs are subscribed: the camera
when its spec has an image, the IMU when it has an ``imu`` vector. Joint states come
through one :class:`JointStateInput` per node, mapped by name once and handed to every
consumer (the policy's ``joint_position`` / ``joint_velocity`` inputs, the safety runner).
What happens to a message (conversion, drops, stamps) is the ROS-free feed's, which
offline replay uses too; this module only subscribes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from rclpy.node import Node
from rclpy.qos import QoSProfile
from sensor_msgs.msg import CompressedImage, Image, Imu, JointState

from liquid_controller.control.policy_runner import IMAGE_INPUT, PolicyRunner
from liquid_controller.control.sensor_feed import (
    IMU_INPUT,
    JOINT_POSITION_INPUT,
    JOINT_VELOCITY_INPUT,
    JointConsumer,
    JointFeed,
    PolicyFeed,
)
from liquid_controller.errors import ConfigError
from liquid_controller.sensing import JointSample, image_to_rgb

__all__ = [
    "CAMERA_TOPIC",
    "COMPRESSED_CAMERA_TOPIC",
    "IMU_INPUT",
    "IMU_TOPIC",
    "JOINT_POSITION_INPUT",
    "JOINT_STATE_INPUT",
    "JOINT_STATES_TOPIC",
    "JOINT_VELOCITY_INPUT",
    "JointConsumer",
    "JointStateInput",
    "PolicyInputs",
]

# Relative names: identical to /camera/image_raw ... in the root namespace, and pushed into a
# robot's namespace when the node is launched in one. Remap them like any ROS topic.
CAMERA_TOPIC = "camera/image_raw"
COMPRESSED_CAMERA_TOPIC = "camera/image_raw/compressed"
IMU_TOPIC = "imu/data"
JOINT_STATES_TOPIC = "joint_states"
JOINT_STATE_INPUT = "joint_state"
Wrap = Callable[[str, Callable[[Any], None]], Callable[[Any], Any]]


def _unwrapped(name: str, callback: Callable[[Any], None]) -> Callable[[Any], Any]:
    """Default ``wrap``: the callback itself."""
    return callback


class PolicyInputs:
    """Subscribe the sensors a policy needs and feed them to its runner.

    Args:
        node: the node owning the subscriptions.
        runner: receives the converted samples (``submit`` / ``record_drop``).
        now_s: the node clock in seconds (simulation time under ``use_sim_time``).
        camera_transport: ``"raw"`` (sensor_msgs/Image) or ``"compressed"``.
        qos: sensor QoS profile.
        on_camera: called after each accepted camera frame with the callback's start
            time (``time.perf_counter``), for ``trigger:=camera``.
        on_message: called with (input name, now) for every arriving message (rates).
        wrap: wraps each subscription callback under a name (the node's ``CallbackGuard``).

    Raises:
        ConfigError: unknown camera transport.
    """

    def __init__(
        self,
        node: Node,
        runner: PolicyRunner,
        now_s: Callable[[], float],
        *,
        camera_transport: str,
        qos: QoSProfile,
        on_camera: Callable[[float], None] | None = None,
        on_message: Callable[[str, float], None] | None = None,
        wrap: Wrap = _unwrapped,
    ) -> None:
        if camera_transport not in ("raw", "compressed"):
            raise ConfigError("camera_transport", camera_transport, "'raw' or 'compressed'")
        self._runner = runner
        self._now_s = now_s
        self._on_camera = on_camera
        self._feed = PolicyFeed(runner, on_message=on_message)
        self.arrival_age = self._feed.arrival_age
        self.joint_inputs = self._feed.joint_inputs
        names = set(runner.input_names)
        self.subscriptions: list[Any] = []
        if IMAGE_INPUT in names:
            msg_type, topic = (
                (Image, CAMERA_TOPIC)
                if camera_transport == "raw"
                else (CompressedImage, COMPRESSED_CAMERA_TOPIC)
            )
            self.subscriptions.append(
                node.create_subscription(msg_type, topic, wrap("camera", self._on_image_msg), qos)
            )
            if camera_transport == "raw":
                _warm_up_image_conversion(runner.input_shape(IMAGE_INPUT)[:2])
        if IMU_INPUT in names:
            self.subscriptions.append(
                node.create_subscription(Imu, IMU_TOPIC, wrap("imu", self._on_imu_msg), qos)
            )

    def _on_image_msg(self, msg: Any) -> None:
        started = time.perf_counter()
        if self._feed.image(msg, self._now_s()) and self._on_camera is not None:
            self._on_camera(started)

    def _on_imu_msg(self, msg: Any) -> None:
        self._feed.imu(msg, self._now_s())

    def accept_joints(self, sample: JointSample, stamp_s: float, now_s: float) -> None:
        """Submit the policy's joint inputs from a converted joint state."""
        self._feed.accept_joints(sample, stamp_s, now_s)

    def reject_joints(self, reason: str) -> None:
        """Count a joint state that did not convert against the policy's joint inputs."""
        self._feed.reject_joints(reason)


def _warm_up_image_conversion(size: tuple[int, ...]) -> None:
    """Convert one black rgb8 frame of twice ``size`` to ``size``.

    The first resize of a process pays ~2-3 ms of lazy set-up, which would otherwise land
    in the first camera callback.
    """
    height, width = size
    frame = Image(height=2 * height, width=2 * width, encoding="rgb8", step=6 * width)
    frame.data = bytes(frame.step * frame.height)
    image_to_rgb(frame, (height, width))


class JointStateInput:
    """One ``joint_states`` subscription feeding every consumer, each mapped by name.

    Each consumer names the joints it needs in its own order (actuator order for the
    safety runner, the spec's order for the policy); the message order does not matter.

    Args:
        node: the node owning the subscription.
        qos: sensor QoS profile.
        now_s: the node clock in seconds.
        consumers: ``(joint_names, consumer)`` pairs.
        on_message: called with (``"joint_state"``, now) for every arriving message.
        wrap: wraps the subscription callback under a name (the node's ``CallbackGuard``).

    Raises:
        ConfigError: a consumer's joint names are empty or repeated.
    """

    def __init__(
        self,
        node: Node,
        qos: QoSProfile,
        now_s: Callable[[], float],
        consumers: Sequence[tuple[Sequence[str], JointConsumer]],
        on_message: Callable[[str, float], None] | None = None,
        wrap: Wrap = _unwrapped,
    ) -> None:
        self._now_s = now_s
        self._feed = JointFeed(consumers, on_message=on_message)
        self.subscription = node.create_subscription(
            JointState, JOINT_STATES_TOPIC, wrap("joint_states", self._on_msg), qos
        )

    def _on_msg(self, msg: Any) -> None:
        self._feed.joint_state(msg, self._now_s())
