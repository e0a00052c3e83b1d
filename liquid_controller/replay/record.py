"""Watch a replay and keep what the report shows, in memory that does not grow with the bag.

Per tick: the nominal, filtered and executed commands, whether the filter intervened or
fell back and why, its active constraints and slack, the policy-step and filter-solve
times and the neurons' activity, kept as evenly spread rows (:class:`Decimated`). Counts
(ticks, interventions, fallbacks, limit violations, per-constraint, per-status), fallback
intervals and per-topic input statistics (rates, gaps, header stamps going backwards or
repeating) are exact. Every published command is checked against the actuator limits
independently of the runner (box, finite, rate against the previous command); the count
must be 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from liquid_controller.control.command_guard import CommandGuard
from liquid_controller.control.diagnostics import DiagnosticRecord
from liquid_controller.control.pipeline import PipelineTick
from liquid_controller.errors import MessageConversionError
from liquid_controller.replay.barrier_probe import BarrierProbe
from liquid_controller.replay.bounded import Decimated, TimeBins
from liquid_controller.replay.source import RawMessage
from liquid_controller.sensing import header_stamp_ns

__all__ = ["InputStats", "Interval", "ReplayRecorder"]

NS_PER_S = 1e9
MAX_INTERVALS = 500
MAX_CONSTRAINT_TRACKS = 16


@dataclass
class Interval:
    """A stretch of consecutive ticks sharing a cause (a fallback, an input gap)."""

    start_s: float
    end_s: float
    cause: str
    detail: str = ""
    ticks: int = 1


@dataclass
class InputStats:
    """One input topic over the replay."""

    topic: str
    msgtype: str
    count: int = 0
    undecodable: int = 0
    first_s: float | None = None
    last_s: float | None = None
    max_gap_s: float = 0.0
    gaps: list[Interval] = field(default_factory=list)
    """Log-time gaps longer than the input timeout (at most ``MAX_INTERVALS``)."""
    gap_count: int = 0
    stamp_backwards: int = 0
    """Header stamps earlier than the previous one of this topic."""
    stamp_repeats: int = 0
    """Header stamps equal to the previous one (duplicated or re-sent messages)."""
    bins: TimeBins = field(default_factory=TimeBins)
    _last_stamp_ns: int | None = None

    def add(self, t_s: float, message: Any, gap_threshold_s: float) -> None:
        """Count a message delivered at ``t_s`` (``message`` ``None``: undecodable)."""
        self.count += 1
        self.bins.add(t_s)
        if self.last_s is not None:
            gap = t_s - self.last_s
            self.max_gap_s = max(self.max_gap_s, gap)
            if gap > gap_threshold_s:
                self.gap_count += 1
                if len(self.gaps) < MAX_INTERVALS:
                    self.gaps.append(Interval(self.last_s, t_s, "gap", f"{gap:.3f} s"))
        self.first_s = t_s if self.first_s is None else self.first_s
        self.last_s = t_s
        if message is None or not hasattr(message, "header"):
            return
        try:
            stamp = header_stamp_ns(message)
        except MessageConversionError:
            return
        if self._last_stamp_ns is not None:
            self.stamp_backwards += int(stamp < self._last_stamp_ns)
            self.stamp_repeats += int(stamp == self._last_stamp_ns)
        self._last_stamp_ns = stamp

    def summary(self) -> dict[str, Any]:
        """The JSON summary of this topic."""
        span = (self.last_s or 0.0) - (self.first_s or 0.0)
        return {
            "topic": self.topic,
            "type": self.msgtype,
            "messages": self.count,
            "undecodable": self.undecodable,
            "mean_rate_hz": (self.count - 1) / span if span > 0 else 0.0,
            "max_gap_s": self.max_gap_s,
            "gaps_over_timeout": self.gap_count,
            "header_stamp_backwards": self.stamp_backwards,
            "header_stamp_repeats": self.stamp_repeats,
        }


def _cause(tick: PipelineTick) -> str:
    policy = tick.policy
    if policy.stale_inputs:
        return "stale " + ", ".join(policy.stale_inputs)
    if policy.error:
        return "policy error"
    if tick.safety.stale_inputs and "stale" in tick.safety.status:
        return "stale " + ", ".join(tick.safety.stale_inputs)
    return tick.safety.status


class ReplayRecorder:
    """A replay observer that keeps the report's data.

    Args:
        actuator_names: actuator order.
        guard: the actuator limits every published command is checked against.
        max_dt_s: the safety config's ``timing.max_dt_s`` (the rate check's longest dt).
        input_timeout_s: gaps longer than this are listed per topic.
        barriers: evaluates :math:`h(x)` of the joint barriers per tick (``None``: not shown).
        capacity: rows kept per time series.
    """

    def __init__(
        self,
        actuator_names: tuple[str, ...],
        guard: CommandGuard,
        *,
        max_dt_s: float,
        input_timeout_s: float,
        barriers: BarrierProbe | None = None,
        capacity: int = 4096,
    ) -> None:
        self.actuator_names = actuator_names
        self._guard = guard
        self._max_dt_s = max_dt_s
        self._timeout_s = input_timeout_s
        self.start_ns: int | None = None
        self.inputs: dict[str, InputStats] = {}
        self.ticks = Decimated(capacity)
        """Rows: t, command (n), nominal (n, NaN if none), executed (n, NaN if none),
        intervened, fallback, slack max, active-constraint bit mask."""
        self.activity = Decimated(capacity)
        """Rows: t, activity of every neuron (stepped ticks only)."""
        self.step_times = Decimated(capacity * 4)
        self.solve_times = Decimated(capacity * 4)
        self.constraint_names: list[str] = []
        self.barriers = barriers
        self.barrier_values = Decimated(capacity)
        """Rows: t, h of every joint barrier row (NaN without a fresh joint state)."""
        rows = 0 if barriers is None else len(barriers.names)
        self._h_min = np.full(rows, np.inf)
        self._h_negative = np.zeros(rows, dtype=np.int64)
        self.counts: dict[str, Any] = {
            "ticks": 0,
            "policy_steps": 0,
            "interventions": 0,
            "fallbacks": 0,
            "limit_violations": 0,
            "statuses": {},
            "policy_statuses": {},
            "active_constraints": {},
            "fallback_causes": {},
            "diagnostics_levels": {},
        }
        self.first_violation = ""
        self.fallbacks: list[Interval] = []
        self.fallback_intervals = 0
        self._previous: tuple[float, npt.NDArray[np.float64]] | None = None
        self._executed: tuple[float, npt.NDArray[np.float64]] | None = None
        self.executed_topic: str | None = None
        size = len(actuator_names)
        self._error_sum = np.zeros(size)
        self._error_sq = np.zeros(size)
        self._error_max = np.zeros(size)
        self._compared = 0

    def _t(self, now_ns: int) -> float:
        if self.start_ns is None:
            self.start_ns = now_ns
        return (now_ns - self.start_ns) / NS_PER_S

    # ------------------------------------------------------------------ observer

    def on_input(self, role: str, raw: RawMessage, message: Any, now_ns: int) -> None:
        """Per-topic statistics; the executed commands are held for the comparison."""
        t = self._t(now_ns)
        stats = self.inputs.get(raw.topic)
        if stats is None:
            stats = self.inputs[raw.topic] = InputStats(raw.topic, raw.msgtype)
        stats.add(t, message, self._timeout_s)
        if message is None:
            stats.undecodable += 1
            return
        if role == "joint_states" and self.barriers is not None:
            self.barriers.joint_state(message, t)
        if role == "executed":
            self.executed_topic = raw.topic
            data = np.asarray(message.data, dtype=np.float64)
            if data.shape == (len(self.actuator_names),):
                self._executed = (t, data)

    def on_tick(self, now_ns: int, tick: PipelineTick, compute_s: float) -> None:
        """Keep the tick's row; count, check limits, compare with the executed command."""
        t = self._t(now_ns)
        counts = self.counts
        safety, policy = tick.safety, tick.policy
        counts["ticks"] += 1
        counts["interventions"] += int(safety.intervened)
        counts["fallbacks"] += int(safety.fallback)
        _bump(counts["statuses"], safety.status)
        _bump(counts["policy_statuses"], policy.status.value)
        if policy.step is not None:
            counts["policy_steps"] += 1
            self.step_times.add(policy.inference_time_s)
            self.activity.add([t, *np.asarray(policy.step.activity, dtype=np.float64).ravel()])
        self.solve_times.add(safety.solve_time_s)
        if self.barriers is not None:
            h = self.barriers.values(t)
            self.barrier_values.add([t, *h])
            known = np.isfinite(h)
            self._h_min[known] = np.minimum(self._h_min[known], h[known])
            self._h_negative += known & (h < 0)
        mask = 0
        for name in safety.active_constraints:
            _bump(counts["active_constraints"], name)
            mask |= self._constraint_bit(name)
        command = safety.command
        self._check_limits(t, command)
        executed = self._compare(t, command)
        n = len(self.actuator_names)
        nominal = safety.nominal if safety.nominal is not None else np.full(n, np.nan)
        slack = float(np.max(safety.slack)) if safety.slack.size else 0.0
        self.ticks.add(
            [t, *command, *nominal, *executed, safety.intervened, safety.fallback, slack, mask]
        )
        if safety.fallback:
            self._fallback(t, _cause(tick), safety.reason)
        elif self.fallbacks and self.fallbacks[-1].end_s < 0:
            self.fallbacks[-1].end_s = t

    def on_diagnostics(self, now_ns: int, records: dict[str, list[DiagnosticRecord]]) -> None:
        """Count the diagnostic levels reported."""
        for node_records in records.values():
            for record in node_records:
                _bump(self.counts["diagnostics_levels"], record.level.name)

    # ------------------------------------------------------------------ helpers

    def _constraint_bit(self, name: str) -> int:
        if name not in self.constraint_names:
            if len(self.constraint_names) >= MAX_CONSTRAINT_TRACKS:
                return 0  # counted, not drawn
            self.constraint_names.append(name)
        return 1 << self.constraint_names.index(name)

    def _check_limits(self, t: float, command: npt.NDArray[np.float64]) -> None:
        previous, dt = None, self._max_dt_s
        if self._previous is not None:
            previous = self._previous[1]
            dt = min(max(t - self._previous[0], 0.0), self._max_dt_s)
        problem = self._guard.violation(command, previous, dt)
        if problem:
            self.counts["limit_violations"] += 1
            self.first_violation = self.first_violation or f"t = {t:.3f} s: {problem}"
        self._previous = (t, command.copy())

    def _compare(self, t: float, command: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """The executed command held at ``t`` (NaN if none recent) and the error statistics."""
        n = len(self.actuator_names)
        if self._executed is None or t - self._executed[0] > self._timeout_s:
            return np.full(n, np.nan)
        executed = self._executed[1]
        error = np.abs(command - executed)
        self._error_sum += error
        self._error_sq += error**2
        self._error_max = np.maximum(self._error_max, error)
        self._compared += 1
        return executed

    def _fallback(self, t: float, cause: str, reason: str) -> None:
        _bump(self.counts["fallback_causes"], cause)
        last = self.fallbacks[-1] if self.fallbacks else None
        if last is not None and last.end_s < 0 and last.cause == cause:
            last.ticks += 1
            return
        if last is not None and last.end_s < 0:
            last.end_s = t
        self.fallback_intervals += 1
        if len(self.fallbacks) < MAX_INTERVALS:
            self.fallbacks.append(Interval(t, -1.0, cause, reason))

    def close(self, end_ns: int | None) -> None:
        """End an open fallback interval at the replay's end."""
        if self.fallbacks and self.fallbacks[-1].end_s < 0:
            self.fallbacks[-1].end_s = self._t(end_ns) if end_ns is not None else 0.0

    def barrier_summary(self) -> dict[str, Any] | None:
        """Per joint-barrier row: the smallest h(x) seen and the ticks with h < 0."""
        if self.barriers is None:
            return None
        return {
            name: {
                "min_h": float(self._h_min[i]) if np.isfinite(self._h_min[i]) else None,
                "ticks_h_negative": int(self._h_negative[i]),
            }
            for i, name in enumerate(self.barriers.names)
        }

    def comparison(self) -> dict[str, Any] | None:
        """Replayed vs executed commands per actuator (``None`` without executed commands)."""
        if self.executed_topic is None:
            return None
        count = max(self._compared, 1)
        return {
            "topic": self.executed_topic,
            "compared_ticks": self._compared,
            "per_actuator": {
                name: {
                    "mean_abs_error": float(self._error_sum[i] / count),
                    "rms_error": float(np.sqrt(self._error_sq[i] / count)),
                    "max_abs_error": float(self._error_max[i]),
                }
                for i, name in enumerate(self.actuator_names)
            },
        }


def _bump(counts: dict[str, int], key: str) -> None:
    counts[key] = counts.get(key, 0) + 1
