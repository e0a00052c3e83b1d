"""config/<node>.yaml lists every declared parameter with its default and a comment."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from liquid_controller.control.parameters import defaults, parameters_for, validate_changes

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"
# Declared by the ROS shell itself (liquid_controller/ros/parameters.py), not by the cores.
ROS_SHELL_ONLY = {
    "policy_node": {"trigger", "autostart"},
    "safety_filter_node": {"autostart"},
    "controller_node": {"trigger", "autostart"},
}


@pytest.mark.parametrize("node", ["policy_node", "safety_filter_node", "controller_node"])
def test_node_yaml_matches_declared_parameters(node):
    path = CONFIG_DIR / f"{node}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    values = data[f"/**/{node}"]["ros__parameters"]  # keyed to match the node in any namespace
    specs = parameters_for(node)
    extra = ROS_SHELL_ONLY.get(node, set())
    assert set(values) == {s.name for s in specs} | extra
    core_values = {k: v for k, v in values.items() if k not in extra}
    assert core_values == defaults(specs)
    assert validate_changes(specs, {}, core_values, starting=True).ok


@pytest.mark.parametrize("node", ["policy_node", "safety_filter_node", "controller_node"])
def test_every_parameter_is_commented(node):
    lines = (CONFIG_DIR / f"{node}.yaml").read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        stripped = line.strip()
        if line.startswith("    ") and stripped and not stripped.startswith("#"):
            assert lines[i - 1].strip().startswith("#"), f"{node}.yaml: no comment for {stripped}"
