"""The robot's Gazebo side: URDF extensions, controller and bridge YAML, against the model.

The URDF stays the one description: these tests read its Gazebo elements (gz_ros2_control,
sensor topics) and check them against the joints, limits and sensors the MuJoCo model is built
from, and the YAML files against the URDF and the nodes' default topics and message types.
"""

from __future__ import annotations

import ast
import math
import posixpath
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from liquid_controller.sim.description import load_description

ROOT = Path(__file__).resolve().parents[2]
URDF = ROOT / "description" / "diff_drive.urdf"
CONTROLLERS = ROOT / "config" / "gazebo_controllers.yaml"
BRIDGE = ROOT / "config" / "gz_bridge.yaml"
INPUTS = ROOT / "liquid_controller" / "ros" / "inputs.py"
# ros_gz_bridge's message pairs (ros_gz_bridge README, "Supported message types").
GZ_TYPES = {
    "rosgraph_msgs/msg/Clock": "gz.msgs.Clock",
    "sensor_msgs/msg/Image": "gz.msgs.Image",
    "sensor_msgs/msg/CameraInfo": "gz.msgs.CameraInfo",
    "sensor_msgs/msg/Imu": "gz.msgs.IMU",
}
BRIDGE_KEYS = {"ros_topic_name", "gz_topic_name", "ros_type_name", "gz_type_name", "direction"}


@pytest.fixture(scope="module")
def urdf():
    return ET.parse(URDF).getroot()


@pytest.fixture(scope="module")
def description():
    return load_description(URDF)


@pytest.fixture(scope="module")
def bridge():
    return yaml.safe_load(BRIDGE.read_text(encoding="utf-8"))


def _sensor(urdf: ET.Element, kind: str) -> ET.Element:
    (sensor,) = [s for s in urdf.iterfind("gazebo/sensor") if s.get("type") == kind]
    return sensor


