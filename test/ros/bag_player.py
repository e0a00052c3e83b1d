"""A small stand-in for ``ros2 bag play --clock HZ`` (``ros2 bag`` has no PyPI wheels).

Usage: ``python bag_player.py BAG_DB3 CLOCK_HZ RATE TAIL_S``

Reads a rosbag2 sqlite3 file (its ``topics`` and ``messages`` tables), publishes ``/clock``
at ``CLOCK_HZ`` (wall time) with the bag's time advancing ``RATE`` times as fast as the
wall clock from the first message's log time, and publishes each recorded message, as
stored (serialised), once the clock has passed its log time, as ``ros2 bag play`` does.
After the last message the clock runs on for ``TAIL_S`` seconds of bag time (a real
``ros2 bag play`` stops publishing /clock at the end); then it prints ``played N messages``
and keeps publishing nothing until SIGINT.
"""

from __future__ import annotations

import importlib
import sqlite3
import sys
import time

import rclpy
from rclpy.executors import ExternalShutdownException
from rosgraph_msgs.msg import Clock

NS = 1_000_000_000


def message_class(msgtype: str) -> type:
    package, _, name = msgtype.split("/")
    return getattr(importlib.import_module(f"{package}.msg"), name)


def main() -> int:
    db_path, clock_hz, rate, tail_s = sys.argv[1], *map(float, sys.argv[2:5])
    db = sqlite3.connect(db_path)
    topics = {row[0]: (row[1], row[2]) for row in db.execute("SELECT id, name, type FROM topics")}
    messages = db.execute("SELECT topic_id, timestamp, data FROM messages ORDER BY timestamp")
    records = [(topics[t][0], stamp, bytes(data)) for t, stamp, data in messages]
    rclpy.init()
    node = rclpy.create_node("bag_player")
    try:
        clock = node.create_publisher(Clock, "/clock", 10)
        publishers = {
            name: node.create_publisher(message_class(msgtype), name, 10)
            for name, msgtype in topics.values()
        }
        time.sleep(1.0)  # discovery: let the subscribers match before the first message
        start_ns, end_ns = records[0][1], records[-1][1] + round(tail_s * NS)
        wall_start = time.monotonic()
        index = 0
        period = 1.0 / clock_hz
        next_clock = wall_start
        while True:
            now_ns = start_ns + round((time.monotonic() - wall_start) * rate * NS)
            while index < len(records) and records[index][1] <= now_ns:
                topic, _, data = records[index]
                publishers[topic].publish(data)
                index += 1
            if time.monotonic() >= next_clock:
                sim = min(now_ns, end_ns)
                clock.publish(Clock(clock=rclpy.time.Time(nanoseconds=sim).to_msg()))
                next_clock += period
            if now_ns >= end_ns and index == len(records):
                break
            time.sleep(max(0.0, min(next_clock - time.monotonic(), 0.001)))
        print(f"played {index} messages", flush=True)
        while rclpy.ok():
            time.sleep(0.05)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
