"""policy_node as a real process (default camera policy, torch-free), alone and with the filter."""

from __future__ import annotations

import math
import re
import shutil
import subprocess
import time

import pytest
from diagnostic_msgs.msg import DiagnosticArray
from liquid_controller.msg import PolicyState, SafetyStatus
from rosgraph_msgs.msg import Clock
from sensor_feed import SensorFeed, seconds_to_time
from std_msgs.msg import Float64MultiArray
from std_srvs.srv import Trigger

NODE = "policy_node"
NOMINAL = f"/{NODE}/nominal_command"
STATE = f"/{NODE}/policy_state"
RATE_HZ = 50.0
TIMEOUT_S = 0.2
PARAMS = {"rate_hz": RATE_HZ, "input_timeout_s": TIMEOUT_S}


@pytest.fixture
def policy_node(start_node):
    return start_node(NODE, params=PARAMS)


def valid(nominal):
    return len(nominal.data) == 2 and all(math.isfinite(u) for u in nominal.data)


def test_nominal_and_policy_state_at_the_rate(ros_node, policy_node):
    nominals = ros_node.subscribe(NOMINAL, Float64MultiArray)
    states = ros_node.subscribe(STATE, PolicyState)
    diagnostics = ros_node.subscribe("/diagnostics", DiagnosticArray)
    SensorFeed(ros_node).start()
    ros_node.wait_for(lambda: any(valid(m) for m in nominals.messages), what="a valid nominal")
    start = len(nominals.messages)
    ros_node.spin_for(1.0)
    window = nominals.messages[start:]
    assert 0.8 * RATE_HZ <= len(window) <= 1.25 * RATE_HZ
    assert all(valid(m) for m in window)
    state = states.messages[-1]
    assert len(state.activity) > 0 and len(state.neuron_types) == len(state.activity)
    assert 0.0 < state.dt_s <= 0.1 and state.inference_time_s > 0.0
    assert states.messages[0].state_reset  # the first step starts from the initial state
    ros_node.wait_for(
        lambda: any(
            s.name == f"{NODE}: inputs" and s.message == "all inputs fresh"
            for a in diagnostics.messages
            for s in a.status
        ),
        timeout_s=3.0,
        what="an OK inputs record on /diagnostics",
    )


def test_stale_camera_gives_an_empty_nominal_within_timeout_plus_one_period(ros_node, policy_node):
    nominals = ros_node.subscribe(NOMINAL, Float64MultiArray)
    feed = SensorFeed(ros_node).start()
    ros_node.wait_for(lambda: any(valid(m) for m in nominals.messages), what="a valid nominal")
    feed.stop("camera")
    stopped = time.monotonic()
    count = len(nominals.messages)
    ros_node.wait_for(
        lambda: any(len(m.data) == 0 for m in nominals.messages[count:]),
        timeout_s=2.0,
        what="an empty nominal (no command)",
    )
    assert time.monotonic() - stopped <= TIMEOUT_S + 1.0 / RATE_HZ + 0.1
    # Resume: valid nominals again once the camera is back.
    feed.start_camera()
    count = len(nominals.messages)
    ros_node.wait_for(lambda: any(valid(m) for m in nominals.messages[count:]), what="resume")


def test_non_finite_imu_is_dropped_counted_and_never_reaches_the_output(ros_node, policy_node):
    nominals = ros_node.subscribe(NOMINAL, Float64MultiArray)
    diagnostics = ros_node.subscribe("/diagnostics", DiagnosticArray)
    feed = SensorFeed(ros_node, imu_angular_z=math.nan).start()
    ros_node.spin_for(1.0)
    # Every IMU sample is rejected: the IMU never becomes fresh, no command is produced.
    assert nominals.messages and all(len(m.data) == 0 for m in nominals.messages)

    def imu_drops():
        for array in diagnostics.messages:
            for status in array.status:
                values = {kv.key: kv.value for kv in status.values}
                if int(values.get("imu.dropped", 0)) >= 20:
                    return True
        return False

    ros_node.wait_for(imu_drops, timeout_s=3.0, what="IMU drops on /diagnostics")
    feed.imu_angular_z = 0.1
    ros_node.wait_for(lambda: valid(nominals.messages[-1]), what="valid nominals after good IMU")
    assert all(valid(m) or len(m.data) == 0 for m in nominals.messages)


def test_reset_service_resets_the_hidden_state(ros_node, policy_node):
    states = ros_node.subscribe(STATE, PolicyState)
    SensorFeed(ros_node).start()
    ros_node.wait_for_messages(states, count=5)
    response = ros_node.call_service(Trigger, f"/{NODE}/reset_state", Trigger.Request())
    assert response.success
    count = len(states.messages)
    ros_node.wait_for(
        lambda: any(s.state_reset for s in states.messages[count:]),
        what="a policy_state with state_reset after the service call",
    )


def test_bad_parameters_are_rejected_with_the_reason(ros_node, policy_node):
    # A model file is loaded in the background: the change is accepted, then reverted.
    (result,) = ros_node.set_parameters(f"/{NODE}", {"model_path": "/nonexistent/policy.npz"})
    assert result.successful
    policy_node.wait_for_output(
        r"loading model_path='/nonexistent/policy\.npz' failed: .*no such file; reverted"
    )
    assert ros_node.get_parameter(f"/{NODE}", "model_path") == ""
    (result,) = ros_node.set_parameters(f"/{NODE}", {"max_dt_s": 0.001})
    assert not result.successful and "max_dt_s" in result.reason and "period" in result.reason
    (result,) = ros_node.set_parameters(f"/{NODE}", {"trigger": "sometimes"})
    assert not result.successful and "trigger: 'sometimes' is not one of" in result.reason
    (result,) = ros_node.set_parameters(f"/{NODE}", {"rate_hz": 25.0})
    assert result.successful, result.reason


