"""The declared parameters of each node, and all-or-nothing validation of a set of changes.

The ROS layer declares each :class:`ParameterSpec` with a ``ParameterDescriptor``
(description, ``read_only``, and a floating-point / integer range from
:attr:`ParameterSpec.range`) and validates every ``set_parameters`` request through
:func:`validate_changes` from its ``add_on_set_parameters_callback``. ROS ranges are
inclusive; an exclusive bound (``rate_hz`` in ``(0, 1000]``) is declared to ROS with the
bound itself and enforced here.

Safety limits are hardware facts: a parameter marked with a :class:`LimitDirection` (the
safety config file, the stale-input timeouts, the watchdog rate, ``require_joint_state``)
cannot be widened at run time unless the node was started with
``allow_runtime_safety_changes:=true`` (development); a change that tightens it is accepted.

Changes of ``model_path`` or ``safety_config`` are then loaded in the background
(:mod:`liquid_controller.control.background_load`), bounded by ``load_timeout_s``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any, NamedTuple

__all__ = [
    "ALLOW_RUNTIME_SAFETY_CHANGES",
    "CONTROLLER_NODE_PARAMETERS",
    "FILE_PARAMETERS",
    "POLICY_NODE_PARAMETERS",
    "SAFETY_FILTER_NODE_PARAMETERS",
    "LimitDirection",
    "NumericRange",
    "ParameterSpec",
    "ParameterType",
    "Validation",
    "defaults",
    "parameters_for",
    "validate_changes",
]


class ParameterType(Enum):
    """Parameter types, named as ``rcl_interfaces/ParameterType`` names them."""

    BOOL = "bool"
    INTEGER = "integer"
    DOUBLE = "double"
    STRING = "string"
    STRING_ARRAY = "string_array"


class LimitDirection(Enum):
    """How a parameter bounds what reaches the actuators: which run-time changes widen it."""

    NONE = "none"
    """Not a safety limit."""
    ANY = "any"
    """Any change may widen it (a file of limits)."""
    LOWER_IS_SAFER = "lower_is_safer"
    """A larger value widens it (a stale-input timeout)."""
    HIGHER_IS_SAFER = "higher_is_safer"
    """A smaller value widens it (the watchdog rate; a required check turned off)."""

    def widens(self, old: Any, new: Any) -> bool:
        """Whether changing the value from ``old`` to ``new`` widens the limit."""
        if self is LimitDirection.ANY:
            return bool(new != old)
        if self is LimitDirection.LOWER_IS_SAFER:
            return bool(new > old)
        if self is LimitDirection.HIGHER_IS_SAFER:
            return bool(new < old)
        return False


@dataclass(frozen=True)
class NumericRange:
    """An interval for a numeric parameter; open or closed at each end."""

    low: float
    high: float
    low_inclusive: bool = True
    high_inclusive: bool = True

    def contains(self, value: float) -> bool:
        """Whether ``value`` lies in the interval."""
        above = value >= self.low if self.low_inclusive else value > self.low
        below = value <= self.high if self.high_inclusive else value < self.high
        return above and below

    def __str__(self) -> str:
        left = "[" if self.low_inclusive else "("
        right = "]" if self.high_inclusive else ")"
        return f"{left}{_number(self.low)}, {_number(self.high)}{right}"


def _number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


@dataclass(frozen=True)
class ParameterSpec:
    """One declared parameter.

    Attributes:
        name: the ROS parameter name.
        type: its type.
        default: the value when not given (also the value in ``config/<node>.yaml``).
        description: one line for ``ros2 param describe``.
        range: allowed interval of a numeric parameter, or ``None``.
        choices: allowed values of a string parameter, or empty.
        read_only: fixed after start-up (the topic types and QoS depend on it).
        safety_limit: how it bounds the commands; a run-time change that widens it is
            refused unless ``allow_runtime_safety_changes`` was set at start-up.
    """

    name: str
    type: ParameterType
    default: Any
    description: str
    range: NumericRange | None = None
    choices: tuple[str, ...] = ()
    read_only: bool = False
    safety_limit: LimitDirection = LimitDirection.NONE

    def problem(self, value: Any) -> str:
        """Return why ``value`` is not acceptable, naming the parameter; ``""`` if it is."""
        expected = _type_problem(self.type, value)
        if expected:
            return f"{self.name}: {value!r} is not {expected}"
        if self.range is not None and not self.range.contains(float(value)):
            return f"{self.name}: {value!r} is out of range {self.range}"
        if self.choices and value not in self.choices:
            return f"{self.name}: {value!r} is not one of {list(self.choices)}"
        return ""


def _type_problem(kind: ParameterType, value: Any) -> str:
    """Return the expected-type text if ``value`` does not have type ``kind``."""
    if kind is ParameterType.BOOL:
        return "" if isinstance(value, bool) else "a bool"
    if kind is ParameterType.INTEGER:
        ok = isinstance(value, int) and not isinstance(value, bool)
        return "" if ok else "an integer"
    if kind is ParameterType.DOUBLE:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return "" if ok and math.isfinite(value) else "a finite number"
    if kind is ParameterType.STRING:
        return "" if isinstance(value, str) else "a string"
    ok = isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value)
    return "" if ok else "a list of strings"


_SECONDS_TIMEOUT = NumericRange(0.0, 60.0, low_inclusive=False)
_QOS_DEPTH = NumericRange(1, 1000)

_RATE_HZ = ParameterSpec(
    "rate_hz",
    ParameterType.DOUBLE,
    50.0,
    "Control timer rate, Hz: one policy step / one filtered command per period.",
    NumericRange(0.0, 1000.0, low_inclusive=False),
)
# In the nodes with the filter the timer is also the stale-input watchdog: a slower timer
# sends the safe command later.
_WATCHDOG_RATE_HZ = replace(
    _RATE_HZ,
    description=_RATE_HZ.description + " Also the stale-input watchdog: lowering it is a "
    "safety-limit change.",
    safety_limit=LimitDirection.HIGHER_IS_SAFER,
)

ALLOW_RUNTIME_SAFETY_CHANGES = ParameterSpec(
    "allow_runtime_safety_changes",
    ParameterType.BOOL,
    False,
    "Development only: allow run-time changes that widen a safety limit (safety_config, "
    "input_timeout_s up, rate_hz down, require_joint_state off). False: those are fixed "
    "after start-up and a set_parameters request for them is rejected with the reason.",
    read_only=True,
)

_COMMON = (
    ALLOW_RUNTIME_SAFETY_CHANGES,
    ParameterSpec(
        "load_timeout_s",
        ParameterType.DOUBLE,
        30.0,
        "Longest a model_path / safety_config load may take, s (at configure and at run "
        "time). Run-time loads run in the background while the running ones keep commanding; "
        "one that takes longer is abandoned, reported, and the parameter reverted.",
        NumericRange(0.0, 600.0, low_inclusive=False),
    ),
    ParameterSpec(
        "sensor_qos_depth",
        ParameterType.INTEGER,
        5,
        "History depth of the sensor subscriptions (camera, IMU, joint states).",
        _QOS_DEPTH,
        read_only=True,
    ),
    ParameterSpec(
        "sensor_qos_reliability",
        ParameterType.STRING,
        "best_effort",
        "Reliability of the sensor subscriptions; best_effort also matches reliable publishers.",
        choices=("best_effort", "reliable"),
        read_only=True,
    ),
    ParameterSpec(
        "command_qos_depth",
        ParameterType.INTEGER,
        10,
        "History depth of the (reliable) command and status topics.",
        _QOS_DEPTH,
        read_only=True,
    ),
    ParameterSpec(
        "diagnostics_period_s",
        ParameterType.DOUBLE,
        1.0,
        "Period of the /diagnostics messages, seconds.",
        NumericRange(0.05, 60.0),
    ),
)

_POLICY_ONLY = (
    ParameterSpec(
        "model_path",
        ParameterType.STRING,
        "",
        "Policy file: exported .npz artifact (torch-free) or torch checkpoint; "
        "empty = the installed resource/default_policy.npz. A run-time change is loaded "
        "in the background (the running model keeps commanding) and swapped in once "
        "verified; a failed load is logged, reported on /diagnostics and reverted.",
    ),
    ParameterSpec(
        "input_timeout_s",
        ParameterType.DOUBLE,
        0.25,
        "An input (camera, IMU, joints) older than this is stale: no nominal is published. "
        "A safety limit: raised at run time only with allow_runtime_safety_changes.",
        _SECONDS_TIMEOUT,
        safety_limit=LimitDirection.LOWER_IS_SAFER,
    ),
    ParameterSpec(
        "max_dt_s",
        ParameterType.DOUBLE,
        0.5,
        "Longest time step the network integrates over (longer stamp gaps are clamped), s; "
        "at least one period 1/rate_hz.",
        NumericRange(0.0, 10.0, low_inclusive=False),
    ),
    ParameterSpec(
        "camera_transport",
        ParameterType.STRING,
        "raw",
        "raw: sensor_msgs/Image on the camera topic; compressed: sensor_msgs/CompressedImage "
        "on <camera topic>/compressed.",
        choices=("raw", "compressed"),
        read_only=True,
    ),
    ParameterSpec(
        "joint_names",
        ParameterType.STRING_ARRAY,
        [],
        "Joints read from /joint_states by name, in the policy's order; "
        "empty = the names in the policy's spec.",
        read_only=True,
    ),
    ParameterSpec(
        "reset_on_resume",
        ParameterType.BOOL,
        True,
        "Reset the hidden state when inputs return after being stale (false: keep it).",
    ),
    ParameterSpec(
        "publish_policy_state",
        ParameterType.BOOL,
        True,
        "Publish ~/policy_state (neuron activity, dt, inference time) every step.",
    ),
)

_SAFETY_ONLY = (
    ParameterSpec(
        "safety_config",
        ParameterType.STRING,
        "",
        "Safety filter YAML (limits, barriers); empty = the installed config/safety.yaml. "
        "A safety limit: fixed after start-up unless allow_runtime_safety_changes; then a "
        "change is loaded in the background and swapped in once verified, or reverted.",
        safety_limit=LimitDirection.ANY,
    ),
    ParameterSpec(
        "input_timeout_s",
        ParameterType.DOUBLE,
        0.1,
        "A nominal command (or a required joint state) older than this is stale: the safe "
        "command is published instead. A safety limit: raised at run time only with "
        "allow_runtime_safety_changes.",
        _SECONDS_TIMEOUT,
        safety_limit=LimitDirection.LOWER_IS_SAFER,
    ),
    ParameterSpec(
        "require_joint_state",
        ParameterType.BOOL,
        False,
        "Fall back to the safe command when /joint_states is stale (needed by state "
        "barriers); false: filter without a state while it is stale. A safety limit: "
        "turned off at run time only with allow_runtime_safety_changes.",
        safety_limit=LimitDirection.HIGHER_IS_SAFER,
    ),
    ParameterSpec(
        "command_type",
        ParameterType.STRING,
        "float64_multi_array",
        "Type of the actuator command topic: std_msgs/Float64MultiArray (ros2_control "
        "forward controllers), geometry_msgs/Twist or geometry_msgs/Wrench.",
        choices=("float64_multi_array", "twist", "wrench"),
        read_only=True,
    ),
    ParameterSpec(
        "publish_safety_status",
        ParameterType.BOOL,
        True,
        "Publish ~/safety_status (nominal, filtered, constraints, slack) every command.",
    ),
)

POLICY_NODE_PARAMETERS: tuple[ParameterSpec, ...] = (_RATE_HZ, *_COMMON, *_POLICY_ONLY)
"""Parameters of ``policy_node``."""
SAFETY_FILTER_NODE_PARAMETERS: tuple[ParameterSpec, ...] = (
    _WATCHDOG_RATE_HZ,
    *_COMMON,
    *_SAFETY_ONLY,
)
"""Parameters of ``safety_filter_node``."""
CONTROLLER_NODE_PARAMETERS: tuple[ParameterSpec, ...] = (
    (_WATCHDOG_RATE_HZ, *_COMMON)
    + _POLICY_ONLY
    + tuple(s for s in _SAFETY_ONLY if s.name not in {p.name for p in _POLICY_ONLY})
)
"""Parameters of the composed ``controller_node`` (one timer, both halves; the policy's
``input_timeout_s`` covers the camera, IMU and joint states; the nominal never goes stale
there since it is handed over in the same tick)."""

FILE_PARAMETERS = ("safety_config", "model_path")
"""Parameters naming a file that a run-time change loads (in the background)."""

_BY_NODE = {
    "policy_node": POLICY_NODE_PARAMETERS,
    "safety_filter_node": SAFETY_FILTER_NODE_PARAMETERS,
    "controller_node": CONTROLLER_NODE_PARAMETERS,
}


def parameters_for(node: str) -> tuple[ParameterSpec, ...]:
    """Return the parameter specs of ``node`` (``policy_node``, ``safety_filter_node``, ...).

    Raises:
        KeyError: for an unknown node name.
    """
    try:
        return _BY_NODE[node]
    except KeyError:
        raise KeyError(f"unknown node {node!r}; expected one of {list(_BY_NODE)}") from None


def defaults(specs: Sequence[ParameterSpec]) -> dict[str, Any]:
    """Return ``{name: default}`` for ``specs`` (lists copied)."""
    return {s.name: list(s.default) if isinstance(s.default, list) else s.default for s in specs}


class Validation(NamedTuple):
    """Result of :func:`validate_changes`."""

    ok: bool
    reason: str
    """Every problem found, ``"; "``-joined; empty when ``ok``."""
    values: dict[str, Any]
    """The full parameter set after the changes (the current set when rejected)."""


def _cross_problems(values: Mapping[str, Any]) -> list[str]:
    """Problems that involve more than one parameter."""
    problems = []
    if "max_dt_s" in values and "rate_hz" in values:
        period = 1.0 / float(values["rate_hz"])
        if float(values["max_dt_s"]) < period:
            problems.append(
                f"max_dt_s: {values['max_dt_s']!r} is shorter than one period "
                f"1/rate_hz = {period:.6g} s"
            )
    return problems


def _run_time_problem(spec: ParameterSpec, old: Any, new: Any, *, allow_safety: bool) -> str:
    """Why a valid value may not be set after start-up (read-only, widens a limit); or ``""``."""
    if new == old:
        return ""
    if spec.read_only:
        return f"{spec.name}: read-only after start-up; restart the node to change it"
    if spec.safety_limit.widens(old, new) and not allow_safety:
        change = (
            "changes a safety limit" if spec.safety_limit is LimitDirection.ANY
            else f"widens a safety limit ({old!r} in force)"
        )  # fmt: skip
        return (
            f"{spec.name}: {new!r} {change}; safety limits are fixed at run time (restart the "
            "node with the new value, or start it with allow_runtime_safety_changes:=true for "
            "development)"
        )
    return ""


def validate_changes(
    specs: Sequence[ParameterSpec],
    current: Mapping[str, Any],
    changes: Mapping[str, Any],
    *,
    starting: bool = False,
) -> Validation:
    """Check a set of parameter changes as one: all are accepted, or none.

    Args:
        specs: the node's declared parameters.
        current: the values in force (missing names take their defaults).
        changes: the requested new values.
        starting: the values come from start-up (params file, command line), so read-only
            parameters and safety limits may be set.

    Returns:
        A :class:`Validation`; ``reason`` lists every problem, each starting with the
        parameter name, e.g. ``"rate_hz: 0.0 is out of range (0, 1000]"``.
    """
    by_name = {s.name: s for s in specs}
    allow_safety = bool(current.get(ALLOW_RUNTIME_SAFETY_CHANGES.name, False))
    problems = []
    for name, value in changes.items():
        spec = by_name.get(name)
        if spec is None:
            problems.append(f"{name}: not a parameter of this node")
            continue
        problem = spec.problem(value)
        old = current.get(name, spec.default)
        if not problem and not starting:
            problem = _run_time_problem(spec, old, value, allow_safety=allow_safety)
        if problem:
            problems.append(problem)
    merged = {**defaults(specs), **current}
    if problems:
        return Validation(False, "; ".join(problems), merged)
    merged.update(changes)
    problems = _cross_problems(merged)
    if problems:
        return Validation(False, "; ".join(problems), {**defaults(specs), **current})
    return Validation(True, "", merged)
