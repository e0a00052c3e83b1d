r"""A small differential-drive robot on a checkered floor: torques in, camera/IMU/joints out.

This is the embedded plant of ``liquid-controller demo``: numpy only, deterministic for a
seed, fast enough to run the whole pipeline in real time on a Raspberry Pi class board.
It is a planar rigid-body model, not a physics engine: no wheel slip, no collisions.

Wheel dynamics match the example robot's safety config (``config/safety.yaml``):

.. math:: \dot\omega_i = u_i / I - d\,\omega_i, \qquad
          v = r(\omega_l + \omega_r)/2, \qquad \dot\theta = r(\omega_r - \omega_l)/L

The camera looks ahead from height ``camera_height_m``, pitched down by ``camera_pitch_rad``,
and sees a checkerboard floor (ray/ground-plane intersection per pixel); rows above the
horizon are sky.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

__all__ = ["DiffDriveParams", "SensorFrame", "ToyDiffDrive"]

FloatArray = npt.NDArray[np.float64]
GRAVITY_M_S2 = 9.81


@dataclass(frozen=True)
class DiffDriveParams:
    """Geometry, wheel model and sensor noise (SI units)."""

    wheel_radius_m: float = 0.1
    track_width_m: float = 0.3
    wheel_inertia_kg_m2: float = 0.02
    wheel_damping_per_s: float = 0.5
    camera_height_m: float = 0.3
    camera_pitch_rad: float = 0.35
    camera_fov_rad: float = 1.2
    checker_size_m: float = 0.5
    imu_accel_noise_m_s2: float = 0.05
    imu_gyro_noise_rad_s: float = 0.01


class SensorFrame(NamedTuple):
    """What the robot's sensors report at one instant."""

    image: npt.NDArray[np.uint8]
    """(height, width, 3) RGB camera frame."""
    imu: FloatArray
    """linear acceleration xyz (m/s^2, gravity included) and angular velocity xyz (rad/s)."""
    joint_position: FloatArray
    """Wheel angles (rad), actuator order left, right."""
    joint_velocity: FloatArray
    """Wheel speeds (rad/s)."""


class ToyDiffDrive:
    """Integrate the robot under wheel torques and render its sensors.

    Args:
        image_size: (height, width) of the camera frame.
        params: robot parameters.
        seed: seed of the sensor noise and of the start pose.
    """

    def __init__(
        self,
        image_size: tuple[int, int] = (66, 200),
        params: DiffDriveParams | None = None,
        seed: int = 0,
    ) -> None:
        self.params = params or DiffDriveParams()
        self._rng = np.random.default_rng(seed)
        self.pose = np.array([0.0, 0.0, self._rng.uniform(-np.pi, np.pi)])  # x, y, heading
        self.wheel_angle = np.zeros(2)
        self.wheel_speed = np.zeros(2)
        self._accel = np.zeros(2)  # body-frame forward and lateral acceleration
        self._rays = _camera_rays(image_size, self.params)

    @property
    def forward_speed_m_s(self) -> float:
        """Forward speed of the robot body."""
        return float(self.params.wheel_radius_m * self.wheel_speed.mean())

    @property
    def yaw_rate_rad_s(self) -> float:
        """Turn rate of the robot body (counter-clockwise positive)."""
        p = self.params
        return float(
            p.wheel_radius_m * (self.wheel_speed[1] - self.wheel_speed[0]) / p.track_width_m
        )

    def step(self, torque_nm: FloatArray, dt_s: float) -> None:
        """Advance by ``dt_s`` seconds with wheel torques ``torque_nm`` (left, right) held."""
        p = self.params
        speed_before = self.forward_speed_m_s
        accel = torque_nm / p.wheel_inertia_kg_m2 - p.wheel_damping_per_s * self.wheel_speed
        self.wheel_speed = self.wheel_speed + accel * dt_s
        self.wheel_angle = self.wheel_angle + self.wheel_speed * dt_s
        speed, yaw_rate = self.forward_speed_m_s, self.yaw_rate_rad_s
        heading = self.pose[2] + yaw_rate * dt_s
        self.pose = self.pose + np.array(
            [speed * np.cos(heading) * dt_s, speed * np.sin(heading) * dt_s, yaw_rate * dt_s]
        )
        self._accel = np.array([(speed - speed_before) / dt_s, speed * yaw_rate])

    def sense(self) -> SensorFrame:
        """Render the camera and read the IMU (with noise) and wheel encoders."""
        p = self.params
        noise = self._rng.normal(size=6) * np.repeat(
            [p.imu_accel_noise_m_s2, p.imu_gyro_noise_rad_s], 3
        )
        imu = np.array([*self._accel, GRAVITY_M_S2, 0.0, 0.0, self.yaw_rate_rad_s]) + noise
        return SensorFrame(
            image=self._render(),
            imu=imu,
            joint_position=self.wheel_angle.copy(),
            joint_velocity=self.wheel_speed.copy(),
        )

    def _render(self) -> npt.NDArray[np.uint8]:
        forward, lateral, down = self._rays
        x, y, heading = self.pose
        cos_h, sin_h = np.cos(heading), np.sin(heading)
        with np.errstate(divide="ignore", invalid="ignore"):
            distance = self.params.camera_height_m / down  # ray parameter to the floor
        world_x = x + distance * (forward * cos_h - lateral * sin_h)
        world_y = y + distance * (forward * sin_h + lateral * cos_h)
        cell = self.params.checker_size_m
        floor = down > 1e-3
        checker = (
            np.floor(np.where(floor, world_x, 0.0) / cell)
            + np.floor(np.where(floor, world_y, 0.0) / cell)
        ) % 2
        # Floor: light/dark grey-green checkers fading with distance; sky: blue.
        fade = np.clip(1.0 - np.where(floor, distance, 0.0) / 20.0, 0.3, 1.0)
        shade = (90.0 + 110.0 * checker) * fade
        image = np.empty((*down.shape, 3), dtype=np.uint8)
        image[..., 0] = np.where(floor, shade * 0.8, 110.0)
        image[..., 1] = np.where(floor, shade, 160.0)
        image[..., 2] = np.where(floor, shade * 0.7, 230.0)
        return image


def _camera_rays(
    image_size: tuple[int, int], params: DiffDriveParams
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Per-pixel ray directions in the robot frame: (forward, left, down) components."""
    height, width = image_size
    focal = (width / 2) / np.tan(params.camera_fov_rad / 2)
    cols = (np.arange(width) - (width - 1) / 2) / focal
    rows = (np.arange(height) - (height - 1) / 2) / focal
    right, below = np.meshgrid(cols, rows)
    pitch = params.camera_pitch_rad
    forward = np.cos(pitch) - below * np.sin(pitch)
    down = np.sin(pitch) + below * np.cos(pitch)
    return forward, -right, down
