"""The nodes as lifecycle nodes: autostart:=false, configure, activate, deactivate, cleanup."""

from __future__ import annotations

from diagnostic_msgs.msg import DiagnosticArray
from lifecycle_msgs.msg import State, Transition
from lifecycle_msgs.srv import ChangeState, GetState
from sensor_feed import SensorFeed
from std_msgs.msg import Float64MultiArray
from test_safety_filter_node import NOMINAL, SAFETY_YAML, feed

COMMANDS = "/effort_controller/commands"
QUIET_S = 0.5
"""How long a node that should not command is watched for commands."""


def state_of(ros_node, node: str) -> int:
    return ros_node.call_service(
        GetState, f"/{node}/get_state", GetState.Request()
    ).current_state.id


def transition(ros_node, node: str, transition_id: int) -> bool:
    request = ChangeState.Request(transition=Transition(id=transition_id))
    return ros_node.call_service(ChangeState, f"/{node}/change_state", request).success


def lifecycle_messages(diagnostics, node: str) -> list[str]:
    return [
        status.message
        for array in diagnostics.messages
        for status in array.status
        if status.name == f"{node}: lifecycle"
    ]


def test_filter_commands_only_while_active_and_publishes_the_safe_command_on_deactivate(
    ros_node, start_node, write_safety_config
):
    node = "safety_filter_node"
    safety_config = write_safety_config(SAFETY_YAML)
    start_node(
        node,
        params={"safety_config": str(safety_config), "autostart": False, "input_timeout_s": 0.2},
        remaps={"nominal_command": NOMINAL},
    )
    commands = ros_node.subscribe(COMMANDS, Float64MultiArray)
    diagnostics = ros_node.subscribe("/diagnostics", DiagnosticArray)
    assert state_of(ros_node, node) == State.PRIMARY_STATE_UNCONFIGURED
    ros_node.wait_for(
        lambda: "unconfigured: nothing loaded" in lifecycle_messages(diagnostics, node),
        what="the unconfigured state on /diagnostics",
    )

    assert transition(ros_node, node, Transition.TRANSITION_CONFIGURE)
    assert state_of(ros_node, node) == State.PRIMARY_STATE_INACTIVE
    feed(ros_node, (1.0, 1.0))
    ros_node.spin_for(QUIET_S)
    assert commands.messages == []  # configured, inputs flowing, but not active

    assert transition(ros_node, node, Transition.TRANSITION_ACTIVATE)
    assert state_of(ros_node, node) == State.PRIMARY_STATE_ACTIVE
    ros_node.wait_for(
        lambda: commands.messages and list(commands.messages[-1].data) == [1.0, 1.0],
        what="the nominal passed through once active",
    )

    assert transition(ros_node, node, Transition.TRANSITION_DEACTIVATE)
    ros_node.spin_for(0.1)  # the safe command may still be in flight
    count = len(commands.messages)
    assert list(commands.messages[-1].data) == [0.0, 0.0]
    ros_node.spin_for(QUIET_S)
    assert len(commands.messages) == count  # silent while inactive: the actuators hold zero

    assert transition(ros_node, node, Transition.TRANSITION_ACTIVATE)
    ros_node.wait_for(
        lambda: list(commands.messages[-1].data) == [1.0, 1.0], what="commands after re-activation"
    )
    assert transition(ros_node, node, Transition.TRANSITION_DEACTIVATE)
    assert transition(ros_node, node, Transition.TRANSITION_CLEANUP)
    assert state_of(ros_node, node) == State.PRIMARY_STATE_UNCONFIGURED
    # Configuring again builds everything afresh.
    assert transition(ros_node, node, Transition.TRANSITION_CONFIGURE)
    assert transition(ros_node, node, Transition.TRANSITION_ACTIVATE)
    count = len(commands.messages)
    ros_node.wait_for(lambda: len(commands.messages) > count + 5, what="commands after cleanup")


def test_a_failed_configure_names_the_file_and_leaves_the_node_unconfigured(ros_node, start_node):
    node = "policy_node"
    process = start_node(node, params={"autostart": False, "model_path": "/nonexistent/p.npz"})
    assert not transition(ros_node, node, Transition.TRANSITION_CONFIGURE)
    assert state_of(ros_node, node) == State.PRIMARY_STATE_UNCONFIGURED
    process.wait_for_output(r"configure failed: .*/nonexistent/p\.npz")
    # Unconfigured, a new model_path is only stored; configure loads it.
    (result,) = ros_node.set_parameters(f"/{node}", {"model_path": ""})
    assert result.successful
    assert transition(ros_node, node, Transition.TRANSITION_CONFIGURE)
    assert transition(ros_node, node, Transition.TRANSITION_ACTIVATE)
    nominals = ros_node.subscribe(f"/{node}/nominal_command", Float64MultiArray)
    SensorFeed(ros_node).start()
    ros_node.wait_for(
        lambda: any(len(m.data) == 2 for m in nominals.messages), what="nominal commands"
    )


def test_composed_node_autostarts_active_and_deactivates_to_the_safe_command(ros_node, start_node):
    node = "controller_node"
    start_node(node, params={"rate_hz": 50.0})
    commands = ros_node.subscribe(COMMANDS, Float64MultiArray)
    assert state_of(ros_node, node) == State.PRIMARY_STATE_ACTIVE
    SensorFeed(ros_node).start()
    ros_node.wait_for_messages(commands, count=5)
    assert transition(ros_node, node, Transition.TRANSITION_DEACTIVATE)
    ros_node.spin_for(0.1)
    count = len(commands.messages)
    assert list(commands.messages[-1].data) == [0.0, 0.0]
    ros_node.spin_for(QUIET_S)
    assert len(commands.messages) == count
