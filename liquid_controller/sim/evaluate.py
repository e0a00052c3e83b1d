"""``sim evaluate``: closed-loop lane-keeping metrics of a policy behind the safety filter.

Every tick goes through the one control path, :class:`~liquid_controller.control.ControlPipeline`
(policy runner + safety runner), fed with the simulated sensor samples at their stamps, as
the nodes are fed on a robot; the published command drives the simulated wheels. The lane
barrier's state (``lateral_position``) comes from ground truth, submitted with the joint
state. ``--no-safety`` applies the policy's nominal instead (the motors still saturate at
their effort limits; the commands beyond them are counted as violations).

``model="expert"`` evaluates the privileged expert as a policy through the same pipeline.
Metrics follow Duckietown's lane-following benchmark: survival time, distance along the
lane, laps, mean and max |lateral error|, lane departures per km, max |effort| against the
limit, limit violations, filter interventions, policy and filter compute time.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

import numpy as np

from liquid_controller.errors import ConfigError
from liquid_controller.sim.pipeline import percentile_us
from liquid_controller.sim.workers import default_workers, run_parallel

__all__ = [
    "EXPERT_MODEL",
    "EpisodeMetrics",
    "EvaluateJob",
    "TickObserver",
    "build_pipeline",
    "evaluate",
    "evaluate_episode",
    "format_table",
    "summarise",
]

EXPERT_MODEL = "expert"
SIM_SAFETY_CONFIG = "config/sim_safety.yaml"
INPUT_TIMEOUT_S = 0.25


@dataclass(frozen=True)
class EvaluateJob:
    """One closed-loop episode."""

    model: str
    """A policy file (.npz artifact or torch checkpoint) or ``"expert"``."""
    track: str
    seed: int
    laps: float = 1.0
    max_seconds: float = 120.0
    safety_config: str | None = None
    """``None``: the package's ``config/sim_safety.yaml``."""
    safety: bool = True
    camera_noise: float | None = None
    """Pixel noise standard deviation, fraction of full scale; ``None``: the world's draw."""
    rate_hz: float = 50.0
    camera_dropout_s: tuple[float, float] | None = None
    """``(start, duration)``: the camera's frames are not delivered in that window (the
    policy's image input goes stale and the pipeline must fall back to the safe command)."""
    world: tuple[tuple[str, float], ...] = ()
    """World variation fields replacing each episode's draw (``LaneKeepingEnv(world=...)``)."""


TickObserver = Callable[[Any, Any, Sequence[Any]], None]
"""Called after every control tick with the :class:`~liquid_controller.control.PipelineTick`,
the environment (before the command is applied) and the sensor samples delivered this tick."""


class EpisodeMetrics(NamedTuple):
    """One episode's closed-loop metrics (SI units; efforts in N*m)."""

    track: str
    seed: int
    survival_s: float
    distance_m: float
    laps: float
    completed: bool
    mean_abs_lateral_m: float
    max_abs_lateral_m: float
    departures: int
    departures_per_km: float
    max_abs_effort: float
    effort_limit: float
    limit_violations: int
    interventions: int
    fallbacks: int
    ticks: int
    policy_us_p50: float
    policy_us_p99: float
    filter_us_p50: float
    filter_us_p99: float
    wall_s: float


