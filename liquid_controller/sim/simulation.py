"""Step the lane world under wheel torques and sample its sensors at their own rates.

Each sensor has its rate (camera and IMU from the URDF, joint states at
:data:`JOINT_STATE_RATE_HZ`); :meth:`LaneSimulation.advance` runs physics steps and returns
every sample that fell due, stamped with the simulation time, as a robot's drivers would
publish them. The camera is MuJoCo's rendered image plus Gaussian pixel noise; the IMU is
MuJoCo's accelerometer (gravity included) and gyro plus Gaussian noise; the joint states are
the wheel joints' positions and velocities. Ground truth (:meth:`LaneSimulation.truth`) is
for metrics, the expert and the lane barrier's state only.
"""

from __future__ import annotations

import enum
import math
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from liquid_controller.errors import ConfigError
from liquid_controller.sim.description import RobotDescription, load_description
from liquid_controller.sim.gl import create_renderer, mujoco
from liquid_controller.sim.robot_model import ACCEL_SENSOR, CAMERA_NAME, GYRO_SENSOR
from liquid_controller.sim.track import LaneState, Track
from liquid_controller.sim.world import WorldVariation, build_world

__all__ = ["JOINT_STATE_RATE_HZ", "GroundTruth", "LaneSimulation", "SensorKind", "SensorSample"]

JOINT_STATE_RATE_HZ = 50.0
SETTLE_S = 0.3
FloatArray = npt.NDArray[np.float64]


class SensorKind(enum.Enum):
    """The robot's sensor streams."""

    CAMERA = "camera"
    IMU = "imu"
    JOINTS = "joint_states"


class SensorSample(NamedTuple):
    """One sensor reading at simulation time ``stamp_s``.

    ``value``: camera ``(H, W, 3)`` uint8 RGB; IMU ``(6,)`` linear acceleration (m/s^2) then
    angular velocity (rad/s) in ``imu_link``; joint states ``(2, 2)``: positions (rad) and
    velocities (rad/s) of the left and right wheel.
    """

    kind: SensorKind
    stamp_s: float
    value: Any


class GroundTruth(NamedTuple):
    """Privileged state: for metrics, the expert and the simulated lane barrier only."""

    x_m: float
    y_m: float
    yaw_rad: float
    lane: LaneState
    forward_speed_m_s: float
    progress_m: float
    """Distance along the centre line since the start (negative when driven backwards)."""
    upright: bool


