from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from safety_scenarios import WHEELS

from liquid_controller.errors import ObservationError
from liquid_controller.safety import Enforced, FilterStatus, SafetyFilter

REST = {"joint_position": np.zeros(2), "joint_velocity": np.zeros(2)}


def wheels(**changes: Any) -> dict[str, Any]:
    config = copy.deepcopy(WHEELS)
    config.update(changes)
    return config


floats = st.floats(-50.0, 50.0)


@given(
    a=st.lists(st.floats(0.1, 5.0) | st.floats(-5.0, -0.1), min_size=3, max_size=3),
    w=st.lists(st.floats(0.2, 5.0), min_size=3, max_size=3),
    nominal=st.lists(floats, min_size=3, max_size=3),
    c=floats,
)
def test_one_constraint_projection_closed_form(
    a: list[float], w: list[float], nominal: list[float], c: float
) -> None:
    """One row a.u <= c, box never binding: u = u_nom - max(0, a.u_nom - c) W^-2 a / (a' W^-2 a).

    The correction of u_i is at most (a.u_nom - c) / |a_i| <= 800 / 0.1, inside +-1e4 (a
    larger box would exceed the row-range bound, conditioning.MAX_ROW_RANGE).
    """
    config = {
        "actuators": {"names": ["x", "y", "z"], "effort_min": [-1e4] * 3, "effort_max": [1e4] * 3},
        "force_limits": [{"name": "row", "A": [a], "lower": [-1e7], "upper": [c]}],
        "weights": w,
    }
    f = SafetyFilter(config)
    r = f.filter(np.array(nominal))
    a_, w2, u_nom = np.array(a), np.array(w) ** 2, np.array(nominal)
    excess = max(0.0, a_ @ u_nom - c)
    expected = u_nom - excess * (a_ / w2) / (a_ @ (a_ / w2))
    np.testing.assert_allclose(r.u, expected, atol=1e-6)
    assert r.status is (FilterStatus.OPTIMAL if excess > 0 else FilterStatus.PASSTHROUGH)
    if excess > 1e-9:  # within the tolerance the optimum is degenerate: a zero multiplier
        assert r.active_constraints == ("row.upper",)


def test_wrong_length_and_non_numeric_are_clear_errors() -> None:
    f = SafetyFilter(WHEELS)
    with pytest.raises(ObservationError, match=r"u_nominal.*shape \(3,\); expected \(2,\)"):
        f.filter(np.zeros(3), REST)
    with pytest.raises(ObservationError, match="u_nominal.*not numeric"):
        f.filter(["a", "b"], REST)
    with pytest.raises(ObservationError, match=r"gains.*shape \(2,\); expected \(1,\)"):
        f.filter(np.zeros(2), REST, gains=[1.0, 2.0])
    with pytest.raises(ObservationError, match="joint_velocity.*missing"):
        f.filter(np.zeros(2), {"joint_position": np.zeros(2)})
    with pytest.raises(ObservationError, match="u_prev.*non-finite"):
        f.reset([np.nan, 0.0])


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf, 1e300, -1e300, 2e9])
def test_garbage_nominal_falls_back_through_the_limits(bad: float) -> None:
    f = SafetyFilter(wheels(fallback="hold"))
    f.reset([1.0, 1.0], t=0.0)
    r = f.filter(np.array([bad, 0.5]), REST, 0.01)
    assert r.status is FilterStatus.FALLBACK_INVALID_NOMINAL and r.intervened and r.fallback
    # hold: the last command, but the traction row (10 u0 + 10 u1 <= 12) binds
    np.testing.assert_allclose(r.u, [0.6, 0.6], atol=1e-9)
    assert r.enforced is Enforced.ALL and "traction.upper" in r.active_constraints
    assert "non-finite or beyond" in r.reason and "safe command (hold)" in r.reason


