"""Static checks of launch/sim.launch.py (see test_launch_files.py for why no ROS here)."""

from __future__ import annotations

import ast
from pathlib import Path

from test_launch_files import _calls, _declared, _keyword, _tree, _used

LAUNCH_DIR = Path(__file__).resolve().parents[2] / "launch"


def test_sim_launch_starts_the_simulator_and_the_robot_nodes_on_sim_time():
    sim = _tree(LAUNCH_DIR / "sim.launch.py")
    assert _declared(sim) == _used(sim) == {
        "track", "seed", "real_time_factor", "composed", "model_path", "safety_config",
    }  # fmt: skip
    (node,) = _calls(sim, "Node")
    assert _keyword(node, "executable").value == "sim_node"
    assert "use_sim_time" not in ast.unparse(node)  # it publishes /clock itself
    (include,) = _calls(sim, "IncludeLaunchDescription")
    assert "robot.launch.py" in ast.unparse(include)
    forwarded = _keyword(include, "launch_arguments").func.value
    keys = [key.value for key in forwarded.keys]
    assert keys == ["use_sim_time", "composed", "model_path", "safety_config"]
    assert forwarded.values[0].value == "true"
    assert set(keys) <= _declared(_tree(LAUNCH_DIR / "robot.launch.py"))
