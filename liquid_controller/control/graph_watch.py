"""Outsiders on the ROS graph: other publishers on a topic a node must publish alone.

Any process on the DDS domain can publish on the actuator command topic (without SROS2
nothing stops it), and a subscriber then receives its commands mixed with the filtered
ones. The node cannot prevent that, but it can see it: it polls the graph for the
publishers of its command topic and reports every one that is not itself. The ROS layer
supplies the publisher list (``get_publishers_info_by_topic``); this module decides who is
an outsider, when one appeared, and what ``/diagnostics`` says.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from liquid_controller.control.diagnostics import DiagnosticLevel, DiagnosticRecord

__all__ = ["GraphPublisher", "PublisherWatch"]


class GraphPublisher(NamedTuple):
    """One publisher endpoint in the ROS graph."""

    node: str
    """Fully qualified name of the node that owns it, e.g. ``/teleop``."""
    topic_type: str
    gid: str
    """The endpoint's global id (hex), unique per publisher."""

    def describe(self) -> str:
        """``/node (type, gid ...)``."""
        return f"{self.node} ({self.topic_type}, gid {self.gid})"


class PublisherWatch:
    """The publishers of ``topic`` other than this node's own one.

    The node has exactly one publisher on the topic; rclpy does not tell which endpoint id
    is its own, so one endpoint under the node's own name is taken for it and any further
    one under that name (another process using the same node name) is an outsider too.

    Args:
        topic: the fully qualified topic name.
        own_node: this node's fully qualified name.
        consequence: what an outsider's messages do, for the report.
    """

    def __init__(self, topic: str, own_node: str, consequence: str) -> None:
        self.topic = topic
        self.own_node = own_node
        self.consequence = consequence
        self.outsiders: tuple[GraphPublisher, ...] = ()

    def update(self, publishers: Sequence[GraphPublisher]) -> list[GraphPublisher]:
        """Take the topic's current publishers; return the outsiders that were not there before.

        An endpoint seen before under another node name (its name was not yet discovered)
        counts as new.
        """
        own = sorted((p for p in publishers if p.node == self.own_node), key=lambda p: p.gid)
        others = [p for p in publishers if p.node != self.own_node]
        outsiders = tuple(sorted(others + own[1:], key=lambda p: (p.node, p.gid)))
        # Keyed with the node name too: discovery may list an endpoint before its node's name
        # (rclpy shows _NODE_NAME_UNKNOWN_), and the name is worth a second report.
        known = {(p.node, p.gid) for p in self.outsiders}
        self.outsiders = outsiders
        return [p for p in outsiders if (p.node, p.gid) not in known]

    def record(self, node_name: str) -> DiagnosticRecord:
        """ERROR while another publisher is on the topic, else OK."""
        values = tuple((f"outsider_{i}", p.describe()) for i, p in enumerate(self.outsiders))
        if self.outsiders:
            names = ", ".join(sorted({p.node for p in self.outsiders}))
            level = DiagnosticLevel.ERROR
            message = (
                f"{len(self.outsiders)} other publisher(s) on {self.topic}: {names}; "
                f"{self.consequence} (restrict publishers with SROS2)"
            )
        else:
            level, message = DiagnosticLevel.OK, f"the only publisher on {self.topic}"
        values = (("topic", self.topic), *values)
        return DiagnosticRecord(f"{node_name}: graph", level, message, values)
