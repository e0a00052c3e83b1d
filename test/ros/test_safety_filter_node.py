"""safety_filter_node as a real process: nominal in, limited command out, fallbacks, parameters."""

from __future__ import annotations

import errno
import math
import os

import pytest
from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import Twist
from liquid_controller.msg import SafetyStatus
from rcl_interfaces.srv import SetParametersAtomically
from rclpy.parameter import Parameter
from std_msgs.msg import Float64MultiArray

NODE = "safety_filter_node"
COMMANDS = "/effort_controller/commands"
NOMINAL = "/policy_node/nominal_command"
RATE_HZ = 50.0
TIMEOUT_S = 0.2
EFFORT_MAX = 2.0
RATE_MAX = 40.0

SAFETY_YAML = f"""
actuators:
  names: [left_wheel, right_wheel]
  effort_min: [-{EFFORT_MAX}, -{EFFORT_MAX}]
  effort_max: [{EFFORT_MAX}, {EFFORT_MAX}]
  rate_max: [{RATE_MAX}, {RATE_MAX}]
force_limits:
  - {{name: traction, A: [[1.0, 1.0]], lower: [-3.0], upper: [3.0]}}
fallback: zero
"""


@pytest.fixture
def safety_config(write_safety_config):
    return write_safety_config(SAFETY_YAML)


@pytest.fixture
def filter_node(start_node, safety_config):
    return start_node(
        NODE,
        params={"safety_config": str(safety_config), "rate_hz": RATE_HZ,
                "input_timeout_s": TIMEOUT_S},
        remaps={"nominal_command": NOMINAL},
    )  # fmt: skip


def nominal(*values):
    return Float64MultiArray(data=[float(v) for v in values])


def feed(ros_node, values, rate_hz=RATE_HZ):
    """Publish a constant nominal at ``rate_hz`` while the test node spins."""
    ros_node.wait_for_subscribers(NOMINAL, Float64MultiArray)
    return ros_node.publish_periodically(NOMINAL, lambda: nominal(*values), rate_hz)


def within_limits(command):
    return all(math.isfinite(u) and abs(u) <= EFFORT_MAX + 1e-9 for u in command)


def test_commands_follow_the_nominal_at_its_rate_and_within_limits(ros_node, filter_node):
    commands = ros_node.subscribe(COMMANDS, Float64MultiArray)
    status = ros_node.subscribe(f"/{NODE}/safety_status", SafetyStatus)
    feed(ros_node, [5.0, -0.5])  # left effort above the box
    ros_node.wait_for(
        lambda: any(s.status != "fallback_stale_input" and s.nominal for s in status.messages),
        what="a filtered (not fallback) command",
    )
    start = len(commands.messages)
    ros_node.spin_for(1.0)
    window = commands.messages[start:]
    assert 0.8 * RATE_HZ <= len(window) <= 1.25 * RATE_HZ
    assert all(within_limits(m.data) for m in commands.messages)
    # Once ramped in, the command is the nominal projected onto the box: left clipped to 2.
    assert list(window[-1].data) == pytest.approx([EFFORT_MAX, -0.5], abs=1e-6)
    last = status.messages[-1]
    assert last.intervened and list(last.nominal) == [5.0, -0.5]
    assert last.actuator_names == ["left_wheel", "right_wheel"]


def test_non_finite_and_wrong_length_nominals_are_dropped_never_published(ros_node, filter_node):
    commands = ros_node.subscribe(COMMANDS, Float64MultiArray)
    diagnostics = ros_node.subscribe("/diagnostics", DiagnosticArray)
    timer = feed(ros_node, [1.0, 1.0])
    ros_node.wait_for_messages(commands, count=10)
    timer.cancel()
    bad = feed(ros_node, [math.nan, 1.0])
    bad_length = feed(ros_node, [1.0, 1.0, 1.0])
    ros_node.spin_for(0.5)
    bad.cancel()
    bad_length.cancel()
    assert all(within_limits(m.data) for m in commands.messages)

    def drops_reported():
        for array in diagnostics.messages:
            for status in array.status:
                values = {kv.key: kv.value for kv in status.values}
                if status.name.endswith("inputs") and int(values.get("nominal.dropped", 0)) >= 10:
                    return True
        return False

    ros_node.wait_for(drops_reported, timeout_s=5.0, what="nominal drops in /diagnostics")


