from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from liquid_controller.errors import ConfigError, ObservationError
from liquid_controller.safety.barriers import class_k_coefficients, read_joint_state
from liquid_controller.safety.config import parse_config
from liquid_controller.safety.constraints import ConstraintBuilder

gains = st.lists(st.floats(0.01, 100.0), min_size=1, max_size=4)


@given(gains)
def test_class_k_coefficients_expand_the_product(k: list[float]) -> None:
    c = class_k_coefficients(k)
    s = 0.37  # evaluate both polynomials at a point
    product = np.prod([s + ki for ki in k])
    assert c.shape == (len(k),)
    assert np.isclose(s ** len(k) + sum(cj * s**j for j, cj in enumerate(c)), product)


def test_class_k_coefficients_closed_forms() -> None:
    assert class_k_coefficients([3.0]).tolist() == [3.0]
    assert class_k_coefficients([3.0, 4.0]).tolist() == [12.0, 7.0]


def joint_config(hard: bool = False) -> dict:
    return {
        "actuators": {"names": ["a", "b", "c"], "effort_min": [-5] * 3, "effort_max": [5] * 3},
        "barriers": [
            {
                "name": "pos",
                "type": "joint_position",
                "joints": ["c", "a"],
                "lower": [-1.0, -2.0],
                "upper": [1.5, 2.0],
                "inertia": [0.5, 2.0],
                "damping": [0.3, 0.1],
                "class_k": [2.0, 5.0],
                "hard": hard,
            },
            {
                "name": "vel",
                "type": "joint_velocity",
                "joints": ["b"],
                "lower": [-3.0],
                "upper": [4.0],
                "inertia": [0.25],
                "class_k": [7.0],
            },
        ],
    }


finite = st.floats(-10.0, 10.0)


@given(
    st.lists(finite, min_size=3, max_size=3),
    st.lists(finite, min_size=3, max_size=3),
    st.lists(finite, min_size=3, max_size=3),
)
def test_joint_terms_follow_the_model(q: list[float], v: list[float], u: list[float]) -> None:
    """G u + drift equals h^(r) under qdd = u / I - d qd; derivatives are h, hdot."""
    builder = ConstraintBuilder(parse_config(joint_config()))
    state = {"joint_position": np.array(q), "joint_velocity": np.array(v)}
    terms = builder.barrier_terms(state)
    u_arr = np.array(u)
    inertia = {0: 2.0, 1: 0.25, 2: 0.5}
    damping = {0: 0.1, 1: 0.0, 2: 0.3}
    qdd = np.array([u[j] / inertia[j] - damping[j] * v[j] for j in range(3)])
    # rows: pos.upper[c], pos.upper[a], pos.lower[c], pos.lower[a], vel.upper[b], vel.lower[b]
    expected_h = [1.5 - q[2], 2.0 - q[0], q[2] + 1.0, q[0] + 2.0, 4.0 - v[1], v[1] + 3.0]
    expected_hdot = [-v[2], -v[0], v[2], v[0], 0.0, 0.0]
    expected_top = [-qdd[2], -qdd[0], qdd[2], qdd[0], -qdd[1], qdd[1]]
    assert builder.barrier_names == (
        "pos.upper[c]",
        "pos.upper[a]",
        "pos.lower[c]",
        "pos.lower[a]",
        "vel.upper[b]",
        "vel.lower[b]",
    )
    np.testing.assert_allclose(terms.derivatives[:, 0], expected_h, atol=1e-12)
    np.testing.assert_allclose(terms.derivatives[:, 1], expected_hdot, atol=1e-12)
    np.testing.assert_allclose(terms.G @ u_arr + terms.drift, expected_top, atol=1e-9)


@given(
    st.lists(finite, min_size=3, max_size=3),
    st.lists(finite, min_size=3, max_size=3),
    st.lists(st.floats(0.1, 20.0), min_size=3, max_size=3),
)
def test_fast_barrier_bound_matches_the_general_form(
    q: list[float], v: list[float], k: list[float]
) -> None:
    builder = ConstraintBuilder(parse_config(joint_config()))
    state = {"joint_position": np.array(q), "joint_velocity": np.array(v)}
    G_fast, b_fast = builder.barrier_rows(state)
    G_general, b_general = builder.barrier_rows(state, builder.default_gains)
    np.testing.assert_array_equal(G_fast, G_general)
    np.testing.assert_allclose(b_fast, b_general, rtol=1e-12, atol=1e-9)
    # and per-sample gains enter as documented: b = -(drift + c0 h + c1 hdot)
    gains = np.array(k)
    _, b = builder.barrier_rows(state, gains)
    terms = builder.barrier_terms(state)
    c_pos, c_vel = class_k_coefficients(k[:2]), class_k_coefficients(k[2:])
    c = np.array([c_pos] * 4 + [[c_vel[0], 0.0]] * 2)
    np.testing.assert_allclose(b, -(terms.drift + (c * terms.derivatives).sum(1)), rtol=1e-12)


def test_gain_layout_and_slacks() -> None:
    builder = ConstraintBuilder(parse_config(joint_config(hard=True)))
    assert builder.num_gains == 3
    assert builder.gain_slices == (slice(0, 2), slice(2, 3))
    assert builder.default_gains.tolist() == [2.0, 5.0, 7.0]
    assert builder.soft.tolist() == [False] * 4 + [True] * 2
    assert builder.num_slacks == 2
    E = builder.slack_matrix()
    assert E.shape == (6, 2) and E[4, 0] == 1.0 and E[5, 1] == 1.0 and E[:4].sum() == 0.0


def test_read_joint_state_errors() -> None:
    with pytest.raises(ObservationError, match="joint_position.*missing"):
        read_joint_state({"joint_velocity": np.zeros(2)}, 2)
    with pytest.raises(ObservationError, match=r"joint_velocity.*shape \(3,\); expected \(2,\)"):
        read_joint_state({"joint_position": np.zeros(2), "joint_velocity": np.zeros(3)}, 2)


def test_plugin_rows_and_shape_check(test_plugins: None) -> None:
    base = {
        "actuators": {"names": ["x", "y"], "effort_min": [-1, -1], "effort_max": [1, 1]},
        "nominal_state": {"lateral_position": 0.0},
    }
    lane = {
        "name": "lane",
        "type": "plugin",
        "function": "lane",
        "rows": 2,
        "class_k": [2.0],
        "params": {"y_min": -0.5, "y_max": 1.0, "gain": [1.0, 0.0]},
    }
    builder = ConstraintBuilder(parse_config({**base, "barriers": [lane]}))
    G, b = builder.barrier_rows({"lateral_position": 0.25})
    # ydot = u0 <= k (y_max - y): -u0 >= -2 * 0.75; u0 >= -k (y - y_min) = -2 * 0.75
    np.testing.assert_allclose(G, [[-1.0, 0.0], [1.0, 0.0]])
    np.testing.assert_allclose(b, [-1.5, -1.5])
    broken = {**lane, "function": "wrong_shape", "rows": 1}
    with pytest.raises(ConfigError, match=r"barriers\[0\]\.function.*shape \(1, 2\)"):
        ConstraintBuilder(parse_config({**base, "barriers": [broken]}))
