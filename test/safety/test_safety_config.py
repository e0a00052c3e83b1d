from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from safety_scenarios import WHEELS

from liquid_controller.errors import ConfigError
from liquid_controller.safety.config import (
    MAX_YAML_DEPTH,
    BarrierKind,
    FallbackMode,
    load_config,
    parse_config,
)
from liquid_controller.safety.filter import SafetyFilter

REPO = Path(__file__).resolve().parents[2]

BASE: dict[str, Any] = {**WHEELS, "weights": [1.0, 1.0], "fallback": "zero"}


def with_change(path: str, value: Any) -> dict[str, Any]:
    """Return BASE with the dotted ``path`` (list indices as integers) set to ``value``."""
    data = copy.deepcopy(BASE)
    keys = [int(k) if k.isdigit() else k for k in path.split(".")]
    target: Any = data
    for key in keys[:-1]:
        target = target[key]
    target[keys[-1]] = value
    return data


def test_the_shipped_config_loads_and_filters() -> None:
    config = load_config(REPO / "config" / "safety.yaml")
    assert config.actuators.names == ("left_wheel", "right_wheel")
    assert config.fallback is FallbackMode.ZERO
    assert config.barriers[0].kind is BarrierKind.JOINT_VELOCITY
    SafetyFilter(config)


def test_base_parses_with_defaults() -> None:
    config = parse_config(BASE)
    assert config.slack_weight == 1.0e4
    assert config.timing.period_s == 0.01
    assert config.barriers[0].joints == (0, 1)
    assert config.barriers[0].damping == (0.0, 0.0)


