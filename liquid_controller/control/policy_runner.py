"""The policy node's core: latest inputs in, one policy step per tick, nominal command out.

No ROS and no clock inside: the caller passes ``now_s`` (node time, simulation time under
``use_sim_time``) and the header stamps of the inputs. Only the compute time of the network
step is measured, through an injectable ``timer``.

dt between steps comes from the header stamps, not from the tick times: the network
integrates exactly the time that passed between the observations it saw. The observation
stamp of a step is the newest stamp among the policy's inputs. Guards (reported in
:attr:`PolicyTick.dt_clamp` and counted):

- first step after a reset: no previous stamp, ``dt = nominal_period_s`` (``FIRST_STEP``);
- no input newer than the last step (``dt == 0``): the policy is not stepped, because a
  zero-length step still changes a CfC's state; the last action is repeated
  (status ``REPEATED``);
- stamps went backwards (a bag or simulation restarted, a sensor's clock reset):
  ``dt = nominal_period_s`` (``BACKWARDS``);
- a gap longer than ``max_dt_s`` (e.g. resuming after stale inputs with the state kept):
  ``dt = max_dt_s`` (``GAP``), so the liquid ODE is never integrated over an
  unbounded step.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from liquid_controller.control._checks import require_positive_seconds, stamp_problem
from liquid_controller.control.watchdog import FreshnessTransition, InputWatchdog
from liquid_controller.errors import ConfigError, ObservationError
from liquid_controller.runtime.spec import Policy, PolicySpec, PolicyStep

__all__ = [
    "IMAGE_INPUT",
    "DtClamp",
    "PolicyCounters",
    "PolicyRunner",
    "PolicyRunnerConfig",
    "PolicyTick",
    "PolicyTickStatus",
]

FloatArray = npt.NDArray[np.float64]
IMAGE_INPUT = "image"
"""Input name of the camera image (the observation key of :mod:`liquid_controller.runtime.spec`)."""


class PolicyTickStatus(Enum):
    """What a tick did."""

    STEPPED = "stepped"
    """The policy was stepped; ``nominal`` is its action."""
    REPEATED = "repeated"
    """No input newer than the last step: the last action is repeated without stepping."""
    STALE_INPUT = "stale_input"
    """An input is stale (or never arrived): no nominal; the filter side falls back."""
    POLICY_ERROR = "policy_error"
    """The policy raised or returned a non-finite / mis-shaped action: no nominal."""


class DtClamp(Enum):
    """Which dt guard applied on a step (see the module docstring)."""

    NONE = "none"
    FIRST_STEP = "first_step"
    BACKWARDS = "backwards"
    GAP = "gap"


@dataclass(frozen=True)
class PolicyRunnerConfig:
    """Settings of :class:`PolicyRunner` (from the node's parameters).

    Attributes:
        input_timeout_s: an input older than this (by arrival time) is stale.
        nominal_period_s: dt used when the stamps cannot give one (``1 / rate_hz``).
        max_dt_s: longest step the network is integrated over.
        reset_on_resume: reset the hidden state when inputs return after being stale
            (``False``: keep it and integrate the gap, clamped to ``max_dt_s``).
    """

    input_timeout_s: float = 0.25
    nominal_period_s: float = 0.02
    max_dt_s: float = 0.5
    reset_on_resume: bool = True

    def __post_init__(self) -> None:
        for key in ("input_timeout_s", "nominal_period_s", "max_dt_s"):
            require_positive_seconds(key, getattr(self, key))
        if self.max_dt_s < self.nominal_period_s:
            raise ConfigError(
                "max_dt_s",
                self.max_dt_s,
                f">= nominal_period_s ({self.nominal_period_s} s), else every step is clamped",
            )


class PolicyTick(NamedTuple):
    """The outcome of :meth:`PolicyRunner.tick`: what the node publishes and logs."""

    status: PolicyTickStatus
    nominal: FloatArray | None
    """Nominal command (actuator order), or ``None`` when nothing may be published."""
    step: PolicyStep | None
    """The policy's full output (activity for ``~/policy_state``), ``None`` if not stepped."""
    stamp_s: float | None
    """Observation stamp of this step (newest input stamp), for the output headers."""
    dt_s: float
    """Time the network integrated over on this tick, seconds (0 if not stepped)."""
    dt_clamp: DtClamp
    inference_time_s: float
    """Compute time of ``policy.step``, seconds (0 if not stepped)."""
    stale_inputs: tuple[str, ...]
    transitions: tuple[FreshnessTransition, ...]
    """Inputs whose freshness changed on this tick (log these once)."""
    state_reset: bool
    """The hidden state was reset before this step (start, service, resume, after an error)."""
    error: str
    """Why the policy failed on this tick; empty otherwise."""


@dataclass
class PolicyCounters:
    """Running totals for diagnostics."""

    ticks: int = 0
    steps: int = 0
    repeats: int = 0
    stale_ticks: int = 0
    policy_errors: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    """Rejected samples per input name (NaN/inf, wrong shape, bad stamp, conversion errors)."""
    dt_clamps: dict[str, int] = field(default_factory=dict)
    """Steps per applied dt guard (:class:`DtClamp` value), excluding ``none``."""
    last_error: str = ""
    last_drop_reason: str = ""


class _InputShape(NamedTuple):
    shape: tuple[int, ...]
    dtype: np.dtype[Any]


def _input_shapes(spec: PolicySpec) -> dict[str, _InputShape]:
    shapes: dict[str, _InputShape] = {}
    if spec.image is not None:
        shapes[IMAGE_INPUT] = _InputShape(
            (spec.image.height, spec.image.width, spec.image.channels), np.dtype(np.uint8)
        )
    for vec in spec.vectors:
        shapes[vec.name] = _InputShape((vec.size,), np.dtype(np.float64))
    return shapes


class PolicyRunner:
    """Hold the latest inputs and step a :class:`~liquid_controller.runtime.spec.Policy` per tick.

    Inputs are the observation keys of the policy's spec: ``"image"`` (uint8, already
    resized to the spec's ``(height, width, channels)``) and one float vector per
    ``spec.vectors`` entry (e.g. ``"imu"``). A sample that does not fit (wrong shape or
    dtype kind, NaN/inf, non-finite stamp) is dropped and counted; it never reaches the
    policy, and the previous good sample stays (and goes stale in time).

    Args:
        policy: the network; the runner owns its hidden state from now on.
        config: timeouts and dt guards.
        timer: monotonic clock used only to measure the step's compute time.
    """

    def __init__(
        self,
        policy: Policy,
        config: PolicyRunnerConfig | None = None,
        *,
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._config = config or PolicyRunnerConfig()
        self._timer = timer
        self.counters = PolicyCounters()
        self._install(policy)

    def _install(self, policy: Policy) -> None:
        self._policy = policy
        self._spec = policy.spec
        self._shapes = _input_shapes(self._spec)
        self._latest: dict[str, np.ndarray[Any, Any]] = {}
        self._watchdog = InputWatchdog(self._shapes, input_timeout_s=self._config.input_timeout_s)
        for name in self._shapes:
            self.counters.dropped.setdefault(name, 0)
        self._prev_stamp_s: float | None = None
        self._last_step: PolicyStep | None = None
        self._reset_pending = True
        self._was_stale = False

    @property
    def spec(self) -> PolicySpec:
        """The current policy's observation/action contract."""
        return self._spec

    @property
    def config(self) -> PolicyRunnerConfig:
        """Current settings."""
        return self._config

    @property
    def input_names(self) -> tuple[str, ...]:
        """Inputs this policy needs; each must stay fresh for the policy to run."""
        return tuple(self._shapes)

    def input_shape(self, name: str) -> tuple[int, ...]:
        """Expected array shape of input ``name`` (the image's is ``(height, width, channels)``)."""
        return self._shapes[self._known(name)].shape

    @property
    def watchdog(self) -> InputWatchdog:
        """Freshness of the inputs (read-only use: ages for diagnostics)."""
        return self._watchdog

    def _known(self, name: str) -> str:
        if name not in self._shapes:
            raise ObservationError(
                name, f"not an input of this policy; expected one of {list(self._shapes)}"
            )
        return name

    def submit(self, name: str, value: Any, *, stamp_s: float, now_s: float) -> str | None:
        """Offer a sample of input ``name`` with header stamp ``stamp_s``, arrived at ``now_s``.

        Returns:
            ``None`` if accepted; otherwise the reason it was dropped (also counted).

        Raises:
            ObservationError: if ``name`` is not an input of this policy (a wiring bug, not data).
        """
        expected = self._shapes[self._known(name)]
        reason = _rejection(value, expected, stamp_s)
        if reason is not None:
            self.record_drop(name, reason)
            return reason
        self._latest[name] = np.array(value, dtype=expected.dtype, copy=True)
        self._watchdog.arrived(name, now_s=now_s, stamp_s=float(stamp_s))
        return None

    def record_drop(self, name: str, reason: str) -> None:
        """Count a sample of ``name`` dropped before :meth:`submit` (e.g. a conversion error)."""
        self.counters.dropped[name] = self.counters.dropped.get(name, 0) + 1
        self.counters.last_drop_reason = f"{name}: {reason}"

    def reset(self) -> None:
        """Reset the hidden state now (the ``~/reset_state`` service); the next step reports it."""
        self._policy.reset()
        self._prev_stamp_s = None
        self._last_step = None
        self._reset_pending = True

    def reconfigure(self, config: PolicyRunnerConfig) -> None:
        """Apply new settings (validated by :class:`PolicyRunnerConfig`) from the next tick."""
        self._watchdog.input_timeout_s = config.input_timeout_s
        self._config = config

    def replace_policy(self, policy: Policy) -> None:
        """Swap in a new policy (already loaded): inputs and hidden state start afresh."""
        self._install(policy)

    def tick(self, now_s: float) -> PolicyTick:
        """Step the policy on the latest inputs, if they are all fresh at ``now_s``."""
        self.counters.ticks += 1
        transitions = self._watchdog.poll(now_s)
        stale = self._watchdog.stale_inputs(now_s)
        if stale:
            self.counters.stale_ticks += 1
            self._was_stale = True
            return _result(PolicyTickStatus.STALE_INPUT, transitions, stale_inputs=stale)
        if self._was_stale:
            self._was_stale = False
            if self._config.reset_on_resume:
                self.reset()

        stamp_s = self._observation_stamp(now_s)
        state_reset = self._reset_pending
        if state_reset:
            self._policy.reset()
            self._reset_pending = False

        dt_s, clamp = self._dt(stamp_s)
        if clamp is None:
            return self._repeat(stamp_s, transitions)
        self._prev_stamp_s = stamp_s
        if clamp is not DtClamp.NONE:
            self.counters.dt_clamps[clamp.value] = self.counters.dt_clamps.get(clamp.value, 0) + 1

        start = self._timer()
        try:
            step = self._policy.step(self._latest, dt_s)
            error = _output_problem(step, self._spec.action.size)
        except Exception as err:  # noqa: BLE001 - any failure of the network must not escape
            step, error = None, f"{type(err).__name__}: {err}"
        inference_time_s = self._timer() - start

        if error:
            self.counters.policy_errors += 1
            self.counters.last_error = error
            # The hidden state may now hold NaN or garbage: start afresh on the next step.
            self.reset()
            return _result(
                PolicyTickStatus.POLICY_ERROR,
                transitions,
                stamp_s=stamp_s,
                dt_s=dt_s,
                dt_clamp=clamp,
                inference_time_s=inference_time_s,
                state_reset=state_reset,
                error=error,
            )
        assert step is not None
        self.counters.steps += 1
        self._last_step = step
        return _result(
            PolicyTickStatus.STEPPED,
            transitions,
            nominal=np.array(step.action, dtype=np.float64),
            step=step,
            stamp_s=stamp_s,
            dt_s=dt_s,
            dt_clamp=clamp,
            inference_time_s=inference_time_s,
            state_reset=state_reset,
        )

    def _observation_stamp(self, now_s: float) -> float:
        """Newest header stamp among the inputs (``now_s`` for a policy without inputs)."""
        stamps = [self._watchdog.record(n).last_stamp_s for n in self._shapes]
        return max((s for s in stamps if s is not None), default=now_s)

    def _dt(self, stamp_s: float) -> tuple[float, DtClamp | None]:
        """Return (dt, guard) for a step at ``stamp_s``; guard ``None`` means: do not step."""
        cfg = self._config
        if self._prev_stamp_s is None:
            return cfg.nominal_period_s, DtClamp.FIRST_STEP
        raw = stamp_s - self._prev_stamp_s
        if raw == 0.0:
            return 0.0, None
        if raw < 0.0:
            return cfg.nominal_period_s, DtClamp.BACKWARDS
        if raw > cfg.max_dt_s:
            return cfg.max_dt_s, DtClamp.GAP
        return raw, DtClamp.NONE

    def _repeat(self, stamp_s: float, transitions: tuple[FreshnessTransition, ...]) -> PolicyTick:
        # A previous stamp exists only after a successful step (errors and resets clear both).
        assert self._last_step is not None
        self.counters.repeats += 1
        return _result(
            PolicyTickStatus.REPEATED,
            transitions,
            nominal=np.array(self._last_step.action, dtype=np.float64),
            stamp_s=stamp_s,
        )


def _result(
    status: PolicyTickStatus,
    transitions: tuple[FreshnessTransition, ...],
    *,
    nominal: FloatArray | None = None,
    step: PolicyStep | None = None,
    stamp_s: float | None = None,
    dt_s: float = 0.0,
    dt_clamp: DtClamp = DtClamp.NONE,
    inference_time_s: float = 0.0,
    stale_inputs: tuple[str, ...] = (),
    state_reset: bool = False,
    error: str = "",
) -> PolicyTick:
    """Build a :class:`PolicyTick`; the defaults describe a tick that did not step."""
    return PolicyTick(
        status=status,
        nominal=nominal,
        step=step,
        stamp_s=stamp_s,
        dt_s=dt_s,
        dt_clamp=dt_clamp,
        inference_time_s=inference_time_s,
        stale_inputs=stale_inputs,
        transitions=transitions,
        state_reset=state_reset,
        error=error,
    )


def _rejection(value: Any, expected: _InputShape, stamp_s: float) -> str | None:
    """Return why ``value`` cannot be an input of shape ``expected``, or ``None`` if it can."""
    problem = stamp_problem(stamp_s)
    if problem:
        return problem
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError) as err:
        return f"not an array ({err})"
    if arr.shape != expected.shape:
        return f"shape {arr.shape}; expected {expected.shape}"
    if expected.dtype == np.uint8:
        if arr.dtype != np.uint8:
            return f"dtype {arr.dtype}; expected uint8"
        return None
    if arr.dtype.kind not in "biuf":
        return f"dtype {arr.dtype}; expected a real number array"
    if not np.isfinite(arr).all():
        return f"non-finite value {arr.tolist()}"
    return None


def _output_problem(step: PolicyStep, action_size: int) -> str:
    """Return what is wrong with a policy's output, or an empty string."""
    action = np.asarray(step.action)
    if action.shape != (action_size,):
        return f"policy action has shape {action.shape}; expected ({action_size},)"
    if not np.isfinite(action).all():
        return f"policy action is not finite: {action.tolist()}"
    return ""
