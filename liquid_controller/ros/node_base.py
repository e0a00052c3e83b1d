"""What the three nodes share: parameters, the control timer, diagnostics, the callback guard.

Construction order (STYLE.md §7): parameters are declared and validated first, then the
subclass creates its publishers and subscriptions (``_build``), then the timers start and
the parameter gate is installed.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from diagnostic_msgs.msg import DiagnosticArray
from rclpy.node import Node

from liquid_controller.control.diagnostics import DiagnosticLevel, DiagnosticRecord
from liquid_controller.control.parameters import ParameterSpec
from liquid_controller.control.watchdog import FreshnessTransition
from liquid_controller.ros.messages import diagnostic_array
from liquid_controller.ros.parameters import ParameterGate, declare_parameters
from liquid_controller.ros.process import CallbackGuard

__all__ = ["ControlNode", "log_freshness"]

DIAGNOSTICS_TOPIC = "/diagnostics"


# rclpy is untyped (Node is Any to mypy where rclpy is not installed).
class ControlNode(Node):  # type: ignore[misc,unused-ignore]
    """Base of ``policy_node``, ``safety_filter_node`` and ``controller_node``.

    Subclasses implement :meth:`_build` (publishers, subscriptions, services), :meth:`_tick`
    (one control step and its publishing), :meth:`_records` (diagnostic records),
    :meth:`_apply` (accepted parameter changes, atomically), :meth:`stop_safely` and
    :meth:`_on_callback_error` (publish the safe command).

    Steps are started by the timer (every ``1 / rate_hz``), or by an input event (a camera
    frame with ``trigger:=camera``, a nominal command in the filter node) through
    :meth:`run_tick`. An event-driven subclass overrides :meth:`_timer_due` so that the
    timer only steps while its inputs are stale: the safe command then still goes out
    (and keeps ramping) within one period after an input goes silent.

    Args:
        node_name: default node name (remappable with ``__node:=``).
        specs: the node's parameters.
    """

    def __init__(self, node_name: str, specs: Sequence[ParameterSpec], **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)
        self.specs = tuple(specs)
        self.params = declare_parameters(self, self.specs)
        self.guard = CallbackGuard(self.get_logger().error, self._on_callback_error)
        self.stopped = False
        self._build()
        self._diagnostics_pub = self.create_publisher(DiagnosticArray, DIAGNOSTICS_TOPIC, 10)
        self._timer = self.create_timer(
            1.0 / self.params["rate_hz"], self.guard.wrap("timer", self._timed_tick)
        )
        self._diagnostics_timer = self.create_timer(
            self.params["diagnostics_period_s"],
            self.guard.wrap("diagnostics", self._publish_diagnostics),
        )
        self.add_on_set_parameters_callback(ParameterGate(self.specs, self.params, self._on_set))
        # Also takes the first rclpy log call (~10 ms: it builds inspect's module cache) out
        # of the control callbacks, where the first stale/fresh message would pay for it.
        self.get_logger().info(
            f"ready: stepping at {self.params['rate_hz']} Hz, /diagnostics every "
            f"{self.params['diagnostics_period_s']} s"
        )

    # ------------------------------------------------------------------ for subclasses

    def _build(self) -> None:
        raise NotImplementedError

    def _tick(self, now_s: float, started_s: float) -> None:
        """Run one step at node time ``now_s``; the callback began at ``started_s`` (perf)."""
        raise NotImplementedError

    def _records(self, now_s: float) -> list[DiagnosticRecord]:
        raise NotImplementedError

    def _apply(self, changes: Mapping[str, Any], values: Mapping[str, Any]) -> None:
        raise NotImplementedError

    def stop_safely(self, reason: str) -> None:
        """Publish the safe command once and stop publishing commands."""
        raise NotImplementedError

    def _on_callback_error(self, callback_name: str) -> None:
        """An exception escaped a callback: the safe command goes out (subclass decides how)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ shared

    def now_s(self) -> float:
        """Node clock in seconds (the simulation clock under ``use_sim_time``)."""
        return float(self.get_clock().now().nanoseconds) * 1e-9

    def run_tick(self, started_s: float) -> None:
        """Step now (an input event, or the timer); ``started_s``: callback start (perf)."""
        if self.stopped:
            return
        self._tick(self.now_s(), started_s)

    def _timer_due(self, now_s: float) -> bool:
        """Whether the timer steps at ``now_s`` (always, unless steps are event-driven)."""
        return True

    def _timed_tick(self) -> None:
        started = time.perf_counter()
        if self._timer_due(self.now_s()):
            self.run_tick(started)

    def _publish_diagnostics(self) -> None:
        now = self.now_s()
        records = [*self._records(now), self._callbacks_record()]
        self._diagnostics_pub.publish(
            diagnostic_array(
                self.get_clock().now().to_msg(), records, self.get_fully_qualified_name()
            )
        )

    def _callbacks_record(self) -> DiagnosticRecord:
        """Exceptions and compute time (p50/p99, microseconds) of every ROS callback."""
        guard = self.guard
        values = [("exceptions", str(guard.count)), ("last_error", guard.last_error)]
        for name, stats in sorted(guard.timing.items()):
            if len(stats):
                p50, p99 = stats.percentiles(50, 99)
                values += [
                    (f"{name}.p50_us", f"{p50 * 1e6:.1f}"),
                    (f"{name}.p99_us", f"{p99 * 1e6:.1f}"),
                ]
        if guard.count:
            level = DiagnosticLevel.ERROR
            message = f"{guard.count} callback exception(s); last: {guard.last_error}"
        else:
            level, message = DiagnosticLevel.OK, "no callback exceptions"
        return DiagnosticRecord(f"{self.get_name()}: callbacks", level, message, tuple(values))

    def _on_set(self, changes: Mapping[str, Any], values: Mapping[str, Any]) -> None:
        self._apply(changes, values)
        if "rate_hz" in changes:
            self._timer.timer_period_ns = int(1e9 / float(values["rate_hz"]))
            self._timer.reset()
        if "diagnostics_period_s" in changes:
            self._diagnostics_timer.timer_period_ns = int(
                1e9 * float(values["diagnostics_period_s"])
            )
            self._diagnostics_timer.reset()


def log_freshness(
    logger: Any, transitions: Iterable[FreshnessTransition], consequence: str
) -> None:
    """Log each input going stale (with ``consequence``) or fresh again, once per change."""
    for t in transitions:
        if t.stale:
            age = "never received" if t.age_s is None else f"{t.age_s:.3f} s old"
            logger.warning(f"input '{t.name}' is stale ({age}): {consequence}")
        else:
            logger.info(f"input '{t.name}' is fresh again")
