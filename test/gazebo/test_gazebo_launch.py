"""Static checks of launch/gazebo.launch.py (no ROS or Gazebo here: see test_launch_files.py).

The generic checks (declarative, this package's nodes and files installed) are in
test/launch/test_launch_files.py; these check its wiring: the other packages' executables it
starts, the headless switch, the controllers it spawns, and the robot.launch.py arguments.
"""

from __future__ import annotations

import ast
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
GAZEBO = ROOT / "launch" / "gazebo.launch.py"
# What the README's Gazebo section tells users to install, by the executables used.
EXTERNAL_EXECUTABLES = {
    ("robot_state_publisher", "robot_state_publisher"),
    ("ros_gz_sim", "create"),
    ("ros_gz_bridge", "parameter_bridge"),
    ("controller_manager", "spawner"),
}


def _tree() -> ast.Module:
    return ast.parse(GAZEBO.read_text(encoding="utf-8"))


def _calls(name: str) -> list[ast.Call]:
    return [
        node
        for node in ast.walk(_tree())
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name
    ]


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((kw.value for kw in call.keywords if kw.arg == name), None)


def _strings(call: ast.Call, name: str) -> list[str]:
    return [node.value for node in ast.walk(_keyword(call, name)) if isinstance(node, ast.Constant)]


def _first_strings(name: str) -> set[str]:
    return {call.args[0].value for call in _calls(name)}


def test_launch_declares_exactly_what_it_uses_and_robot_launch_takes_the_forwarded():
    assert _first_strings("DeclareLaunchArgument") == _first_strings("LaunchConfiguration") == {
        "world", "headless", "composed", "model_path", "safety_config",
    }  # fmt: skip
    (include,) = [
        c for c in _calls("IncludeLaunchDescription") if "robot.launch.py" in ast.unparse(c)
    ]
    forwarded = _keyword(include, "launch_arguments").func.value
    assert [key.value for key in forwarded.keys] == [
        "use_sim_time", "composed", "model_path", "safety_config",
    ]  # fmt: skip
    assert forwarded.values[0].value == "true"
    robot = ast.parse((ROOT / "launch" / "robot.launch.py").read_text(encoding="utf-8"))
    declared = {
        node.args[0].value
        for node in ast.walk(robot)
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "DeclareLaunchArgument"
    }
    assert {key.value for key in forwarded.keys} <= declared


def test_other_packages_executables_are_the_documented_ones():
    started = set()
    for call in _calls("Node"):
        package = _keyword(call, "package")
        if isinstance(package, ast.Constant):
            started.add((package.value, _keyword(call, "executable").value))
    assert started == EXTERNAL_EXECUTABLES
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for package in ("ros-jazzy-ros-gz", "ros-jazzy-gz-ros2-control", "ros-jazzy-ros2-controllers",
                    "ros-jazzy-xacro", "ros-jazzy-robot-state-publisher"):  # fmt: skip
        assert package in readme, f"README's Gazebo section names {package}"


def test_gz_sim_runs_the_world_with_the_server_only_when_headless():
    gz_includes = [c for c in _calls("IncludeLaunchDescription") if "gz_args" in ast.unparse(c)]
    by_condition = {}
    for include in gz_includes:
        condition = _keyword(include, "condition")
        assert ast.unparse(condition.args[0]) == "headless"
        by_condition[condition.func.id] = ast.unparse(_keyword(include, "launch_arguments"))
    assert set(by_condition) == {"IfCondition", "UnlessCondition"}
    assert "'-r -s ', world" in by_condition["IfCondition"]
    assert (
        "-s" not in by_condition["UnlessCondition"] and "world" in by_condition["UnlessCondition"]
    )
    assert "'ros_gz_sim'), 'launch', 'gz_sim.launch.py'" in ast.unparse(_tree())


def test_spawners_start_the_controllers_of_the_yaml_after_the_robot_is_spawned():
    config = yaml.safe_load((ROOT / "config" / "gazebo_controllers.yaml").read_text())
    controllers = {k for k, v in config["controller_manager"]["ros__parameters"].items()
                   if isinstance(v, dict)}  # fmt: skip
    spawners = [c for c in _calls("Node") if "'spawner'" in ast.unparse(c)]
    assert {_strings(c, "arguments")[0] for c in spawners} == controllers
    (handler,) = _calls("OnProcessExit")
    assert ast.unparse(_keyword(handler, "target_action")) == "spawn"
    assert ast.unparse(_keyword(handler, "on_exit")) == "controller_spawners"
    (create,) = [c for c in _calls("Node") if "'create'" in ast.unparse(c)]
    arguments = _strings(create, "arguments")
    assert arguments[:2] == ["-topic", "robot_description"]


def test_robot_description_is_the_urdf_and_the_bridge_reads_its_yaml():
    source = ast.unparse(_tree())
    assert "Command(['xacro ', urdf])" in source
    assert "[share, 'description', 'diff_drive.urdf']" in source
    (bridge,) = [c for c in _calls("Node") if "'parameter_bridge'" in ast.unparse(c)]
    assert "'config_file': PathJoinSubstitution([share, 'config', 'gz_bridge.yaml'])" in (
        ast.unparse(bridge)
    )
    (rsp,) = [c for c in _calls("Node") if "'robot_state_publisher'" in ast.unparse(c)]
    assert "'use_sim_time': True" in ast.unparse(rsp)