def test_stale_nominal_gives_the_safe_command_within_timeout_plus_one_period(ros_node, filter_node):
    commands = ros_node.subscribe(COMMANDS, Float64MultiArray)
    status = ros_node.subscribe(f"/{NODE}/safety_status", SafetyStatus)
    timer = feed(ros_node, [1.5, 1.5])
    ros_node.wait_for(
        lambda: bool(commands.messages) and list(commands.messages[-1].data) == [1.5, 1.5],
        what="the nominal passed through",
    )
    timer.cancel()
    import time

    stopped = time.monotonic()
    ros_node.wait_for(
        lambda: bool(status.messages) and status.messages[-1].status.startswith("fallback"),
        timeout_s=2.0,
        what="a fallback status",
    )
    first_fallback = status.messages[-1]
    # Last nominal arrived at most one nominal period before `stopped`.
    assert time.monotonic() - stopped <= TIMEOUT_S + 1.0 / RATE_HZ + 0.1
    assert "stale" in first_fallback.reason and first_fallback.intervened
    # The safe command ramps to zero under the rate limit: no jump bigger than rate * dt.
    ros_node.wait_for(
        lambda: list(commands.messages[-1].data) == [0.0, 0.0], what="the ramp reaching zero"
    )
    steps = [
        max(abs(a - b) for a, b in zip(m0.data, m1.data, strict=True))
        for m0, m1 in zip(commands.messages, commands.messages[1:], strict=False)
    ]
    assert max(steps) <= RATE_MAX * 0.1 + 1e-9  # the filter's max_dt_s caps dt at 0.1 s
    # Resume: the nominal passes again.
    feed(ros_node, [0.5, 0.5])
    ros_node.wait_for(
        lambda: list(commands.messages[-1].data) == [0.5, 0.5], what="resume after stale input"
    )


def test_empty_nominal_means_no_command_and_falls_back_at_once(ros_node, filter_node):
    status = ros_node.subscribe(f"/{NODE}/safety_status", SafetyStatus)
    timer = feed(ros_node, [1.0, 1.0])
    ros_node.wait_for(lambda: any(s.status == "passthrough" for s in status.messages),
                      what="a passthrough")  # fmt: skip
    timer.cancel()
    count = len(status.messages)
    ros_node.publish(NOMINAL, Float64MultiArray())
    waited = ros_node.wait_for(
        lambda: any("no nominal" in s.reason for s in status.messages[count:]),
        timeout_s=2.0,
        what="a fallback for the empty nominal",
    )
    assert waited < TIMEOUT_S  # not the stale timeout: at once
    # A stream of empty nominals gives one safe command each, not one more per timer tick.
    commands = ros_node.subscribe(COMMANDS, Float64MultiArray)
    feed(ros_node, [])
    ros_node.wait_for_messages(commands, count=5)
    start = len(commands.messages)
    ros_node.spin_for(1.0)
    assert len(commands.messages) - start <= 1.25 * RATE_HZ


def set_atomically(ros_node, values):
    request = SetParametersAtomically.Request(
        parameters=[Parameter(k, value=v).to_parameter_msg() for k, v in values.items()]
    )
    return ros_node.call_service(
        SetParametersAtomically, f"/{NODE}/set_parameters_atomically", request
    ).result


def test_bad_parameters_are_rejected_with_the_reason_and_nothing_changes(ros_node, filter_node):
    (result,) = ros_node.set_parameters(f"/{NODE}", {"rate_hz": 0.0})
    assert not result.successful
    assert "rate_hz: 0.0 is out of range (0, 1000]" in result.reason
    result = set_atomically(ros_node, {"input_timeout_s": 0.5, "command_type": "twist"})
    assert not result.successful
    assert "read-only" in result.reason and "command_type" in result.reason
    assert ros_node.get_parameter(f"/{NODE}", "input_timeout_s") == TIMEOUT_S  # all or nothing
    # Still running on the old settings, and a good change is accepted.
    (result,) = ros_node.set_parameters(f"/{NODE}", {"publish_safety_status": False})
    assert result.successful, result.reason
    assert ros_node.get_parameter(f"/{NODE}", "publish_safety_status") is False