def test_fallback_is_a_rate_limited_ramp() -> None:
    f = SafetyFilter(wheels(force_limits=[], barriers=[]))
    f.reset([2.0, -2.0], t=0.0)
    commands = [f.fallback("nominal stale", t=0.01 * i).u for i in range(1, 7)]
    expected = [[max(2.0 - 0.4 * i, 0.0), min(-2.0 + 0.4 * i, 0.0)] for i in range(1, 7)]
    np.testing.assert_allclose(commands, expected, atol=1e-12)
    r = f.fallback("nominal stale", t=0.07)
    assert r.status is FilterStatus.FALLBACK_REQUESTED and r.reason.startswith("nominal stale")


def test_time_rules() -> None:
    f = SafetyFilter(wheels(force_limits=[], barriers=[]))
    big = np.array([2.0, 2.0])
    f.reset([0.0, 0.0], t=1.0)
    np.testing.assert_allclose(f.filter(big, t=1.02).u, [0.8, 0.8])  # dt = 0.02
    np.testing.assert_allclose(f.filter(big, t=0.5).u, [0.8, 0.8])  # backwards: dt = 0
    np.testing.assert_allclose(f.filter(big, t=0.51).u, [1.2, 1.2])  # re-anchored at 0.5
    np.testing.assert_allclose(f.filter(-big, t=float("nan")).u, [1.2, 1.2])  # nan: dt = 0
    np.testing.assert_allclose(f.filter(-big).u, [0.8, 0.8])  # None: period_s = 0.01
    f.reset([0.0, 0.0], t=0.0)
    np.testing.assert_allclose(f.filter(big, t=100.0).u, [2.0, 2.0])  # capped at 0.1 s: 4.0
    f.reset([0.0, 0.0], t=0.0)
    np.testing.assert_allclose(f.filter(big, t=0.001).u, [0.04, 0.04])


def test_missing_or_non_finite_state_falls_back_keeping_force_limits() -> None:
    f = SafetyFilter(wheels(fallback="hold"))
    f.reset([0.9, 0.9])
    r = f.filter(np.array([0.1, 0.1]), None, None)
    assert r.status is FilterStatus.FALLBACK_INVALID_STATE and r.enforced is Enforced.LIMITS
    # hold 0.9 each, within the rate window [0.5, 1.3], but traction caps the sum at 1.2
    np.testing.assert_allclose(r.u, [0.6, 0.6], atol=1e-9)
    assert "no state given; barriers dropped" in r.reason
    bad = {"joint_position": np.zeros(2), "joint_velocity": np.array([np.nan, 0.0])}
    r = f.filter(np.array([0.1, 0.1]), bad, None)
    assert r.status is FilterStatus.FALLBACK_INVALID_STATE and "non-finite" in r.reason


def test_soft_barrier_relaxes_and_hard_barrier_falls_back() -> None:
    # Wheel spinning at 30 rad/s, far over its 15 rad/s limit: braking at -2 N*m from the
    # box is not enough for the CBF condition, so the soft barrier needs slack.
    fast = {"joint_position": np.zeros(2), "joint_velocity": np.array([30.0, 0.0])}
    f = SafetyFilter(wheels(force_limits=[]))
    f.reset([0.0, 0.0], t=0.0)
    r = f.filter(np.array([1.0, 0.0]), fast, 0.1)
    assert r.status is FilterStatus.RELAXED and r.slack[0] > 0.0
    assert r.u[0] == -2.0 and "effort_min[left_wheel]" in r.active_constraints
    hard = wheels(force_limits=[])
    hard["barriers"][0]["hard"] = True
    f = SafetyFilter(hard)
    f.reset([0.0, 0.0], t=0.0)
    r = f.filter(np.array([1.0, 0.0]), fast, 0.1)
    assert r.status is FilterStatus.FALLBACK_INFEASIBLE and r.enforced is Enforced.LIMITS
    assert "barriers dropped" in r.reason
    np.testing.assert_array_equal(r.u, [0.0, 0.0])


