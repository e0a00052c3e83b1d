"""``controller_node``: policy and safety filter composed in one process and one callback.

The policy's nominal goes straight to the filter in the same step
(:class:`~liquid_controller.control.pipeline.ControlPipeline`): no inter-process hop, and
stale inputs give the safe command on the very step that finds them stale. Topics,
services and parameters are the union of ``policy_node``'s and ``safety_filter_node``'s
(without the nominal topic).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

from liquid_controller.control.diagnostics import DiagnosticRecord
from liquid_controller.control.parameters import CONTROLLER_NODE_PARAMETERS
from liquid_controller.control.pipeline import ControlPipeline
from liquid_controller.ros.inputs import JOINT_STATE_INPUT, JointStateInput
from liquid_controller.ros.node_base import ControlNode
from liquid_controller.ros.parameters import TRIGGER
from liquid_controller.ros.policy_side import PolicySide, PolicyTriggered
from liquid_controller.ros.process import run_node
from liquid_controller.ros.qos import sensor_qos
from liquid_controller.ros.safety_side import SafeCommandOnFailure, SafetySide

__all__ = ["ControllerNode", "main"]


class ControllerNode(PolicyTriggered, SafeCommandOnFailure, ControlNode):
    """Policy + safety filter in one node (the composed option)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("controller_node", (*CONTROLLER_NODE_PARAMETERS, TRIGGER), **kwargs)

    def _build(self) -> None:
        params = self.params
        self.policy = PolicySide(self, params, self._on_camera, self.guard.wrap)
        self.safety = SafetySide(self, params)
        self.pipeline = ControlPipeline(self.policy.runner, self.safety.runner)
        consumers: list[Any] = [(self.safety.actuator_names, self.safety)]
        if self.policy.inputs.joint_inputs:
            consumers.append((self.policy.joint_names(params["joint_names"]), self.policy.inputs))
        self._joints = JointStateInput(
            self,
            sensor_qos(params["sensor_qos_depth"], params["sensor_qos_reliability"]),
            self.now_s,
            consumers,
            on_message=self._on_joint_message,
            wrap=self.guard.wrap,
        )

    def _on_joint_message(self, name: str, now_s: float) -> None:
        self.safety.diagnostics.on_message(JOINT_STATE_INPUT, now_s)
        if self.policy.inputs.joint_inputs:
            self.policy.diagnostics.on_message(name, now_s)

    def _tick(self, now_s: float, started_s: float) -> None:
        tick = self.pipeline.tick(now_s)
        self.safety.publish(tick.safety)
        self.policy.publish(tick.policy)
        # After publishing: an rclpy log call costs ~1 ms (it inspects the caller's frame).
        self.policy.log_transitions(tick.policy)
        self.safety.log_transitions(tick.safety)
        elapsed = time.perf_counter() - started_s
        self.policy.diagnostics.on_tick(tick.policy, elapsed)
        self.safety.diagnostics.on_tick(tick.safety, elapsed)

    def _records(self, now_s: float) -> list[DiagnosticRecord]:
        return [*self.policy.records(now_s), *self.safety.records(now_s, include_inputs=False)]

    def _prepare(self, values: Mapping[str, Any]) -> Callable[[], None]:
        # Both halves check first; only then does anything change.
        commit_safety = self.safety.prepare(values)
        commit_policy = self.policy.prepare(values)

        def commit() -> None:
            commit_safety()
            commit_policy()

        return commit

    def _load(self, files: Mapping[str, Any], values: Mapping[str, Any]) -> Any:
        # A new safety config keeps the actuator count, so the policy is checked against it.
        safety = self.safety.load(files["safety_config"]) if "safety_config" in files else None
        policy = None
        if "model_path" in files:
            policy = self.policy.load(files["model_path"], values, self.safety.runner.size)
        return safety, policy

    def _swap(self, files: Mapping[str, Any], loaded: Any) -> None:
        safety, policy = loaded
        if safety is not None:
            self.safety.swap(safety, self.params)
        if policy is not None:
            self.policy.swap(policy, self.pipeline.replace_policy)


def main(args: list[str] | None = None) -> int:
    """Run ``controller_node`` until SIGINT/SIGTERM."""
    return run_node(ControllerNode, args)


if __name__ == "__main__":
    sys.exit(main())
