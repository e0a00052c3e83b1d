"""The composed controller assembled offline, as ``controller_node`` assembles it.

Same parameter values (``config/controller_node.yaml`` defaults, validated by the same
specs), same runners, same feeds (:mod:`liquid_controller.control.sensor_feed`), same
trigger rules (:mod:`liquid_controller.control.tick_trigger`) and the same diagnostics;
only the rclpy subscriptions, publishers and timers are missing: replay drives it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from liquid_controller.control.command_guard import CommandGuard
from liquid_controller.control.diagnostics import (
    DiagnosticRecord,
    PolicyDiagnostics,
    SafetyDiagnostics,
)
from liquid_controller.control.node_settings import (
    neuron_types,
    policy_runner_config,
    safety_runner_config,
    warm_up,
)
from liquid_controller.control.parameters import (
    CONTROLLER_NODE_PARAMETERS,
    defaults,
    validate_changes,
)
from liquid_controller.control.pipeline import ControlPipeline, PipelineTick
from liquid_controller.control.policy_runner import PolicyRunner
from liquid_controller.control.safety_runner import JOINT_STATE_INPUT, SafetyRunner
from liquid_controller.control.sensor_feed import (
    JointFeed,
    PolicyFeed,
    SafetyJoints,
    policy_joint_names,
)
from liquid_controller.control.tick_trigger import TRIGGERS
from liquid_controller.errors import ConfigError
from liquid_controller.runtime.spec import Policy
from liquid_controller.safety.config import SafetyConfig
from liquid_controller.safety.filter import SafetyFilter

__all__ = ["POLICY_NODE", "SAFETY_NODE", "OfflineController", "controller_parameters"]

# The split nodes' names (robot.launch.py's default): diagnostics and topics are named as a
# live recording of that launch names them.
POLICY_NODE = "policy_node"
SAFETY_NODE = "safety_filter_node"


def controller_parameters(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``controller_node``'s parameter values: the defaults with ``overrides`` applied.

    ``trigger`` (a parameter of the ROS shell) is ``"timer"`` or ``"camera"``.

    Raises:
        ConfigError: an unknown parameter or a value out of its range (all problems named).
    """
    changes = dict(overrides)
    trigger = changes.pop("trigger", "timer")
    if trigger not in TRIGGERS:
        raise ConfigError("trigger", trigger, f"one of {list(TRIGGERS)}")
    checked = validate_changes(
        CONTROLLER_NODE_PARAMETERS, defaults(CONTROLLER_NODE_PARAMETERS), changes, starting=True
    )
    if not checked.ok:
        raise ConfigError("parameters", changes, checked.reason)
    if checked.values["command_type"] != "float64_multi_array":
        raise ConfigError(
            "command_type", checked.values["command_type"], "float64_multi_array (replay writes "
            "/effort_controller/commands as std_msgs/Float64MultiArray)",
        )  # fmt: skip
    return {**checked.values, "trigger": trigger}


class OfflineController:
    """Policy + safety filter in one pipeline, fed and ticked by replay.

    Args:
        policy: the loaded policy (warmed up here, as the nodes do).
        safety_config: the loaded safety config.
        values: parameter values (:func:`controller_parameters`).

    Raises:
        ConfigError: the policy's action count differs from the actuators, or its joint
            names are empty.
    """

    def __init__(
        self, policy: Policy, safety_config: SafetyConfig, values: Mapping[str, Any]
    ) -> None:
        self.values = dict(values)
        policy_config = policy_runner_config(values)
        warm_up(policy, policy_config.nominal_period_s)
        policy_runner = PolicyRunner(policy, policy_config)
        safety_runner = SafetyRunner(
            SafetyFilter(safety_config),
            CommandGuard.from_config(safety_config),
            safety_runner_config(values, safety_config),
        )
        self.pipeline = ControlPipeline(policy_runner, safety_runner)
        self.actuator_names = tuple(safety_config.actuators.names)
        self.neuron_types = neuron_types(policy)
        self.policy_diagnostics = PolicyDiagnostics(policy_runner, POLICY_NODE)
        self.safety_diagnostics = SafetyDiagnostics(safety_runner, SAFETY_NODE)
        self.feed = PolicyFeed(policy_runner, on_message=self.policy_diagnostics.on_message)
        consumers: list[Any] = [(self.actuator_names, SafetyJoints(safety_runner))]
        if self.feed.joint_inputs:
            names = policy_joint_names(policy.spec, self.feed.joint_inputs, values["joint_names"])
            consumers.append((names, self.feed))
        self.joints = JointFeed(consumers, on_message=self._on_joint_message)

    @property
    def policy_runner(self) -> PolicyRunner:
        """The policy half."""
        return self.pipeline.policy

    @property
    def safety_runner(self) -> SafetyRunner:
        """The safety half."""
        return self.pipeline.safety

    def _on_joint_message(self, name: str, now_s: float) -> None:
        self.safety_diagnostics.on_message(JOINT_STATE_INPUT, now_s)
        if self.feed.joint_inputs:
            self.policy_diagnostics.on_message(name, now_s)

    def tick(self, now_s: float) -> tuple[PipelineTick, float]:
        """One control step at node time ``now_s``; returns it and its compute time (s)."""
        started = time.perf_counter()
        tick = self.pipeline.tick(now_s)
        elapsed = time.perf_counter() - started
        self.policy_diagnostics.on_tick(tick.policy, elapsed)
        self.safety_diagnostics.on_tick(tick.safety, elapsed)
        return tick, elapsed

    def records(self, now_s: float) -> dict[str, list[DiagnosticRecord]]:
        """The diagnostic records of each half, by node name.

        The safety half leaves out its nominal-input record, as ``controller_node`` does:
        the nominal is handed over in the same tick, so its freshness says nothing.
        """
        return {
            POLICY_NODE: self.policy_diagnostics.records(now_s),
            SAFETY_NODE: self.safety_diagnostics.records(now_s, include_inputs=False),
        }
