"""``policy_node``: camera + IMU (+ joint states) -> liquid policy -> nominal command.

Publishes ``~/nominal_command`` (std_msgs/Float64MultiArray, actuator order) and
``~/policy_state``; serves ``~/reset_state``. When the policy has no command (an input
is stale, the policy failed, the node stops) it publishes an EMPTY nominal: the safety
filter node takes that as "no command" and publishes its safe command at once, instead
of waiting for the nominal to time out.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

from std_msgs.msg import Float64MultiArray

from liquid_controller.control.diagnostics import DiagnosticRecord
from liquid_controller.control.parameters import POLICY_NODE_PARAMETERS
from liquid_controller.ros.inputs import JointStateInput
from liquid_controller.ros.messages import float64_sequence
from liquid_controller.ros.node_base import ControlNode
from liquid_controller.ros.parameters import TRIGGER
from liquid_controller.ros.policy_side import PolicySide, PolicyTriggered
from liquid_controller.ros.process import run_node
from liquid_controller.ros.qos import SHUTDOWN_ACK_TIMEOUT, command_qos, sensor_qos

__all__ = ["NOMINAL_TOPIC", "PolicyNode", "main"]

NOMINAL_TOPIC = "~/nominal_command"


class PolicyNode(PolicyTriggered, ControlNode):
    """The policy alone; pair it with ``safety_filter_node`` (or use ``controller_node``)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("policy_node", (*POLICY_NODE_PARAMETERS, TRIGGER), **kwargs)

    def _build(self) -> None:
        params = self.params
        self.policy = PolicySide(self, params, self._on_camera, self.guard.wrap)
        self._joints = None
        if self.policy.inputs.joint_inputs:
            self._joints = JointStateInput(
                self,
                sensor_qos(params["sensor_qos_depth"], params["sensor_qos_reliability"]),
                self.now_s,
                [(self.policy.joint_names(params["joint_names"]), self.policy.inputs)],
                on_message=self.policy.diagnostics.on_message,
                wrap=self.guard.wrap,
            )
        self._nominal_pub = self.create_publisher(
            Float64MultiArray, NOMINAL_TOPIC, command_qos(params["command_qos_depth"])
        )

    def _tick(self, now_s: float, started_s: float) -> None:
        tick = self.policy.runner.tick(now_s)
        self._publish_nominal(tick.nominal)
        self.policy.publish(tick)
        # After publishing: an rclpy log call costs ~1 ms (it inspects the caller's frame).
        self.policy.log_transitions(tick)
        self.policy.diagnostics.on_tick(tick, time.perf_counter() - started_s)

    def _publish_nominal(self, nominal: Any) -> None:
        msg = Float64MultiArray()
        if nominal is not None:
            msg.data = float64_sequence(nominal)
        self._nominal_pub.publish(msg)

    def _records(self, now_s: float) -> list[DiagnosticRecord]:
        return self.policy.records(now_s)

    def _exclusive_publishers(self) -> list[tuple[Any, str]]:
        return [(self._nominal_pub, "the safety filter takes its commands for the policy's")]

    def _prepare(self, values: Mapping[str, Any]) -> Callable[[], None]:
        return self.policy.prepare(values)

    def _load(self, files: Mapping[str, Any], values: Mapping[str, Any]) -> Any:
        action_size = self.policy.runner.spec.action.size
        return self.policy.load(files["model_path"], values, action_size)

    def _swap(self, files: Mapping[str, Any], loaded: Any) -> None:
        self.policy.swap(loaded)

    def _on_callback_error(self, callback_name: str) -> None:
        self._publish_nominal(None)

    def stop_safely(self, reason: str) -> None:
        """Publish an empty nominal (the filter falls back at once) and stop stepping."""
        self.stopped = True
        self._publish_nominal(None)
        self._nominal_pub.wait_for_all_acked(SHUTDOWN_ACK_TIMEOUT)
        self.get_logger().info(f"{reason}: published an empty nominal command")


def main(args: list[str] | None = None) -> int:
    """Run ``policy_node`` until SIGINT/SIGTERM."""
    return run_node(PolicyNode, args)


if __name__ == "__main__":
    sys.exit(main())
