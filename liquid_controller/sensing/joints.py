"""``sensor_msgs/JointState`` mapped by joint name onto a configured joint order.

Publishers (``joint_state_broadcaster``, simulators, drivers) may order joints
however they like, include joints the policy does not use, and leave
``velocity`` / ``effort`` empty when they do not measure them (the message
definition allows empty arrays). :class:`JointStateMapper` looks every
configured joint up by name, so the output order is always the configured one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from liquid_controller.errors import ConfigError, MessageConversionError
from liquid_controller.sensing._fields import (
    FloatArray,
    as_float_vector,
    check_finite,
    get_field,
)

__all__ = ["JointSample", "JointStateMapper"]


class JointSample(NamedTuple):
    """Joint quantities in the configured joint order.

    Attributes:
        position: ``(n,)`` rad or m.
        velocity: ``(n,)`` rad/s or m/s, or ``None`` when the message had none.
        effort: ``(n,)`` N*m or N, or ``None`` when the message had none.
    """

    position: FloatArray
    velocity: FloatArray | None
    effort: FloatArray | None


class JointStateMapper:
    """Map ``JointState`` messages onto a fixed joint order, by name.

    The name-to-index lookup is cached for the last name list seen, so the
    common case (every message lists the same joints in the same order) costs
    one tuple comparison and one numpy gather per array.

    Args:
        joint_names: the joints the consumer needs, in the order it needs them.

    Raises:
        ConfigError: ``joint_names`` is empty, has a non-string or empty name,
            or repeats a name.
    """

    def __init__(self, joint_names: Sequence[str]) -> None:
        names = tuple(joint_names) if not isinstance(joint_names, str) else ()
        if not names:
            raise ConfigError("joint_names", joint_names, "a non-empty list of joint names")
        for index, name in enumerate(names):
            if not isinstance(name, str) or not name:
                raise ConfigError(f"joint_names[{index}]", name, "a non-empty string")
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ConfigError("joint_names", list(names), f"unique names (repeated: {duplicates})")
        self._joint_names = names
        self._cached_names: tuple[str, ...] | None = None
        self._cached_index: npt.NDArray[np.intp] = np.zeros(0, dtype=np.intp)

    @property
    def joint_names(self) -> tuple[str, ...]:
        """The configured joint order."""
        return self._joint_names

    def _index_for(self, message_names: tuple[str, ...]) -> npt.NDArray[np.intp]:
        """Return, for each configured joint, its index in ``message_names``."""
        if message_names == self._cached_names:
            return self._cached_index
        positions: dict[str, int] = {}
        for index, name in enumerate(message_names):
            if not isinstance(name, str):
                raise MessageConversionError(f"name[{index}]", f"got {name!r}; expected a string")
            if name in positions:
                raise MessageConversionError(
                    "name", f"joint {name!r} appears twice (at {positions[name]} and {index})"
                )
            positions[name] = index
        missing = [name for name in self._joint_names if name not in positions]
        if missing:
            raise MessageConversionError(
                "name", f"missing joints {missing}; message has {list(message_names)}"
            )
        index_array = np.array([positions[name] for name in self._joint_names], dtype=np.intp)
        self._cached_names, self._cached_index = message_names, index_array
        return index_array

    def _select(
        self, array: FloatArray, field: str, count: int, index: npt.NDArray[np.intp]
    ) -> FloatArray:
        """Check ``array`` has one value per message name; return the configured joints'."""
        if array.shape[0] != count:
            raise MessageConversionError(
                field, f"got {array.shape[0]} values for {count} names; expected {count}"
            )
        selected = array[index]
        check_finite(selected, field, self._joint_names)
        return selected

    def map(self, msg: object) -> JointSample:
        """Return the configured joints' position, velocity and effort.

        Joints in the message but not configured are ignored (their values are
        not checked). ``velocity`` and ``effort`` may be empty (-> ``None``);
        ``position`` may not.

        Args:
            msg: any object with ``name``, ``position``, ``velocity`` and ``effort``.

        Raises:
            MessageConversionError: a configured joint is missing, a name repeats,
                an array's length differs from ``name``'s, or a configured
                joint's value is not finite (``field`` e.g. ``"velocity[elbow]"``).
        """
        names = get_field(msg, "name")
        if isinstance(names, (str, bytes)) or not hasattr(names, "__iter__"):
            raise MessageConversionError("name", f"got {names!r}; expected a list of names")
        message_names = tuple(names)
        index = self._index_for(message_names)
        count = len(message_names)
        position = as_float_vector(get_field(msg, "position"), "position")
        optional: list[FloatArray | None] = []
        for field in ("velocity", "effort"):
            values = as_float_vector(get_field(msg, field), field)
            optional.append(None if values.size == 0 else self._select(values, field, count, index))
        return JointSample(self._select(position, "position", count, index), *optional)