def no_reader(path):
    """Whether nobody has ``path`` (a FIFO) open for reading."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
    except OSError as err:
        if err.errno == errno.ENXIO:
            return True
        raise
    return False


def test_safety_limits_cannot_be_widened_at_run_time_by_default(
    ros_node, filter_node, write_safety_config, tmp_path
):
    commands = ros_node.subscribe(COMMANDS, Float64MultiArray)
    permissive = tmp_path / "permissive.yaml"  # the remote change: limits of 1000
    permissive.write_text(SAFETY_YAML.replace(str(EFFORT_MAX), "1000.0"))
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)

    def assert_rejected(name, value):
        (result,) = ros_node.set_parameters(f"/{NODE}", {name: value})
        assert not result.successful, name
        assert result.reason.startswith(f"{name}: ") and "safety limit" in result.reason
        assert "allow_runtime_safety_changes:=true" in result.reason
        assert ros_node.get_parameter(f"/{NODE}", name) != value

    def assert_accepted(name, value):  # tightening a limit is always accepted
        (result,) = ros_node.set_parameters(f"/{NODE}", {name: value})
        assert result.successful, f"{name}: {result.reason}"

    for name, value in [
        ("safety_config", str(permissive)),
        ("safety_config", str(fifo)),
        ("input_timeout_s", 5.0),
        ("rate_hz", 1.0),
    ]:
        assert_rejected(name, value)
    assert no_reader(fifo)  # rejected without the file being opened
    assert_accepted("input_timeout_s", 0.15)
    assert_accepted("rate_hz", 60.0)
    # Still the start-up limits: a large nominal is clipped to EFFORT_MAX.
    feed(ros_node, [500.0, -500.0])
    ros_node.wait_for(
        lambda: bool(commands.messages) and list(commands.messages[-1].data) == [2.0, -2.0],
        what="the nominal clipped to the start-up limits",
    )
    assert all(within_limits(m.data) for m in commands.messages)
    assert_accepted("require_joint_state", True)
    assert_rejected("require_joint_state", False)


def test_shutdown_publishes_the_safe_command(ros_node, filter_node):
    commands = ros_node.subscribe(COMMANDS, Float64MultiArray)
    status = ros_node.subscribe(f"/{NODE}/safety_status", SafetyStatus)
    timer = feed(ros_node, [1.0, -1.0])
    ros_node.wait_for(
        lambda: bool(commands.messages) and list(commands.messages[-1].data) == [1.0, -1.0],
        what="the nominal passed through",
    )
    timer.cancel()
    assert filter_node.stop() == 0
    ros_node.wait_for(
        lambda: list(commands.messages[-1].data) == [0.0, 0.0], timeout_s=3.0,
        what="the safe command after SIGINT",
    )  # fmt: skip
    ros_node.wait_for(
        lambda: status.messages[-1].status == "fallback_shutdown", what="the shutdown status"
    )


def test_twist_command_type_maps_actuator_names_to_fields(
    ros_node, start_node, write_safety_config
):
    config = write_safety_config(
        "actuators: {names: [linear.x, angular.z], effort_min: [-1.0, -1.0], "
        "effort_max: [1.0, 1.0]}\n"
    )
    start_node(
        NODE,
        params={"safety_config": str(config), "command_type": "twist"},
        remaps={"nominal_command": NOMINAL},
    )
    commands = ros_node.subscribe(COMMANDS, Twist)
    feed(ros_node, [2.0, -0.5])
    ros_node.wait_for(
        lambda: any(m.linear.x == 1.0 and m.angular.z == -0.5 for m in commands.messages),
        what="a Twist with linear.x clipped to 1.0 and angular.z -0.5",
    )