def evaluate(
    model: str,
    *,
    tracks: Sequence[str],
    seeds: Sequence[int] = (0,),
    laps: float = 1.0,
    max_seconds: float = 120.0,
    safety_config: str | None = None,
    safety: bool = True,
    camera_noise: float | None = None,
    workers: int | None = None,
    progress: bool = True,
) -> list[EpisodeMetrics]:
    """Run one episode per (track, seed), in parallel workers; return their metrics.

    Raises:
        ConfigError: bad tracks, seeds, laps, noise, safety config or model (checked here,
            before any worker starts).
        CheckpointError: the model file cannot be loaded.
    """
    if not tracks:
        raise ConfigError("--track", list(tracks), "at least one track")
    if not seeds:
        raise ConfigError("--seeds", list(seeds), "at least one seed")
    if not (laps > 0 and math.isfinite(laps)):
        raise ConfigError("--laps", laps, "a positive number of laps")
    if not 0 < max_seconds <= 3600:
        raise ConfigError("--max-seconds", max_seconds, "a duration in (0, 3600] s")
    if camera_noise is not None and not 0 <= camera_noise <= 1:
        raise ConfigError("--camera-noise", camera_noise, "a standard deviation in [0, 1]")
    jobs = [
        EvaluateJob(model, track, seed, laps, max_seconds, safety_config, safety, camera_noise)
        for track in tracks
        for seed in seeds
    ]
    build_pipeline(jobs[0])  # a bad model, track or config fails here, not in a worker
    from liquid_controller.sim.track import load_track

    for track in tracks:
        load_track(track)
    return run_parallel(
        evaluate_episode,
        jobs,
        workers=workers or default_workers(),
        label="sim evaluate",
        progress=progress,
    )


def evaluate_episode(job: EvaluateJob, observer: TickObserver | None = None) -> EpisodeMetrics:
    """Drive one episode in closed loop and measure it (``observer`` watches every tick)."""
    from liquid_controller.sim.lane_env import LaneKeepingEnv

    start = time.perf_counter()
    env = LaneKeepingEnv(job.track, max_seconds=job.max_seconds, laps=job.laps,
                         control_rate_hz=job.rate_hz, camera_noise=job.camera_noise,
                         world=dict(job.world))  # fmt: skip
    pipeline = build_pipeline(job, env)
    spec = pipeline.policy.spec
    vectors = {vector.name for vector in spec.vectors}
    try:
        _, info = env.reset(seed=job.seed)
        assert env.sim is not None
        low, high = env.action_limits
        limit = float(high.max())
        lateral, policy_s, filter_s = [], [], []
        violations = interventions = fallbacks = departures = ticks = 0
        max_effort, departed, done = 0.0, False, False
        terminated = False
        while not done:
            samples = _delivered(info["samples"], job.camera_dropout_s)
            _feed(pipeline, samples, vectors, spec.image, env.sim.truth().lane.lateral_m)
            tick = pipeline.tick(env.sim.time_s)
            if observer is not None:
                observer(tick, env, samples)
            ticks += 1
            if job.safety:
                command = tick.safety.command
            else:
                command = np.zeros(2) if tick.policy.nominal is None else tick.policy.nominal
            violations += bool(np.any((command < low - 1e-9) | (command > high + 1e-9)))
            max_effort = max(max_effort, float(np.max(np.abs(command))))
            interventions += tick.safety.intervened
            fallbacks += tick.safety.fallback
            if tick.policy.inference_time_s > 0:
                policy_s.append(tick.policy.inference_time_s)
            if not tick.safety.fallback:
                filter_s.append(tick.safety.solve_time_s)
            _, _, terminated, truncated, info = env.step(command)
            lateral.append(abs(info["lateral_m"]))
            departures += info["departed"] and not departed
            departed = info["departed"]
            done = terminated or truncated
        distance = max(info["progress_m"], 0.0)
        return EpisodeMetrics(
            track=job.track,
            seed=job.seed,
            survival_s=float(info["time_s"]),
            distance_m=distance,
            laps=max(info["laps"], 0.0),
            completed=not terminated and info["laps"] >= job.laps,
            mean_abs_lateral_m=float(np.mean(lateral)),
            max_abs_lateral_m=float(np.max(lateral)),
            departures=int(departures),
            departures_per_km=departures / (distance / 1000) if distance > 0 else float("nan"),
            max_abs_effort=max_effort,
            effort_limit=limit,
            limit_violations=violations,
            interventions=interventions,
            fallbacks=fallbacks,
            ticks=ticks,
            policy_us_p50=percentile_us(policy_s, 50),
            policy_us_p99=percentile_us(policy_s, 99),
            filter_us_p50=percentile_us(filter_s, 50),
            filter_us_p99=percentile_us(filter_s, 99),
            wall_s=time.perf_counter() - start,
        )
    finally:
        env.close()