def test_gains_from_a_policy_head_shape_the_barrier() -> None:
    near = {"joint_position": np.zeros(2), "joint_velocity": np.array([14.0, 0.0])}
    f = SafetyFilter(wheels(force_limits=[]))
    f.reset([0.0, 0.0], t=0.0)
    gentle = f.filter(np.array([2.0, 0.0]), near, 0.1, gains=[1.0]).u[0]
    f.reset([0.0, 0.0], t=0.0)
    eager = f.filter(np.array([2.0, 0.0]), near, 0.1, gains=[50.0]).u[0]
    # u <= I * k * (15 - v): a larger gain allows more torque toward the limit
    assert gentle < eager
    np.testing.assert_allclose(gentle, 0.02 * 1.0 * 1.0, atol=1e-5)
    for bad in ([0.0], [-1.0], [np.nan]):
        r = f.filter(np.array([0.0, 0.0]), near, None, gains=bad)
        assert r.status is FilterStatus.FALLBACK_INVALID_NOMINAL and "gains" in r.reason


LANE = {
    "name": "lane",
    "type": "plugin",
    "function": "lane",
    "rows": 2,
    "class_k": [2.0],
    "hard": True,
    "params": {"y_min": -1.0, "y_max": 1.0, "gain": [1.0, 0.0]},
}
"""The package's lane plug-in, hard, for a point with ydot = vy: vy <= 2 (1 - y)."""


def test_plugins_through_the_filter(test_plugins: None) -> None:
    config = {
        "actuators": {"names": ["vy", "vx"], "effort_min": [-1, -1], "effort_max": [1, 1]},
        "force_limits": [{"name": "grip", "function": "sum_band", "rows": 1}],
        "barriers": [LANE],
        "nominal_state": {"lateral_position": 0.0, "grip": 1.0},
    }
    f = SafetyFilter(config)
    r = f.filter(np.array([1.0, 0.5]), {"lateral_position": 0.75, "grip": 1.2})
    # lane: vy <= 2 * 0.25 = 0.5; grip: vy + vx <= 1.2
    np.testing.assert_allclose(r.u, [0.5, 0.5], atol=1e-9)
    assert r.status is FilterStatus.OPTIMAL and set(r.active_constraints) == {"lane[0]"}
    r = f.filter(np.array([1.0, 1.0]), {"lateral_position": 0.0, "grip": 1.2})
    np.testing.assert_allclose(r.u, [0.6, 0.6], atol=1e-9)
    assert r.active_constraints == ("grip.upper",)
    r = f.filter(np.array([0.2, 0.2]), {"lateral_position": 0.0, "grip": np.nan})
    assert r.status is FilterStatus.FALLBACK_INVALID_STATE and r.enforced is Enforced.BOX_RATE


def test_result_does_not_alias_the_filter_state() -> None:
    f = SafetyFilter(wheels())
    r = f.filter(np.array([0.1, 0.1]), REST, 0.0)
    r.u[:] = 99.0
    np.testing.assert_array_equal(f.u_prev, [0.1, 0.1])


@given(st.lists(st.floats(-3.0, 3.0), min_size=2, max_size=2), st.floats(-20.0, 20.0))
def test_quadprog_backend_agrees_with_daqp(nominal: list[float], speed: float) -> None:
    state = {"joint_position": np.zeros(2), "joint_velocity": np.array([speed, -speed])}
    a, b = SafetyFilter(wheels()), SafetyFilter(wheels(solver="quadprog"))
    ra, rb = a.filter(np.array(nominal), state), b.filter(np.array(nominal), state)
    assert ra.status is rb.status
    np.testing.assert_allclose(ra.u, rb.u, atol=1e-7)


