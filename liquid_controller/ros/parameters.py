"""Declare a node's parameters from the control layer's specs, and gate every change.

The specs (names, types, defaults, descriptions, ranges) live in
:mod:`liquid_controller.control.parameters`; this module only turns them into
``ParameterDescriptor`` s and routes ``set_parameters`` requests through
:func:`~liquid_controller.control.parameters.validate_changes` (all-or-nothing, with
the reason on rejection). Accepted changes are applied inside the same callback, after
validation (Humble has no post-set callback); the apply step must itself be atomic, and a
failing apply rejects the whole request. It must also be quick: the callback runs on the
executor of the control timer, so a file change only starts a background load there
(:mod:`liquid_controller.ros.node_base`).

``trigger`` and ``autostart`` only exist in the ROS shell: the first chooses what starts a
policy step (the timer, or each new camera frame with the timer as watchdog), the second
whether the lifecycle node configures and activates itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from rcl_interfaces.msg import (
    FloatingPointRange,
    IntegerRange,
    ParameterDescriptor,
    SetParametersResult,
)
from rcl_interfaces.msg import ParameterType as RosParameterType
from rclpy.node import Node
from rclpy.parameter import Parameter

from liquid_controller.control.parameters import (
    LimitDirection,
    ParameterSpec,
    ParameterType,
    validate_changes,
)
from liquid_controller.errors import ConfigError

__all__ = ["AUTOSTART", "TRIGGER", "ParameterGate", "declare_parameters"]

TRIGGER = ParameterSpec(
    "trigger",
    ParameterType.STRING,
    "timer",
    "What starts a policy step: timer (every 1/rate_hz) or camera (each new frame, lowest "
    "latency; the timer then only acts as the stale-input watchdog).",
    choices=("timer", "camera"),
)

AUTOSTART = ParameterSpec(
    "autostart",
    ParameterType.BOOL,
    True,
    "Configure and activate at start-up (false: wait for the lifecycle transitions, e.g. "
    "from a lifecycle manager or `ros2 lifecycle set`).",
    read_only=True,
)

_ROS_TYPES = {
    ParameterType.BOOL: RosParameterType.PARAMETER_BOOL,
    ParameterType.INTEGER: RosParameterType.PARAMETER_INTEGER,
    ParameterType.DOUBLE: RosParameterType.PARAMETER_DOUBLE,
    ParameterType.STRING: RosParameterType.PARAMETER_STRING,
    ParameterType.STRING_ARRAY: RosParameterType.PARAMETER_STRING_ARRAY,
}


def _descriptor(spec: ParameterSpec) -> ParameterDescriptor:
    description = spec.description
    if spec.choices:
        description += f" One of {list(spec.choices)}."
    descriptor = ParameterDescriptor(
        name=spec.name,
        type=_ROS_TYPES[spec.type],
        description=description,
        read_only=spec.read_only,
    )
    if spec.range is not None and spec.type is ParameterType.DOUBLE:
        descriptor.floating_point_range = [
            FloatingPointRange(from_value=float(spec.range.low), to_value=float(spec.range.high))
        ]
    elif spec.range is not None and spec.type is ParameterType.INTEGER:
        descriptor.integer_range = [
            IntegerRange(from_value=int(spec.range.low), to_value=int(spec.range.high), step=1)
        ]
    constraints = []
    if spec.range is not None and not (spec.range.low_inclusive and spec.range.high_inclusive):
        constraints.append(f"range {spec.range} (exclusive bounds enforced)")
    if spec.safety_limit is not LimitDirection.NONE:
        constraints.append(
            "safety limit: not widened at run time unless allow_runtime_safety_changes"
        )
    descriptor.additional_constraints = "; ".join(constraints)
    return descriptor


def _plain(value: Any) -> Any:
    """Return arrays (rclpy gives ``array.array`` or lists) as plain lists, the specs' form."""
    if isinstance(value, (list, tuple)) or type(value).__name__ == "array":
        return list(value)
    return value


def declare_parameters(node: Node, specs: Sequence[ParameterSpec]) -> dict[str, Any]:
    """Declare ``specs`` on ``node`` and return the start-up values, validated as one set.

    Raises:
        ConfigError: a start-up value (params file, ``-p``) is invalid; the key names the
            first bad parameter and the message lists every problem.
    """
    values: dict[str, Any] = {}
    for spec in specs:
        # An empty list cannot tell rclpy its element type: declare the type instead.
        empty_array = spec.type is ParameterType.STRING_ARRAY and not spec.default
        default = Parameter.Type.STRING_ARRAY if empty_array else spec.default
        param = node.declare_parameter(spec.name, default, _descriptor(spec))
        values[spec.name] = spec.default if param.value is None else _plain(param.value)
    check = validate_changes(specs, {}, values, starting=True)
    if not check.ok:
        first = check.reason.split(":", 1)[0]
        raise ConfigError(first, values.get(first), f"valid parameters ({check.reason})")
    return check.values


class ParameterGate:
    """``add_on_set_parameters_callback`` handler: validate all-or-nothing, then apply.

    Args:
        specs: the node's declared parameters.
        values: the values in force (updated in place on success).
        apply: called with ``(changes, new_values)`` after validation; it applies what
            changed and raises ``ConfigError`` (or any ``LiquidControllerError``) to reject,
            leaving everything as it was.
    """

    def __init__(
        self,
        specs: Sequence[ParameterSpec],
        values: dict[str, Any],
        apply: Callable[[Mapping[str, Any], Mapping[str, Any]], None],
    ) -> None:
        self._specs = tuple(specs)
        self.values = values
        self._apply = apply

    def __call__(self, parameters: list[Parameter]) -> SetParametersResult:
        """Validate and apply ``parameters`` as one change."""
        changes = {p.name: _plain(p.value) for p in parameters if p.name in self.values}
        # use_sim_time and other rclpy-owned parameters are not ours to judge.
        if not changes:
            return SetParametersResult(successful=True)
        check = validate_changes(self._specs, self.values, changes)
        if not check.ok:
            return SetParametersResult(successful=False, reason=check.reason)
        try:
            self._apply(changes, check.values)
        except Exception as err:  # rejected: nothing was swapped in
            return SetParametersResult(successful=False, reason=f"{type(err).__name__}: {err}")
        self.values.clear()
        self.values.update(check.values)
        return SetParametersResult(successful=True)
