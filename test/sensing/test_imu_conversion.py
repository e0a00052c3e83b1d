"""sensing.imu: Imu messages to vectors, REP 145 absent quantities, non-finite values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from rosbags.typesys import Stores, get_typestore

from liquid_controller.errors import MessageConversionError
from liquid_controller.sensing import imu_to_vector, read_imu

TYPES = get_typestore(Stores.ROS2_JAZZY).types
Imu = TYPES["sensor_msgs/msg/Imu"]
Header = TYPES["std_msgs/msg/Header"]
Time = TYPES["builtin_interfaces/msg/Time"]
Vector3 = TYPES["geometry_msgs/msg/Vector3"]
Quaternion = TYPES["geometry_msgs/msg/Quaternion"]

PRESENT = np.zeros(9)
ABSENT = np.array([-1.0] + [0.0] * 8)


def make_imu(
    accel=(0.1, -0.2, 9.81),
    gyro=(0.01, 0.02, -0.03),
    quat=(0.0, 0.0, 0.0, 1.0),
    absent=(),
):
    return Imu(
        header=Header(stamp=Time(sec=3, nanosec=4), frame_id="imu"),
        orientation=Quaternion(*quat),
        orientation_covariance=ABSENT if "orientation" in absent else PRESENT,
        angular_velocity=Vector3(*gyro),
        angular_velocity_covariance=ABSENT if "angular_velocity" in absent else PRESENT,
        linear_acceleration=Vector3(*accel),
        linear_acceleration_covariance=ABSENT if "linear_acceleration" in absent else PRESENT,
    )


def test_vector_order_is_acceleration_then_angular_velocity():
    vector = imu_to_vector(make_imu())
    assert vector.dtype == np.float64
    np.testing.assert_array_equal(vector, [0.1, -0.2, 9.81, 0.01, 0.02, -0.03])


def test_all_present():
    reading = read_imu(make_imu(quat=(0.0, 0.0, 0.6, 0.8)))
    assert reading.present == {"linear_acceleration", "angular_velocity", "orientation_xyzw"}
    np.testing.assert_allclose(reading.orientation_xyzw, [0.0, 0.0, 0.6, 0.8])


def test_absent_orientation_is_none_and_its_values_ignored():
    # A driver without orientation often leaves zeros (an invalid quaternion) or NaN there.
    reading = read_imu(make_imu(quat=(math.nan, 0.0, 0.0, 0.0), absent=("orientation",)))
    assert reading.orientation_xyzw is None
    assert reading.present == {"linear_acceleration", "angular_velocity"}
    np.testing.assert_array_equal(
        imu_to_vector(make_imu(absent=("orientation",)))[:3], [0.1, -0.2, 9.81]
    )


@pytest.mark.parametrize("quantity", ["linear_acceleration", "angular_velocity"])
def test_vector_refuses_absent_parts(quantity):
    msg = make_imu(absent=(quantity,))
    assert getattr(read_imu(msg), quantity) is None
    with pytest.raises(MessageConversionError, match="absent.*REP 145") as info:
        imu_to_vector(msg)
    assert info.value.field == f"{quantity}_covariance"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"accel": (0.0, math.nan, 0.0)}, "linear_acceleration.y"),
        ({"gyro": (0.0, 0.0, math.inf)}, "angular_velocity.z"),
        ({"quat": (-math.inf, 0.0, 0.0, 1.0)}, "orientation.x"),
    ],
)
def test_non_finite_values_name_the_component(kwargs, field):
    with pytest.raises(MessageConversionError, match="expected a finite number") as info:
        read_imu(make_imu(**kwargs))
    assert info.value.field == field


def test_zero_quaternion_and_bad_covariance():
    with pytest.raises(MessageConversionError, match="norm 0") as info:
        read_imu(make_imu(quat=(0.0, 0.0, 0.0, 0.0)))
    assert info.value.field == "orientation"
    msg = make_imu()
    msg.angular_velocity_covariance = np.zeros(4)
    with pytest.raises(MessageConversionError, match="got 4 values; expected 9") as info:
        read_imu(msg)
    assert info.value.field == "angular_velocity_covariance"


def test_duck_typed_objects_and_missing_fields():
    class Axis:
        def __init__(self, **values):
            self.__dict__.update(values)

    class PlainImu:
        orientation = Axis(x=0, y=0, z=0, w=2)
        orientation_covariance = [0.0] * 9
        angular_velocity = Axis(x=1, y=2, z=3)
        angular_velocity_covariance = (0.0,) * 9
        linear_acceleration = Axis(x=4, y=5, z=6)
        linear_acceleration_covariance = [0.0] * 9

    reading = read_imu(PlainImu())
    np.testing.assert_array_equal(reading.orientation_xyzw, [0, 0, 0, 1])
    np.testing.assert_array_equal(imu_to_vector(PlainImu()), [4, 5, 6, 1, 2, 3])

    PlainImu.angular_velocity = Axis(x=1, y=True, z=3)
    with pytest.raises(MessageConversionError, match="got True; expected a number") as info:
        read_imu(PlainImu())
    assert info.value.field == "angular_velocity.y"
    PlainImu.angular_velocity = Axis(x=1, y=2, z=3)

    PlainImu.linear_acceleration = Axis(x=4, y=5)
    with pytest.raises(MessageConversionError, match="missing") as info:
        read_imu(PlainImu())
    assert info.value.field == "linear_acceleration.z"


finite = st.floats(-1e6, 1e6, allow_nan=False)


@given(
    st.tuples(finite, finite, finite),
    st.tuples(finite, finite, finite),
    st.tuples(finite, finite, finite, finite).filter(lambda q: math.hypot(*q) > 1e-3),
)
def test_present_values_round_trip_and_quaternion_is_unit(accel, gyro, quat):
    reading = read_imu(make_imu(accel, gyro, quat))
    np.testing.assert_array_equal(imu_to_vector(make_imu(accel, gyro, quat)), [*accel, *gyro])
    assert reading.orientation_xyzw is not None
    assert abs(np.linalg.norm(reading.orientation_xyzw) - 1.0) < 1e-12
    np.testing.assert_allclose(
        reading.orientation_xyzw * math.hypot(*quat), quat, rtol=1e-9, atol=1e-9
    )
