"""``LaneKeepingEnv``: the lane world as a Gymnasium environment, for imitation and RL tooling.

Observation (a ``Dict`` matching the package's policy spec, ``default_policy_spec()``):
``image`` (66x200 RGB uint8, the newest camera frame), ``imu`` (linear acceleration m/s^2 and
angular velocity rad/s, the newest sample), ``joint_position`` / ``joint_velocity`` (wheels,
rad and rad/s). Action: wheel torques ``(left_wheel, right_wheel)`` in N*m within the URDF's
effort limits, held for one control period (``1 / control_rate_hz``).

Reward: progress along the lane centre (m) minus ``lateral_penalty`` times |lateral offset|
per second. Terminated when the robot leaves the lane (its centre a robot half-width beyond a
marking) or tips over; truncated at ``max_seconds`` or after ``laps`` laps. ``info`` has the
ground truth (``lateral_m``, ``heading_error_rad``, ``progress_m``, ``laps``, ``departed``)
and the step's ``samples`` (every sensor reading with its stamp, for recording).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from liquid_controller.errors import ConfigError
from liquid_controller.sim.description import RobotDescription, load_description
from liquid_controller.sim.simulation import LaneSimulation, SensorKind, SensorSample
from liquid_controller.sim.track import Track, load_track
from liquid_controller.sim.world import WorldVariation, draw_variation

__all__ = ["ENV_ID", "LaneKeepingEnv"]

ENV_ID = "LiquidController/LaneKeeping-v0"
"""Registered with Gymnasium on import: ``gymnasium.make(ENV_ID, track="kidney")``."""

OFF_ROAD_MARGIN_M = 0.2
"""How far beyond the lane edge the robot's centre may go before the episode ends."""


