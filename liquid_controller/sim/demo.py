"""The ``demo`` job: one episode of a policy in the MuJoCo lane world, recorded tick by tick.

The episode is :func:`~liquid_controller.sim.evaluate.evaluate_episode` (the control pipeline
behind the safety filter, the lane barrier fed ground-truth lateral position); a
:class:`DemoTrace` watches every tick and keeps what the figures and the animation show.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["DemoResult", "DemoTrace", "run_demo"]

FRAME_RATE_HZ = 10.0
"""Animation frames per second of simulated time (and the GIF's playback rate)."""
MAX_FRAMES = 150
"""A longer run keeps every n-th frame so the animation stays this short."""
FloatArray = npt.NDArray[np.float64]


@dataclass
class DemoTrace:
    """Per-tick record of an episode (SI units, torques in N*m).

    Args:
        frame_period_s: simulated time between kept camera frames.
        progress: a progress bar to advance by simulated seconds (``update(dt)``), or ``None``.
    """

    frame_period_s: float
    progress: Any = None
    t_s: list[float] = field(default_factory=list)
    pose: list[tuple[float, float, float]] = field(default_factory=list)
    """``(x_m, y_m, yaw_rad)`` in the world frame."""
    lateral_m: list[float] = field(default_factory=list)
    nominal: list[FloatArray] = field(default_factory=list)
    """The policy's command (NaN on ticks without one)."""
    command: list[FloatArray] = field(default_factory=list)
    """The published (filtered) command."""
    intervened: list[bool] = field(default_factory=list)
    fallback: list[bool] = field(default_factory=list)
    activity: list[FloatArray] = field(default_factory=list)
    """Neuron activity after the tick's step (NaN on ticks without a step)."""
    frames: list[tuple[int, npt.NDArray[np.uint8]]] = field(default_factory=list)
    """``(tick index, camera image the policy had)`` every ``frame_period_s``."""
    _image: npt.NDArray[np.uint8] | None = None
    _next_frame_s: float = 0.0

    def __call__(self, tick: Any, env: Any, samples: Sequence[Any]) -> None:
        """Record one tick (a :data:`~liquid_controller.sim.evaluate.TickObserver`)."""
        from liquid_controller.sim.simulation import SensorKind

        truth = env.sim.truth()
        now = env.sim.time_s
        for sample in samples:
            if sample.kind is SensorKind.CAMERA:
                self._image = sample.value
        width = len(tick.safety.command)
        step = tick.policy.step
        if self.progress is not None and self.t_s:
            self.progress.update(now - self.t_s[-1])
        self.t_s.append(now)
        self.pose.append((truth.x_m, truth.y_m, truth.yaw_rad))
        self.lateral_m.append(truth.lane.lateral_m)
        nominal = tick.policy.nominal
        self.nominal.append(np.full(width, np.nan) if nominal is None else np.array(nominal))
        self.command.append(np.array(tick.safety.command))
        self.intervened.append(bool(tick.safety.intervened))
        self.fallback.append(bool(tick.safety.fallback))
        self.activity.append(np.array(step.activity) if step is not None else np.array([]))
        if self._image is not None and now + 1e-9 >= self._next_frame_s:
            self.frames.append((len(self.t_s) - 1, self._image))
            self._next_frame_s += self.frame_period_s

    def arrays(self) -> dict[str, FloatArray]:
        """Return the numeric series as arrays (activity padded with NaN where missing)."""
        units = max((len(a) for a in self.activity), default=0)
        activity = np.full((len(self.activity), units), np.nan)
        for i, row in enumerate(self.activity):
            if len(row) == units:
                activity[i] = row
        return {
            "t_s": np.asarray(self.t_s),
            "pose": np.asarray(self.pose).reshape(-1, 3),
            "lateral_m": np.asarray(self.lateral_m),
            "nominal": np.asarray(self.nominal),
            "command": np.asarray(self.command),
            "intervened": np.asarray(self.intervened),
            "fallback": np.asarray(self.fallback),
            "activity": activity,
        }


@dataclass
class DemoResult:
    """An episode's metrics, its trace and what the figures need to draw it."""

    metrics: Any
    """:class:`~liquid_controller.sim.evaluate.EpisodeMetrics`."""
    trace: DemoTrace
    track: Any
    effort_limits: tuple[FloatArray, FloatArray]
    neuron_types: list[str]
    dropout_s: tuple[float, float] | None
    rate_hz: float
    seconds: float

    @property
    def left_road(self) -> bool:
        """The episode ended before ``seconds``: the robot left the road (or tipped over)."""
        return bool(self.metrics.survival_s < self.seconds - 0.5 / self.rate_hz)

    def dropout_response(self) -> tuple[float | None, float | None]:
        """Return the dropout's fallback delay and the resume delay (s; ``None``: none).

        The delay from the dropout's start to the first safe command, and from the frames'
        return to the first published policy command after it.
        """
        if self.dropout_s is None:
            return None, None
        start, duration = self.dropout_s
        end = start + duration
        t = np.asarray(self.trace.t_s)
        fallback = np.asarray(self.trace.fallback, dtype=bool)
        during = np.flatnonzero(fallback & (t >= start) & (t < end + 1.0))
        if len(during) == 0:
            return None, None
        first = float(t[during[0]] - start)
        after = np.flatnonzero(~fallback & (t >= t[during[0]]))
        resumed = float(t[after[0]] - end) if len(after) else None
        return first, resumed


def run_demo(
    model: str,
    *,
    safety_config: str | None = None,
    track: str = "oval",
    seconds: float = 50.0,
    seed: int = 0,
    camera_noise: float | None = None,
    dropout_s: tuple[float, float] | None = None,
    rate_hz: float = 50.0,
    progress: bool = True,
) -> DemoResult:
    """Drive the lane world with ``model`` behind the filter; return the metrics and the trace.

    The episode lasts ``seconds`` of simulated time, or until the robot leaves the road.

    Raises:
        ConfigError: bad model, track, safety config or camera noise.
        CheckpointError: the model file cannot be loaded.
        SimulationError: no OpenGL backend to render the camera.
    """
    from tqdm import tqdm

    from liquid_controller.control import load_policy
    from liquid_controller.control.node_settings import neuron_types
    from liquid_controller.errors import ConfigError
    from liquid_controller.package_files import find_data_file
    from liquid_controller.safety.config import load_config
    from liquid_controller.sim.evaluate import SIM_SAFETY_CONFIG, EvaluateJob, evaluate_episode
    from liquid_controller.sim.track import load_track

    if camera_noise is not None and not 0 <= camera_noise <= 1:
        raise ConfigError("--camera-noise", camera_noise, "a standard deviation in [0, 1]")
    # Bad files fail here, before the progress bar appears.
    loaded_track = load_track(track)
    types = neuron_types(load_policy(model))
    config_path = safety_config or find_data_file(SIM_SAFETY_CONFIG, key="--safety-config")
    actuators = load_config(config_path).actuators
    job = EvaluateJob(model, track, seed, laps=math.inf, max_seconds=seconds,
                      safety_config=str(config_path), camera_noise=camera_noise,
                      rate_hz=rate_hz, camera_dropout_s=dropout_s)  # fmt: skip
    frame_period = max(1.0 / FRAME_RATE_HZ, seconds / MAX_FRAMES)
    with tqdm(total=seconds, desc="demo", unit="sim s", disable=not progress,
              bar_format="{l_bar}{bar}| {n:.1f}/{total:.0f} sim s [{elapsed}]") as bar:  # fmt: skip
        trace = DemoTrace(frame_period, bar)
        metrics = evaluate_episode(job, trace)
    limits = (np.array(actuators.effort_min), np.array(actuators.effort_max))
    return DemoResult(metrics, trace, loaded_track, limits, types, dropout_s, rate_hz, seconds)
