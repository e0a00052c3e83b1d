"""The safety-filter node's core: latest nominal and joint state in, a safe command out per tick.

Whatever happens upstream, :meth:`SafetyRunner.tick` returns a command that is finite and
inside the actuator limits:

1. nominal fresh and valid -> ``safety_filter.filter(nominal, state, now_s)``;
2. nominal stale, never received, withdrawn, or the joint state stale while required ->
   ``safety_filter.fallback(reason, now_s, state)``: the filter's safe command, ramped
   under the rate limits (shaped by the barriers while the joint state is fresh);
3. the filter raised -> the :class:`~liquid_controller.control.command_guard.CommandGuard`'s
   own ramp toward the safe command (status ``fallback_filter_error``);
4. whatever the filter returned is checked by the guard (finite, shape, box, rate against
   the last published command); a violation is replaced by the guard's ramp
   (status ``fallback_guard``). This never happens with a correct filter; it is counted.

After 3 or 4 the filter is told what was published (``safety_filter.reset(command, now_s)``)
so its own rate window continues from the command the actuators really received.

No ROS and no clock inside: every call takes ``now_s`` (node time).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, NamedTuple, Protocol

import numpy as np
import numpy.typing as npt

from liquid_controller.control._checks import require_positive_seconds, stamp_problem
from liquid_controller.control.command_guard import CommandGuard
from liquid_controller.control.watchdog import FreshnessTransition, InputWatchdog
from liquid_controller.errors import ConfigError

__all__ = [
    "NOMINAL_INPUT",
    "JOINT_STATE_INPUT",
    "CommandFilter",
    "FilterOutcome",
    "RunnerStatus",
    "SafetyCounters",
    "SafetyRunner",
    "SafetyRunnerConfig",
    "SafetyTick",
]

FloatArray = npt.NDArray[np.float64]
NOMINAL_INPUT = "nominal"
JOINT_STATE_INPUT = "joint_state"


class FilterOutcome(Protocol):
    """What the safety filter returns (``liquid_controller.safety.FilterResult``)."""

    @property
    def u(self) -> FloatArray: ...  # noqa: D102
    @property
    def intervened(self) -> bool: ...  # noqa: D102
    @property
    def status(self) -> Any: ...  # noqa: D102
    @property
    def reason(self) -> str: ...  # noqa: D102
    @property
    def active_constraints(self) -> Sequence[str]: ...  # noqa: D102
    @property
    def slack(self) -> FloatArray: ...  # noqa: D102
    @property
    def solve_time_s(self) -> float: ...  # noqa: D102


class CommandFilter(Protocol):
    """The safety filter as the runner uses it (``liquid_controller.safety.SafetyFilter``)."""

    def filter(  # noqa: D102
        self,
        u_nominal: Any,
        state: Mapping[str, Any] | None = None,
        t: float | None = None,
        gains: Any = None,
    ) -> FilterOutcome: ...

    def fallback(  # noqa: D102
        self, reason: str, t: float | None = None, state: Mapping[str, Any] | None = None
    ) -> FilterOutcome: ...

    def reset(self, u_prev: Any = None, t: float | None = None) -> None: ...  # noqa: D102


class RunnerStatus(Enum):
    """Statuses the runner sets itself (the filter's own statuses pass through as they are)."""

    FILTER_ERROR = "fallback_filter_error"
    """The filter raised; the guard's ramp was published."""
    GUARD = "fallback_guard"
    """The filter's command broke a limit; the guard's ramp was published."""


@dataclass(frozen=True)
class SafetyRunnerConfig:
    """Settings of :class:`SafetyRunner`.

    Attributes:
        input_timeout_s: a nominal (or joint state) older than this is stale.
        require_joint_state: fall back when the joint state is stale; when ``False`` a
            stale joint state is passed to the filter as ``state=None``.
        max_dt_s: cap on the time between ticks used for the guard's rate checks and ramp
            (use the safety config's ``timing.max_dt_s`` so both agree).
    """

    input_timeout_s: float = 0.1
    require_joint_state: bool = False
    max_dt_s: float = 0.1

    def __post_init__(self) -> None:
        for key in ("input_timeout_s", "max_dt_s"):
            require_positive_seconds(key, getattr(self, key))


class SafetyTick(NamedTuple):
    """The outcome of :meth:`SafetyRunner.tick`: the command and its ``SafetyStatus`` fields."""

    command: FloatArray
    """The command to publish: finite, inside the box, within the rate limits."""
    nominal: FloatArray | None
    """The nominal it was filtered from, or ``None`` when there was none to use."""
    stamp_s: float | None
    """Header stamp of that nominal, or ``None``."""
    status: str
    reason: str
    intervened: bool
    fallback: bool
    """The command is the safe command (no usable nominal, or something failed)."""
    active_constraints: tuple[str, ...]
    slack: FloatArray
    solve_time_s: float
    stale_inputs: tuple[str, ...]
    transitions: tuple[FreshnessTransition, ...]


@dataclass
class SafetyCounters:
    """Running totals for diagnostics."""

    ticks: int = 0
    interventions: int = 0
    fallbacks: int = 0
    filter_errors: int = 0
    guard_overrides: int = 0
    dropped: dict[str, int] = field(
        default_factory=lambda: {NOMINAL_INPUT: 0, JOINT_STATE_INPUT: 0}
    )
    statuses: dict[str, int] = field(default_factory=dict)
    last_error: str = ""
    last_drop_reason: str = ""


def _finite_vector(value: Any, size: int) -> FloatArray | str:
    """Return ``value`` as a fresh float64 vector of ``size``, or why it is not one."""
    try:
        arr = np.array(value, dtype=np.float64, copy=True)
    except (TypeError, ValueError) as err:
        return f"not a number array ({err})"
    if arr.shape != (size,):
        return f"shape {arr.shape}; expected ({size},)"
    if not np.isfinite(arr).all():
        return f"non-finite value {arr.tolist()}"
    return arr


def _status_text(status: Any) -> str:
    return str(status.value) if isinstance(status, Enum) else str(status)


class SafetyRunner:
    """Filter the latest nominal command on each tick; always return a publishable command.

    Args:
        safety_filter: the CBF-QP filter (:class:`CommandFilter`).
        guard: the actuator limits and safe command (from the same safety config).
        config: timeouts.
        timer: monotonic clock, used only to time the filter call when it raised.
    """

    def __init__(
        self,
        safety_filter: CommandFilter,
        guard: CommandGuard,
        config: SafetyRunnerConfig | None = None,
        *,
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._config = config or SafetyRunnerConfig()
        self._timer = timer
        self.counters = SafetyCounters()
        self._watchdog = InputWatchdog(
            (NOMINAL_INPUT, JOINT_STATE_INPUT), input_timeout_s=self._config.input_timeout_s
        )
        self._install(safety_filter, guard)

    def _install(self, safety_filter: CommandFilter, guard: CommandGuard) -> None:
        self._filter = safety_filter
        self._guard = guard
        self._nominal: FloatArray | None = None
        self._nominal_stamp_s = 0.0
        self._gains: FloatArray | None = None
        self._withdrawn = ""
        self._state: dict[str, FloatArray] | None = None
        self._last_command: FloatArray | None = None
        self._last_tick_s: float | None = None

    @property
    def size(self) -> int:
        """Number of actuators (length of every command and nominal)."""
        return self._guard.size

    @property
    def config(self) -> SafetyRunnerConfig:
        """Current settings."""
        return self._config

    @property
    def guard(self) -> CommandGuard:
        """The limits every published command satisfies."""
        return self._guard

    @property
    def watchdog(self) -> InputWatchdog:
        """Freshness of ``nominal`` and ``joint_state`` (read-only use)."""
        return self._watchdog

    @property
    def last_command(self) -> FloatArray | None:
        """The last command returned by :meth:`tick` (``None`` before the first tick)."""
        return None if self._last_command is None else self._last_command.copy()

    def submit_nominal(
        self, u: Any, *, stamp_s: float, now_s: float, gains: Any = None
    ) -> str | None:
        """Offer a nominal command (actuator order) with header ``stamp_s``, arrived at ``now_s``.

        Args:
            u: the nominal command.
            stamp_s: its header stamp, seconds.
            now_s: node time of arrival.
            gains: class-K gains from the policy's barrier head (composed pipeline only), or
                ``None`` for the safety config's defaults. Non-positive or non-finite gains
                make the filter fall back (its ``fallback_invalid_nominal``).

        Returns:
            ``None`` if accepted; otherwise why it was dropped (also counted).
        """
        checked = _finite_vector(u, self.size)
        reason = checked if isinstance(checked, str) else stamp_problem(stamp_s)
        if reason:
            self.record_drop(NOMINAL_INPUT, reason)
            return reason
        assert not isinstance(checked, str)
        self._nominal = checked
        self._gains = None if gains is None else np.array(gains, dtype=np.float64)
        self._nominal_stamp_s = float(stamp_s)
        self._withdrawn = ""
        self._watchdog.arrived(NOMINAL_INPUT, now_s=now_s, stamp_s=float(stamp_s))
        return None

    def withdraw_nominal(self, reason: str) -> None:
        """Forget the nominal now (the composed pipeline: the policy produced none this tick)."""
        self._nominal = None
        self._withdrawn = reason

    def submit_joint_state(
        self,
        position: Any,
        velocity: Any,
        *,
        stamp_s: float,
        now_s: float,
        extra: Mapping[str, float] | None = None,
    ) -> str | None:
        """Offer joint positions and velocities in actuator order (already mapped by name).

        Args:
            position: joint positions.
            velocity: joint velocities.
            stamp_s: header stamp, seconds.
            now_s: node time of arrival.
            extra: further state keys the plug-in barriers read, measured at the same time
                (e.g. the lane barrier's ``lateral_position``), each a finite number.

        Returns:
            ``None`` if accepted; otherwise why it was dropped (also counted).
        """
        pos = _finite_vector(position, self.size)
        vel = _finite_vector(velocity, self.size)
        reason = ""
        if isinstance(pos, str):
            reason = f"position: {pos}"
        elif isinstance(vel, str):
            reason = f"velocity: {vel}"
        else:
            reason = stamp_problem(stamp_s)
        extras = {key: _finite_vector([value], 1) for key, value in (extra or {}).items()}
        reason = reason or next(
            (f"{key}: {value}" for key, value in extras.items() if isinstance(value, str)), ""
        )
        if reason:
            self.record_drop(JOINT_STATE_INPUT, reason)
            return reason
        assert not isinstance(pos, str) and not isinstance(vel, str)
        self._state = {"joint_position": pos, "joint_velocity": vel}
        self._state.update({key: value[0] for key, value in extras.items()})  # type: ignore[misc]
        self._watchdog.arrived(JOINT_STATE_INPUT, now_s=now_s, stamp_s=float(stamp_s))
        return None

    def record_drop(self, name: str, reason: str) -> None:
        """Count a dropped sample of ``name`` (e.g. a message that failed conversion)."""
        self.counters.dropped[name] = self.counters.dropped.get(name, 0) + 1
        self.counters.last_drop_reason = f"{name}: {reason}"

    def reconfigure(self, config: SafetyRunnerConfig) -> None:
        """Apply new settings from the next tick."""
        self._watchdog.input_timeout_s = config.input_timeout_s
        self._config = config

    def replace_filter(self, safety_filter: CommandFilter, guard: CommandGuard) -> None:
        """Swap in a new filter and its limits (already loaded); the last command is kept.

        Raises:
            ConfigError: if the new filter has a different number of actuators.
        """
        if guard.size != self.size:
            raise ConfigError(
                "safety_config", f"{guard.size} actuators", f"{self.size} actuators, as before"
            )
        last, last_tick = self._last_command, self._last_tick_s
        nominal, state = self._nominal, self._state
        self._install(safety_filter, guard)
        self._last_command, self._last_tick_s = last, last_tick
        self._nominal, self._state = nominal, state

    def _dt(self, now_s: float) -> float:
        if self._last_tick_s is None:
            return self._config.max_dt_s
        return min(max(now_s - self._last_tick_s, 0.0), self._config.max_dt_s)

    def _missing_input(self, now_s: float, stale: tuple[str, ...]) -> str:
        """Why there is nothing to filter at ``now_s`` (empty string if there is)."""
        if self._withdrawn:
            return f"no nominal: {self._withdrawn}"
        required = [NOMINAL_INPUT]
        if self._config.require_joint_state:
            required.append(JOINT_STATE_INPUT)
        for name in required:
            if name in stale:
                age = self._watchdog.age_s(name, now_s)
                if age is None:
                    return f"stale input: {name} never received"
                return (
                    f"stale input: {name} is {age:.3f} s old "
                    f"(input_timeout_s = {self._config.input_timeout_s})"
                )
        return ""

    def tick(self, now_s: float) -> SafetyTick:
        """Return the command to publish at ``now_s`` (see the module docstring)."""
        self.counters.ticks += 1
        transitions = self._watchdog.poll(now_s)
        stale = self._watchdog.stale_inputs(now_s)
        dt_s = self._dt(now_s)
        missing = self._missing_input(now_s, stale)
        nominal = None if missing else self._nominal
        state = None if JOINT_STATE_INPUT in stale else self._state
        start = self._timer()
        try:
            if nominal is None:
                outcome = self._filter.fallback(missing, now_s, state)
            else:
                outcome = self._filter.filter(nominal, state, now_s, self._gains)
            command = np.asarray(outcome.u, dtype=np.float64)
            problem = self._guard.violation(command, self._last_command, dt_s)
            status, reason = _status_text(outcome.status), str(outcome.reason)
        except Exception as err:  # noqa: BLE001 - nothing may stop a safe command going out
            outcome, problem = None, ""
            status = RunnerStatus.FILTER_ERROR.value
            reason = f"safety filter raised {type(err).__name__}: {err}"
            self.counters.filter_errors += 1
            self.counters.last_error = reason
            command = self._guard.safe_command(self._last_command, dt_s)
        if problem:
            self.counters.guard_overrides += 1
            status = RunnerStatus.GUARD.value
            reason = f"filter output rejected: {problem}"
            self.counters.last_error = reason
            command = self._guard.safe_command(self._last_command, dt_s)
            outcome = None
        fallback = nominal is None or outcome is None or status.startswith("fallback")
        active: tuple[str, ...]
        if outcome is None:
            active, slack, solve_time_s = (), np.zeros(0), self._timer() - start
            intervened = True
            self._resync_filter(command, now_s)
        else:
            active = tuple(str(c) for c in outcome.active_constraints)
            slack = np.array(outcome.slack, dtype=np.float64).reshape(-1)
            solve_time_s = float(outcome.solve_time_s)
            intervened = nominal is None or bool(outcome.intervened)
        return self._emit(
            SafetyTick(
                command.copy(),
                None if nominal is None else nominal.copy(),
                None if nominal is None else self._nominal_stamp_s,
                status,
                reason,
                intervened,
                fallback,
                active,
                slack,
                solve_time_s,
                stale,
                transitions,
            ),
            now_s,
        )

    def _resync_filter(self, command: FloatArray, now_s: float) -> None:
        """Tell the filter what was really published, so its rate window starts there."""
        try:
            self._filter.reset(command, now_s)
        except Exception as err:  # noqa: BLE001 - already on the guard's path; keep going
            self.counters.last_error += f"; filter reset raised {type(err).__name__}: {err}"

    def shutdown_command(self) -> FloatArray:
        """The command to publish when the node stops: the safe target itself, no ramp.

        A stopping node cannot finish a ramp, and the forward controllers downstream hold
        the last command forever, so this jumps to the safe target (zero effort clipped
        into the box, or the last command for ``fallback: hold``).
        """
        return self._guard.safe_target(self._last_command)

    def hold(self, command: FloatArray, now_s: float) -> None:
        """Record ``command`` as published at ``now_s`` outside :meth:`tick`.

        A deactivated node publishes :meth:`shutdown_command` and falls silent; the
        actuators hold it. When the node is activated again, the rate limits must ramp
        from that command, not from the one before it.
        """
        self._last_command = np.array(command, dtype=np.float64, copy=True)
        self._last_tick_s = now_s
        self._resync_filter(self._last_command, now_s)

    def _emit(self, result: SafetyTick, now_s: float) -> SafetyTick:
        self._last_command = result.command.copy()
        self._last_tick_s = now_s
        self.counters.interventions += int(result.intervened)
        self.counters.fallbacks += int(result.fallback)
        self.counters.statuses[result.status] = self.counters.statuses.get(result.status, 0) + 1
        return result
