r"""Barrier values :math:`h(x)` for the report, at the joint state the filter was given.

The filter's result carries the active constraints and the slack, not :math:`h`. The
built-in joint barriers (``joint_position`` / ``joint_velocity``) depend only on the joint
state, so :math:`h` is evaluated here with the filter's own row builder
(:class:`~liquid_controller.safety.constraints.ConstraintBuilder`) at the latest usable
joint state (mapped by actuator name; one without velocity or with NaN is skipped, as the
safety runner drops it), and is NaN while that state is older than the input timeout (the
filter then runs without state). Plug-in barriers need state the bag does not hold
(``pose`` ...): they are not evaluated.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from liquid_controller.errors import MessageConversionError
from liquid_controller.safety.config import SafetyConfig
from liquid_controller.safety.constraints import ConstraintBuilder
from liquid_controller.sensing import JointStateMapper

__all__ = ["BarrierProbe"]


class BarrierProbe:
    """Evaluate the built-in joint barriers' :math:`h` over a replay.

    Args:
        config: the safety config the filter runs.
        timeout_s: a joint state older than this gives NaN (``input_timeout_s``).
    """

    def __init__(self, config: SafetyConfig, timeout_s: float) -> None:
        builder = ConstraintBuilder(config)
        self._rows = builder.joint_rows
        self.names = builder.barrier_names[: self._rows.rows]
        """One name per row, as the filter names them (``wheel_speed.upper[left_wheel]``)."""
        self._mapper = JointStateMapper(config.actuators.names)
        self._timeout_s = timeout_s
        self._z: npt.NDArray[np.float64] | None = None
        self._t = 0.0

    def joint_state(self, message: Any, t_s: float) -> None:
        """Take a ``sensor_msgs/JointState`` that arrived at ``t_s``, if usable."""
        try:
            sample = self._mapper.map(message)
        except MessageConversionError:
            return
        if sample.velocity is None:
            return
        z = np.concatenate([sample.position, sample.velocity]).astype(np.float64)
        if np.isfinite(z).all():
            self._z, self._t = z, t_s

    def values(self, t_s: float) -> npt.NDArray[np.float64]:
        """:math:`h` per row at ``t_s`` (NaN without a fresh joint state)."""
        if self._z is None or t_s - self._t > self._timeout_s:
            return np.full(len(self.names), np.nan)
        return np.asarray(self._rows.terms(self._z).derivatives[:, 0], dtype=np.float64)
