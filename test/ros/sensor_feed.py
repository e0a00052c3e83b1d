"""Camera, IMU and joint-state messages for the node integration tests, published periodically."""

from __future__ import annotations

import array
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import Image, Imu, JointState

CAMERA = "/camera/image_raw"
IMU = "/imu/data"
JOINT_STATES = "/joint_states"
IMAGE_HEIGHT, IMAGE_WIDTH = 120, 160  # the node resizes to the policy's input


def stamp_now(ros_node: Any, msg: Any) -> Any:
    msg.header.stamp = ros_node.node.get_clock().now().to_msg()
    return msg


def make_image(ros_node: Any) -> Image:
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (IMAGE_HEIGHT, IMAGE_WIDTH, 3), dtype=np.uint8)
    msg = Image(height=IMAGE_HEIGHT, width=IMAGE_WIDTH, encoding="rgb8", step=IMAGE_WIDTH * 3)
    msg.data = array.array("B", pixels.tobytes())
    return stamp_now(ros_node, msg)


def make_imu(ros_node: Any, angular_z: float = 0.1) -> Imu:
    msg = Imu()
    msg.orientation_covariance[0] = -1.0  # no orientation (REP 145)
    msg.linear_acceleration.z = 9.81
    msg.angular_velocity.z = angular_z
    return stamp_now(ros_node, msg)


def make_joint_state(ros_node: Any, names: list[str]) -> JointState:
    msg = JointState(name=list(names), position=[0.0] * len(names), velocity=[0.0] * len(names))
    return stamp_now(ros_node, msg)


@dataclass
class SensorFeed:
    """Periodic camera and IMU publishers on the test node; ``stop`` cancels them."""

    ros_node: Any
    timers: dict[str, Any] = field(default_factory=dict)
    imu_angular_z: float = 0.1
    last_camera_publish_s: float = math.nan

    def start_camera(self, rate_hz: float = 30.0) -> None:
        image = make_image(self.ros_node)
        clock = self.ros_node.node.get_clock()

        def publish() -> Image:
            image.header.stamp = clock.now().to_msg()
            self.last_camera_publish_s = clock.now().nanoseconds * 1e-9
            return image

        self.timers["camera"] = self.ros_node.publish_periodically(
            CAMERA, publish, rate_hz, qos_profile_sensor_data
        )

    def start_imu(self, rate_hz: float = 100.0) -> None:
        self.timers["imu"] = self.ros_node.publish_periodically(
            IMU, lambda: make_imu(self.ros_node, self.imu_angular_z), rate_hz,
            qos_profile_sensor_data,
        )  # fmt: skip

    def start(self, camera_hz: float = 30.0, imu_hz: float = 100.0) -> SensorFeed:
        self.ros_node.wait_for_subscribers(CAMERA, Image)
        self.ros_node.wait_for_subscribers(IMU, Imu)
        self.start_camera(camera_hz)
        self.start_imu(imu_hz)
        return self

    def stop(self, name: str | None = None) -> None:
        for key in [name] if name else list(self.timers):
            self.timers.pop(key).cancel()
