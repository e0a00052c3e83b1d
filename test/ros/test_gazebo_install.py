"""The Gazebo launch file's files in the colcon install tree, and its bridge's ROS types.

Runs against the install space of ``make ros-build`` (see conftest.py). Gazebo and the other
packages the launch file starts (ros_gz, gz_ros2_control, controller_manager,
robot_state_publisher) are not installable here: test/gazebo checks their names statically.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _share_paths(launch_file: Path) -> list[str]:
    """The files a launch file names under this package's share (``[share, ...]`` joins)."""
    paths = []
    for node in ast.walk(ast.parse(launch_file.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "PathJoinSubstitution":
            (parts,) = node.args
            if ast.unparse(parts.elts[0]) == "share":
                paths.append("/".join(p.value for p in parts.elts[1:]))
    return paths


def test_every_file_the_gazebo_launch_names_is_installed(install_prefix):
    share = install_prefix / "share" / "liquid_controller"
    launch = share / "launch" / "gazebo.launch.py"
    assert launch.is_file()
    named = _share_paths(launch)
    assert {"description/diff_drive.urdf", "config/gz_bridge.yaml"} <= set(named)
    for relative in named:
        assert (share / relative).is_file(), f"gazebo.launch.py names {relative}, not installed"
    # The URDF's gz_ros2_control parameters, $(find liquid_controller)/config/...
    assert (share / "config" / "gazebo_controllers.yaml").is_file()
    for track in (share / "description" / "tracks").glob("*.yaml"):
        assert (share / "description" / "worlds" / f"{track.stem}.sdf").is_file(), track.stem


def test_bridge_types_are_the_message_classes_the_nodes_subscribe_with(install_prefix):
    from liquid_controller.ros import inputs

    bridge = yaml.safe_load(
        (install_prefix / "share" / "liquid_controller" / "config" / "gz_bridge.yaml").read_text()
    )
    classes = {}
    for entry in bridge:
        package, kind, name = entry["ros_type_name"].split("/")
        classes[entry["ros_topic_name"]] = getattr(
            importlib.import_module(f"{package}.{kind}"), name
        )
    assert classes["/" + inputs.CAMERA_TOPIC] is inputs.Image
    assert classes["/" + inputs.IMU_TOPIC] is inputs.Imu
    from rosgraph_msgs.msg import Clock
    from sensor_msgs.msg import CameraInfo

    assert classes["/clock"] is Clock
    assert classes["/camera/camera_info"] is CameraInfo
