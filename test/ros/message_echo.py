"""Helper process for test_message_roundtrip.py: republish one message type, topic to topic.

Usage: ``python message_echo.py <module>.<Type> <input topic> <output topic>``, e.g.
``liquid_controller.msg.SafetyStatus in out``. Runs until SIGINT, then exits with code 0.
"""

from __future__ import annotations

import importlib
import sys

import rclpy
from rclpy.executors import ExternalShutdownException


def main(argv: list[str]) -> int:
    type_path, input_topic, output_topic = argv
    module_name, _, type_name = type_path.rpartition(".")
    msg_type = getattr(importlib.import_module(module_name), type_name)
    rclpy.init()
    node = rclpy.create_node("message_echo")
    publisher = node.create_publisher(msg_type, output_topic, 10)
    node.create_subscription(msg_type, input_topic, publisher.publish, 10)
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
