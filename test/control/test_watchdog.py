from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from liquid_controller.control.watchdog import FreshnessTransition, InputWatchdog
from liquid_controller.errors import ConfigError


def test_inputs_start_stale_and_first_arrival_is_reported_once():
    wd = InputWatchdog(["camera", "imu"], input_timeout_s=0.1)
    assert wd.stale_inputs(0.0) == ("camera", "imu")
    assert wd.poll(0.0) == ()  # already stale at start: nothing changed
    wd.arrived("camera", now_s=0.01, stamp_s=5.0)
    assert wd.poll(0.02) == (FreshnessTransition("camera", False, pytest.approx(0.01)),)
    assert wd.poll(0.03) == ()
    assert wd.stale_inputs(0.03) == ("imu",)
    assert wd.record("camera").last_stamp_s == 5.0


def test_stale_after_timeout_and_fresh_again():
    wd = InputWatchdog(["imu"], input_timeout_s=0.25)
    wd.arrived("imu", now_s=1.0)
    wd.poll(1.0)
    assert not wd.is_stale("imu", 1.25)  # exactly the timeout: still fresh
    assert wd.poll(1.25) == ()
    (change,) = wd.poll(1.2501)
    assert change.name == "imu" and change.stale
    assert wd.poll(1.5) == ()  # reported once
    wd.arrived("imu", now_s=1.75)
    (change,) = wd.poll(1.75)
    assert not change.stale


def test_clock_going_backwards_never_gives_negative_age():
    wd = InputWatchdog(["imu"], input_timeout_s=0.1)
    wd.arrived("imu", now_s=10.0)
    assert wd.age_s("imu", 3.0) == 0.0
    assert not wd.is_stale("imu", 3.0)


@pytest.mark.parametrize("timeout", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_timeout_is_rejected(timeout):
    with pytest.raises(ConfigError, match="input_timeout_s"):
        InputWatchdog(["imu"], input_timeout_s=timeout)


def test_duplicate_names_rejected():
    with pytest.raises(ConfigError, match="unique"):
        InputWatchdog(["imu", "imu"], input_timeout_s=1.0)


@given(
    events=st.lists(st.tuples(st.booleans(), st.floats(0.0, 0.5)), min_size=1, max_size=40),
    timeout=st.floats(0.01, 0.3),
)
def test_transitions_alternate_and_match_staleness(events, timeout):
    wd = InputWatchdog(["x"], input_timeout_s=timeout)
    now, stale = 0.0, True
    for arrive, advance in events:
        now += advance
        if arrive:
            wd.arrived("x", now_s=now)
        for change in wd.poll(now):
            assert change.stale != stale  # strictly alternating
            stale = change.stale
        assert stale == wd.is_stale("x", now)
