"""Read fields of duck-typed ROS messages with errors that name the field.

Every converter in :mod:`liquid_controller.sensing` accepts any object with the
ROS 2 field names: rclpy messages, ``rosbags`` type-store classes, or plain
test objects. These helpers turn "attribute missing", "wrong type" and
"non-finite" into :class:`~liquid_controller.errors.MessageConversionError`
whose ``field`` is the dotted path of the offending field.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from liquid_controller.errors import MessageConversionError

FloatArray = npt.NDArray[np.float64]

_REAL_TYPES = (int, float, np.integer, np.floating)


def get_field(msg: object, name: str, path: str | None = None) -> Any:
    """Return ``msg.<name>``; raise naming ``path`` (default ``name``) when it is missing."""
    try:
        return getattr(msg, name)
    except AttributeError:
        raise MessageConversionError(
            path or name,
            f"missing on {type(msg).__name__} (expected a ROS 2 message with this field)",
        ) from None


def get_int(msg: object, name: str, *, minimum: int = 0) -> int:
    """Return an integer field that must be ``>= minimum``."""
    value = get_field(msg, name)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise MessageConversionError(name, f"got {value!r}; expected an integer")
    if value < minimum:
        raise MessageConversionError(name, f"got {int(value)}; expected an integer >= {minimum}")
    return int(value)


def get_str(msg: object, name: str) -> str:
    """Return a string field."""
    value = get_field(msg, name)
    if not isinstance(value, str):
        raise MessageConversionError(name, f"got {value!r}; expected a string")
    return value


def get_finite_components(msg: object, name: str, components: str) -> FloatArray:
    """Read scalar sub-fields such as ``x``, ``y``, ``z`` of ``msg.<name>`` as finite float64.

    Args:
        msg: the message.
        name: field holding a Vector3 / Quaternion-like object.
        components: one letter per sub-field, e.g. ``"xyz"`` or ``"xyzw"``.

    Raises:
        MessageConversionError: a sub-field is missing, not a real number or
            not finite; ``field`` is e.g. ``"angular_velocity.y"``.
    """
    parent = get_field(msg, name)
    values = []
    for component in components:
        value: Any = getattr(parent, component, None)
        real = isinstance(value, _REAL_TYPES) and not isinstance(value, (bool, np.bool_))
        if not (real and math.isfinite(value)):
            path = f"{name}.{component}"
            if value is None:  # missing (or None): name it like get_field does
                get_field(parent, component, path)
            expected = "a finite number" if real else "a number"
            raise MessageConversionError(path, f"got {value!r}; expected {expected}")
        values.append(float(value))
    return np.array(values, dtype=np.float64)


def as_float_vector(values: Any, name: str) -> FloatArray:
    """Convert a numeric sequence field (list, array.array, np.ndarray) to a float64 vector.

    Raises:
        MessageConversionError: the field is not a flat sequence of real numbers.
    """
    if isinstance(values, (str, bytes)):
        raise MessageConversionError(name, f"got {values!r}; expected a sequence of numbers")
    try:
        array = np.asarray(values)
    except (TypeError, ValueError):
        raise MessageConversionError(name, f"got {values!r}; expected numbers") from None
    if array.ndim != 1 or (array.size and array.dtype.kind not in "iuf"):
        raise MessageConversionError(
            name, f"got {values!r}; expected a flat sequence of real numbers"
        )
    return array.astype(np.float64)


def check_finite(array: FloatArray, name: str, labels: Sequence[str] | None = None) -> None:
    """Raise naming the first non-finite entry of the 1-D ``array``.

    Args:
        array: 1-D float array.
        name: field name used in the error.
        labels: per-entry labels (joint names); indices when ``None``.
    """
    bad = np.flatnonzero(~np.isfinite(array))
    if bad.size:
        index = int(bad[0])
        label = labels[index] if labels is not None else str(index)
        raise MessageConversionError(
            f"{name}[{label}]", f"got {float(array[index])!r}; expected a finite number"
        )
