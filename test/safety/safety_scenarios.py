"""Hypothesis strategies for the safety-filter property tests: random robots and ticks.

A scenario is a random config (1-4 actuators, optional rate limits and weights, up to two
force rows, up to two joint barriers, soft or hard), a joint state, a previous command
inside the box, a time step and a nominal (finite, or with NaN / inf / 1e300 entries).
Force bands always contain a common point of the box, so every config is loadable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import strategies as st
from scipy.optimize import linprog

from liquid_controller.safety.filter import SafetyFilter

WHEELS: dict[str, Any] = {
    "actuators": {
        "names": ["left_wheel", "right_wheel"],
        "effort_min": [-2.0, -2.0],
        "effort_max": [2.0, 2.0],
        "rate_max": [40.0, 40.0],
    },
    "force_limits": [{"name": "traction", "A": [[10.0, 10.0]], "lower": [-12.0], "upper": [12.0]}],
    "barriers": [
        {
            "name": "wheel_speed",
            "type": "joint_velocity",
            "lower": [-15.0, -15.0],
            "upper": [15.0, 15.0],
            "inertia": [0.02, 0.02],
            "class_k": [10.0],
        }
    ],
}
"""The example differential-drive robot (as in config/safety.yaml), as a config dict."""

SPECIAL = [float("nan"), float("inf"), float("-inf"), 1e300, -1e300]


@dataclass
class Scenario:
    config: dict[str, Any]
    state: dict[str, np.ndarray]
    u_prev: np.ndarray
    dt: float
    nominal: np.ndarray

    def filter(self) -> SafetyFilter:
        f = SafetyFilter(self.config)
        f.reset(self.u_prev, t=0.0)
        return f


GRID = {"on": False}


def _floats(lo: float, hi: float) -> st.SearchStrategy[float]:
    """Floats in [lo, hi]; multiples of 1/64 while ``GRID["on"]`` (see ``grid_scenarios``)."""
    if GRID["on"]:
        return st.integers(int(np.ceil(lo * 64)), int(np.floor(hi * 64))).map(lambda i: i / 64)
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


def _coefficients() -> st.SearchStrategy[float]:
    """Force-map entries: 0 or 1e-3..10 in magnitude.

    Rows mixing entries 1e6 apart make feasible sets thinner than the solvers' relative
    tolerances (about 1e-7); there the filter falls back conservatively, which the
    precedence check (margin < 1e-6) cannot tell from infeasibility.
    """
    return st.one_of(st.just(0.0), _floats(1e-3, 10.0), _floats(-10.0, -1e-3))


@st.composite
def configs(draw: st.DrawFn, max_n: int = 4) -> dict[str, Any]:
    n = draw(st.integers(1, max_n))
    names = [f"j{i}" for i in range(n)]
    effort_min = [draw(_floats(-5.0, 0.0)) for _ in range(n)]
    spans = [draw(st.one_of(st.just(0.0), _floats(0.05, 10.0))) if n > 1 else
             draw(_floats(0.05, 10.0)) for _ in range(n)]  # fmt: skip
    effort_max = [lo + s for lo, s in zip(effort_min, spans, strict=True)]
    actuators: dict[str, Any] = {"names": names, "effort_min": effort_min, "effort_max": effort_max}
    if draw(st.booleans()):
        actuators["rate_max"] = [draw(_floats(0.5, 200.0)) for _ in range(n)]
    config: dict[str, Any] = {"actuators": actuators}
    if draw(st.booleans()):
        config["weights"] = [draw(_floats(0.1, 10.0)) for _ in range(n)]
    config["slack_weight"] = draw(_floats(10.0, 1e4))  # cost within MAX_COST_RATIO
    config["fallback"] = draw(st.sampled_from(["zero", "hold"]))
    # Force rows through a common interior point p of the box.
    p = [lo + draw(_floats(0.0, 1.0)) * s for lo, s in zip(effort_min, spans, strict=True)]
    force_limits = []
    for i in range(draw(st.integers(0, 2))):
        row = [draw(_coefficients()) for _ in range(n)]
        centre = float(np.dot(row, p))
        force_limits.append(
            {
                "name": f"f{i}",
                "A": [row],
                "lower": [centre - draw(_floats(0.0, 5.0))],
                "upper": [centre + draw(_floats(0.0, 5.0))],
            }
        )
    config["force_limits"] = force_limits
    barriers = []
    for i in range(draw(st.integers(0, 2))):
        kind = draw(st.sampled_from(["joint_velocity", "joint_position"]))
        joints = draw(st.lists(st.sampled_from(names), min_size=1, max_size=n, unique=True))
        lower = [draw(_floats(-3.0, 0.0)) for _ in joints]
        barriers.append(
            {
                "name": f"b{i}",
                "type": kind,
                "joints": joints,
                "lower": lower,
                "upper": [lo + draw(_floats(0.1, 5.0)) for lo in lower],
                "inertia": [draw(_floats(0.05, 5.0)) for _ in joints],
                "damping": [draw(_floats(0.0, 2.0)) for _ in joints],
                "class_k": [
                    draw(_floats(0.1, 20.0)) for _ in range(2 if "position" in kind else 1)
                ],
                "hard": draw(st.booleans()),
            }
        )
    config["barriers"] = barriers
    return config


@st.composite
def scenarios(draw: st.DrawFn, finite_nominal: bool = False, max_n: int = 4) -> Scenario:
    config = draw(configs(max_n))
    act = config["actuators"]
    n = len(act["names"])
    lo, hi = np.array(act["effort_min"]), np.array(act["effort_max"])
    u_prev = lo + np.array([draw(_floats(0.0, 1.0)) for _ in range(n)]) * (hi - lo)
    state = {
        "joint_position": np.array([draw(_floats(-4.0, 4.0)) for _ in range(n)]),
        "joint_velocity": np.array([draw(_floats(-6.0, 6.0)) for _ in range(n)]),
    }
    dt = draw(st.one_of(st.just(0.0), _floats(1e-4, 0.2)))
    # Nominals near the feasible region are the interesting ones: around u_prev.
    value = st.one_of(_floats(-20.0, 20.0), _floats(-1.0, 1.0))
    if not finite_nominal:
        value = st.one_of(value, st.sampled_from(SPECIAL))
    nominal = np.array([draw(value) for _ in range(n)])
    if draw(st.booleans()):
        nominal = u_prev + 0.01 * np.nan_to_num(nominal, posinf=1.0, neginf=-1.0)
    return Scenario(config, state, u_prev, dt, nominal)


@st.composite
def grid_scenarios(draw: st.DrawFn, max_n: int = 4) -> Scenario:
    """Finite-nominal scenarios whose numbers are multiples of 1/64.

    The cvxpy oracle's solvers (HiGHS, Clarabel) fail on some inputs with tiny bounds
    such as 1.2e-7 ("excessively small bounds"); a coarse grid keeps the oracle reliable
    while the property tests with full floats cover the filter itself.
    """
    GRID["on"] = True
    try:
        return draw(scenarios(finite_nominal=True, max_n=max_n))
    finally:
        GRID["on"] = False


def window(f: SafetyFilter, u_prev: np.ndarray, dt: float) -> tuple[np.ndarray, np.ndarray]:
    """The box and rate window, computed from the config (u_prev inside the box)."""
    b = f.builder
    if b.rate_max is None:
        return b.effort_min, b.effort_max
    step = b.rate_max * min(dt, f.config.timing.max_dt_s)
    return np.maximum(b.effort_min, u_prev - step), np.minimum(b.effort_max, u_prev + step)


def hard_rows(f: SafetyFilter, state: dict[str, np.ndarray], barriers: bool):
    """Return ``(A, lower, upper)`` of the hard general rows (force, then hard barriers)."""
    b = f.builder
    force = b.force_rows(state)
    A, lower, upper = [force.F], [force.lower], [force.upper]
    if barriers and b.num_barrier_rows:
        G, bound = b.barrier_rows(state)
        hard = ~b.soft
        A.append(G[hard])
        lower.append(bound[hard])
        upper.append(np.full(int(hard.sum()), np.inf))
    return np.vstack(A), np.concatenate(lower), np.concatenate(upper)


def margin(lo: np.ndarray, hi: np.ndarray, A: np.ndarray, lower: np.ndarray, upper: np.ndarray):
    """Largest t <= 1 with lo <= u <= hi and lower + t <= A u <= upper - t (HiGHS LP)."""
    n = lo.shape[0]
    if A.shape[0] == 0:
        return 1.0
    rows, rhs = [], []
    for i in range(A.shape[0]):
        if np.isfinite(upper[i]):
            rows.append(np.append(A[i], 1.0))
            rhs.append(upper[i])
        if np.isfinite(lower[i]):
            rows.append(np.append(-A[i], 1.0))
            rhs.append(-lower[i])
    if not rows:
        return 1.0
    c = np.zeros(n + 1)
    c[-1] = -1.0
    bounds = [(float(a), float(b)) for a, b in zip(lo, hi, strict=True)] + [(None, 1.0)]
    result = linprog(c, A_ub=np.array(rows), b_ub=np.array(rhs), bounds=bounds, method="highs")
    return -float(result.fun) if result.status == 0 else -np.inf
