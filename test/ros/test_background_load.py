"""A run-time safety_config change never stops the commands (issue 13): loaded in the background.

The new config's path is a FIFO: opening it blocks until the test writes into it, the way a
hung mount or a huge file would hold a synchronous load. Meanwhile the node must keep
publishing at its rate; the change is swapped in once the file is read and verified, or
abandoned after ``load_timeout_s`` with the parameter reverted.
"""

from __future__ import annotations

import errno
import os

import pytest
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from liquid_controller.msg import SafetyStatus
from std_msgs.msg import Float64MultiArray
from test_controller_node import SAFETY_YAML as CONTROLLER_SAFETY_YAML
from test_safety_filter_node import NOMINAL, SAFETY_YAML, feed

COMMANDS = "/effort_controller/commands"
RATE_HZ = 50.0
LOAD_WINDOW_S = 1.0
"""How long the load is held pending while commands are counted."""
WIDER_LIMIT = 3.0
WIDER_YAML = SAFETY_YAML.replace("2.0", str(WIDER_LIMIT))

NODES = {
    "safety_filter_node": (SAFETY_YAML, {"nominal_command": NOMINAL}),
    "controller_node": (CONTROLLER_SAFETY_YAML, {}),
}


def start_with_config(start_node, write_safety_config, node, **params):
    yaml_text, remaps = NODES[node]
    config = write_safety_config(yaml_text)
    start_node(
        node,
        params={"safety_config": str(config), "rate_hz": RATE_HZ, "input_timeout_s": 0.2,
                "allow_runtime_safety_changes": True, **params},
        remaps=remaps,
    )  # fmt: skip
    return config


def open_writer(ros_node, fifo):
    """Wait until the node opened ``fifo`` for reading (its load started); open the write end."""
    fd = None

    def reader_present():
        nonlocal fd
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as err:
            if err.errno != errno.ENXIO:  # ENXIO: no reader yet
                raise
            return False
        return True

    ros_node.wait_for(reader_present, what=f"the node opening {fifo}")
    return fd


def count_during(ros_node, recorder, seconds):
    start = len(recorder.messages)
    ros_node.spin_for(seconds)
    return len(recorder.messages) - start


@pytest.mark.parametrize("node", list(NODES))
def test_commands_keep_flowing_while_a_new_config_loads_then_it_is_swapped_in(
    ros_node, start_node, write_safety_config, tmp_path, node
):
    start_with_config(start_node, write_safety_config, node)
    commands = ros_node.subscribe(COMMANDS, Float64MultiArray)
    ros_node.wait_for_messages(commands, count=5)
    fifo = tmp_path / "wider.yaml"
    os.mkfifo(fifo)
    answer = ros_node.set_parameters_async(f"/{node}", {"safety_config": str(fifo)})
    fd = open_writer(ros_node, fifo)
    try:
        # The load is now blocked on the FIFO: the node must still command at its rate.
        sent = count_during(ros_node, commands, LOAD_WINDOW_S)
        os.write(fd, (WIDER_YAML if node == "safety_filter_node" else SAFETY_YAML).encode())
    finally:
        os.close(fd)
    assert sent >= 0.5 * RATE_HZ * LOAD_WINDOW_S, f"{sent} commands during a {LOAD_WINDOW_S} s load"
    ros_node.wait_for(answer.done, what="the set_parameters answer")
    assert answer.result().results[0].successful
    if node == "safety_filter_node":  # the new limits are in force once loaded
        feed(ros_node, [5.0, 0.0])
        ros_node.wait_for(
            lambda: list(commands.messages[-1].data) == [WIDER_LIMIT, 0.0],
            what=f"the nominal clipped to the new limit {WIDER_LIMIT}",
        )
    assert ros_node.get_parameter(f"/{node}", "safety_config") == str(fifo)


def is_load_failure(status: DiagnosticStatus, node: str) -> bool:
    return (
        status.name == f"{node}: reconfiguration"
        and status.level == DiagnosticStatus.ERROR
        and "timed out" in status.message
    )


@pytest.mark.parametrize("node", list(NODES))
def test_a_load_past_its_timeout_is_abandoned_reported_and_the_parameter_reverted(
    ros_node, start_node, write_safety_config, tmp_path, node
):
    config = start_with_config(start_node, write_safety_config, node, load_timeout_s=LOAD_WINDOW_S)
    commands = ros_node.subscribe(COMMANDS, Float64MultiArray)
    status = ros_node.subscribe(f"/{node}/safety_status", SafetyStatus)
    diagnostics = ros_node.subscribe("/diagnostics", DiagnosticArray)
    ros_node.wait_for_messages(commands, count=5)
    fifo = tmp_path / "never_written.yaml"
    os.mkfifo(fifo)
    ros_node.set_parameters_async(f"/{node}", {"safety_config": str(fifo)})
    fd = open_writer(ros_node, fifo)  # held open, nothing written: the node's read blocks
    try:
        start = len(commands.messages)
        waited_s = ros_node.wait_for(
            lambda: ros_node.get_parameter(f"/{node}", "safety_config") == str(config),
            timeout_s=LOAD_WINDOW_S + 5.0,
            what="safety_config reverted after the load timed out",
        )
    finally:
        os.close(fd)  # the abandoned load now reads an empty file; its result is dropped
    # The whole wait (about one timeout) was commanded at the rate.
    sent = len(commands.messages) - start
    assert sent >= 0.5 * RATE_HZ * waited_s, f"{sent} commands in {waited_s:.2f} s"
    ros_node.wait_for(
        lambda: any(is_load_failure(s, node) for a in diagnostics.messages for s in a.status),
        timeout_s=3.0,
        what="an ERROR reconfiguration record on /diagnostics",
    )
    assert status.messages and all(len(s.filtered) == 2 for s in status.messages)
