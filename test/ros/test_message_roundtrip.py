"""The generated messages cross real DDS between two processes unchanged.

Proves the build (rosidl type support for SafetyStatus and PolicyState) and the harness
(domain isolation, helper process start/stop, publish and wait helpers) together.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from builtin_interfaces.msg import Time
from liquid_controller.msg import PolicyState, SafetyStatus
from std_msgs.msg import Header

ECHO_SCRIPT = Path(__file__).with_name("message_echo.py")


def _header() -> Header:
    return Header(stamp=Time(sec=1_700_000_000, nanosec=123_456_789), frame_id="base_link")


def safety_status() -> SafetyStatus:
    return SafetyStatus(
        header=_header(),
        nominal=[1.5, -2.25, 1e-300],
        filtered=[1.0, -2.0, 0.0],
        actuator_names=["left_wheel", "right_wheel", "ünïcode_joint"],
        intervened=True,
        status="relaxed",
        reason="",
        active_constraints=["effort_max[left_wheel]", "traction"],
        slack=[0.0, 0.125],
        solve_time_s=3.5e-5,
    )


def policy_state() -> PolicyState:
    return PolicyState(
        header=_header(),
        activity=[0.1 * i for i in range(19)],
        neuron_types=["inter"] * 12 + ["command"] * 5 + ["motor"] * 2,
        dt_s=0.02,
        inference_time_s=4.2e-4,
        state_reset=True,
    )


@pytest.mark.parametrize("make_msg", [safety_status, policy_state], ids=lambda f: f.__name__)
def test_message_survives_a_round_trip_through_another_process(make_msg, ros_node, start_process):
    sent = make_msg()
    msg_type = type(sent)
    type_path = f"liquid_controller.msg.{msg_type.__name__}"
    echo = start_process([sys.executable, str(ECHO_SCRIPT), type_path, "echo_in", "echo_out"])
    ros_node.wait_for_node("message_echo")
    echoed = ros_node.subscribe("echo_out", msg_type)
    ros_node.wait_for_subscribers("echo_in", msg_type)
    # Repeat until the echo's publisher has matched our subscription too.
    timer = ros_node.publish_periodically("echo_in", make_msg, rate_hz=20.0)
    (received, *_) = ros_node.wait_for_messages(echoed, count=1)
    timer.cancel()
    assert received == sent
    assert echo.stop() == 0
