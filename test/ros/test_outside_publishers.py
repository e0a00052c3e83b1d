"""Another publisher on the actuator command topic is reported on /diagnostics and in the log."""

from __future__ import annotations

import pytest
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from rclpy.node import Node
from std_msgs.msg import Float64MultiArray
from test_background_load import NODES

COMMANDS = "/effort_controller/commands"


def outsider(ros_node, name):
    """A second node (same process as the test node) publishing on the command topic."""
    node = Node(name, context=ros_node.context)
    node.create_publisher(Float64MultiArray, COMMANDS, 10)
    return node


def graph_levels(diagnostics, node, start=0):
    return [
        (status.level, status.message)
        for array in diagnostics.messages[start:]
        for status in array.status
        if status.name == f"{node}: graph"
    ]


@pytest.mark.parametrize("node", list(NODES))
def test_an_outside_publisher_is_an_error_at_start_and_whenever_it_appears(
    ros_node, start_node, write_safety_config, node
):
    diagnostics = ros_node.subscribe("/diagnostics", DiagnosticArray)
    first = outsider(ros_node, "teleop")  # on the topic before the node starts
    yaml_text, remaps = NODES[node]
    process = start_node(
        node, params={"safety_config": str(write_safety_config(yaml_text))}, remaps=remaps
    )
    process.wait_for_output(rf"another publisher on {COMMANDS}: /teleop ")

    def reported(name, start=0):
        return any(
            level == DiagnosticStatus.ERROR and f": /{name}" in message
            for level, message in graph_levels(diagnostics, node, start)
        )

    ros_node.wait_for(lambda: reported("teleop"), what="an ERROR graph record naming /teleop")
    first.destroy_node()
    ros_node.wait_for(
        lambda: graph_levels(diagnostics, node)[-1][0] == DiagnosticStatus.OK,
        what="an OK graph record once the outsider left",
    )
    start = len(diagnostics.messages)
    second = outsider(ros_node, "intruder")
    try:
        process.wait_for_output(rf"another publisher on {COMMANDS}: /intruder ")
        ros_node.wait_for(lambda: reported("intruder", start), what="an ERROR naming /intruder")
    finally:
        second.destroy_node()
