"""The safety half of a node: runner, actuator command and ``~/safety_status`` publishers.

Shared by ``safety_filter_node`` (fed by the nominal topic) and the composed
``controller_node`` (fed by its policy half in the same tick).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import numpy as np
from rclpy.node import Node

from liquid_controller.control.background_load import load_within
from liquid_controller.control.command_guard import CommandGuard
from liquid_controller.control.diagnostics import DiagnosticRecord, SafetyDiagnostics
from liquid_controller.control.node_settings import safety_runner_config as runner_config
from liquid_controller.control.safety_runner import JOINT_STATE_INPUT, SafetyRunner, SafetyTick
from liquid_controller.control.sensor_feed import feed_safety_joints
from liquid_controller.errors import ConfigError
from liquid_controller.msg import SafetyStatus
from liquid_controller.ros.messages import CommandEncoder, CommandType, safety_status_msg
from liquid_controller.ros.node_base import log_freshness
from liquid_controller.ros.paths import default_safety_config_path
from liquid_controller.ros.qos import SHUTDOWN_ACK_TIMEOUT, command_qos
from liquid_controller.safety.config import SafetyConfig, load_config
from liquid_controller.safety.filter import SafetyFilter
from liquid_controller.sensing import JointSample

__all__ = ["COMMAND_TOPIC", "LoadedSafety", "SafetySide", "load_safety"]

# Relative: /effort_controller/commands in the root namespace (ros2_control's forward
# effort controller), pushed into the robot's namespace when launched in one.
COMMAND_TOPIC = "effort_controller/commands"


class LoadedSafety(NamedTuple):
    """A safety config loaded and verified, with what is built from it, ready to swap in."""

    config: SafetyConfig
    filter: SafetyFilter
    guard: CommandGuard
    encoder: CommandEncoder


def load_safety(value: str, command_type: CommandType | str) -> LoadedSafety:
    """``safety_config`` parameter -> validated config, its filter, guard and encoder.

    Empty means the installed ``config/safety.yaml``. Builds new objects only, so it may
    run in a background thread.

    Raises:
        ConfigError: the file is missing or invalid (the key is named), or its actuator
            names do not fit ``command_type``.
    """
    config = load_config(value or str(default_safety_config_path()))
    return LoadedSafety(
        config,
        SafetyFilter(config),
        CommandGuard.from_config(config),
        CommandEncoder(command_type, config.actuators.names),
    )


class SafetySide:
    """Everything of a node that concerns the safety filter and the actuator topic.

    Args:
        node: the owning node (parameters already declared).
        params: its parameter values.
    """

    def __init__(self, node: Node, params: Mapping[str, Any]) -> None:
        self._node = node
        loaded = load_within(
            lambda: load_safety(params["safety_config"], params["command_type"]),
            float(params["load_timeout_s"]),
            "safety_config",
            params["safety_config"],
        )
        self.config, self.encoder = loaded.config, loaded.encoder
        self.runner = SafetyRunner(loaded.filter, loaded.guard, runner_config(params, self.config))
        self.diagnostics = SafetyDiagnostics(self.runner, node.get_name())
        self.publish_status = bool(params["publish_safety_status"])
        qos = command_qos(params["command_qos_depth"])
        self._command_pub = node.create_publisher(self.encoder.msg_type, COMMAND_TOPIC, qos)
        self._status_pub = node.create_publisher(SafetyStatus, "~/safety_status", qos)

    @property
    def command_publisher(self) -> Any:
        """The actuator command publisher (its topic must have no other publisher)."""
        return self._command_pub

    @property
    def actuator_names(self) -> tuple[str, ...]:
        """Actuator order of the commands (also the joint order read from joint states)."""
        return tuple(self.config.actuators.names)

    def accept_joints(self, sample: JointSample, stamp_s: float, now_s: float) -> None:
        """Feed a joint state (actuator order) to the runner; no velocity -> dropped."""
        feed_safety_joints(self.runner, sample, stamp_s, now_s)

    def reject_joints(self, reason: str) -> None:
        """Count a joint state that did not convert."""
        self.runner.record_drop(JOINT_STATE_INPUT, reason)

    def publish(self, tick: SafetyTick) -> None:
        """Publish the command of ``tick`` (and its ``SafetyStatus``)."""
        self._command_pub.publish(self.encoder.encode(tick.command))
        if self.publish_status:
            self._publish_status(
                tick.nominal, tick.command, tick.status, tick.reason, tick.intervened,
                tick.active_constraints, tick.slack, tick.solve_time_s,
            )  # fmt: skip

    def _publish_status(self, nominal: Any, command: Any, *fields: Any) -> None:
        status, reason, intervened, active, slack, solve_time_s = fields
        self._status_pub.publish(
            safety_status_msg(
                stamp=self._node.get_clock().now().to_msg(),
                frame_id="",
                nominal=nominal,
                filtered=command,
                actuator_names=self.actuator_names,
                intervened=intervened,
                status=status,
                reason=reason,
                active_constraints=active,
                slack=slack,
                solve_time_s=solve_time_s,
            )
        )

    def publish_shutdown(self, reason: str) -> None:
        """Publish the safe target at once (the node is stopping and cannot ramp)."""
        command = self.runner.shutdown_command()
        self._command_pub.publish(self.encoder.encode(command))
        # The actuators hold it; a re-activated node ramps from it.
        self.runner.hold(command, float(self._node.get_clock().now().nanoseconds) * 1e-9)
        self._publish_status(
            None, command, "fallback_shutdown", reason, True, (), np.zeros(0), 0.0,
        )  # fmt: skip
        # The node is destroyed right after this: let the reliable readers have it first.
        self._command_pub.wait_for_all_acked(SHUTDOWN_ACK_TIMEOUT)

    def log_transitions(self, tick: SafetyTick) -> None:
        """Log inputs going stale or fresh, once per change."""
        log_freshness(self._node.get_logger(), tick.transitions, "safe command if required")

    def publish_fallback(self, reason: str, now_s: float) -> None:
        """Forget the nominal and publish the safe command now (e.g. a callback raised)."""
        self.runner.withdraw_nominal(reason)
        self.publish(self.runner.tick(now_s))

    def stop(self, reason: str) -> None:
        """Publish the safe target for a stopping node, and log it."""
        self.publish_shutdown(reason)
        self._node.get_logger().info(f"{reason}: published the safe command")

    def records(self, now_s: float, *, include_inputs: bool = True) -> list[DiagnosticRecord]:
        """Diagnostic records of the safety half."""
        return self.diagnostics.records(now_s, include_inputs=include_inputs)

    def prepare(self, values: Mapping[str, Any]) -> Callable[[], None]:
        """Check new settings (not ``safety_config``); return the commit step.

        Nothing changes until the returned function is called (see ``PolicySide.prepare``).

        Raises:
            LiquidControllerError: invalid settings.
        """
        new_runner_config = runner_config(values, self.config)
        publish_status = bool(values["publish_safety_status"])

        def commit() -> None:
            if new_runner_config != self.runner.config:
                self.runner.reconfigure(new_runner_config)
            self.publish_status = publish_status

        return commit

    def load(self, value: str) -> LoadedSafety:
        """Load the config of a ``safety_config`` change and check that it fits (off-thread).

        Raises:
            LiquidControllerError: it cannot be loaded, has another number of actuators, or
                its names do not fit the command type.
        """
        loaded = load_safety(value, self.encoder.command_type)
        if loaded.config.actuators.size != self.runner.size:
            raise ConfigError(
                "safety_config",
                value,
                f"a config with {self.runner.size} actuators, as the running one",
            )
        return loaded

    def swap(self, loaded: LoadedSafety, values: Mapping[str, Any]) -> None:
        """Put a loaded config in force, with the runner settings from ``values``."""
        self.runner.replace_filter(loaded.filter, loaded.guard)
        self.config, self.encoder = loaded.config, loaded.encoder
        new_runner_config = runner_config(values, loaded.config)
        if new_runner_config != self.runner.config:
            self.runner.reconfigure(new_runner_config)


class SafeCommandOnFailure:
    """Mixin, before ``ControlNode``, for nodes owning a :class:`SafetySide` (``self.safety``).

    An exception in a callback, and a shutdown, publish the side's safe command. The
    command topic is watched for other publishers.
    """

    safety: SafetySide
    stopped: bool
    now_s: Callable[[], float]  # ControlNode's node clock

    def _exclusive_publishers(self) -> list[tuple[Any, str]]:
        return [(self.safety.command_publisher, "its commands reach the actuators unfiltered")]

    def _on_callback_error(self, callback_name: str) -> None:
        self.safety.publish_fallback(f"exception in {callback_name}", self.now_s())

    def stop_safely(self, reason: str) -> None:
        """Publish the safe command at once and stop publishing."""
        self.stopped = True
        self.safety.stop(reason)