def summarise(metrics: Sequence[EpisodeMetrics]) -> dict[str, Any]:
    """Return the aggregate over episodes (means, sums and maxima as fits each metric)."""
    rows = [m._asdict() for m in metrics]
    distance = sum(r["distance_m"] for r in rows)
    departures = sum(r["departures"] for r in rows)
    return {
        "episodes": len(rows),
        "completed": sum(r["completed"] for r in rows),
        "survival_s_mean": float(np.mean([r["survival_s"] for r in rows])),
        "distance_m_total": distance,
        "laps_total": sum(r["laps"] for r in rows),
        "mean_abs_lateral_m": float(np.mean([r["mean_abs_lateral_m"] for r in rows])),
        "max_abs_lateral_m": max(r["max_abs_lateral_m"] for r in rows),
        "departures": departures,
        "departures_per_km": departures / (distance / 1000) if distance > 0 else float("nan"),
        "max_abs_effort": max(r["max_abs_effort"] for r in rows),
        "effort_limit": rows[0]["effort_limit"],
        "limit_violations": sum(r["limit_violations"] for r in rows),
        "interventions": sum(r["interventions"] for r in rows),
        "ticks": sum(r["ticks"] for r in rows),
        "policy_us_p50_median": float(np.nanmedian([r["policy_us_p50"] for r in rows])),
        "filter_us_p50_median": float(np.nanmedian([r["filter_us_p50"] for r in rows])),
    }


def format_table(metrics: Sequence[EpisodeMetrics]) -> str:
    """Return a plain-text table, one row per episode."""
    header = (
        f"{'track':<10} {'seed':>4} {'surv s':>7} {'dist m':>7} {'laps':>5} "
        f"{'mean|y| m':>9} {'max|y| m':>8} {'dep/km':>7} {'max|u|':>6} {'viol':>5} "
        f"{'interv':>6} {'pol us':>7} {'filt us':>7}"
    )
    lines = [header, "-" * len(header)]
    for m in metrics:
        lines.append(
            f"{m.track:<10} {m.seed:>4} {m.survival_s:>7.1f} {m.distance_m:>7.2f} "
            f"{m.laps:>5.2f} {m.mean_abs_lateral_m:>9.3f} {m.max_abs_lateral_m:>8.3f} "
            f"{m.departures_per_km:>7.1f} {m.max_abs_effort:>6.2f} {m.limit_violations:>5} "
            f"{m.interventions:>6} {m.policy_us_p50:>7.0f} {m.filter_us_p50:>7.0f}"
        )
    return "\n".join(lines)


def metrics_json(metrics: Sequence[EpisodeMetrics], job: Mapping[str, Any]) -> dict[str, Any]:
    """Return the JSON document of a run: its settings, each episode and the aggregate."""
    return {"settings": dict(job), "episodes": [m._asdict() for m in metrics],
            "summary": summarise(metrics)}  # fmt: skip


def job_settings(job: EvaluateJob) -> dict[str, Any]:
    """Return a job's settings without its track and seed (shared by a run's episodes)."""
    settings = asdict(job)
    settings.pop("track")
    settings.pop("seed")
    return settings


def build_pipeline(job: EvaluateJob, env: Any = None) -> Any:
    """Return the control pipeline for ``job`` (its policy reads ``env`` if it is the expert)."""
    from liquid_controller.control import load_policy
    from liquid_controller.package_files import find_data_file
    from liquid_controller.safety.config import load_config
    from liquid_controller.sim.pipeline import simulated_pipeline

    path = job.safety_config or find_data_file(SIM_SAFETY_CONFIG, key="--safety-config")
    config = load_config(path)
    policy: Any = ExpertPolicy(env) if job.model == EXPERT_MODEL else load_policy(job.model)
    _check_spec(policy.spec)
    return simulated_pipeline(
        policy, config, period_s=1.0 / job.rate_hz, input_timeout_s=INPUT_TIMEOUT_S
    )