def test_a_new_model_is_loaded_in_the_background_and_swapped_in(
    ros_node, policy_node, install_prefix, tmp_path
):
    copy = tmp_path / "policy.npz"
    shutil.copy(
        install_prefix / "share" / "liquid_controller" / "resource" / "default_policy.npz", copy
    )
    nominals = ros_node.subscribe(NOMINAL, Float64MultiArray)
    SensorFeed(ros_node).start()
    ros_node.wait_for(lambda: any(valid(m) for m in nominals.messages), what="a valid nominal")
    (result,) = ros_node.set_parameters(f"/{NODE}", {"model_path": str(copy)})
    assert result.successful, result.reason
    policy_node.wait_for_output(rf"loaded model_path='{re.escape(str(copy))}' in .* now in force")
    count = len(nominals.messages)
    ros_node.wait_for(lambda: any(valid(m) for m in nominals.messages[count:]), what="nominals")
    assert ros_node.get_parameter(f"/{NODE}", "model_path") == str(copy)


def test_camera_trigger_steps_once_per_frame(ros_node, start_node):
    start_node(NODE, params={**PARAMS, "trigger": "camera"})
    nominals = ros_node.subscribe(NOMINAL, Float64MultiArray)
    feed = SensorFeed(ros_node).start(camera_hz=10.0, imu_hz=100.0)
    ros_node.wait_for(lambda: any(valid(m) for m in nominals.messages), what="a valid nominal")
    start = len(nominals.messages)
    ros_node.spin_for(1.0)
    assert 7 <= len(nominals.messages) - start <= 13  # ~10 frames, not the 50 Hz timer
    # IMU stale: the timer publishes the empty nominal at its rate, frames add nothing.
    feed.stop("imu")
    ros_node.wait_for(lambda: len(nominals.messages[-1].data) == 0, what="an empty nominal")
    start = len(nominals.messages)
    ros_node.spin_for(1.0)
    assert len(nominals.messages) - start <= 1.1 * RATE_HZ  # 50 + 10 before this was fixed


def test_policy_and_filter_nodes_pipeline_falls_back_when_the_camera_stops(ros_node, start_node):
    start_node(NODE, params=PARAMS)
    start_node(
        "safety_filter_node",
        params={"rate_hz": RATE_HZ, "input_timeout_s": 1.0},
        remaps={"nominal_command": NOMINAL},
    )
    status = ros_node.subscribe("/safety_filter_node/safety_status", SafetyStatus)
    commands = ros_node.subscribe("/effort_controller/commands", Float64MultiArray)
    feed = SensorFeed(ros_node).start()
    ros_node.wait_for(
        lambda: any(len(s.nominal) == 2 for s in status.messages), what="a filtered nominal"
    )
    feed.stop("camera")
    stopped = time.monotonic()
    count = len(status.messages)
    ros_node.wait_for(
        lambda: any("no nominal" in s.reason for s in status.messages[count:]),
        timeout_s=2.0,
        what="the filter's fallback after the policy withdrew its nominal",
    )
    # The filter's own nominal timeout is 1 s: the empty nominal made it fall back sooner.
    assert time.monotonic() - stopped <= TIMEOUT_S + 2.0 / RATE_HZ + 0.1
    assert all(all(math.isfinite(u) for u in m.data) for m in commands.messages)


def test_compressed_camera_transport(ros_node, start_node):
    start_node(NODE, params={**PARAMS, "camera_transport": "compressed"})
    nominals = ros_node.subscribe(NOMINAL, Float64MultiArray)
    SensorFeed(ros_node, compressed=True).start()
    ros_node.wait_for(lambda: any(valid(m) for m in nominals.messages), what="a valid nominal")


def test_use_sim_time_stamps_and_dt_follow_the_clock_topic(ros_node, start_node):
    start_node(NODE, params={**PARAMS, "use_sim_time": True})
    sim_start_s, wall_start_s = 1000.0, time.monotonic()

    def sim_now_s():
        return sim_start_s + (time.monotonic() - wall_start_s)

    ros_node.publish_periodically("/clock", lambda: Clock(clock=seconds_to_time(sim_now_s())), 200)
    states = ros_node.subscribe(STATE, PolicyState)
    SensorFeed(ros_node, now_s=sim_now_s).start()
    ros_node.wait_for_messages(states, count=10)
    state = states.messages[-1]
    assert sim_start_s <= state.header.stamp.sec < sim_start_s + 60  # simulated, not wall time
    assert 0.0 < state.dt_s <= 0.1


@pytest.mark.parametrize(
    ("parameter", "expected"),
    [
        ('model_path:="/nonexistent/policy.npz"', "/nonexistent/policy.npz"),
        ("rate_hz:=0.0", "rate_hz: 0.0 is out of range (0, 1000]"),
    ],
)
def test_a_bad_start_up_parameter_stops_the_node_with_one_clear_line(
    install_prefix, parameter, expected
):
    executable = install_prefix / "lib" / "liquid_controller" / NODE
    result = subprocess.run(
        [str(executable), "--ros-args", "-p", parameter],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert expected in output and "Traceback" not in output
