from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from liquid_controller.control.command_guard import CommandGuard
from liquid_controller.safety.config import ActuatorLimits, FallbackMode

LIMITS = ActuatorLimits(("a", "b"), (-2.0, 0.5), (2.0, 3.0), (10.0, 10.0))


def test_violations_name_the_problem():
    g = CommandGuard(LIMITS)
    assert g.violation(np.array([0.0, 1.0]), None, 0.01) == ""
    assert "shape" in g.violation(np.array([0.0]), None, 0.01)
    assert "not finite" in g.violation(np.array([np.nan, 1.0]), None, 0.01)
    assert "command[1] = 4.0 is outside [0.5, 3.0]" in g.violation(np.array([0.0, 4.0]), None, 0.1)
    msg = g.violation(np.array([0.5, 1.0]), np.array([0.0, 1.0]), 0.01)
    assert "command[0] changes by 0.5" in msg and "allows 0.1" in msg


def test_zero_target_is_clipped_into_box_and_ramped():
    g = CommandGuard(LIMITS, FallbackMode.ZERO)
    assert g.safe_target(None).tolist() == [0.0, 0.5]  # zero is below effort_min[1]
    u = g.safe_command(np.array([2.0, 3.0]), 0.05)  # 10/s * 0.05 s = 0.5 per step
    assert u.tolist() == [1.5, 2.5]
    assert g.safe_command(np.array([0.2, 0.6]), 1.0).tolist() == [0.0, 0.5]


def test_hold_keeps_last_command_and_shutdown_target_does_not_ramp():
    hold = CommandGuard(LIMITS, FallbackMode.HOLD)
    assert hold.safe_command(np.array([1.0, 2.0]), 0.01).tolist() == [1.0, 2.0]
    zero = CommandGuard(LIMITS, FallbackMode.ZERO)
    assert zero.safe_target(np.array([2.0, 3.0])).tolist() == [0.0, 0.5]


def test_non_finite_or_negative_dt_allows_no_change():
    g = CommandGuard(LIMITS)
    prev = np.array([1.0, 1.0])
    for dt in (-1.0, float("nan"), float("inf")):
        assert g.safe_command(prev, dt).tolist() == [1.0, 1.0]


def test_no_rate_limit_jumps_to_target():
    g = CommandGuard(ActuatorLimits(("a",), (-1.0,), (1.0,), None))
    assert g.safe_command(np.array([1.0]), 0.001).tolist() == [0.0]
    assert g.violation(np.array([-1.0]), np.array([1.0]), 0.001) == ""


finite = st.floats(-1e6, 1e6)
anything = st.one_of(finite, st.just(float("nan")), st.just(float("inf")), st.just(-float("inf")))


@given(
    prev=st.one_of(st.none(), st.lists(anything, min_size=2, max_size=2)),
    dt=st.one_of(st.floats(-1.0, 1.0), st.just(float("nan"))),
    hold=st.booleans(),
)
def test_safe_command_is_finite_and_in_box(prev, dt, hold):
    g = CommandGuard(LIMITS, FallbackMode.HOLD if hold else FallbackMode.ZERO)
    u = g.safe_command(None if prev is None else np.array(prev), dt)
    assert np.all(np.isfinite(u))
    assert np.all(u >= g.effort_min) and np.all(u <= g.effort_max)


@given(prev=st.lists(st.floats(-2.0, 2.0), min_size=2, max_size=2), dt=st.floats(0.0, 0.2))
def test_ramp_from_inside_box_respects_rate(prev, dt):
    limits = ActuatorLimits(("a", "b"), (-2.0, -2.0), (2.0, 2.0), (10.0, 3.0))
    g = CommandGuard(limits)
    p = np.array(prev)
    u = g.safe_command(p, dt)
    assert g.violation(u, p, dt) == ""
    # progress toward zero, never overshoot
    assert np.all(np.abs(u) <= np.abs(p) + 1e-12)


@pytest.mark.parametrize("mode", list(FallbackMode))
def test_from_config_uses_actuator_limits(mode):
    from liquid_controller.safety.config import SafetyConfig

    g = CommandGuard.from_config(SafetyConfig(actuators=LIMITS, fallback=mode))
    assert g.effort_max.tolist() == [2.0, 3.0] and g.fallback is mode and g.size == 2
