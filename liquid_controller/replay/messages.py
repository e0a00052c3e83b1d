"""The nodes' output messages as ``rosbags`` type-store objects, for the output bag.

The same fields, in the same way, as :mod:`liquid_controller.ros.messages` fills the rclpy
messages the live nodes publish (a ``Float64MultiArray`` with one ``actuators`` dimension,
``SafetyStatus`` with ``[]`` as the nominal when there was none, ``PolicyState``, one
``DiagnosticArray`` per report), so a replay and a live recording read alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from rosbags.typesys.store import Typestore

from liquid_controller.control.diagnostics import DiagnosticRecord
from liquid_controller.control.policy_runner import PolicyTick
from liquid_controller.control.safety_runner import SafetyTick
from liquid_controller.data.typestore import POLICY_STATE, SAFETY_STATUS

__all__ = [
    "DIAGNOSTIC_ARRAY",
    "FLOAT64_MULTI_ARRAY",
    "OutputMessages",
]

FLOAT64_MULTI_ARRAY = "std_msgs/msg/Float64MultiArray"
DIAGNOSTIC_ARRAY = "diagnostic_msgs/msg/DiagnosticArray"
_NS_PER_S = 1_000_000_000


def _floats(values: npt.ArrayLike | None) -> npt.NDArray[np.float64]:
    if values is None:
        return np.zeros(0, dtype=np.float64)
    return np.ascontiguousarray(values, dtype=np.float64).reshape(-1)


class OutputMessages:
    """Build the output messages from ticks and diagnostic records.

    Args:
        typestore: a store holding the standard and the package's custom messages.
        actuator_names: actuator order of the commands.
        neuron_types: role of each neuron (``PolicyState.neuron_types``).
    """

    def __init__(
        self,
        typestore: Typestore,
        actuator_names: Sequence[str],
        neuron_types: Sequence[str],
    ) -> None:
        types = typestore.types
        self._time = types["builtin_interfaces/msg/Time"]
        self._header = types["std_msgs/msg/Header"]
        self._array = types[FLOAT64_MULTI_ARRAY]
        self._layout = types["std_msgs/msg/MultiArrayLayout"]
        self._dim = types["std_msgs/msg/MultiArrayDimension"]
        self._status = types[SAFETY_STATUS]
        self._state = types[POLICY_STATE]
        self._diag_array = types[DIAGNOSTIC_ARRAY]
        self._diag_status = types["diagnostic_msgs/msg/DiagnosticStatus"]
        self._key_value = types["diagnostic_msgs/msg/KeyValue"]
        self._actuators = list(actuator_names)
        self._neuron_types = list(neuron_types)

    def header(self, stamp_ns: int) -> Any:
        """A header stamped ``stamp_ns`` (nanoseconds), empty frame id."""
        sec, nanosec = divmod(int(stamp_ns), _NS_PER_S)
        return self._header(stamp=self._time(sec=sec, nanosec=nanosec), frame_id="")

    def command(self, command: npt.ArrayLike) -> Any:
        """The actuator command (one ``actuators`` dimension, as the nodes' encoder)."""
        data = _floats(command)
        dim = self._dim(label="actuators", size=data.size, stride=data.size)
        return self._array(layout=self._layout(dim=[dim], data_offset=0), data=data)

    def nominal(self, nominal: npt.ArrayLike | None) -> Any:
        """The policy node's nominal: its values, or empty when it has none (no layout)."""
        return self._array(layout=self._layout(dim=[], data_offset=0), data=_floats(nominal))

    def safety_status(self, tick: SafetyTick, now_ns: int) -> Any:
        """``SafetyStatus`` of a safety tick, stamped with the node time."""
        return self._status(
            header=self.header(now_ns),
            nominal=_floats(tick.nominal),
            filtered=_floats(tick.command),
            actuator_names=self._actuators,
            intervened=bool(tick.intervened),
            status=str(tick.status),
            reason=str(tick.reason),
            active_constraints=[str(c) for c in tick.active_constraints],
            slack=_floats(tick.slack),
            solve_time_s=float(tick.solve_time_s),
        )

    def policy_state(self, tick: PolicyTick, now_ns: int) -> Any:
        """``PolicyState`` of a policy tick that stepped, stamped with its observation stamp."""
        assert tick.step is not None
        stamp_ns = now_ns if tick.stamp_s is None else round(tick.stamp_s * _NS_PER_S)
        return self._state(
            header=self.header(stamp_ns),
            activity=_floats(tick.step.activity),
            neuron_types=self._neuron_types,
            dt_s=float(tick.dt_s),
            inference_time_s=float(tick.inference_time_s),
            state_reset=bool(tick.state_reset),
        )

    def diagnostics(self, records: Iterable[DiagnosticRecord], now_ns: int, node: str) -> Any:
        """One ``DiagnosticArray`` of control-layer records of ``node`` (its hardware id)."""
        return self._diag_array(
            header=self.header(now_ns),
            status=[
                self._diag_status(
                    level=int(r.level),
                    name=str(r.name),
                    message=str(r.message),
                    hardware_id=f"/{node}",
                    values=[self._key_value(key=str(k), value=_text(v)) for k, v in r.values],
                )
                for r in records
            ],
        )


def _text(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)