def _node_topics() -> dict[str, str]:
    """The nodes' default topic constants (liquid_controller/ros/inputs.py, read without rclpy)."""
    topics = {}
    for node in ast.parse(INPUTS.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            topics[node.targets[0].id] = node.value.value
    return topics


def test_ros2_control_drives_the_wheels_with_efforts_within_their_limits(urdf, description):
    (system,) = urdf.findall("ros2_control")
    assert system.get("type") == "system"
    assert system.find("hardware/plugin").text == "gz_ros2_control/GazeboSimSystem"
    joints = {joint.get("name"): joint for joint in system.findall("joint")}
    assert list(joints) == [wheel.joint for wheel in description.wheels]
    for wheel in description.wheels:
        joint = joints[wheel.joint]
        (command,) = joint.findall("command_interface")
        assert command.get("name") == "effort"
        bounds = {p.get("name"): float(p.text) for p in command.findall("param")}
        assert bounds == {"min": -wheel.effort_limit_nm, "max": wheel.effort_limit_nm}
        states = [s.get("name") for s in joint.findall("state_interface")]
        assert states == ["position", "velocity", "effort"]


def test_gz_ros2_control_plugin_reads_the_controller_yaml_through_xacro(urdf):
    plugins = urdf.findall("gazebo/plugin")
    (plugin,) = [p for p in plugins if p.get("filename") == "gz_ros2_control-system"]
    assert plugin.get("name") == "gz_ros2_control::GazeboSimROS2ControlPlugin"
    match = re.fullmatch(r"\$\(find liquid_controller\)/(.+)", plugin.find("parameters").text)
    assert match and (ROOT / match.group(1)) == CONTROLLERS
    # xacro evaluates every $( and ${ in the file: this must be the only one.
    assert URDF.read_text(encoding="utf-8").count("$(") == 1
    assert "${" not in URDF.read_text(encoding="utf-8")


def test_controller_yaml_names_the_urdf_wheel_joints(description):
    config = yaml.safe_load(CONTROLLERS.read_text(encoding="utf-8"))
    manager = config["controller_manager"]["ros__parameters"]
    assert manager["joint_state_broadcaster"] == {
        "type": "joint_state_broadcaster/JointStateBroadcaster"
    }
    assert manager["effort_controller"] == {"type": "effort_controllers/JointGroupEffortController"}
    assert manager["update_rate"] > 0
    # Actuator order: left, right, as the safety config and the policy's commands.
    joints = config["effort_controller"]["ros__parameters"]["joints"]
    assert joints == [wheel.joint for wheel in description.wheels]
    # The nodes publish the command on effort_controller/commands by default.
    launch = (ROOT / "launch" / "robot.launch.py").read_text(encoding="utf-8")
    assert 'default_value="effort_controller/commands"' in launch


def test_sensors_publish_where_the_bridge_reads_and_in_their_frames(urdf, description, bridge):
    gz_topics = {entry["ros_type_name"]: entry["gz_topic_name"] for entry in bridge}
    camera, imu = _sensor(urdf, "camera"), _sensor(urdf, "imu")
    image_topic = camera.find("topic").text
    assert gz_topics["sensor_msgs/msg/Image"] == image_topic
    # gz-sensors publishes camera_info beside the image topic.
    assert gz_topics["sensor_msgs/msg/CameraInfo"] == posixpath.join(
        posixpath.dirname(image_topic), "camera_info"
    )
    assert gz_topics["sensor_msgs/msg/Imu"] == imu.find("topic").text
    assert camera.find("gz_frame_id").text == description.camera.optical_frame
    assert imu.find("gz_frame_id").text == description.imu.link
    for sensor in (camera, imu):
        assert sensor.find("always_on").text == "true"


def test_bridge_yaml_gives_the_nodes_their_default_topics_and_types(bridge):
    assert all(set(entry) == BRIDGE_KEYS for entry in bridge)
    assert all(entry["direction"] == "GZ_TO_ROS" for entry in bridge)
    for entry in bridge:
        assert GZ_TYPES[entry["ros_type_name"]] == entry["gz_type_name"], entry
    by_type = {entry["ros_type_name"]: entry["ros_topic_name"] for entry in bridge}
    topics = _node_topics()
    assert by_type["sensor_msgs/msg/Image"] == "/" + topics["CAMERA_TOPIC"]
    assert by_type["sensor_msgs/msg/Imu"] == "/" + topics["IMU_TOPIC"]
    assert by_type["rosgraph_msgs/msg/Clock"] == "/clock"
    # The message classes the nodes subscribe with (inputs.py imports them by these names).
    source = INPUTS.read_text(encoding="utf-8")
    assert re.search(r"from sensor_msgs\.msg import [^\n]*\bImage\b[^\n]*\bImu\b", source)


def test_gazebo_sensors_are_the_mujoco_models_sensors(urdf):
    """Resolution, field of view and rates: what MuJoCo renders and samples is what Gazebo does."""
    mujoco = pytest.importorskip("mujoco")
    from liquid_controller.sim.robot_model import CAMERA_NAME, robot_spec

    description = load_description(URDF)
    model = robot_spec(description).compile()
    camera = _sensor(urdf, "camera")
    width = int(camera.find("camera/image/width").text)
    height = int(camera.find("camera/image/height").text)
    hfov = float(camera.find("camera/horizontal_fov").text)
    cam = model.camera(CAMERA_NAME)
    assert tuple(model.cam_resolution[cam.id]) == (width, height)
    vertical = 2 * math.atan(math.tan(hfov / 2) * height / width)
    assert math.radians(float(cam.fovy[0])) == pytest.approx(vertical)
    assert description.camera.rate_hz == float(camera.find("update_rate").text)
    assert description.imu.rate_hz == float(_sensor(urdf, "imu").find("update_rate").text)
    # Wheels: MuJoCo's torque limits are the ros2_control effort bounds; radius and separation.
    for wheel in description.wheels:
        actuator = model.actuator(wheel.joint)
        assert list(actuator.ctrlrange) == [-wheel.effort_limit_nm, wheel.effort_limit_nm]
        body = model.body(wheel.link)
        assert body.pos[1] == pytest.approx(wheel.y_m)
        (geom,) = [g for g in range(model.ngeom) if model.geom_bodyid[g] == body.id and
                   model.geom_contype[g]]  # fmt: skip
        assert model.geom_size[geom][0] == pytest.approx(wheel.radius_m)
    assert mujoco.mj_getTotalmass(model) == pytest.approx(
        sum(float(m.get("value")) for m in urdf.iterfind("link/inertial/mass"))
    )
