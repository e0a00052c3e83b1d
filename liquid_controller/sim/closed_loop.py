"""Run a policy and the safety filter in closed loop with the toy robot (the ``demo`` job).

Everything the ROS nodes do on a robot happens here too, through the same cores
(:class:`~liquid_controller.control.ControlPipeline`): sensors are stamped and submitted,
the policy steps at the control rate with dt from the stamps, the filter bounds every
command, and stale inputs fall back to the safe command. Time is simulated, so a run is
deterministic for a seed (except the measured compute times).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from liquid_controller.control import load_policy
from liquid_controller.errors import ConfigError
from liquid_controller.safety.config import load_config
from liquid_controller.sim.pipeline import percentile_us, simulated_pipeline
from liquid_controller.sim.toy_diff_drive import ToyDiffDrive

__all__ = ["ClosedLoopReport", "DropoutWindow", "run_closed_loop"]

SUPPORTED_VECTORS = ("imu", "joint_position", "joint_velocity")
"""Vector observations the toy robot can provide."""


@dataclass(frozen=True)
class DropoutWindow:
    """The camera sends nothing from ``start_s`` for ``duration_s`` seconds."""

    start_s: float
    duration_s: float

    def covers(self, t_s: float) -> bool:
        """True while the camera is silent."""
        return self.start_s <= t_s < self.start_s + self.duration_s


@dataclass
class ClosedLoopReport:
    """What happened in a run (all times in seconds, efforts in the actuators' units)."""

    ticks: int
    rate_hz: float
    actuator_names: tuple[str, ...]
    effort_min: tuple[float, ...]
    effort_max: tuple[float, ...]
    commands_within_limits: bool
    commands_finite: bool
    max_abs_command: float
    interventions: int
    fallback_ticks: int
    statuses: dict[str, int] = field(default_factory=dict)
    first_fallback_after_dropout_s: float | None = None
    resumed_after_dropout_s: float | None = None
    max_abs_wheel_speed_rad_s: float = 0.0
    distance_travelled_m: float = 0.0
    policy_step_us_p50: float = 0.0
    policy_step_us_p99: float = 0.0
    filter_us_p50: float = 0.0
    filter_us_p99: float = 0.0


def run_closed_loop(
    model_path: str | Path,
    safety_config_path: str | Path,
    *,
    seconds: float = 10.0,
    rate_hz: float = 50.0,
    seed: int = 0,
    dropout: DropoutWindow | None = None,
    input_timeout_s: float = 0.25,
) -> ClosedLoopReport:
    """Drive the toy robot with the policy through the filter for ``seconds`` of sim time.

    Raises:
        ConfigError: the policy needs an input the toy robot does not have, or its actions
            do not match the safety config's actuators.
        CheckpointError: the model file cannot be loaded.
    """
    if not 0 < rate_hz <= 1000:
        raise ConfigError("rate_hz", rate_hz, "a rate in (0, 1000] Hz")
    if not seconds > 0:
        raise ConfigError("seconds", seconds, "a positive duration")
    policy = load_policy(model_path)
    spec = policy.spec
    unsupported = [v.name for v in spec.vectors if v.name not in SUPPORTED_VECTORS]
    if unsupported or spec.image is None:
        raise ConfigError(
            "model_path",
            str(model_path),
            f"a camera policy whose vector inputs are among {SUPPORTED_VECTORS} "
            f"(this one needs {[v.name for v in spec.vectors]}, image: {spec.image is not None})",
        )
    config = load_config(safety_config_path)
    period_s = 1.0 / rate_hz
    pipeline = simulated_pipeline(
        policy, config, period_s=period_s, input_timeout_s=input_timeout_s
    )
    plant = ToyDiffDrive(image_size=(spec.image.height, spec.image.width), seed=seed)
    low = np.array(config.actuators.effort_min)
    high = np.array(config.actuators.effort_max)

    statuses: Counter[str] = Counter()
    policy_times, filter_times = [], []
    finite = within = True
    max_abs_u = max_speed = distance = 0.0
    interventions = fallbacks = 0
    first_fallback = resumed = None
    ticks = round(seconds * rate_hz)
    for k in range(ticks):
        now = k * period_s
        frame = plant.sense()
        if dropout is None or not dropout.covers(now):
            pipeline.policy.submit("image", frame.image, stamp_s=now, now_s=now)
        observations = {
            "imu": frame.imu,
            "joint_position": frame.joint_position,
            "joint_velocity": frame.joint_velocity,
        }
        for vector in spec.vectors:
            pipeline.policy.submit(vector.name, observations[vector.name], stamp_s=now, now_s=now)
        pipeline.safety.submit_joint_state(
            frame.joint_position, frame.joint_velocity, stamp_s=now, now_s=now
        )
        tick = pipeline.tick(now)
        u = tick.safety.command
        finite &= bool(np.all(np.isfinite(u)))
        within &= bool(np.all((u >= low) & (u <= high)))
        max_abs_u = max(max_abs_u, float(np.max(np.abs(u))))
        statuses[tick.safety.status] += 1
        interventions += tick.safety.intervened
        fallbacks += tick.safety.fallback
        if tick.policy.inference_time_s > 0:
            policy_times.append(tick.policy.inference_time_s)
        if not tick.safety.fallback:
            filter_times.append(tick.safety.solve_time_s)
        if dropout is not None and now >= dropout.start_s:
            if first_fallback is None and tick.safety.fallback:
                first_fallback = now - dropout.start_s
            dropout_end = dropout.start_s + dropout.duration_s
            if resumed is None and now >= dropout_end and not tick.safety.fallback:
                resumed = now - dropout_end
        plant.step(u, period_s)
        max_speed = max(max_speed, float(np.max(np.abs(plant.wheel_speed))))
        distance += abs(plant.forward_speed_m_s) * period_s
    return ClosedLoopReport(
        ticks=ticks,
        rate_hz=rate_hz,
        actuator_names=config.actuators.names,
        effort_min=tuple(low.tolist()),
        effort_max=tuple(high.tolist()),
        commands_within_limits=within,
        commands_finite=finite,
        max_abs_command=max_abs_u,
        interventions=interventions,
        fallback_ticks=fallbacks,
        statuses=dict(statuses),
        first_fallback_after_dropout_s=first_fallback,
        resumed_after_dropout_s=resumed,
        max_abs_wheel_speed_rad_s=max_speed,
        distance_travelled_m=distance,
        policy_step_us_p50=percentile_us(policy_times, 50),
        policy_step_us_p99=percentile_us(policy_times, 99),
        filter_us_p50=percentile_us(filter_times, 50),
        filter_us_p99=percentile_us(filter_times, 99),
    )
