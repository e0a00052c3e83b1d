"""The harness itself: DDS isolation, argument building, and that its checks can fail."""

from __future__ import annotations

import os
import sys

import pytest
from ros_harness import NodeProcess, format_parameter, ros_arguments
from std_msgs.msg import String


def test_session_has_an_isolated_domain():
    assert 1 <= int(os.environ["ROS_DOMAIN_ID"]) <= 101
    assert os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] == "LOCALHOST"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (True, "true"),
        (0.25, "0.25"),
        (3, "3"),
        ("raw", '"raw"'),
        ("true", '"true"'),
        (["a", "b"], '["a", "b"]'),
        ([1.0, -2.5], "[1.0, -2.5]"),
    ],
)
def test_parameter_values_keep_their_type_on_the_command_line(value, text):
    assert format_parameter(value) == text


def test_ros_arguments_cover_name_namespace_params_file_and_remaps(tmp_path):
    params_file = tmp_path / "p.yaml"
    args = ros_arguments(
        node_name="n",
        namespace="/robot",
        params={"rate_hz": 50.0},
        params_file=params_file,
        remaps={"/imu/data": "/imu"},
    )
    assert args == [
        "--ros-args", "-r", "__node:=n", "-r", "__ns:=/robot", "--params-file", str(params_file),
        "-p", "rate_hz:=50.0", "-r", "/imu/data:=/imu",
    ]  # fmt: skip


def _python(tmp_path, code):
    return NodeProcess([sys.executable, "-c", code], tmp_path / "child.log")


def test_stop_fails_on_a_non_zero_exit(tmp_path):
    process = _python(tmp_path, "import sys; print('bye'); sys.exit(3)")
    process.process.wait(timeout=10)
    with pytest.raises(pytest.fail.Exception, match=r"exited with code 3(.|\n)*bye"):
        process.stop()


def test_stop_fails_on_a_printed_traceback(tmp_path):
    code = "import traceback\ntry:\n    1 / 0\nexcept ZeroDivisionError:\n    traceback.print_exc()"
    process = _python(tmp_path, code)
    process.process.wait(timeout=10)
    with pytest.raises(pytest.fail.Exception, match="printed a Python traceback"):
        process.stop()


def test_stop_kills_and_fails_a_process_that_ignores_sigint(tmp_path):
    code = (
        "import signal, time\n"
        "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)"
    )
    process = _python(tmp_path, code)
    process.wait_for_output("ready")
    with pytest.raises(pytest.fail.Exception, match="still running 0.5 s after SIGINT"):
        process.stop(timeout_s=0.5)
    assert not process.is_running()


def test_stop_accepts_a_clean_sigint_exit(tmp_path):
    code = (
        "import time\n"
        "print('ready', flush=True)\n"
        "try:\n"
        "    time.sleep(60)\n"
        "except KeyboardInterrupt:\n"
        "    pass"
    )
    process = _python(tmp_path, code)
    process.wait_for_output("ready")
    assert process.stop() == 0


def test_start_node_names_a_missing_executable(start_node):
    with pytest.raises(pytest.fail.Exception, match="'no_such_node' is not installed"):
        start_node("no_such_node")


def test_wait_for_messages_fails_with_the_count_received(ros_node):
    recorder = ros_node.subscribe("/harness_silence", String)
    with pytest.raises(
        pytest.fail.Exception, match=r"1 message\(s\) on /harness_silence \(got 0\)"
    ):
        ros_node.wait_for_messages(recorder, count=1, timeout_s=0.2)


def test_periodic_publication_reaches_a_subscriber_in_the_same_domain(ros_node):
    recorder = ros_node.subscribe("/harness_loop", String)
    ros_node.publish_periodically("/harness_loop", lambda: String(data="ping"), rate_hz=50.0)
    received = ros_node.wait_for_messages(recorder, count=3, timeout_s=5.0)
    assert {msg.data for msg in received} == {"ping"}
