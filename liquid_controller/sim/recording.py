"""Simulated sensor samples and executed commands as the rosbag2 a real robot would record.

Topics and types (those of ``config/dataset.yaml``, so ``liquid-controller train`` reads the
bags unchanged): ``/camera/image_raw`` ``sensor_msgs/Image`` (``rgb8``, frame
``camera_optical_frame``), ``/imu/data`` ``sensor_msgs/Imu`` (frame ``imu_link``, orientation
absent: ``orientation_covariance[0] = -1``, REP 145), ``/joint_states``
``sensor_msgs/JointState`` (``left_wheel``, ``right_wheel``) and the executed command on
``/effort_controller/commands`` ``std_msgs/Float64MultiArray`` (no header: its log time is
when it was sent), and on ``/expert/commands`` (same type) the command the expert intended
at that state, without its perturbations: the imitation label. Header stamps and log times
are the simulation time.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from liquid_controller.data import BagMessage, typestore_with_custom_messages, write_bag
from liquid_controller.sim.description import RobotDescription
from liquid_controller.sim.simulation import SensorKind, SensorSample

__all__ = [
    "CAMERA_TOPIC",
    "COMMAND_TOPIC",
    "IMU_TOPIC",
    "JOINT_STATES_TOPIC",
    "LABEL_TOPIC",
    "BagRecorder",
]

CAMERA_TOPIC = "/camera/image_raw"
IMU_TOPIC = "/imu/data"
JOINT_STATES_TOPIC = "/joint_states"
COMMAND_TOPIC = "/effort_controller/commands"
LABEL_TOPIC = "/expert/commands"
NS_PER_S = 1_000_000_000


class BagRecorder:
    """Collect one episode's messages, then write them as one mcap bag."""

    def __init__(self, description: RobotDescription) -> None:
        self._store = typestore_with_custom_messages()
        self._types = self._store.types
        self._robot = description
        self._joints = [wheel.joint for wheel in description.wheels]
        imu = description.imu
        variances = [imu.accel_noise_m_s2**2, imu.gyro_noise_rad_s**2]
        self._imu_covariance = [np.diag([v] * 3).reshape(-1) for v in variances]
        self.messages: list[BagMessage] = []
        self.frames = 0

    def add_samples(self, samples: Sequence[SensorSample]) -> None:
        """Record sensor samples (as published by the robot's drivers)."""
        for sample in samples:
            stamp_ns = round(sample.stamp_s * NS_PER_S)
            if sample.kind is SensorKind.CAMERA:
                self.frames += 1
                topic, message = CAMERA_TOPIC, self._image(stamp_ns, sample.value)
            elif sample.kind is SensorKind.IMU:
                topic, message = IMU_TOPIC, self._imu(stamp_ns, sample.value)
            else:
                topic, message = JOINT_STATES_TOPIC, self._joint_state(stamp_ns, sample.value)
            self.messages.append(BagMessage(topic, stamp_ns, message))

    def add_command(
        self, time_s: float, command: npt.ArrayLike, topic: str = COMMAND_TOPIC
    ) -> None:
        """Record a command at ``time_s`` (by default the one sent to the effort controller)."""
        message = self._types["std_msgs/msg/Float64MultiArray"](
            layout=self._types["std_msgs/msg/MultiArrayLayout"](dim=[], data_offset=0),
            data=np.asarray(command, dtype=np.float64).copy(),
        )
        self.messages.append(BagMessage(topic, round(time_s * NS_PER_S), message))

    def write(self, path: str | Path) -> Path:
        """Write the recorded messages to a new mcap bag folder ``path``."""
        return write_bag(path, self.messages, storage="mcap", typestore=self._store)

    def _header(self, stamp_ns: int, frame_id: str) -> Any:
        stamp = self._types["builtin_interfaces/msg/Time"](
            sec=stamp_ns // NS_PER_S, nanosec=stamp_ns % NS_PER_S
        )
        return self._types["std_msgs/msg/Header"](stamp=stamp, frame_id=frame_id)

    def _image(self, stamp_ns: int, rgb: npt.NDArray[np.uint8]) -> Any:
        height, width = rgb.shape[:2]
        return self._types["sensor_msgs/msg/Image"](
            header=self._header(stamp_ns, self._robot.camera.optical_frame),
            height=height,
            width=width,
            encoding="rgb8",
            is_bigendian=0,
            step=3 * width,
            data=np.ascontiguousarray(rgb, dtype=np.uint8).reshape(-1),
        )

    def _imu(self, stamp_ns: int, reading: npt.NDArray[np.float64]) -> Any:
        vector3 = self._types["geometry_msgs/msg/Vector3"]
        accel_cov, gyro_cov = self._imu_covariance
        return self._types["sensor_msgs/msg/Imu"](
            header=self._header(stamp_ns, self._robot.imu.link),
            orientation=self._types["geometry_msgs/msg/Quaternion"](x=0.0, y=0.0, z=0.0, w=1.0),
            orientation_covariance=np.array([-1.0] + [0.0] * 8),
            angular_velocity=vector3(x=reading[3], y=reading[4], z=reading[5]),
            angular_velocity_covariance=gyro_cov.copy(),
            linear_acceleration=vector3(x=reading[0], y=reading[1], z=reading[2]),
            linear_acceleration_covariance=accel_cov.copy(),
        )

    def _joint_state(self, stamp_ns: int, state: npt.NDArray[np.float64]) -> Any:
        return self._types["sensor_msgs/msg/JointState"](
            header=self._header(stamp_ns, ""),
            name=list(self._joints),
            position=np.array(state[0], dtype=np.float64),
            velocity=np.array(state[1], dtype=np.float64),
            effort=np.zeros(0, dtype=np.float64),
        )
