"""Load-time conditioning bounds: degenerate but finite configs fail the load, naming the key;
configs at the bounds are solved on every tick."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from safety_scenarios import WHEELS

from liquid_controller.errors import ConfigError
from liquid_controller.safety import SafetyFilter
from liquid_controller.safety.conditioning import MAX_CLASS_K, MAX_COST_RATIO, MAX_ROW_RANGE


def wheels(**changes: Any) -> dict[str, Any]:
    config = copy.deepcopy(WHEELS)
    config.update(changes)
    return config


def with_class_k(gain: float) -> dict[str, Any]:
    config = wheels()
    config["barriers"][0]["class_k"] = [gain]
    return config


def with_inertia(inertia: float) -> dict[str, Any]:
    config = wheels()
    config["barriers"][0]["inertia"] = [inertia, 0.02]
    return config


@pytest.mark.parametrize(
    ("config", "match"),
    [
        (
            wheels(force_limits=[{"name": "t", "A": [[1e308] * 2], "lower": [-1], "upper": [1]}]),
            r"'force_limits\[0\]\.A'.*within \+-1e\+06.*here inf",
        ),
        (
            wheels(force_limits=[{"name": "t", "A": [[1e6, 0.0]], "lower": [-1], "upper": [1]}]),
            r"'force_limits\[0\]\.A'.*here 2e\+06",
        ),
        (with_inertia(1e-320), r"'barriers\[0\]\.inertia\[0\]'.*1e-320.*\|u\| / inertia"),
        (wheels(weights=[1e-300, 1e300]), r"'weights'.*within a factor 1e\+06"),
        (with_class_k(1e300), r"'barriers\[0\]\.class_k\[0\]'.*<= 1e\+06"),
        (wheels(weights=[1.0, 1e4]), r"'weights'"),
        (wheels(slack_weight=1e8), r"'slack_weight'.*100000000.*within a factor"),
        (wheels(weights=[1e3, 1e3], slack_weight=0.1), r"'slack_weight'"),
    ],
)
def test_degenerate_numbers_fail_the_load(config: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        SafetyFilter(config)


def test_a_plugin_row_beyond_the_bound_fails_the_load(test_plugins: None) -> None:
    config = wheels(force_limits=[{"name": "f", "function": "huge_row", "rows": 1}])
    with pytest.raises(ConfigError, match=r"'force_limits\[0\]\.function'.*huge_row.*nominal"):
        SafetyFilter(config)


def test_the_slack_weight_only_counts_with_soft_barriers() -> None:
    config = wheels(slack_weight=1e12)
    config["barriers"][0]["hard"] = True  # no slack variable: rho is not in the cost
    SafetyFilter(config)


AT_THE_BOUNDS = [
    # a force row reaching MAX_ROW_RANGE over the box (2 N*m per wheel)
    wheels(
        force_limits=[
            {"name": "t", "A": [[MAX_ROW_RANGE / 4] * 2], "lower": [-1e5], "upper": [1e5]}
        ]
    ),
    with_inertia(2.0 / MAX_ROW_RANGE),  # |u| / inertia = MAX_ROW_RANGE
    with_class_k(MAX_CLASS_K),
    wheels(weights=[1.0, 1.0], slack_weight=MAX_COST_RATIO),
    wheels(weights=[1.0, MAX_COST_RATIO**0.5], slack_weight=MAX_COST_RATIO**0.5),
]


@settings(max_examples=150)
@given(
    case=st.sampled_from(range(len(AT_THE_BOUNDS))),
    nominal=st.lists(st.floats(-3.0, 3.0), min_size=2, max_size=2),
    speed=st.lists(st.floats(-20.0, 20.0), min_size=2, max_size=2),
)
def test_configs_at_the_bounds_are_solved(case: int, nominal: list[float], speed: list[float]):
    f = SafetyFilter(AT_THE_BOUNDS[case])
    state = {"joint_position": np.zeros(2), "joint_velocity": np.array(speed)}
    r = f.filter(np.array(nominal), state)
    assert not r.fallback, r.reason
