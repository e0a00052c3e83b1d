"""sensing.stamps: stamps to integer nanoseconds and guarded dt between successive stamps."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from rosbags.typesys import Stores, get_typestore

from liquid_controller.errors import ConfigError, MessageConversionError
from liquid_controller.sensing import (
    DtStatus,
    DtTracker,
    header_stamp_ns,
    stamp_to_ns,
    stamp_to_seconds,
)

TYPES = get_typestore(Stores.ROS2_JAZZY).types
Header = TYPES["std_msgs/msg/Header"]
Time = TYPES["builtin_interfaces/msg/Time"]
Imu = TYPES["sensor_msgs/msg/Imu"]


def test_stamp_conversions_are_exact():
    stamp = Time(sec=1_700_000_000, nanosec=123_456_789)
    assert stamp_to_ns(stamp) == 1_700_000_000_123_456_789
    assert stamp_to_seconds(Time(sec=2, nanosec=500_000_000)) == 2.5
    assert stamp_to_ns(Time(sec=-1, nanosec=0)) == -1_000_000_000
    assert stamp_to_ns(Time(sec=np.int32(4), nanosec=np.uint32(5))) == 4_000_000_005


def test_header_stamp_of_a_message():
    header = Header(stamp=Time(sec=7, nanosec=8), frame_id="imu")
    msg = Imu(header, *([None] * 6))
    assert header_stamp_ns(msg) == 7_000_000_008


@pytest.mark.parametrize(
    ("stamp", "field", "match"),
    [
        (Time(sec=1, nanosec=1_000_000_000), "stamp.nanosec", r"got 1000000000; expected 0 <="),
        (Time(sec=1, nanosec=-1), "stamp.nanosec", "got -1"),
        (Time(sec=1.5, nanosec=0), "stamp.sec", "got 1.5; expected an integer"),
        (Time(sec=True, nanosec=0), "stamp.sec", "got True"),
    ],
)
def test_bad_stamps_name_the_field(stamp, field, match):
    with pytest.raises(MessageConversionError, match=match) as info:
        stamp_to_ns(stamp)
    assert info.value.field == field


def test_missing_header_fields_are_named():
    class NoStamp:
        header = object()

    with pytest.raises(MessageConversionError) as info:
        header_stamp_ns(NoStamp())
    assert info.value.field == "header.stamp"
    with pytest.raises(MessageConversionError) as info:
        header_stamp_ns(object())
    assert info.value.field == "header"


def test_dt_sequence_covers_every_status():
    tracker = DtTracker(nominal_dt_s=0.02, max_dt_s=0.5)
    ms = 1_000_000
    steps = [tracker.update(t * ms) for t in (1000, 1020, 1020, 1035, 900, 920, 2000)]
    assert [s.status for s in steps] == [
        DtStatus.FIRST,
        DtStatus.OK,
        DtStatus.REPEATED,
        DtStatus.OK,
        DtStatus.BACKWARDS,
        DtStatus.OK,
        DtStatus.GAP,
    ]
    assert [s.dt_s for s in steps] == [0.02, 0.02, 0.0, 0.015, 0.02, 0.02, 0.5]
    assert [s.raw_dt_ns for s in steps] == [0, 20 * ms, 0, 15 * ms, -135 * ms, 20 * ms, 1080 * ms]
    assert tracker.previous_ns == 2000 * ms
    tracker.reset()
    assert tracker.previous_ns is None
    assert tracker.update(5).status is DtStatus.FIRST


def test_exactly_max_dt_is_not_a_gap():
    tracker = DtTracker(nominal_dt_s=0.1, max_dt_s=0.25)
    tracker.update(0)
    assert tracker.update(250_000_000) == (0.25, DtStatus.OK, 250_000_000)
    assert tracker.update(500_000_001).status is DtStatus.GAP


@pytest.mark.parametrize(
    ("nominal", "maximum", "key"),
    [
        (0.0, 1.0, "nominal_dt_s"),
        (-0.1, 1.0, "nominal_dt_s"),
        (math.nan, 1.0, "nominal_dt_s"),
        (0.1, 0.05, "max_dt_s"),
        (0.1, math.inf, "max_dt_s"),
    ],
)
def test_tracker_configuration_is_validated(nominal, maximum, key):
    with pytest.raises(ConfigError, match=f"config key '{key}'"):
        DtTracker(nominal, maximum)


@given(
    st.lists(st.integers(-(2**62), 2**62), min_size=1, max_size=50),
    st.floats(1e-4, 1.0),
    st.floats(1.0, 10.0),
)
def test_dt_is_always_finite_bounded_and_matches_the_status(stamps, nominal, factor):
    maximum = nominal * factor
    tracker = DtTracker(nominal, maximum)
    max_ns = round(maximum * 1e9)
    previous = None
    for stamp in stamps:
        step = tracker.update(stamp)
        assert math.isfinite(step.dt_s) and 0.0 <= step.dt_s <= maximum
        if previous is None:
            expected = (nominal, DtStatus.FIRST)
        elif stamp == previous:
            expected = (0.0, DtStatus.REPEATED)
        elif stamp < previous:
            expected = (nominal, DtStatus.BACKWARDS)
        elif stamp - previous > max_ns:
            expected = (maximum, DtStatus.GAP)
        else:
            expected = ((stamp - previous) / 1e9, DtStatus.OK)
        assert (step.dt_s, step.status) == expected
        previous = stamp
