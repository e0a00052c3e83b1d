"""``sensor_msgs/Imu`` to float64 arrays, honouring REP 145's "absent" marker.

REP 145: a driver that does not measure a quantity sets element 0 of that
quantity's covariance to -1, and its values must be ignored. :func:`read_imu`
returns ``None`` for such a quantity instead of its (meaningless) values, so
a caller can never feed them to a policy by accident; :func:`imu_to_vector`
builds the 6-vector a policy consumes and refuses a message that lacks a part.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from liquid_controller.errors import MessageConversionError
from liquid_controller.sensing._fields import (
    FloatArray,
    as_float_vector,
    get_field,
    get_finite_components,
)

__all__ = ["IMU_FIELDS", "ImuReading", "imu_to_vector", "read_imu"]

IMU_FIELDS = (
    "linear_acceleration.x",
    "linear_acceleration.y",
    "linear_acceleration.z",
    "angular_velocity.x",
    "angular_velocity.y",
    "angular_velocity.z",
)
"""Field names of the vector :func:`imu_to_vector` returns, in its order."""

# Quaternions shorter than this cannot be normalised meaningfully.
_MIN_QUATERNION_NORM = 1e-6


class ImuReading(NamedTuple):
    """The quantities an IMU message carries; ``None`` where REP 145 marks one absent.

    Attributes:
        linear_acceleration: ``(3,)`` x, y, z in m/s^2, or ``None``.
        angular_velocity: ``(3,)`` x, y, z in rad/s, or ``None``.
        orientation_xyzw: ``(4,)`` unit quaternion in ROS order (x, y, z, w), or ``None``.
    """

    linear_acceleration: FloatArray | None
    angular_velocity: FloatArray | None
    orientation_xyzw: FloatArray | None

    @property
    def present(self) -> frozenset[str]:
        """Names of the quantities present, e.g. ``{"linear_acceleration", "angular_velocity"}``."""
        return frozenset(
            name for name, value in zip(self._fields, self, strict=True) if value is not None
        )


def _is_absent(msg: object, quantity: str) -> bool:
    """Return whether ``<quantity>_covariance[0] == -1`` (REP 145)."""
    name = f"{quantity}_covariance"
    covariance = as_float_vector(get_field(msg, name), name)
    if covariance.shape[0] != 9:
        raise MessageConversionError(
            name, f"got {covariance.shape[0]} values; expected 9 (row-major 3x3)"
        )
    return bool(covariance[0] == -1.0)


def read_imu(msg: object) -> ImuReading:
    """Read every quantity of a ``sensor_msgs/Imu`` that the message marks present.

    A present orientation is normalised to unit length (drivers often publish
    slightly denormalised quaternions).

    Args:
        msg: any object with the ``sensor_msgs/Imu`` field names.

    Returns:
        The reading, with ``None`` for each absent quantity.

    Raises:
        MessageConversionError: a present quantity has a non-finite component
            (``field`` e.g. ``"angular_velocity.z"``), a covariance is not 9 long,
            or a present orientation has (near) zero norm.
    """
    quantities: dict[str, FloatArray | None] = {}
    for quantity, components in (
        ("linear_acceleration", "xyz"),
        ("angular_velocity", "xyz"),
        ("orientation", "xyzw"),
    ):
        quantities[quantity] = (
            None if _is_absent(msg, quantity) else get_finite_components(msg, quantity, components)
        )
    orientation = quantities["orientation"]
    if orientation is not None:
        norm = math.hypot(*orientation)
        if norm < _MIN_QUATERNION_NORM:
            raise MessageConversionError(
                "orientation",
                f"got a quaternion of norm {norm:g}; expected a unit quaternion "
                "(or orientation_covariance[0] = -1 when the IMU has no orientation)",
            )
        orientation = orientation / norm
    return ImuReading(
        linear_acceleration=quantities["linear_acceleration"],
        angular_velocity=quantities["angular_velocity"],
        orientation_xyzw=orientation,
    )


def imu_to_vector(msg: object) -> FloatArray:
    """Return ``[ax, ay, az, wx, wy, wz]`` (m/s^2, rad/s), the policy's ``"imu"`` input.

    Raises:
        MessageConversionError: as :func:`read_imu`, or when linear acceleration
            or angular velocity is marked absent (``field`` names its covariance).
    """
    reading = read_imu(msg)
    acceleration, angular_velocity = reading.linear_acceleration, reading.angular_velocity
    if acceleration is None:
        raise _absent_error("linear_acceleration")
    if angular_velocity is None:
        raise _absent_error("angular_velocity")
    return np.concatenate([acceleration, angular_velocity])


def _absent_error(quantity: str) -> MessageConversionError:
    return MessageConversionError(
        f"{quantity}_covariance",
        f"marks {quantity} absent (element 0 is -1, REP 145); the IMU vector needs it",
    )