class LaneKeepingEnv(gym.Env[dict[str, np.ndarray], np.ndarray]):
    """Keep the lane from a forward camera (see the module docstring).

    Args:
        track: a track name or a loaded :class:`Track` (``reset(options={"track": ...})``
            changes it).
        randomise: draw colours, light, friction, noise and start pose from the reset seed;
            ``False`` uses the defaults (start at the track's start, on the centre line).
        render_camera: render the camera (``False``: black frames, physics only).
        control_rate_hz: how often ``step`` is called on the simulated clock.
        max_seconds: truncation time.
        laps: truncate after this many laps (``None``: only at ``max_seconds``).
        lateral_penalty: reward weight of |lateral offset| (1/s).
        camera_noise: pixel noise standard deviation (fraction of full scale) replacing the
            world's draw, or ``None``.
        world: :class:`WorldVariation` fields replacing each reset's draw (e.g. lighting
            never seen in training: ``{"light_intensity": 0.15, "ambient": 0.05}``).
        description: the robot (default: the package's URDF).
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 30}

    def __init__(
        self,
        track: str | Track = "oval",
        *,
        randomise: bool = True,
        render_camera: bool = True,
        control_rate_hz: float = 50.0,
        max_seconds: float = 120.0,
        laps: float | None = None,
        lateral_penalty: float = 1.0,
        camera_noise: float | None = None,
        world: Mapping[str, Any] | None = None,
        description: RobotDescription | None = None,
        render_mode: str | None = None,
    ) -> None:
        fields = {f.name for f in dataclasses.fields(WorldVariation)}
        overrides = dict(world or {})
        for key, value in overrides.items():
            if key not in fields:
                raise ConfigError(f"world.{key}", value, f"a field of {sorted(fields)}")
        if not 0 < control_rate_hz <= 500:
            raise ConfigError("control_rate_hz", control_rate_hz, "a rate in (0, 500] Hz")
        if not max_seconds > 0:
            raise ConfigError("max_seconds", max_seconds, "a positive duration")
        if render_mode not in (None, "rgb_array"):
            raise ConfigError("render_mode", render_mode, "None or 'rgb_array'")
        self.render_mode = render_mode
        self.description = description or load_description()
        self.track = track if isinstance(track, Track) else load_track(track)
        self.randomise = randomise
        self.render_camera = render_camera
        self.period_s = 1.0 / control_rate_hz
        self.max_seconds = max_seconds
        self.laps = laps
        self.lateral_penalty = lateral_penalty
        self.camera_noise = camera_noise
        self.world = overrides
        camera = self.description.camera
        limit = np.array([w.effort_limit_nm for w in self.description.wheels])
        self.action_limits = (-limit, limit)
        """Lowest and highest wheel torque (N*m), the action space's bounds."""
        self.action_space = spaces.Box(-limit, limit, dtype=np.float64)
        self.observation_space = spaces.Dict(  # type: ignore[assignment]
            {
                "image": spaces.Box(0, 255, (camera.height, camera.width, 3), np.uint8),
                "imu": spaces.Box(-np.inf, np.inf, (6,), np.float64),
                "joint_position": spaces.Box(-np.inf, np.inf, (2,), np.float64),
                "joint_velocity": spaces.Box(-np.inf, np.inf, (2,), np.float64),
            }
        )
        self.sim: LaneSimulation | None = None
        self._latest: dict[str, np.ndarray] = {}

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Start an episode in a new world drawn from ``seed`` (options: ``track``)."""
        super().reset(seed=seed)
        if options and "track" in options:
            track = options["track"]
            self.track = track if isinstance(track, Track) else load_track(track)
        variation = (
            draw_variation(self.np_random, self.track) if self.randomise else WorldVariation()
        )
        variation = dataclasses.replace(variation, **self.world)
        self.close()
        self.sim = LaneSimulation(
            self.track,
            variation,
            description=self.description,
            render=self.render_camera,
            seed=int(self.np_random.integers(2**31)),
            camera_noise=self.camera_noise,
        )
        samples = self.sim.advance(np.zeros(2), 0.0)
        self._absorb(samples)
        return self._observation(), self._info(samples)

    def step(
        self, action: np.ndarray
    ) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        """Hold the wheel torques ``action`` for one control period."""
        if self.sim is None:
            raise ConfigError("step", None, "reset() before the first step")
        before = self.sim.truth()
        torque = np.clip(np.asarray(action, dtype=np.float64), *self.action_limits)
        samples = self.sim.advance(torque, self.period_s)
        self._absorb(samples)
        truth = self.sim.truth()
        info = self._info(samples)
        reward = (truth.progress_m - before.progress_m) - self.lateral_penalty * abs(
            truth.lane.lateral_m
        ) * self.period_s
        terminated = not truth.upright or abs(truth.lane.lateral_m) > (
            self.track.half_width_m + OFF_ROAD_MARGIN_M
        )
        truncated = self.sim.time_s >= self.max_seconds - 1e-9 or (
            self.laps is not None and info["laps"] >= self.laps
        )
        return self._observation(), float(reward), terminated, bool(truncated), info

    def render(self) -> np.ndarray | None:
        """Return the newest camera frame (``render_mode="rgb_array"``)."""
        if self.render_mode != "rgb_array":
            return None
        image: np.ndarray = self._latest["image"].copy()
        return image

    def close(self) -> None:
        """Free the renderer."""
        if self.sim is not None:
            self.sim.close()
            self.sim = None

    def _absorb(self, samples: list[SensorSample]) -> None:
        for sample in samples:
            if sample.kind is SensorKind.CAMERA:
                self._latest["image"] = sample.value
            elif sample.kind is SensorKind.IMU:
                self._latest["imu"] = sample.value
            else:
                self._latest["joint_position"] = sample.value[0]
                self._latest["joint_velocity"] = sample.value[1]

    def _observation(self) -> dict[str, np.ndarray]:
        return {key: value.copy() for key, value in self._latest.items()}

    def _info(self, samples: list[SensorSample]) -> dict[str, Any]:
        assert self.sim is not None
        truth = self.sim.truth()
        return {
            "time_s": self.sim.time_s,
            "lateral_m": truth.lane.lateral_m,
            "heading_error_rad": truth.lane.heading_error_rad,
            "progress_m": truth.progress_m,
            "laps": truth.progress_m / self.track.length_m,
            "departed": abs(truth.lane.lateral_m) > self.track.half_width_m,
            "forward_speed_m_s": truth.forward_speed_m_s,
            "samples": samples,
        }


gym.register(id=ENV_ID, entry_point="liquid_controller.sim.lane_env:LaneKeepingEnv")