@pytest.mark.parametrize(
    ("path", "value", "key"),
    [
        ("actuators.effort_min", [-2.0, 3.0], r"actuators\.effort_min\[1\]"),
        ("actuators.effort_max", [2.0], r"actuators\.effort_max'.*list of 2 numbers"),
        ("actuators.rate_max", [40.0, 0.0], r"actuators\.rate_max\[1\]'.*> 0"),
        ("actuators.effort_min", [-2.0, float("nan")], r"actuators\.effort_min\[1\]'.*finite"),
        ("actuators.names", ["a", "a"], r"actuators\.names\[1\]"),
        ("actuators.names", [], r"actuators\.names'"),
        ("actuators.torque", 1, r"'actuators\.torque'.*known keys"),
        ("weights", [1.0, -1.0], r"'weights\[1\]'.*> 0"),
        ("weights", [1.0], r"'weights'.*list of 2"),
        ("fallback", "brake", r"'fallback'.*zero \| hold"),
        ("slack_weight", 0, r"'slack_weight'.*> 0"),
        ("solver", "", r"'solver'"),
        ("timing", {"period_s": 0.1, "max_dt_s": 0.01}, r"timing\.max_dt_s"),
        ("timing", {"period": 0.1}, r"timing\.period'.*known keys"),
        ("force_limits.0.lower", [13.0], r"force_limits\[0\]\.lower\[0\]"),
        ("force_limits.0.upper", [-30.0], r"force_limits\[0\]\.lower\[0\]'.*<= force_limits"),
        (
            "force_limits.0",
            {"name": "t", "A": [[10.0, 10.0]], "lower": [-60.0], "upper": [-50.0]},
            r"force_limits\[0\]\.lower\[0\]\.\.upper\[0\]'.*\[-40, 40\]",
        ),
        ("force_limits.0.A", [[10.0]], r"force_limits\[0\]\.A\[0\]'.*list of 2"),
        ("force_limits.0.gain", 1.0, r"force_limits\[0\]\.gain'.*known keys"),
        ("force_limits.0", {"name": "f", "function": "nomodule"}, r"force_limits\[0\]\.rows"),
        ("barriers.0.type", "obstacle", r"barriers\[0\]\.type'.*joint_position"),
        ("barriers.0.class_k", [1.0, 2.0], r"barriers\[0\]\.class_k'.*list of 1"),
        ("barriers.0.class_k", [-1.0], r"barriers\[0\]\.class_k\[0\]'.*> 0"),
        ("barriers.0.upper", [15.0, -15.0], r"barriers\[0\]\.upper\[1\]'.*> barriers\[0\]\.lower"),
        ("barriers.0.joints", ["left_wheel", "tail"], r"barriers\[0\]\.joints\[1\]'.*tail"),
        ("barriers.0.joints", ["left_wheel", "left_wheel"], r"barriers\[0\]\.joints\[1\]"),
        ("barriers.0.inertia", [0.02, 0.0], r"barriers\[0\]\.inertia\[1\]"),
        ("barriers.0.damping", [0.0, -1.0], r"barriers\[0\]\.damping\[1\]"),
        ("barriers.0.hard", "yes", r"barriers\[0\]\.hard'.*true or false"),
        ("barriers.0.function", "m:f", r"barriers\[0\]\.function'.*known keys"),
        ("barriers", {"name": "x"}, r"'barriers'.*a list"),
    ],
)
def test_bad_config_names_the_key(path: str, value: Any, key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        parse_config(with_change(path, value))


def test_unknown_top_level_key_and_missing_actuators() -> None:
    with pytest.raises(ConfigError, match=r"'limits'.*known keys"):
        parse_config({**BASE, "limits": {}})
    with pytest.raises(ConfigError, match=r"'actuators'.*required"):
        parse_config({"weights": [1.0]})
    with pytest.raises(ConfigError, match=r"'<root>'.*mapping"):
        parse_config([1, 2])


def test_duplicate_barrier_names_rejected() -> None:
    data = copy.deepcopy(BASE)
    data["barriers"].append(copy.deepcopy(data["barriers"][0]))
    with pytest.raises(ConfigError, match=r"barriers\[1\]\.name"):
        parse_config(data)


def test_force_rows_that_exclude_the_box_together_are_rejected_by_the_filter() -> None:
    # Each band meets the box alone; together (u0 + u1 >= 3, u0 + u1 <= -3) they cannot.
    data = with_change(
        "force_limits",
        [
            {"name": "a", "A": [[1.0, 1.0]], "lower": [3.0], "upper": [4.0]},
            {"name": "b", "A": [[1.0, 1.0]], "lower": [-4.0], "upper": [-3.0]},
        ],
    )
    with pytest.raises(ConfigError, match=r"'force_limits'.*satisfies together"):
        SafetyFilter(data)


def test_plugin_references_are_checked_at_load() -> None:
    plugin = {"name": "lane", "type": "plugin", "rows": 1, "class_k": [1.0]}
    for ref, match in [
        ("no_colon", r"'module:function'"),
        ("no_such_module_xyz:f", r"importable module"),
        ("safety_plugin_examples:not_callable", r"callable named 'not_callable'"),
    ]:
        data = with_change("barriers", [{**plugin, "function": ref}])
        with pytest.raises(ConfigError, match=rf"barriers\[0\]\.function'.*{match}"):
            SafetyFilter(data)


def test_unknown_solver_rejected_by_the_filter() -> None:
    with pytest.raises(ConfigError, match=r"'solver'.*daqp"):
        SafetyFilter(with_change("solver", "osqp_please"))


def test_load_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"'<file>'.*readable"):
        load_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("actuators: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"'<file>'.*valid YAML"):
        load_config(bad)


def test_an_integer_beyond_the_float_range_names_its_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"'actuators\.effort_max\[0\]'.*about 401 digits"):
        parse_config(with_change("actuators.effort_max", [10**400, 2.0]))
    # Too long for int() itself (Python's digit limit): still the key, not a parser error.
    data = with_change("actuators.effort_max", [0, 2.0])
    text = yaml.safe_dump(data).replace("- 0\n", "- " + "9" * 5000 + "\n", 1)
    path = tmp_path / "long.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"'actuators\.effort_max\[0\]'.*5000 digits"):
        load_config(path)


@pytest.mark.parametrize("style", ["flow", "block"])
def test_deep_yaml_nesting_is_a_config_error(tmp_path: Path, style: str) -> None:
    depth = 50_000 if style == "flow" else 3_000
    if style == "flow":
        text = "actuators: " + "[" * depth + "]" * depth + "\n"
    else:
        text = "actuators:\n" + "".join("  " * i + "- \n" for i in range(depth))
    path = tmp_path / "deep.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"'<file>'.*nested at most {MAX_YAML_DEPTH} deep"):
        load_config(path)


def test_nesting_within_the_bound_loads(tmp_path: Path) -> None:
    data = copy.deepcopy(BASE)
    path = tmp_path / "ok.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert load_config(path) == parse_config(data)


@pytest.mark.parametrize(
    ("path", "value", "key"),
    [
        ("force_limits.0", {"name": "f", "function": "g", "rows": 10**9}, r"\.rows'.*\[1, 1000\]"),
        ("force_limits.0", {"name": "f", "function": "g", "rows": 0}, r"\.rows'.*\[1, 1000\]"),
    ],
)
def test_row_counts_are_bounded(path: str, value: Any, key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        parse_config(with_change(path, value))