def _check_spec(spec: Any) -> None:
    from liquid_controller.sim.description import load_description

    camera = load_description().camera
    supported = ("imu", "joint_position", "joint_velocity")
    unsupported = [v.name for v in spec.vectors if v.name not in supported]
    image_ok = spec.image is None or spec.image.channels == 3
    if unsupported or not image_ok or spec.action.size != 2:
        raise ConfigError(
            "--model",
            f"a policy with inputs {[v.name for v in spec.vectors]}, image {spec.image}, "
            f"{spec.action.size} actions",
            f"vector inputs among {supported}, an RGB image (the {camera.height}x"
            f"{camera.width} camera's, cropped and resized to the spec's) or none, and 2 "
            "actions (left_wheel, right_wheel)",
        )


def _delivered(samples: Sequence[Any], dropout_s: tuple[float, float] | None) -> list[Any]:
    """Return ``samples`` without the camera frames stamped inside the dropout window."""
    from liquid_controller.sim.simulation import SensorKind

    if dropout_s is None:
        return list(samples)
    start, duration = dropout_s
    return [
        s
        for s in samples
        if s.kind is not SensorKind.CAMERA or not start <= s.stamp_s < start + duration
    ]


def _feed(pipeline: Any, samples: Sequence[Any], vectors: set[str], image: Any,
          lateral_m: float) -> None:  # fmt: skip
    """Submit the step's sensor samples at their stamps (no transport delay in simulation).

    Camera frames are cropped and resized to the spec's ``image`` as the robot's sensor feed
    does (:func:`~liquid_controller.sensing.image.image_to_rgb`).
    """
    from liquid_controller.sensing.image import crop_rgb, resize_rgb
    from liquid_controller.sim.simulation import SensorKind

    for sample in samples:
        stamp = sample.stamp_s
        if sample.kind is SensorKind.CAMERA and image is not None:
            frame = sample.value if image.crop is None else crop_rgb(sample.value, image.crop)
            if frame.shape[:2] != (image.height, image.width):
                frame = resize_rgb(frame, image.height, image.width)
            pipeline.policy.submit("image", frame, stamp_s=stamp, now_s=stamp)
        elif sample.kind is SensorKind.IMU and "imu" in vectors:
            pipeline.policy.submit("imu", sample.value, stamp_s=stamp, now_s=stamp)
        elif sample.kind is SensorKind.JOINTS:
            position, velocity = sample.value
            for name, value in (("joint_position", position), ("joint_velocity", velocity)):
                if name in vectors:
                    pipeline.policy.submit(name, value, stamp_s=stamp, now_s=stamp)
            pipeline.safety.submit_joint_state(
                position, velocity, stamp_s=stamp, now_s=stamp,
                extra={"lateral_position": lateral_m},
            )  # fmt: skip


class ExpertPolicy:
    """The privileged expert behind the :class:`~liquid_controller.runtime.spec.Policy` protocol.

    It reads the simulation's ground truth instead of its observations (which it still
    receives, like any policy, so the pipeline's input freshness applies to it too).
    """

    def __init__(self, env: Any) -> None:
        from liquid_controller.models.policy import default_policy_spec

        self._env = env
        self._spec = default_policy_spec()
        self._expert: Any = None
        self._track: Any = None

    @property
    def spec(self) -> Any:
        """The package's example robot's spec (camera and IMU)."""
        return self._spec

    def reset(self) -> None:
        """Nothing to reset: the expert has no hidden state."""

    def step(self, obs: Mapping[str, Any], dt_s: float) -> Any:
        """Return the expert's wheel torques for the current ground truth."""
        from liquid_controller.runtime.spec import PolicyStep
        from liquid_controller.sim.expert import Expert

        sim = self._env.sim
        if self._track is not sim.track:
            self._expert, self._track = Expert(sim.description, sim.track), sim.track
        action = self._expert.command(sim.truth(), sim.joint_state()[1], dt_s)
        return PolicyStep(action, np.zeros(0), None)
