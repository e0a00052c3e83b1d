r"""The privileged expert: pure pursuit on the lane centre plus wheel-speed control.

From ground truth (:class:`~.simulation.GroundTruth`) it picks the centre-line point
``lookahead_m`` ahead, steers toward it with pure-pursuit curvature
:math:`\kappa = 2 \sin\alpha / L_d`, slows for the track's curvature
(:math:`v \le \sqrt{a_{lat} / |\kappa_{track}|}`), turns ``(v, v \kappa)`` into wheel
speeds and tracks them with a proportional torque plus damping feed-forward, clipped to the
effort limits and a traction bound (no wheel spin). :class:`Perturbations` inject noise into
the executed command and occasional drifts (a lateral target offset held for a while), so
recorded data contains recoveries; :meth:`Expert.act` also returns the command the expert
intends (centre line, no noise), the label to imitate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from liquid_controller.sim.description import RobotDescription
from liquid_controller.sim.simulation import GroundTruth
from liquid_controller.sim.track import Track

__all__ = ["Expert", "ExpertGains", "Perturbations"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class ExpertGains:
    """Tuning of the expert (SI units)."""

    cruise_speed_m_s: float = 0.6
    max_lateral_accel_m_s2: float = 0.5
    lookahead_m: float = 0.45
    speed_gain_nm_s: float = 0.15
    """Torque per wheel-speed error (N*m per rad/s)."""
    max_accel_m_s2: float = 1.0
    """How fast the speed reference may change."""
    max_traction_n: float = 10.0
    """Bound on the total drive force (tau_left + tau_right) / r: no wheel spin."""


@dataclass(frozen=True)
class Perturbations:
    """What the expert adds to its command when collecting data (0 disables each)."""

    command_noise_nm: float = 0.08
    """Standard deviation of Gaussian noise on each executed wheel torque."""
    drift_rate_per_s: float = 0.08
    """Mean number of drifts started per second."""
    drift_offset_m: float = 0.18
    """Largest lateral target offset of a drift (its sign and size are drawn)."""
    drift_duration_s: tuple[float, float] = (0.8, 2.0)


class Expert:
    """Pure pursuit plus speed control for one robot on one track.

    Args:
        description: the robot (wheel radius, track width, effort limits, damping).
        track: the track it drives on.
        gains: tuning.
        perturbations: noise and drifts (``None``: a clean expert).
        seed: seed of the perturbations.
    """

    def __init__(
        self,
        description: RobotDescription,
        track: Track,
        gains: ExpertGains | None = None,
        perturbations: Perturbations | None = None,
        seed: int = 0,
    ) -> None:
        self._robot = description
        self._track = track
        self.gains = gains or ExpertGains()
        self._perturb = perturbations
        self._rng = np.random.default_rng(seed)
        self._limit = np.array([w.effort_limit_nm for w in description.wheels])
        self._drift_offset = 0.0
        self._drift_left_s = 0.0
        self._speed_ref = 0.0

    def command(self, truth: GroundTruth, wheel_speed_rad_s: FloatArray, dt_s: float) -> FloatArray:
        """Return the wheel torques ``(left, right)`` to apply for the next ``dt_s`` seconds."""
        return self.act(truth, wheel_speed_rad_s, dt_s)[0]

    def act(
        self, truth: GroundTruth, wheel_speed_rad_s: FloatArray, dt_s: float
    ) -> tuple[FloatArray, FloatArray]:
        """Return the torques to apply (perturbed) and those the expert intends at this state.

        The intended command steers to the lane centre (no drift) without command noise,
        from the same speed reference: the imitation label for a state the perturbations
        led to (the recovery the expert would make).
        """
        target = self._drift(dt_s)
        speed, curvature = self._pursuit(truth, target)
        step = self.gains.max_accel_m_s2 * dt_s
        self._speed_ref += float(np.clip(speed - self._speed_ref, -step, step))
        torque = self._torque(curvature, wheel_speed_rad_s)
        intended = torque
        if target != 0.0:
            intended = self._torque(self._pursuit(truth, 0.0)[1], wheel_speed_rad_s)
        if self._perturb is not None and self._perturb.command_noise_nm > 0:
            torque = torque + self._rng.normal(0.0, self._perturb.command_noise_nm, 2)
        return self._bounded(torque), self._bounded(intended)

    def _torque(self, curvature: float, wheel_speed_rad_s: FloatArray) -> FloatArray:
        """Return the wheel torques tracking ``(v_ref, v_ref * curvature)``."""
        v_ref, omega_ref = self._speed_ref, self._speed_ref * curvature
        radius, half_track = self._robot.wheel_radius_m, self._robot.track_width_m / 2
        wheel_ref = np.array([v_ref - omega_ref * half_track, v_ref + omega_ref * half_track])
        wheel_ref /= radius
        damping = np.array([w.damping_nms_rad for w in self._robot.wheels])
        torque: FloatArray = (
            self.gains.speed_gain_nm_s * (wheel_ref - wheel_speed_rad_s) + damping * wheel_ref
        )
        return torque

    def _bounded(self, torque: FloatArray) -> FloatArray:
        """Clip ``torque`` to the traction bound and the effort limits."""
        common_limit = self.gains.max_traction_n * self._robot.wheel_radius_m / 2
        common = float(np.clip(torque.mean(), -common_limit, common_limit))
        difference = (torque[1] - torque[0]) / 2
        command: FloatArray = np.clip(
            np.array([common - difference, common + difference]), -self._limit, self._limit
        )
        return command

    def _pursuit(self, truth: GroundTruth, lateral_target_m: float) -> tuple[float, float]:
        """Return the target speed (m/s) and the pure-pursuit curvature (1/m)."""
        g = self.gains
        track = self._track
        ahead = track.index(truth.lane.s_m + g.lookahead_m)
        heading = track.headings[ahead]
        goal_x = track.points[ahead, 0] - lateral_target_m * math.sin(heading)
        goal_y = track.points[ahead, 1] + lateral_target_m * math.cos(heading)
        alpha = math.atan2(goal_y - truth.y_m, goal_x - truth.x_m) - truth.yaw_rad
        distance = max(math.hypot(goal_x - truth.x_m, goal_y - truth.y_m), 1e-3)
        curvature = 2.0 * math.sin(alpha) / distance
        window = track.curvatures[[track.index(truth.lane.s_m + d) for d in (0.0, 0.3, 0.6)]]
        sharpest = float(np.max(np.abs(window)))
        speed = g.cruise_speed_m_s
        if sharpest > 0:
            speed = min(speed, math.sqrt(g.max_lateral_accel_m_s2 / sharpest))
        if math.cos(alpha) < 0.5:  # facing well away from the goal: turn on the spot first
            speed *= max(math.cos(alpha), 0.0)
        return speed, curvature

    def _drift(self, dt_s: float) -> float:
        """Return the lateral target offset now, starting and ending drifts at random."""
        p = self._perturb
        if p is None or p.drift_rate_per_s <= 0:
            return 0.0
        if self._drift_left_s > 0:
            self._drift_left_s -= dt_s
            return self._drift_offset
        if self._rng.random() < p.drift_rate_per_s * dt_s:
            self._drift_offset = float(self._rng.uniform(-1, 1)) * p.drift_offset_m
            self._drift_left_s = float(self._rng.uniform(*p.drift_duration_s))
        return 0.0
