"""QoS profiles of the nodes' topics.

Sensors (camera, IMU, joint states) default to best effort, keep-last: a late
frame is worth less than the next one, and a best-effort subscription also
matches reliable publishers (most drivers publish reliable). Commands and status
topics are reliable: the actuator must not silently miss a command.
"""

from __future__ import annotations

from rclpy.duration import Duration
from rclpy.qos import (
    DurabilityPolicy,
    HistoryPolicy,
    QoSProfile,
    ReliabilityPolicy,
)

from liquid_controller.errors import ConfigError

__all__ = ["COMMAND_QOS_DEPTH", "SHUTDOWN_ACK_TIMEOUT", "command_qos", "sensor_qos"]

COMMAND_QOS_DEPTH = 10
SHUTDOWN_ACK_TIMEOUT = Duration(seconds=0.5)
"""How long a stopping node waits for its last (safe) command to be acknowledged."""

_RELIABILITY = {
    "best_effort": ReliabilityPolicy.BEST_EFFORT,
    "reliable": ReliabilityPolicy.RELIABLE,
}


def sensor_qos(depth: int, reliability: str = "best_effort") -> QoSProfile:
    """Return the QoS of a sensor subscription.

    Args:
        depth: keep-last history depth (>= 1).
        reliability: ``"best_effort"`` (default) or ``"reliable"``.

    Raises:
        ConfigError: depth < 1 or an unknown reliability.
    """
    if depth < 1:
        raise ConfigError("sensor_qos_depth", depth, "an integer >= 1")
    if reliability not in _RELIABILITY:
        raise ConfigError("sensor_qos_reliability", reliability, "'best_effort' or 'reliable'")
    return QoSProfile(
        history=HistoryPolicy.KEEP_LAST,
        depth=depth,
        reliability=_RELIABILITY[reliability],
        durability=DurabilityPolicy.VOLATILE,
    )


def command_qos(depth: int = COMMAND_QOS_DEPTH) -> QoSProfile:
    """Return the QoS of command and status topics: reliable, volatile, keep-last."""
    return QoSProfile(
        history=HistoryPolicy.KEEP_LAST,
        depth=depth,
        reliability=ReliabilityPolicy.RELIABLE,
        durability=DurabilityPolicy.VOLATILE,
    )
