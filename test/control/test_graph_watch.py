"""PublisherWatch: who else publishes on a topic the node must publish alone."""

from __future__ import annotations

from liquid_controller.control.diagnostics import DiagnosticLevel
from liquid_controller.control.graph_watch import GraphPublisher, PublisherWatch

TOPIC = "/effort_controller/commands"
TYPE = "std_msgs/msg/Float64MultiArray"
OWN = GraphPublisher("/safety_filter_node", TYPE, "01")
TELEOP = GraphPublisher("/teleop", TYPE, "02")
IMPOSTOR = GraphPublisher("/safety_filter_node", TYPE, "03")  # same node name, other process


def watch():
    return PublisherWatch(TOPIC, "/safety_filter_node", "its commands reach the actuators")


def test_alone_on_the_topic_is_ok():
    w = watch()
    assert w.update([OWN]) == [] and w.update([]) == []
    record = w.record("safety_filter_node")
    assert record.level is DiagnosticLevel.OK and record.name == "safety_filter_node: graph"
    assert TOPIC in record.message


def test_an_outsider_is_reported_once_when_it_appears_and_again_after_it_left():
    w = watch()
    assert w.update([OWN, TELEOP]) == [TELEOP]
    assert w.update([TELEOP, OWN]) == []  # still there: not new
    record = w.record("safety_filter_node")
    assert record.level is DiagnosticLevel.ERROR
    assert "1 other publisher(s) on /effort_controller/commands: /teleop" in record.message
    assert ("outsider_0", TELEOP.describe()) in record.values
    assert w.update([OWN]) == [] and w.record("n").level is DiagnosticLevel.OK
    assert w.update([OWN, TELEOP]) == [TELEOP]


def test_a_second_publisher_under_the_own_node_name_is_an_outsider():
    w = watch()
    (found,) = w.update([IMPOSTOR, OWN])
    assert found.node == "/safety_filter_node"
    assert w.record("n").level is DiagnosticLevel.ERROR


def test_an_outsider_found_before_this_node_is_in_the_graph_is_still_reported():
    w = watch()
    assert w.update([TELEOP]) == [TELEOP]


def test_an_outsider_is_reported_again_once_its_node_name_is_discovered():
    w = watch()
    unnamed = TELEOP._replace(node="_NODE_NAMESPACE_UNKNOWN_/_NODE_NAME_UNKNOWN_")
    assert w.update([OWN, unnamed]) == [unnamed]
    assert w.update([OWN, TELEOP]) == [TELEOP]