def test_joint_and_plugin_barriers_together() -> None:
    config = {
        "actuators": {"names": ["vy", "vx"], "effort_min": [-1, -1], "effort_max": [1, 1]},
        "barriers": [
            {
                "name": "speed",
                "type": "joint_velocity",
                "joints": ["vx"],
                "lower": [-1.0],
                "upper": [1.0],
                "inertia": [1.0],
                "class_k": [1.0],
                "hard": True,
            },
            LANE,
        ],
        "nominal_state": {"lateral_position": 0.0},
    }
    f = SafetyFilter(config)
    state = {"joint_position": np.zeros(2), "joint_velocity": np.array([0.0, 0.9]),
             "lateral_position": 0.75}  # fmt: skip
    r = f.filter(np.array([1.0, 1.0]), state)
    # lane: vy <= 2 * 0.25 = 0.5; speed: u_x <= 1 * (1 - 0.9) = 0.1
    np.testing.assert_allclose(r.u, [0.5, 0.1], atol=1e-9)
    assert set(r.active_constraints) == {"lane[0]", "speed.upper[vx]"}


def test_type_errors_are_observation_errors() -> None:
    f = SafetyFilter(WHEELS)
    for t in ("abc", np.array([1.0, 2.0]), 1j, True):
        with pytest.raises(ObservationError, match=r"'t'.*not a real number"):
            f.filter(np.zeros(2), REST, t)
    with pytest.raises(ObservationError, match=r"'t'"):
        f.reset(None, t="abc")
    for nominal in (np.array([0.1 + 1j, 0.0]), [0.1 + 0j, 0.0], [None, 0.0]):
        with pytest.raises(ObservationError, match="u_nominal.*not numeric"):
            f.filter(nominal, REST)  # never truncated to its real part
    with pytest.raises(ObservationError, match="joint_velocity.*not numeric"):
        f.filter(np.zeros(2), {"joint_position": np.zeros(2), "joint_velocity": [1j, 0.0]})
    assert f.filter(np.zeros(2), REST, np.float32(0.5)).status is FilterStatus.PASSTHROUGH


def test_numbers_beyond_the_float_range_fall_back() -> None:
    f = SafetyFilter(WHEELS)
    huge = 10**400
    for nominal in ([huge, 0], [-huge, 0.0], np.array([huge, 1], dtype=object)):
        r = f.filter(nominal, REST)
        assert r.status is FilterStatus.FALLBACK_INVALID_NOMINAL
        np.testing.assert_array_equal(r.u, [0.0, 0.0])
    r = f.filter(np.zeros(2), REST, gains=[huge])
    assert r.status is FilterStatus.FALLBACK_INVALID_NOMINAL
    r = f.filter(np.zeros(2), {"joint_position": [huge, 0], "joint_velocity": np.zeros(2)})
    assert r.status is FilterStatus.FALLBACK_INVALID_STATE
    # A time beyond the float range is non-finite: dt = 0, the command is held.
    f.reset([0.5, 0.5], t=0.0)
    r = f.filter(np.array([1.0, 1.0]), REST, huge)
    np.testing.assert_array_equal(r.u, [0.5, 0.5])


def test_a_plugin_overflowing_on_the_state_falls_back() -> None:
    config = {
        "actuators": {"names": ["vy", "vx"], "effort_min": [-1, -1], "effort_max": [1, 1]},
        "barriers": [LANE],
        "nominal_state": {"lateral_position": 0.0},
    }
    f = SafetyFilter(config)
    r = f.filter(np.array([0.2, 0.2]), {"lateral_position": 10**400})
    assert r.status is FilterStatus.FALLBACK_INVALID_STATE and "OverflowError" in r.reason


@given(
    st.lists(
        st.integers(-(10**500), 10**500) | st.floats(allow_nan=True, allow_infinity=True),
        min_size=2,
        max_size=2,
    )
)
def test_any_real_nominal_gives_a_command_inside_the_box(nominal: list[Any]) -> None:
    r = SafetyFilter(WHEELS).filter(nominal, REST)
    assert np.all(np.abs(r.u) <= 2.0)
