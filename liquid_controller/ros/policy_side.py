"""The policy half of a node: runner, sensor inputs, ``~/policy_state``, ``~/reset_state``.

Shared by ``policy_node`` (which publishes the nominal command) and the composed
``controller_node`` (which hands the nominal to its safety half in the same tick).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from rclpy.node import Node
from rclpy.time import Time
from std_srvs.srv import Trigger

from liquid_controller.control.background_load import load_within
from liquid_controller.control.diagnostics import (
    DiagnosticLevel,
    DiagnosticRecord,
    PolicyDiagnostics,
)
from liquid_controller.control.node_settings import neuron_types, warm_up
from liquid_controller.control.node_settings import policy_runner_config as runner_config
from liquid_controller.control.policy_loading import load_policy
from liquid_controller.control.policy_runner import PolicyRunner, PolicyTick
from liquid_controller.control.sensor_feed import policy_joint_names
from liquid_controller.control.tick_trigger import steps_on_camera_frame, steps_on_timer
from liquid_controller.errors import ConfigError
from liquid_controller.msg import PolicyState
from liquid_controller.ros.inputs import PolicyInputs, Wrap
from liquid_controller.ros.messages import policy_state_msg
from liquid_controller.ros.node_base import log_freshness
from liquid_controller.ros.paths import default_model_path
from liquid_controller.ros.qos import command_qos, sensor_qos
from liquid_controller.runtime.spec import Policy

__all__ = [
    "PolicySide",
    "PolicyTriggered",
    "load_model",
    "resolve_model_path",
    "runner_config",
    "stamp_msg",
    "warm_up",
]


def stamp_msg(seconds: float) -> Any:
    """Seconds (node or header time) -> ``builtin_interfaces/Time``."""
    return Time(nanoseconds=round(seconds * 1e9)).to_msg()


def resolve_model_path(value: str) -> str:
    """``model_path`` parameter -> file (empty: the installed default policy)."""
    return value or str(default_model_path())


def load_model(value: str, dt_s: float) -> Policy:
    """``model_path`` value -> policy, loaded and warmed up with one step of ``dt_s``.

    Builds new objects only, so it may run in a background thread.

    Raises:
        CheckpointError: the file cannot be loaded (see ``load_policy``).
    """
    policy = load_policy(resolve_model_path(value))
    warm_up(policy, dt_s)
    return policy


class PolicySide:
    """Everything of a node that concerns the policy.

    Args:
        node: the owning node (parameters already declared).
        params: its parameter values.
        on_camera: called after each accepted camera frame (``trigger:=camera``), or ``None``.
        wrap: wraps subscription callbacks (the node's ``CallbackGuard.wrap``).
    """

    def __init__(
        self,
        node: Node,
        params: Mapping[str, Any],
        on_camera: Callable[[float], None] | None,
        wrap: Wrap,
    ) -> None:
        self._node = node
        config = runner_config(params)
        policy = load_within(
            lambda: load_model(params["model_path"], config.nominal_period_s),
            float(params["load_timeout_s"]),
            "model_path",
            params["model_path"],
        )
        self.runner = PolicyRunner(policy, config)
        self._neuron_types = neuron_types(policy)
        self.diagnostics = PolicyDiagnostics(self.runner, node.get_name())
        self.publish_state = bool(params["publish_policy_state"])
        self.inputs = PolicyInputs(
            node,
            self.runner,
            self._now_s,
            camera_transport=params["camera_transport"],
            qos=sensor_qos(params["sensor_qos_depth"], params["sensor_qos_reliability"]),
            on_camera=on_camera,
            on_message=self.diagnostics.on_message,
            wrap=wrap,
        )
        self._state_pub = node.create_publisher(
            PolicyState, "~/policy_state", command_qos(params["command_qos_depth"])
        )
        self._reset_srv = node.create_service(Trigger, "~/reset_state", self._on_reset)
        self._activated = False

    def _now_s(self) -> float:
        return float(self._node.get_clock().now().nanoseconds) * 1e-9

    def joint_names(self, override: list[str]) -> list[str]:
        """Joint order of the policy's joint inputs: the parameter, else the spec's fields."""
        return policy_joint_names(self.runner.spec, self.inputs.joint_inputs, override)

    def on_activate(self) -> None:
        """Give a re-activated node a fresh hidden state (a first activation has one)."""
        if self._activated:
            self.runner.reset()
        self._activated = True

    def _on_reset(self, request: Any, response: Any) -> Any:
        self.runner.reset()
        response.success = True
        response.message = "hidden state reset; the next policy_state reports state_reset"
        self._node.get_logger().info("hidden state reset by ~/reset_state")
        return response

    def publish(self, tick: PolicyTick) -> None:
        """Publish ``~/policy_state`` for a tick that stepped the network."""
        if tick.step is None or not self.publish_state:
            return
        stamp_s = tick.stamp_s if tick.stamp_s is not None else self._now_s()
        self._state_pub.publish(
            policy_state_msg(
                stamp=stamp_msg(stamp_s),
                frame_id="",
                activity=tick.step.activity,
                neuron_types=self._neuron_types,
                dt_s=tick.dt_s,
                inference_time_s=tick.inference_time_s,
                state_reset=tick.state_reset,
            )
        )

    def log_transitions(self, tick: PolicyTick) -> None:
        """Log inputs going stale or fresh (once per change) and policy errors."""
        logger = self._node.get_logger()
        log_freshness(logger, tick.transitions, "no nominal command until it is fresh")
        if tick.error:
            logger.error(f"policy step failed: {tick.error}", throttle_duration_sec=5.0)

    def records(self, now_s: float) -> list[DiagnosticRecord]:
        """Diagnostic records of the policy half, and the sensors' age at arrival."""
        values = []
        for name, stats in sorted(self.inputs.arrival_age.items()):
            p50, p99 = stats.percentiles(50, 99)
            values += [
                (f"{name}.age_at_arrival_p50_ms", f"{p50 * 1e3:.3f}"),
                (f"{name}.age_at_arrival_p99_ms", f"{p99 * 1e3:.3f}"),
            ]
        latency = DiagnosticRecord(
            f"{self._node.get_name()}: sensor latency",
            DiagnosticLevel.OK,
            "node time at arrival minus header stamp (same clock assumed)",
            tuple(values),
        )
        return [*self.diagnostics.records(now_s), latency]

    def prepare(self, values: Mapping[str, Any]) -> Callable[[], None]:
        """Check new settings (not ``model_path``); return the step that applies them.

        Nothing changes until the returned function is called, and it cannot fail: a node
        prepares every half first, then commits all of them (all-or-nothing).

        Raises:
            LiquidControllerError: invalid settings.
        """
        config = runner_config(values)
        publish_state = bool(values["publish_policy_state"])

        def commit() -> None:
            if config != self.runner.config:
                self.runner.reconfigure(config)
            self.publish_state = publish_state

        return commit

    def load(self, value: str, values: Mapping[str, Any], action_size: int) -> Policy:
        """Load the model of a ``model_path`` change and check that it fits (off-thread).

        Args:
            value: the new ``model_path``.
            values: the node's parameter values (the warm-up step uses their period).
            action_size: actuators downstream; the model must have this many actions.

        Raises:
            LiquidControllerError: it cannot be loaded or does not fit (other inputs, other
                action size).
        """
        policy = load_model(value, runner_config(values).nominal_period_s)
        self._check_fits(policy, value, action_size)
        return policy

    def swap(self, policy: Policy, replace: Callable[[Policy], None] | None = None) -> None:
        """Put a loaded policy in force (``replace``: the owner's swap, default the runner's)."""
        (replace or self.runner.replace_policy)(policy)
        self._neuron_types = neuron_types(policy)

    def _check_fits(self, policy: Policy, path: str, action_size: int) -> None:
        """A new model must need the inputs subscribed at start-up and fit the actuators."""
        if policy.spec.action.size != action_size:
            raise ConfigError(
                "model_path", path, f"a policy with {action_size} actions (one per actuator)"
            )
        current = PolicyRunner(policy).input_names
        if set(current) != set(self.runner.input_names):
            raise ConfigError(
                "model_path",
                path,
                f"a policy with the inputs {sorted(self.runner.input_names)} of the running "
                f"one (it needs {sorted(current)}); restart the node to change inputs",
            )


class PolicyTriggered:
    """Mixin of the nodes with a policy half: what starts a step (``trigger`` parameter).

    ``timer``: every timer period. ``camera``: each accepted camera frame; the timer then
    steps only while an input is stale, so the safe command still goes out on time. A
    re-activated node also starts from a fresh hidden state.
    """

    # Provided by the node class (ControlNode) this is mixed into.
    params: dict[str, Any]
    policy: PolicySide
    run_tick: Callable[[float], None]
    now_s: Callable[[], float]

    def _on_activate(self, now_s: float) -> None:
        self.policy.on_activate()
        super()._on_activate(now_s)  # type: ignore[misc]

    def _on_camera(self, started_s: float) -> None:
        if steps_on_camera_frame(self.params["trigger"], self.policy.runner, self.now_s()):
            self.run_tick(started_s)

    def _timer_due(self, now_s: float) -> bool:
        return steps_on_timer(self.params["trigger"], self.policy.runner, now_s)
