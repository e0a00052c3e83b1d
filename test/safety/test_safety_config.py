from __future__ import annotations

import copy
import sys
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import pytest
import yaml
from safety_scenarios import WHEELS

from liquid_controller.errors import ConfigError
from liquid_controller.safety import plugins
from liquid_controller.safety.config import (
    MAX_YAML_DEPTH,
    BarrierKind,
    FallbackMode,
    load_config,
    parse_config,
)
from liquid_controller.safety.filter import SafetyFilter
from liquid_controller.safety.plugins import PluginKind, available_plugins

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
        ("nominal_state", [0.0], r"'nominal_state'.*a mapping"),
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


PLUGIN = {"name": "p", "type": "plugin", "rows": 1, "class_k": [1.0]}


def test_plugins_resolve_only_registered_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, test_plugins: None
) -> None:
    # A module on sys.path with import-time code: a config must not be able to import it.
    (tmp_path / "side_effect_module.py").write_text(
        "import pathlib\npathlib.Path(__file__).with_suffix('.ran').touch()\n"
        "def f(state, params): ...\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    for ref in ("os:system", "side_effect_module:f", "subprocess:run"):
        for section, entry in (
            ("barriers", {**PLUGIN, "function": ref}),
            ("force_limits", {"name": "f", "function": ref, "rows": 1}),
        ):
            with pytest.raises(ConfigError, match=rf"{section}\[0\]\.function'.*not imported"):
                SafetyFilter(with_change(section, [entry]))
    assert not (tmp_path / "side_effect_module.ran").exists()
    assert "side_effect_module" not in sys.modules
    # The registered names are listed: the package's own lane plug-in, and the test ones.
    with pytest.raises(ConfigError, match=r"'liquid_controller\.barriers' \(.*lane.*wrong_shape"):
        SafetyFilter(with_change("barriers", [{**PLUGIN, "function": "no_such_plugin"}]))


def test_the_package_registers_its_lane_plugin() -> None:
    (point,) = [p for p in available_plugins(PluginKind.BARRIER) if p.name == "lane"]
    assert point.value == "liquid_controller.safety.lane:lane"


@pytest.mark.parametrize(
    ("entry", "match"),
    [
        ({**PLUGIN, "function": "not_callable"}, r"a function of \(state, params\)"),
        ({**PLUGIN, "function": "one_argument"}, r"a function of \(state, params\)"),
        ({**PLUGIN, "function": "needs_obstacle"}, r"nominal_state.*KeyError.*obstacle_distance"),
        ({**PLUGIN, "function": "nan_terms"}, r"finite terms at the nominal state"),
        ({**PLUGIN, "function": "wrong_shape"}, r"shape \(1, 2\)"),
    ],
)
def test_a_broken_barrier_plugin_fails_the_load(test_plugins: None, entry: dict, match: str):
    with pytest.raises(ConfigError, match=rf"'barriers\[0\]\.function'.*{match}"):
        SafetyFilter(with_change("barriers", [entry]))


def test_a_broken_force_limit_function_fails_the_load(test_plugins: None) -> None:
    crossed = {"name": "f", "function": "crossed_band", "rows": 1}
    with pytest.raises(ConfigError, match=r"'force_limits\[0\]\.function'.*lower <= upper"):
        SafetyFilter(with_change("force_limits", [crossed]))
    grip = {"name": "f", "function": "sum_band", "rows": 1}
    with pytest.raises(ConfigError, match=r"'force_limits\[0\]\.function'.*KeyError.*grip"):
        SafetyFilter(with_change("force_limits", [grip]))
    data = with_change("force_limits", [grip])
    data["nominal_state"] = {"grip": 1.0}
    SafetyFilter(data)


def test_the_nominal_state_satisfies_a_plugin(test_plugins: None) -> None:
    data = with_change("barriers", [{**PLUGIN, "function": "needs_obstacle"}])
    data["nominal_state"] = {"obstacle_distance": 2.0}
    SafetyFilter(data)
    data["nominal_state"] = {"joint_position": [0.0]}
    with pytest.raises(ConfigError, match=r"'nominal_state\.joint_position'.*list of 2"):
        parse_config(data)
    data["nominal_state"] = {"obstacle_distance": "far"}
    with pytest.raises(ConfigError, match=r"'nominal_state\.obstacle_distance'.*a number"):
        parse_config(data)


def test_a_plugin_registered_twice_or_failing_to_import_is_rejected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "broken_plugin_module.py").write_text("raise RuntimeError('no driver')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    group = PluginKind.BARRIER.value
    registry = (
        EntryPoint("twice", "liquid_controller.safety.lane:lane", group),
        EntryPoint("twice", "safety_plugin_examples:nan_terms", group),
        EntryPoint("broken", "broken_plugin_module:f", group),
    )
    monkeypatch.setattr(plugins, "available_plugins", lambda kind: registry)
    with pytest.raises(ConfigError, match=r"registered once.*lane:lane.*nan_terms"):
        SafetyFilter(with_change("barriers", [{**PLUGIN, "function": "twice"}]))
    with pytest.raises(ConfigError, match=r"loadable plug-in.*RuntimeError: no driver"):
        SafetyFilter(with_change("barriers", [{**PLUGIN, "function": "broken"}]))


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
