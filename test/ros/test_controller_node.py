"""controller_node (policy + filter composed in one process and one callback) as a real process."""

from __future__ import annotations

import math
import time

import pytest
from diagnostic_msgs.msg import DiagnosticArray
from liquid_controller.msg import PolicyState, SafetyStatus
from sensor_feed import SensorFeed
from std_msgs.msg import Float64MultiArray

NODE = "controller_node"
COMMANDS = "/effort_controller/commands"
RATE_HZ = 50.0
TIMEOUT_S = 0.2
EFFORT_MAX = 0.05  # tight, so the (untrained) policy's commands are limited

SAFETY_YAML = f"""
actuators:
  names: [left_wheel, right_wheel]
  effort_min: [-{EFFORT_MAX}, -{EFFORT_MAX}]
  effort_max: [{EFFORT_MAX}, {EFFORT_MAX}]
  rate_max: [1.0, 1.0]
fallback: zero
"""


@pytest.fixture
def controller(start_node, write_safety_config):
    path = write_safety_config(SAFETY_YAML)
    return start_node(
        NODE,
        params={"rate_hz": RATE_HZ, "input_timeout_s": TIMEOUT_S, "safety_config": str(path)},
    )


def within_limits(command):
    return len(command) == 2 and all(
        math.isfinite(u) and abs(u) <= EFFORT_MAX + 1e-9 for u in command
    )


def wait_for_filtered_nominal(ros_node, status, start=0):
    ros_node.wait_for(
        lambda: any(len(s.nominal) == 2 for s in status.messages[start:]),
        what="a command filtered from a policy nominal",
    )


def wait_for_fallback(ros_node, status, start):
    ros_node.wait_for(
        lambda: any(s.status.startswith("fallback") for s in status.messages[start:]),
        timeout_s=2.0,
        what="the safe command",
    )


def test_commands_at_the_rate_within_limits_with_status_and_state(ros_node, controller):
    commands = ros_node.subscribe(COMMANDS, Float64MultiArray)
    status = ros_node.subscribe(f"/{NODE}/safety_status", SafetyStatus)
    states = ros_node.subscribe(f"/{NODE}/policy_state", PolicyState)
    diagnostics = ros_node.subscribe("/diagnostics", DiagnosticArray)
    SensorFeed(ros_node).start()
    wait_for_filtered_nominal(ros_node, status)
    start = len(commands.messages)
    ros_node.spin_for(1.0)
    window = commands.messages[start:]
    assert 0.8 * RATE_HZ <= len(window) <= 1.25 * RATE_HZ
    assert all(within_limits(m.data) for m in commands.messages)
    assert any(s.intervened and s.status != "passthrough" for s in status.messages)
    assert states.messages and states.messages[-1].inference_time_s > 0
    names = {s.name for a in diagnostics.messages for s in a.status}
    ros_node.wait_for(
        lambda: (
            {f"{NODE}: inputs", f"{NODE}: policy", f"{NODE}: safety filter"}
            <= {s.name for a in diagnostics.messages for s in a.status}
        ),
        timeout_s=3.0,
        what=f"policy and safety records on /diagnostics (have {names})",
    )


def test_stale_input_gives_the_safe_command_on_time_and_resumes(ros_node, controller):
    commands = ros_node.subscribe(COMMANDS, Float64MultiArray)
    status = ros_node.subscribe(f"/{NODE}/safety_status", SafetyStatus)
    feed = SensorFeed(ros_node).start()
    wait_for_filtered_nominal(ros_node, status)
    feed.stop("imu")
    stopped = time.monotonic()
    wait_for_fallback(ros_node, status, start=len(status.messages))
    assert time.monotonic() - stopped <= TIMEOUT_S + 1.0 / RATE_HZ + 0.1
    feed.start_imu()
    wait_for_filtered_nominal(ros_node, status, start=len(status.messages))
    assert all(within_limits(m.data) for m in commands.messages)


def test_nan_input_never_gives_nan_output(ros_node, controller):
    commands = ros_node.subscribe(COMMANDS, Float64MultiArray)
    status = ros_node.subscribe(f"/{NODE}/safety_status", SafetyStatus)
    feed = SensorFeed(ros_node).start()
    wait_for_filtered_nominal(ros_node, status)
    count = len(status.messages)
    feed.imu_angular_z = math.nan  # every IMU sample now dropped: the IMU goes stale
    wait_for_fallback(ros_node, status, start=count)
    assert all(within_limits(m.data) for m in commands.messages)


def test_shutdown_publishes_the_safe_command(ros_node, controller):
    commands = ros_node.subscribe(COMMANDS, Float64MultiArray)
    status = ros_node.subscribe(f"/{NODE}/safety_status", SafetyStatus)
    feed = SensorFeed(ros_node).start()
    wait_for_filtered_nominal(ros_node, status)
    feed.stop()
    assert controller.stop() == 0
    ros_node.wait_for(
        lambda: status.messages[-1].status == "fallback_shutdown",
        timeout_s=3.0,
        what="the shutdown status",
    )
    assert list(commands.messages[-1].data) == [0.0, 0.0]
