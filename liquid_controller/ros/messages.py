"""numpy -> ROS message translation for the nodes' outputs.

The inputs go the other way through :mod:`liquid_controller.sensing` (ROS-free,
duck-typed); this module builds the real rclpy message objects the nodes
publish. Float arrays are copied into ``array.array('d')`` because that is the
fast path of the generated ``float64[]`` setters (a numpy array or a list is
checked element by element).
"""

from __future__ import annotations

import array
import enum
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from builtin_interfaces.msg import Time
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from geometry_msgs.msg import Twist, Wrench
from std_msgs.msg import Float64MultiArray, MultiArrayDimension

from liquid_controller.errors import ConfigError
from liquid_controller.msg import PolicyState, SafetyStatus

__all__ = [
    "CommandEncoder",
    "CommandType",
    "diagnostic_array",
    "float64_sequence",
    "policy_state_msg",
    "safety_status_msg",
]

_VECTOR_FIELDS = ("x", "y", "z")


class CommandType(enum.Enum):
    """Message type of the actuator command topic."""

    FLOAT64_MULTI_ARRAY = "float64_multi_array"
    """std_msgs/Float64MultiArray in actuator order (ros2_control forward/effort controllers)."""
    TWIST = "twist"
    """geometry_msgs/Twist; actuator names are its fields, e.g. ``linear.x``, ``angular.z``."""
    WRENCH = "wrench"
    """geometry_msgs/Wrench; actuator names are its fields, e.g. ``force.x``, ``torque.z``."""


_GEOMETRY_GROUPS = {
    CommandType.TWIST: ("linear", "angular"),
    CommandType.WRENCH: ("force", "torque"),
}


def float64_sequence(values: npt.ArrayLike) -> array.array[float]:
    """Copy a float vector into the fast-path container of a ``float64[]`` message field."""
    out = array.array("d")
    out.frombytes(np.ascontiguousarray(values, dtype=np.float64).tobytes())
    return out


class CommandEncoder:
    """Turn a command vector into the configured actuator message type.

    Args:
        command_type: the message type (``CommandType`` or its string value).
        actuator_names: actuator order of the command vector. For Twist/Wrench each name
            must be one of the message's vector fields (``linear.x`` ... ``angular.z`` or
            ``force.x`` ... ``torque.z``); fields not named stay 0.

    Raises:
        ConfigError: unknown command type, or an actuator name that is not a field of it.
    """

    def __init__(self, command_type: CommandType | str, actuator_names: Sequence[str]) -> None:
        try:
            self.command_type = CommandType(command_type)
        except ValueError:
            raise ConfigError(
                "command_type", command_type, "one of " + ", ".join(t.value for t in CommandType)
            ) from None
        self.actuator_names = tuple(actuator_names)
        self._fields: list[tuple[str, str]] = []
        groups = _GEOMETRY_GROUPS.get(self.command_type)
        if groups is not None:
            allowed = [f"{g}.{a}" for g in groups for a in _VECTOR_FIELDS]
            for name in self.actuator_names:
                if name not in allowed:
                    raise ConfigError(
                        "command_type",
                        self.command_type.value,
                        f"actuator names among {allowed} (got actuator {name!r}); "
                        "use float64_multi_array for joint-level commands",
                    )
                group, axis = name.split(".")
                self._fields.append((group, axis))
        self.msg_type: type[Any] = {
            CommandType.FLOAT64_MULTI_ARRAY: Float64MultiArray,
            CommandType.TWIST: Twist,
            CommandType.WRENCH: Wrench,
        }[self.command_type]

    def encode(self, command: npt.ArrayLike) -> Any:
        """Return the message carrying ``command`` (actuator order)."""
        values = np.asarray(command, dtype=np.float64)
        if self.command_type is CommandType.FLOAT64_MULTI_ARRAY:
            msg = Float64MultiArray()
            msg.layout.dim = [
                MultiArrayDimension(label="actuators", size=values.size, stride=values.size)
            ]
            msg.data = float64_sequence(values)
            return msg
        msg = self.msg_type()
        for (group, axis), value in zip(self._fields, values.tolist(), strict=True):
            setattr(getattr(msg, group), axis, value)
        return msg


