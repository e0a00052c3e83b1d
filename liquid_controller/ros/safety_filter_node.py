"""``safety_filter_node``: nominal command + joint states -> CBF-QP filter -> actuator command.

Each nominal command is filtered and published as it arrives (no extra wait for a
timer); an EMPTY nominal (``policy_node`` has no command) is answered at once with the
safe command, ramped under the rate limits. The timer (``rate_hz``) is the watchdog:
while the nominal is stale or never came, it publishes the safe command every period.
Joint states are mapped by the actuator names of the safety config.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from std_msgs.msg import Float64MultiArray

from liquid_controller.control.diagnostics import DiagnosticRecord
from liquid_controller.control.parameters import SAFETY_FILTER_NODE_PARAMETERS
from liquid_controller.control.safety_runner import JOINT_STATE_INPUT, NOMINAL_INPUT
from liquid_controller.ros.inputs import JointStateInput
from liquid_controller.ros.node_base import ControlNode
from liquid_controller.ros.process import run_node
from liquid_controller.ros.qos import command_qos, sensor_qos
from liquid_controller.ros.safety_side import SafeCommandOnFailure, SafetySide

__all__ = ["NOMINAL_TOPIC", "SafetyFilterNode", "main"]

# Relative: the launch file remaps it to policy_node/nominal_command.
NOMINAL_TOPIC = "nominal_command"
WITHDRAWN = "policy has no command (empty nominal: stale inputs or policy error)"


class SafetyFilterNode(SafeCommandOnFailure, ControlNode):
    """The safety filter alone, between ``policy_node`` and the actuator controller."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("safety_filter_node", SAFETY_FILTER_NODE_PARAMETERS, **kwargs)

    def _build(self) -> None:
        params = self.params
        self.safety = SafetySide(self, params)
        self._last_handled_s = float("-inf")
        self._joints = JointStateInput(
            self,
            sensor_qos(params["sensor_qos_depth"], params["sensor_qos_reliability"]),
            self.now_s,
            [(self.safety.actuator_names, self.safety)],
            on_message=self.safety.diagnostics.on_message,
            wrap=self.guard.wrap,
        )
        self._nominal_sub = self.create_subscription(
            Float64MultiArray,
            NOMINAL_TOPIC,
            self.guard.wrap("nominal", self._on_nominal),
            command_qos(params["command_qos_depth"]),
        )

    def _on_nominal(self, msg: Any) -> None:
        started = time.perf_counter()
        now = self.now_s()
        runner = self.safety.runner
        self.safety.diagnostics.on_message(NOMINAL_INPUT, now)
        data = np.frombuffer(msg.data, dtype=np.float64) if len(msg.data) else np.zeros(0)
        if data.size == 0:
            runner.withdraw_nominal(WITHDRAWN)
        elif runner.submit_nominal(data, stamp_s=now, now_s=now) is not None:
            return  # dropped and counted; the watchdog handles a stream of bad nominals
        self._last_handled_s = now
        self.run_tick(started)

    def _timer_due(self, now_s: float) -> bool:
        # Due when no nominal (valid or empty) drove a step within the timeout, or when a
        # required joint state is stale; otherwise the nominals drive the steps themselves.
        runner = self.safety.runner
        silent = now_s - self._last_handled_s > runner.config.input_timeout_s
        joint_required = runner.config.require_joint_state
        return silent or (joint_required and runner.watchdog.is_stale(JOINT_STATE_INPUT, now_s))

    def _tick(self, now_s: float, started_s: float) -> None:
        tick = self.safety.runner.tick(now_s)
        self.safety.publish(tick)
        # After publishing: an rclpy log call costs ~1 ms (it inspects the caller's frame).
        self.safety.log_transitions(tick)
        self.safety.diagnostics.on_tick(tick, time.perf_counter() - started_s)

    def _records(self, now_s: float) -> list[DiagnosticRecord]:
        return self.safety.records(now_s)

    def _prepare(self, values: Mapping[str, Any]) -> Callable[[], None]:
        return self.safety.prepare(values)

    def _load(self, files: Mapping[str, Any], values: Mapping[str, Any]) -> Any:
        return self.safety.load(files["safety_config"])

    def _swap(self, files: Mapping[str, Any], loaded: Any) -> None:
        self.safety.swap(loaded, self.params)


def main(args: list[str] | None = None) -> int:
    """Run ``safety_filter_node`` until SIGINT/SIGTERM."""
    return run_node(SafetyFilterNode, args)


if __name__ == "__main__":
    sys.exit(main())
