"""SROS2: the nodes take an enclave, and with DDS-Security enforced they never run unsecured.

The keystore is built with openssl in the layout of ``ros2 security create_keystore`` /
``create_enclave`` (sros2_keystore.py). The PyPI ROS wheels' Fast DDS is built without the
security plugins, so here the enforced start fails with rmw_fastrtps' "doesn't have the
security libraries"; with a security-enabled RMW the node starts and this (unauthenticated)
test node must not receive its commands. Either way a node never commands unsecured.
"""

from __future__ import annotations

import re

import pytest
from ros_harness import PACKAGE, ros_arguments
from sros2_keystore import create_keystore
from std_msgs.msg import Float64MultiArray

COMMANDS = "/effort_controller/commands"
ENCLAVE = "/liquid_controller"
NO_SECURITY_PLUGINS = "This Fast DDS version doesn't have the security libraries"


def test_the_nodes_take_an_enclave_argument_without_security(ros_node, start_node):
    # The launch file passes --enclave to every node; unsecured, rcl only records it.
    start_node("safety_filter_node", enclave=ENCLAVE)
    commands = ros_node.subscribe(COMMANDS, Float64MultiArray)
    ros_node.wait_for_messages(commands, count=3)


@pytest.mark.parametrize("node", ["safety_filter_node", "controller_node"])
def test_with_security_enforced_a_node_is_secured_or_does_not_start(
    ros_node, start_process, install_prefix, tmp_path, monkeypatch, node
):
    keystore = create_keystore(tmp_path / "keystore", [ENCLAVE])
    monkeypatch.setenv("ROS_SECURITY_KEYSTORE", str(keystore))
    monkeypatch.setenv("ROS_SECURITY_ENABLE", "true")
    monkeypatch.setenv("ROS_SECURITY_STRATEGY", "Enforce")
    argv = [str(install_prefix / "lib" / PACKAGE / node), *ros_arguments(enclave=ENCLAVE)]
    process = start_process(argv, node)
    commands = ros_node.subscribe(COMMANDS, Float64MultiArray)
    ros_node.wait_for(
        lambda: not process.is_running() or "Found security directory" in process.output(),
        what=f"{node} to find its enclave",
    )
    ros_node.spin_for(2.0)
    if process.is_running():  # a security-enabled RMW: secured, so invisible to this node
        assert commands.messages == [], "an unauthenticated node received secured commands"
        return
    assert process.stop(check=False) == 1
    output = process.output()
    assert re.search(r"\[liquid_controller\] fatal: .*" + re.escape(NO_SECURITY_PLUGINS), output)
    assert "Traceback" not in output and commands.messages == []