def policy_state_msg(
    *,
    stamp: Time,
    frame_id: str,
    activity: npt.ArrayLike,
    neuron_types: Sequence[str],
    dt_s: float,
    inference_time_s: float,
    state_reset: bool,
) -> PolicyState:
    """Build a ``liquid_controller/PolicyState`` for one policy step."""
    msg = PolicyState()
    msg.header.stamp = stamp
    msg.header.frame_id = frame_id
    msg.activity = float64_sequence(activity)
    msg.neuron_types = list(neuron_types)
    msg.dt_s = float(dt_s)
    msg.inference_time_s = float(inference_time_s)
    msg.state_reset = bool(state_reset)
    return msg


def safety_status_msg(
    *,
    stamp: Time,
    frame_id: str,
    nominal: npt.ArrayLike | None,
    filtered: npt.ArrayLike,
    actuator_names: Sequence[str],
    intervened: bool,
    status: str,
    reason: str,
    active_constraints: Sequence[str],
    slack: npt.ArrayLike,
    solve_time_s: float,
) -> SafetyStatus:
    """Build a ``liquid_controller/SafetyStatus``; ``nominal=None`` (none valid) gives ``[]``."""
    msg = SafetyStatus()
    msg.header.stamp = stamp
    msg.header.frame_id = frame_id
    msg.nominal = float64_sequence(() if nominal is None else nominal)
    msg.filtered = float64_sequence(filtered)
    msg.actuator_names = list(actuator_names)
    msg.intervened = bool(intervened)
    msg.status = str(status)
    msg.reason = str(reason)
    msg.active_constraints = [str(c) for c in active_constraints]
    msg.slack = float64_sequence(slack)
    msg.solve_time_s = float(solve_time_s)
    return msg


_LEVELS = {
    "OK": DiagnosticStatus.OK,
    "WARN": DiagnosticStatus.WARN,
    "ERROR": DiagnosticStatus.ERROR,
    "STALE": DiagnosticStatus.STALE,
}


def _level_byte(level: Any) -> bytes:
    """Map a record level (enum member, its name, or 0..3) to diagnostic_msgs' byte constant."""
    name = getattr(level, "name", level)
    if isinstance(name, str) and name.upper() in _LEVELS:
        return bytes(_LEVELS[name.upper()])
    if isinstance(level, int) and 0 <= int(level) <= 3:
        return bytes([int(level)])
    raise ValueError(f"diagnostic level {level!r}; expected OK, WARN, ERROR or STALE")


def _key_values(values: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> list[KeyValue]:
    items = values.items() if isinstance(values, Mapping) else values
    return [KeyValue(key=str(k), value=_format_value(v)) for k, v in items]


def _format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def diagnostic_array(stamp: Time, records: Iterable[Any], hardware_id: str) -> DiagnosticArray:
    """Turn control-layer diagnostic records into one ``diagnostic_msgs/DiagnosticArray``.

    Args:
        stamp: header stamp (node clock).
        records: objects with ``name``, ``level`` (OK/WARN/ERROR/STALE), ``message`` and
            ``values`` (a mapping or key/value pairs), as produced by
            :mod:`liquid_controller.control.diagnostics`.
        hardware_id: identifies the node (its fully qualified name).
    """
    msg = DiagnosticArray()
    msg.header.stamp = stamp
    msg.status = [
        DiagnosticStatus(
            level=_level_byte(r.level),
            name=str(r.name),
            message=str(r.message),
            hardware_id=hardware_id,
            values=_key_values(r.values),
        )
        for r in records
    ]
    return msg
