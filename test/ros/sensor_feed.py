"""Camera, IMU and joint-state messages for the node integration tests, published periodically."""

from __future__ import annotations

import array
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from builtin_interfaces.msg import Time
from PIL import Image as PILImage
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CompressedImage, Image, Imu

CAMERA = "/camera/image_raw"
COMPRESSED_CAMERA = "/camera/image_raw/compressed"
IMU = "/imu/data"
IMAGE_HEIGHT, IMAGE_WIDTH = 120, 160  # the node resizes to the policy's input


def sample_pixels() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (IMAGE_HEIGHT, IMAGE_WIDTH, 3), np.uint8)


def make_raw_image() -> Image:
    msg = Image(height=IMAGE_HEIGHT, width=IMAGE_WIDTH, encoding="rgb8", step=IMAGE_WIDTH * 3)
    msg.data = array.array("B", sample_pixels().tobytes())
    return msg


def make_jpeg_image() -> CompressedImage:
    buffer = io.BytesIO()
    PILImage.fromarray(sample_pixels()).save(buffer, format="JPEG", quality=90)
    msg = CompressedImage(format="jpeg")
    msg.data = array.array("B", buffer.getvalue())
    return msg


def seconds_to_time(seconds: float) -> Time:
    sec = int(seconds)
    return Time(sec=sec, nanosec=min(int(round((seconds - sec) * 1e9)), 999_999_999))


@dataclass
class SensorFeed:
    """Periodic camera and IMU publishers on the test node; ``stop`` cancels them.

    Attributes:
        ros_node: the harness's test node.
        compressed: publish ``CompressedImage`` (JPEG) instead of a raw ``Image``.
        now_s: the stamp source, seconds (default: the test node's clock; a simulated
            clock for ``use_sim_time`` tests).
        imu_angular_z: value of the IMU's angular velocity z (NaN/inf to test drops).
    """

    ros_node: Any
    compressed: bool = False
    now_s: Callable[[], float] | None = None
    imu_angular_z: float = 0.1
    timers: dict[str, Any] = field(default_factory=dict)

    def _stamp(self) -> Time:
        if self.now_s is None:
            return self.ros_node.node.get_clock().now().to_msg()
        return seconds_to_time(self.now_s())

    def _camera(self) -> tuple[str, Any]:
        if self.compressed:
            return COMPRESSED_CAMERA, make_jpeg_image()
        return CAMERA, make_raw_image()

    def start_camera(self, rate_hz: float = 30.0) -> None:
        topic, image = self._camera()

        def publish() -> Any:
            image.header.stamp = self._stamp()
            return image

        self.timers["camera"] = self.ros_node.publish_periodically(
            topic, publish, rate_hz, qos_profile_sensor_data
        )

    def start_imu(self, rate_hz: float = 100.0) -> None:
        imu = Imu()
        imu.orientation_covariance[0] = -1.0  # no orientation (REP 145)
        imu.linear_acceleration.z = 9.81

        def publish() -> Imu:
            imu.header.stamp = self._stamp()
            imu.angular_velocity.z = self.imu_angular_z
            return imu

        self.timers["imu"] = self.ros_node.publish_periodically(
            IMU, publish, rate_hz, qos_profile_sensor_data
        )

    def start(self, camera_hz: float = 30.0, imu_hz: float = 100.0) -> SensorFeed:
        topic, image = self._camera()
        self.ros_node.wait_for_subscribers(topic, type(image))
        self.ros_node.wait_for_subscribers(IMU, Imu)
        self.start_camera(camera_hz)
        self.start_imu(imu_hz)
        return self

    def stop(self, name: str | None = None) -> None:
        for key in [name] if name else list(self.timers):
            self.timers.pop(key).cancel()
