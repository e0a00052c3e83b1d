"""Static checks of launch/*.launch.py (no ROS needed).

PyPI has no ROS 2 `launch` / `launch_ros` (the `launch` project there is an unrelated 2017
package), so the launch descriptions cannot be built here; these tests read the files' syntax
tree instead: they hold no logic, name only installed executables and existing files, and
declare exactly the arguments they use.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAUNCH_DIR = ROOT / "launch"
LAUNCH_FILES = sorted(LAUNCH_DIR.glob("*.launch.py"))
# Directories CMakeLists.txt installs into share/liquid_controller.
INSTALLED_DATA_DIRS = {"launch", "config", "resource", "msg", "description"}
ALLOWED_IMPORTS = ("launch", "launch_ros")


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def _calls(tree: ast.AST, name: str) -> list[ast.Call]:
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name
    ]


def _first_string_argument(call: ast.Call) -> str:
    (first, *_) = call.args
    assert isinstance(first, ast.Constant) and isinstance(first.value, str), ast.dump(call)
    return first.value


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((kw.value for kw in call.keywords if kw.arg == name), None)


def _declared(tree: ast.AST) -> set[str]:
    return {_first_string_argument(call) for call in _calls(tree, "DeclareLaunchArgument")}


def _used(tree: ast.AST) -> set[str]:
    return {_first_string_argument(call) for call in _calls(tree, "LaunchConfiguration")}


def _cmake_node_executables() -> set[str]:
    match = re.search(r"set\(_node_executables ([^)]*)\)", (ROOT / "CMakeLists.txt").read_text())
    assert match, "CMakeLists.txt no longer lists _node_executables"
    return set(match.group(1).split())


def test_the_documented_launch_files_exist():
    assert {path.name for path in LAUNCH_FILES} >= {"robot.launch.py", "replay.launch.py"}


@pytest.mark.parametrize("path", LAUNCH_FILES, ids=lambda p: p.name)
def test_launch_file_is_declarative(path):
    tree = _tree(path)
    functions = [node.name for node in tree.body if isinstance(node, ast.FunctionDef)]
    assert functions == ["generate_launch_description"]
    control_flow = (ast.If, ast.For, ast.While, ast.Try, ast.IfExp, ast.comprehension, ast.Lambda)
    assert not [type(node).__name__ for node in ast.walk(tree) if isinstance(node, control_flow)]
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            assert node.module.split(".")[0] in ALLOWED_IMPORTS, node.module
        assert not isinstance(node, ast.Import), "only `from launch... import` is expected"


@pytest.mark.parametrize("path", LAUNCH_FILES, ids=lambda p: p.name)
def test_every_node_is_an_installed_executable_named_like_it(path):
    executables = _cmake_node_executables()
    for call in _calls(_tree(path), "Node"):
        package = _keyword(call, "package")
        executable = _keyword(call, "executable")
        name = _keyword(call, "name")
        if isinstance(package, ast.Constant):  # another package's (test/gazebo checks them)
            continue
        assert isinstance(package, ast.Name) and package.id == "PACKAGE"
        assert isinstance(executable, ast.Constant) and executable.value in executables
        assert isinstance(name, ast.Constant) and name.value == executable.value


@pytest.mark.parametrize("path", LAUNCH_FILES, ids=lambda p: p.name)
def test_every_file_named_by_a_launch_file_is_in_an_installed_directory(path):
    for call in _calls(_tree(path), "PathJoinSubstitution"):
        (parts,) = call.args
        assert isinstance(parts, ast.List)
        if ast.unparse(parts.elts[0]) != "share":  # another package's share (test/gazebo)
            continue
        names = [p.value for p in parts.elts if isinstance(p, ast.Constant)]
        assert names[0] in INSTALLED_DATA_DIRS, names
        assert (ROOT.joinpath(*names)).is_file(), f"{path.name} names missing {'/'.join(names)}"


def test_robot_launch_declares_exactly_the_arguments_it_uses():
    tree = _tree(LAUNCH_DIR / "robot.launch.py")
    assert _declared(tree) == _used(tree)
    assert _declared(tree) == {
        "namespace",
        "params_file",
        "model_path",
        "safety_config",
        "use_sim_time",
        "autostart",
        "composed",
        "camera_topic",
        "imu_topic",
        "joint_states_topic",
        "command_topic",
        "enclave",
    }


def test_every_robot_node_runs_in_the_enclave_argument():
    tree = _tree(LAUNCH_DIR / "robot.launch.py")
    assert "security = ['--enclave', LaunchConfiguration('enclave')]" in ast.unparse(tree)
    for call in _calls(tree, "Node"):
        arguments = _keyword(call, "ros_arguments")
        assert isinstance(arguments, ast.Name) and arguments.id == "security", ast.unparse(call)


def test_robot_launch_starts_either_the_composed_node_or_the_pair():
    conditions = {}
    for call in _calls(_tree(LAUNCH_DIR / "robot.launch.py"), "Node"):
        condition = _keyword(call, "condition")
        assert isinstance(condition, ast.Call), "every node is selected by `composed`"
        (argument,) = condition.args
        assert isinstance(argument, ast.Name) and argument.id == "composed"
        conditions[_keyword(call, "executable").value] = condition.func.id
    assert conditions == {
        "policy_node": "UnlessCondition",
        "safety_filter_node": "UnlessCondition",
        "controller_node": "IfCondition",
    }


def test_replay_launch_uses_its_arguments_and_forces_sim_time_on_the_robot_launch():
    replay = _tree(LAUNCH_DIR / "replay.launch.py")
    assert _declared(replay) == _used(replay) == {"bag", "rate", "clock_rate"}
    (include,) = _calls(replay, "IncludeLaunchDescription")
    assert "robot.launch.py" in ast.unparse(include)
    forwarded = ast.literal_eval(_keyword(include, "launch_arguments").func.value)
    assert forwarded == {"use_sim_time": "true"}
    assert set(forwarded) <= _declared(_tree(LAUNCH_DIR / "robot.launch.py"))
    (play,) = _calls(replay, "ExecuteProcess")
    command = ast.unparse(_keyword(play, "cmd"))
    for token in ("'ros2'", "'bag'", "'play'", "'--clock'", "'--rate'"):
        assert token in command.replace('"', "'")
    # --clock takes the Hz as its value (nargs='?'): it must directly follow the flag.
    assert "'--clock', LaunchConfiguration('clock_rate')" in command.replace('"', "'")
    (clock,) = [
        c for c in _calls(replay, "DeclareLaunchArgument") if "clock_rate" in ast.unparse(c)
    ]
    assert float(ast.literal_eval(_keyword(clock, "default_value"))) > 50.0
