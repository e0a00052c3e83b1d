"""Rates, latency statistics and counters -> plain diagnostic records.

The ROS layer turns each :class:`DiagnosticRecord` into a ``diagnostic_msgs/DiagnosticStatus``
(``level`` maps onto OK/WARN/ERROR/STALE by name). Everything here takes ``now_s``
explicitly; nothing reads a clock.

Levels, per report (``records(now_s)``, typically once a second):

- inputs: ``STALE`` while a required input is stale, ``WARN`` if samples were dropped
  since the last report, else ``OK``;
- policy: ``ERROR`` if the policy failed since the last report, ``WARN`` if dt was
  clamped since then, else ``OK``;
- safety filter: ``ERROR`` if the filter raised or its output was overridden by the
  guard since the last report, ``WARN`` if it fell back to the safe command since then,
  else ``OK``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from enum import IntEnum
from typing import Generic, NamedTuple, TypeVar

from liquid_controller.control.policy_runner import PolicyRunner, PolicyTick
from liquid_controller.control.safety_runner import SafetyRunner, SafetyTick
from liquid_controller.control.watchdog import InputWatchdog

__all__ = [
    "DiagnosticLevel",
    "DiagnosticRecord",
    "PolicyDiagnostics",
    "RateMeter",
    "SafetyDiagnostics",
    "WindowStats",
]


class DiagnosticLevel(IntEnum):
    """Same names and values as ``diagnostic_msgs/DiagnosticStatus``."""

    OK = 0
    WARN = 1
    ERROR = 2
    STALE = 3


class DiagnosticRecord(NamedTuple):
    """One ``DiagnosticStatus``: ``values`` are key/value pairs, already formatted."""

    name: str
    level: DiagnosticLevel
    message: str
    values: tuple[tuple[str, str], ...]


class RateMeter:
    """Events per second over a sliding window of ``window_s`` seconds."""

    def __init__(self, window_s: float = 2.0) -> None:
        """Create an empty meter.

        Raises:
            ValueError: if ``window_s`` is not positive.
        """
        if not window_s > 0:
            raise ValueError(f"window_s: {window_s!r}; expected > 0 seconds")
        self.window_s = float(window_s)
        self._times: deque[float] = deque()

    def record(self, now_s: float) -> None:
        """Note one event at ``now_s``."""
        self._times.append(now_s)

    def rate_hz(self, now_s: float) -> float:
        """Events per second in ``(now_s - window_s, now_s]``; older events are forgotten.

        Events stamped after ``now_s`` (the clock went backwards) are forgotten too.
        """
        start = now_s - self.window_s
        times = self._times
        while times and times[0] <= start:
            times.popleft()
        if times and times[-1] > now_s:
            self._times = times = deque(t for t in times if t <= now_s)
        return len(times) / self.window_s


class WindowStats:
    """Percentiles of the last ``size`` samples (latencies, compute times).

    Computed in plain Python (one sort per report, linear interpolation like
    ``numpy.percentile``'s default): on a few hundred samples read once a second this is
    cheaper than numpy's call overhead, and it avoids the ~10 ms of lazy set-up that the
    first ``numpy.percentile`` call of a process costs inside a control node's callback.
    """

    def __init__(self, size: int = 500) -> None:
        """Create an empty window of ``size`` samples.

        Raises:
            ValueError: if ``size`` < 1.
        """
        if size < 1:
            raise ValueError(f"size: {size!r}; expected >= 1")
        self._samples: deque[float] = deque(maxlen=size)

    def add(self, value: float) -> None:
        """Add one sample."""
        self._samples.append(float(value))

    def __len__(self) -> int:
        return len(self._samples)

    def percentile(self, q: float) -> float:
        """The ``q``-th percentile (0..100, linear interpolation); NaN when empty."""
        return self.percentiles(q)[0]

    def percentiles(self, *qs: float) -> tuple[float, ...]:
        """The ``q``-th percentile for each of ``qs`` from one sort; NaNs when empty.

        Raises:
            ValueError: a ``q`` outside 0..100.
        """
        for q in qs:
            if not 0.0 <= q <= 100.0:
                raise ValueError(f"q: {q!r}; expected a percentile in 0..100")
        if not self._samples:
            return tuple(float("nan") for _ in qs)
        ordered = sorted(self._samples)
        last = len(ordered) - 1
        out = []
        for q in qs:
            position = q / 100.0 * last
            below = int(position)
            above = min(below + 1, last)
            low, high = ordered[below], ordered[above]
            out.append(low + (high - low) * (position - below))
        return tuple(out)


def _us(seconds: float) -> str:
    return "n/a" if seconds != seconds else f"{seconds * 1e6:.1f}"


def _grade(error: str | int, warning: str | int, ok: str) -> tuple[DiagnosticLevel, str]:
    """ERROR with ``error`` if it is non-empty, else WARN with ``warning``, else OK."""
    if error:
        return DiagnosticLevel.ERROR, str(error)
    if warning:
        return DiagnosticLevel.WARN, str(warning)
    return DiagnosticLevel.OK, ok


class _Report:
    """Shared bookkeeping: input rates and what changed since the previous report."""

    def __init__(self, name: str, window_s: float, samples: int) -> None:
        self.name = name
        self._window_s = window_s
        self._meters: dict[str, RateMeter] = {}
        self._seen: dict[str, int] = {}
        self.compute = WindowStats(samples)
        self.callback = WindowStats(samples)

    def on_message(self, name: str, now_s: float) -> None:
        self._meters.setdefault(name, RateMeter(self._window_s)).record(now_s)

    def delta(self, key: str, total: int) -> int:
        """How much ``total`` grew since the last call with ``key``."""
        grown = total - self._seen.get(key, 0)
        self._seen[key] = total
        return grown

    def inputs_record(
        self,
        watchdog: InputWatchdog,
        required: Iterable[str],
        dropped: dict[str, int],
        now_s: float,
    ) -> DiagnosticRecord:
        required = tuple(required)
        stale = [n for n in required if watchdog.is_stale(n, now_s)]
        new_drops = {n: self.delta(f"dropped.{n}", c) for n, c in dropped.items()}
        values: list[tuple[str, str]] = []
        for input_name in watchdog.names:
            meter = self._meters.get(input_name)
            age = watchdog.age_s(input_name, now_s)
            values += [
                (f"{input_name}.rate_hz", f"{meter.rate_hz(now_s) if meter else 0.0:.2f}"),
                (f"{input_name}.age_s", "never" if age is None else f"{age:.3f}"),
                (f"{input_name}.dropped", str(dropped.get(input_name, 0))),
            ]
        if stale:
            level, message = DiagnosticLevel.STALE, "stale: " + ", ".join(stale)
        elif any(new_drops.values()):
            dropped_now = ", ".join(f"{n} x{c}" for n, c in new_drops.items() if c)
            level, message = DiagnosticLevel.WARN, f"dropped invalid samples: {dropped_now}"
        else:
            level, message = DiagnosticLevel.OK, "all inputs fresh"
        return DiagnosticRecord(f"{self.name}: inputs", level, message, tuple(values))

    def timing_values(self, compute_key: str) -> list[tuple[str, str]]:
        compute_p50, compute_p99 = self.compute.percentiles(50, 99)
        callback_p50, callback_p99 = self.callback.percentiles(50, 99)
        return [
            (f"{compute_key}_p50_us", _us(compute_p50)),
            (f"{compute_key}_p99_us", _us(compute_p99)),
            ("callback_p50_us", _us(callback_p50)),
            ("callback_p99_us", _us(callback_p99)),
        ]


RunnerT = TypeVar("RunnerT", PolicyRunner, SafetyRunner)


class _RunnerDiagnostics(Generic[RunnerT]):
    """Input rates, timing windows and counter deltas of one runner.

    Args:
        runner: the runner whose counters and watchdog are reported.
        name: prefix of the record names, e.g. the node name.
        rate_window_s: window of the input rate meters, seconds.
        samples: window of the latency percentiles.
    """

    def __init__(
        self, runner: RunnerT, name: str, *, rate_window_s: float = 2.0, samples: int = 500
    ) -> None:
        self._runner: RunnerT = runner
        self._report = _Report(name, rate_window_s, samples)

    def on_message(self, input_name: str, now_s: float) -> None:
        """Count an arriving message of ``input_name`` (valid or not) for its rate."""
        self._report.on_message(input_name, now_s)


class PolicyDiagnostics(_RunnerDiagnostics[PolicyRunner]):
    """Diagnostics of a :class:`PolicyRunner` (the policy node, or half of the composed one)."""

    def on_tick(self, tick: PolicyTick, callback_time_s: float) -> None:
        """Record a tick's inference time and the whole timer callback's compute time."""
        if tick.step is not None:
            self._report.compute.add(tick.inference_time_s)
        self._report.callback.add(callback_time_s)

    def records(self, now_s: float) -> list[DiagnosticRecord]:
        """The policy's input and network records at ``now_s``."""
        runner, report = self._runner, self._report
        c = runner.counters
        inputs = report.inputs_record(runner.watchdog, runner.input_names, c.dropped, now_s)
        errors = report.delta("policy_errors", c.policy_errors)
        clamps = report.delta("dt_clamps", sum(c.dt_clamps.values()))
        level, message = _grade(
            errors and f"policy failed {errors}x: {c.last_error}",
            clamps and f"dt clamped {clamps}x: {dict(c.dt_clamps)}",
            "running",
        )
        values = [
            ("ticks", str(c.ticks)),
            ("steps", str(c.steps)),
            ("repeats", str(c.repeats)),
            ("stale_ticks", str(c.stale_ticks)),
            ("policy_errors", str(c.policy_errors)),
            ("last_error", c.last_error),
            *((f"dt_clamp.{k}", str(v)) for k, v in sorted(c.dt_clamps.items())),
            *report.timing_values("inference"),
        ]
        return [inputs, DiagnosticRecord(f"{report.name}: policy", level, message, tuple(values))]


class SafetyDiagnostics(_RunnerDiagnostics[SafetyRunner]):
    """Diagnostics of a :class:`SafetyRunner` (the filter node, or half of the composed one)."""

    def on_tick(self, tick: SafetyTick, callback_time_s: float) -> None:
        """Record a tick's filter solve time and the whole timer callback's compute time."""
        self._report.compute.add(tick.solve_time_s)
        self._report.callback.add(callback_time_s)

    def records(self, now_s: float, *, include_inputs: bool = True) -> list[DiagnosticRecord]:
        """The filter's input and outcome records at ``now_s``.

        Args:
            now_s: node time.
            include_inputs: ``False`` in the composed node, whose nominal is handed over in
                the same tick (its freshness says nothing).
        """
        runner, report = self._runner, self._report
        c = runner.counters
        required = ["nominal"] + (["joint_state"] if runner.config.require_joint_state else [])
        records = []
        if include_inputs:
            records.append(report.inputs_record(runner.watchdog, required, c.dropped, now_s))
        failures = report.delta("filter_errors", c.filter_errors) + report.delta(
            "guard_overrides", c.guard_overrides
        )
        fallbacks = report.delta("fallbacks", c.fallbacks)
        level, message = _grade(
            failures and f"filter failed {failures}x: {c.last_error}",
            fallbacks and f"safe command published {fallbacks}x",
            "filtering",
        )
        values = [
            ("ticks", str(c.ticks)),
            ("interventions", str(c.interventions)),
            ("fallbacks", str(c.fallbacks)),
            ("filter_errors", str(c.filter_errors)),
            ("guard_overrides", str(c.guard_overrides)),
            ("last_error", c.last_error),
            *((f"status.{k}", str(v)) for k, v in sorted(c.statuses.items())),
            *report.timing_values("solve"),
        ]
        name = f"{report.name}: safety filter"
        return [*records, DiagnosticRecord(name, level, message, tuple(values))]