class LaneSimulation:
    """The MuJoCo lane world with its sensor schedule.

    Args:
        track: the track painted on the floor.
        variation: the randomised world (colours, light, friction, noise, start pose).
        description: the robot (default: the package's URDF).
        render: render the camera (``False``: camera samples are black frames, physics only).
        seed: seed of the sensor noise.
        camera_noise: pixel noise standard deviation (fraction of full scale) replacing
            the URDF's times the variation's scale, or ``None``.

    Raises:
        SimulationError: ``render`` and no OpenGL backend (the message names what to install).
    """

    def __init__(
        self,
        track: Track,
        variation: WorldVariation,
        *,
        description: RobotDescription | None = None,
        render: bool = True,
        seed: int = 0,
        camera_noise: float | None = None,
    ) -> None:
        self.description = description or load_description()
        self.track = track
        self.variation = variation
        self.model = build_world(self.description, track, variation)
        self.data = mujoco.MjData(self.model)
        self._rng = np.random.default_rng(seed)
        camera = self.description.camera
        self._image_shape = (camera.height, camera.width, 3)
        self._renderer = (
            create_renderer(self.model, camera.height, camera.width) if render else None
        )
        if camera_noise is None:
            camera_noise = camera.noise_std * variation.camera_noise_scale
        self._camera_noise = 255.0 * camera_noise
        imu = self.description.imu
        self._imu_noise = (
            np.repeat([imu.accel_noise_m_s2, imu.gyro_noise_rad_s], 3) * variation.imu_noise_scale
        )
        joints = [self.model.joint(w.joint) for w in self.description.wheels]
        self._qpos = [int(self.model.jnt_qposadr[j.id]) for j in joints]
        self._qvel = [int(self.model.jnt_dofadr[j.id]) for j in joints]
        self._accel = _sensor_slice(self.model, ACCEL_SENSOR)
        self._gyro = _sensor_slice(self.model, GYRO_SENSOR)
        self._periods = {
            SensorKind.CAMERA: 1.0 / camera.rate_hz,
            SensorKind.IMU: 1.0 / imu.rate_hz,
            SensorKind.JOINTS: 1.0 / JOINT_STATE_RATE_HZ,
        }
        self._next_due = dict.fromkeys(self._periods, 0.0)
        # Let the robot settle onto its wheels (placed exactly touching, it starts in free
        # fall: the IMU would read zero), then start the clock.
        for _ in range(round(SETTLE_S / self.model.opt.timestep)):
            mujoco.mj_step(self.model, self.data)
        self.data.time = 0.0
        mujoco.mj_forward(self.model, self.data)
        self._last_s = self.track.locate(*self._planar_pose()).s_m
        self._progress = 0.0

    @property
    def time_s(self) -> float:
        """Simulation time since the start."""
        return float(self.data.time)

    @property
    def renders(self) -> bool:
        """Whether camera samples are rendered images (else black frames)."""
        return self._renderer is not None

    def advance(self, torque_nm: Any, duration_s: float) -> list[SensorSample]:
        """Hold wheel torques ``(left, right)`` for ``duration_s``; return the samples due.

        Samples due at the current time come first (the initial ones on the first call).
        Torques outside the URDF's effort limits are clipped by the motors' control range.

        Raises:
            ConfigError: ``torque_nm`` is not two finite numbers, or ``duration_s`` < 0.
        """
        torque = np.asarray(torque_nm, dtype=np.float64)
        if torque.shape != (2,) or not np.all(np.isfinite(torque)):
            raise ConfigError("torque_nm", torque_nm, "two finite wheel torques (left, right)")
        if not duration_s >= 0:
            raise ConfigError("duration_s", duration_s, "a duration >= 0 s")
        self.data.ctrl[:] = torque
        samples = self._due_samples()
        end = self.data.time + duration_s - 1e-9
        while self.data.time < end:
            mujoco.mj_step(self.model, self.data)
            samples += self._due_samples()
        self._track_progress()
        return samples

    def truth(self) -> GroundTruth:
        """Return the ground-truth pose, lane state and progress now."""
        x, y, yaw = self._planar_pose()
        lane = self.track.locate(x, y, yaw)
        velocity = self.data.qvel[:2]
        upright = float(self.data.xmat[self._base_id(), 8]) > 0.5
        return GroundTruth(
            x, y, yaw, lane, float(velocity[0] * math.cos(yaw) + velocity[1] * math.sin(yaw)),
            self._progress, upright,
        )  # fmt: skip

    def joint_state(self) -> FloatArray:
        """Return ``(2, 2)``: wheel positions (rad) and velocities (rad/s), left then right."""
        return np.array([self.data.qpos[self._qpos], self.data.qvel[self._qvel]])

    def close(self) -> None:
        """Free the renderer's OpenGL context."""
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None

    def _base_id(self) -> int:
        return int(self.model.body("base_footprint").id)

    def _planar_pose(self) -> tuple[float, float, float]:
        x, y = self.data.qpos[0], self.data.qpos[1]
        w, qx, qy, qz = self.data.qpos[3:7]
        yaw = math.atan2(2 * (w * qz + qx * qy), 1 - 2 * (qy * qy + qz * qz))
        return float(x), float(y), yaw

    def _track_progress(self) -> None:
        s = self.track.locate(*self._planar_pose()).s_m
        length = self.track.length_m
        self._progress += (s - self._last_s + length / 2) % length - length / 2
        self._last_s = s

    def _due_samples(self) -> list[SensorSample]:
        now = self.time_s
        samples = []
        for kind, period in self._periods.items():
            if now + 1e-9 >= self._next_due[kind]:
                samples.append(SensorSample(kind, now, self._read(kind)))
                missed = max(0, math.floor((now - self._next_due[kind]) / period))
                self._next_due[kind] += period * (missed + 1)
        return samples

    def _read(self, kind: SensorKind) -> Any:
        if kind is SensorKind.JOINTS:
            return self.joint_state()
        if kind is SensorKind.IMU:
            reading = np.concatenate(
                [self.data.sensordata[self._accel], self.data.sensordata[self._gyro]]
            )
            return reading + self._rng.normal(size=6) * self._imu_noise
        if self._renderer is None:
            return np.zeros(self._image_shape, dtype=np.uint8)
        self._renderer.update_scene(self.data, camera=CAMERA_NAME)
        image = self._renderer.render()
        if self._camera_noise > 0:
            noisy = image + self._rng.normal(0.0, self._camera_noise, image.shape)
            image = np.clip(noisy, 0, 255).astype(np.uint8)
        return image.copy()


def _sensor_slice(model: mujoco.MjModel, name: str) -> slice:
    sensor = model.sensor(name)
    start = int(model.sensor_adr[sensor.id])
    return slice(start, start + int(model.sensor_dim[sensor.id]))
