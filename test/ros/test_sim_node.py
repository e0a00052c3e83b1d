"""sim_node as a real process: the MuJoCo world on the ROS graph, alone and driven by the nodes."""

from __future__ import annotations

import math

import pytest
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import Image, Imu, JointState
from std_msgs.msg import Float64MultiArray

COMMANDS = "/effort_controller/commands"
EFFORT_MAX = 2.0  # the URDF's wheel effort limit, config/safety.yaml's box
# Physics only (no camera) for the tests of the simulator itself: they are about torques.
SIM_PARAMS = {"render_camera": False, "randomise": False, "command_timeout_s": 0.25}


def seconds(stamp) -> float:
    return stamp.sec + stamp.nanosec * 1e-9


def wheel_speed(joints) -> float:
    return sum(joints.messages[-1].velocity) / 2


@pytest.fixture
def sim(start_node):
    return start_node("sim_node", params=SIM_PARAMS)


def test_publishes_clock_and_sensors_with_stamps_and_frames(ros_node, start_node):
    start_node("sim_node", params={"randomise": False})
    clock = ros_node.subscribe("/clock", Clock)
    images = ros_node.subscribe("/camera/image_raw", Image)
    imu = ros_node.subscribe("/imu/data", Imu)
    joints = ros_node.subscribe("/joint_states", JointState)
    ros_node.wait_for(lambda: len(images.messages) >= 3 and len(imu.messages) >= 10,
                      what="camera frames and IMU samples")  # fmt: skip
    image = images.messages[-1]
    assert (image.height, image.width, image.encoding) == (66, 200, "rgb8")
    assert image.header.frame_id == "camera_optical_frame"
    assert max(image.data) > min(image.data)  # a rendered scene
    assert imu.messages[-1].header.frame_id == "imu_link"
    assert imu.messages[-1].orientation_covariance[0] == -1.0
    assert imu.messages[-1].linear_acceleration.z == pytest.approx(9.81, abs=0.5)
    ros_node.wait_for_messages(joints, 2)
    assert list(joints.messages[-1].name) == ["left_wheel", "right_wheel"]
    stamps = [seconds(m.clock) for m in clock.messages]
    assert stamps == sorted(stamps) and stamps[-1] > stamps[0]
    imu_stamps = [seconds(m.header.stamp) for m in imu.messages]
    steps = [b - a for a, b in zip(imu_stamps[:-1], imu_stamps[1:], strict=True)]
    assert all(step == pytest.approx(0.01, abs=0.0025) for step in steps)


def test_applies_commands_then_zero_torque_when_they_stop(ros_node, sim):
    joints = ros_node.subscribe("/joint_states", JointState)
    ros_node.wait_for_subscribers(COMMANDS, Float64MultiArray)
    timer = ros_node.publish_periodically(COMMANDS, lambda: Float64MultiArray(data=[0.5, 0.5]), 50)
    ros_node.wait_for(lambda: joints.messages and wheel_speed(joints) > 3.0,
                      timeout_s=15.0, what="the wheels to spin up under 0.5 N*m")  # fmt: skip
    timer.cancel()
    ros_node.spin_for(0.5)  # past command_timeout_s: the torque is zero from here
    coasting = wheel_speed(joints)
    ros_node.spin_for(1.0)
    assert wheel_speed(joints) <= coasting + 0.05  # no longer driven (it coasts)


def test_ignores_malformed_commands(ros_node, sim):
    joints = ros_node.subscribe("/joint_states", JointState)
    ros_node.wait_for_subscribers(COMMANDS, Float64MultiArray)
    for bad in ([math.nan, 1.0], [1.0, 1.0, 1.0]):
        ros_node.publish(COMMANDS, Float64MultiArray(data=bad))
    ros_node.spin_for(1.0)
    ros_node.wait_for_messages(joints, 10)
    assert abs(wheel_speed(joints)) < 0.05


def test_the_nodes_drive_the_simulated_robot_within_limits(ros_node, start_node):
    """sim_node + policy_node + safety_filter_node on sim time, as sim.launch.py starts them."""
    start_node("sim_node", params={"real_time_factor": 1.0, "randomise": False})
    on_sim_time = {"use_sim_time": True}
    start_node("policy_node", params=on_sim_time)
    start_node("safety_filter_node", params=on_sim_time,
               remaps={"nominal_command": "/policy_node/nominal_command"})  # fmt: skip
    commands = ros_node.subscribe(COMMANDS, Float64MultiArray)
    joints = ros_node.subscribe("/joint_states", JointState)
    ros_node.wait_for_messages(joints, 1, timeout_s=15.0)
    start = list(joints.messages[-1].position)

    def moved():
        now = joints.messages[-1].position
        return any(abs(p - s) > 0.05 for p, s in zip(now, start, strict=True))

    ros_node.wait_for(lambda: len(commands.messages) >= 50 and moved(),
                      timeout_s=30.0, what="50 commands and the wheels turning")  # fmt: skip
    assert any(abs(u) > 1e-3 for m in commands.messages for u in m.data)
    for message in commands.messages:
        assert len(message.data) == 2
        assert all(math.isfinite(u) and abs(u) <= EFFORT_MAX + 1e-9 for u in message.data)
