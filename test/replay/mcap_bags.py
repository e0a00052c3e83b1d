"""Bags for the replay tests written with the ``mcap`` + ``mcap-ros2-support`` writer.

Another writer than the package's (rosbags): messages are plain dicts encoded by
``mcap_ros2``, chunks are small (so a truncated file keeps complete chunks), and a
rosbag2 ``metadata.yaml`` is written beside the file as ``ros2 bag record`` does (or left
out, like a killed recording). :func:`sensor_records` makes the synthetic robot's camera,
IMU and joint states at their own rates, which tests then edit (stamps backwards,
duplicates, encodings, gaps).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import yaml
from mcap_ros2.writer import Writer
from rosbags.typesys import Stores, get_typestore

NS = 1_000_000_000
CAMERA = "/camera/image_raw"
IMU = "/imu/data"
JOINTS = "/joint_states"
IMAGE_TYPE = "sensor_msgs/msg/Image"
IMU_TYPE = "sensor_msgs/msg/Imu"
JOINT_TYPE = "sensor_msgs/msg/JointState"
WHEELS = ("left_wheel", "right_wheel")


class Rec(NamedTuple):
    """One message: topic, type, log time (ns), header stamp (ns) and the message dict."""

    topic: str
    msgtype: str
    log_ns: int
    stamp_ns: int
    message: dict[str, Any]


def header(stamp_ns: int) -> dict[str, Any]:
    return {"stamp": {"sec": stamp_ns // NS, "nanosec": stamp_ns % NS}, "frame_id": "base_link"}


def image(stamp_ns: int, value: int, size=(24, 32), encoding: str = "rgb8") -> dict[str, Any]:
    height, width = size
    pixels = np.full((height, width, 3), value % 256, dtype=np.uint8)
    pixels[:, : width // 2, 1] = (value * 7) % 256
    return {
        "header": header(stamp_ns), "height": height, "width": width, "encoding": encoding,
        "is_bigendian": 0, "step": 3 * width, "data": pixels.tobytes(),
    }  # fmt: skip


def imu(stamp_ns: int, ax: float, wz: float) -> dict[str, Any]:
    return {
        "header": header(stamp_ns),
        "orientation": {"x": 0.0, "y": 0.0, "z": 0.0, "w": 1.0},
        "orientation_covariance": [0.0] * 9,
        "angular_velocity": {"x": 0.0, "y": 0.0, "z": wz},
        "angular_velocity_covariance": [0.0] * 9,
        "linear_acceleration": {"x": ax, "y": 0.0, "z": 9.81},
        "linear_acceleration_covariance": [0.0] * 9,
    }


def joint_state(stamp_ns: int, t_s: float) -> dict[str, Any]:
    return {
        "header": header(stamp_ns),
        "name": list(WHEELS),
        "position": [0.5 * t_s, -0.5 * t_s],
        "velocity": [0.5, -0.5],
        "effort": [],
    }


def sensor_records(
    seconds: float = 2.0,
    *,
    camera_hz: float = 30.0,
    imu_hz: float = 100.0,
    joint_hz: float = 50.0,
    start_s: float = 100.0,
    latency_ns: int = 1_000_000,
    size: tuple[int, int] = (24, 32),
) -> list[Rec]:
    """The synthetic robot's sensors, each at its rate, in log-time order."""
    records = []
    start = round(start_s * NS)
    for topic, msgtype, rate in (
        (CAMERA, IMAGE_TYPE, camera_hz),
        (IMU, IMU_TYPE, imu_hz),
        (JOINTS, JOINT_TYPE, joint_hz),
    ):
        for k in range(int(seconds * rate)):
            t = k / rate
            stamp = start + round(t * NS)
            if topic == CAMERA:
                msg = image(stamp, k * 3, size)
            elif topic == IMU:
                msg = imu(stamp, float(np.sin(2 * np.pi * 0.5 * t)), float(np.cos(t)))
            else:
                msg = joint_state(stamp, t)
            records.append(Rec(topic, msgtype, stamp + latency_ns, stamp, msg))
    return sorted(records, key=lambda r: (r.log_ns, r.topic))


def _metadata(file_name: str, records: list[Rec]) -> dict[str, Any]:
    start = min(r.log_ns for r in records)
    duration = max(r.log_ns for r in records) - start
    topics: dict[str, tuple[str, int]] = {}
    for r in records:
        topics[r.topic] = (r.msgtype, topics.get(r.topic, (r.msgtype, 0))[1] + 1)
    return {
        "rosbag2_bagfile_information": {
            "version": 9,
            "storage_identifier": "mcap",
            "relative_file_paths": [file_name],
            "duration": {"nanoseconds": duration},
            "starting_time": {"nanoseconds_since_epoch": start},
            "message_count": len(records),
            "topics_with_message_count": [
                {
                    "topic_metadata": {
                        "name": name,
                        "type": msgtype,
                        "serialization_format": "cdr",
                        "offered_qos_profiles": [],
                        "type_description_hash": "",
                    },
                    "message_count": count,
                }  # fmt: skip
                for name, (msgtype, count) in topics.items()
            ],
            "compression_format": "",
            "compression_mode": "",
            "files": [
                {
                    "path": file_name,
                    "starting_time": {"nanoseconds_since_epoch": start},
                    "duration": {"nanoseconds": duration},
                    "message_count": len(records),
                }
            ],
            "custom_data": {},
            "ros_distro": "jazzy",
        }
    }


def write_mcap_bag(
    folder: Path, records: Iterable[Rec], *, metadata: bool = True, chunk_size: int = 32_768
) -> Path:
    """Write ``records`` (in the given order) into ``folder/<name>.mcap`` with mcap_ros2."""
    folder.mkdir(parents=True)
    records = list(records)
    store = get_typestore(Stores.ROS2_JAZZY)
    path = folder / f"{folder.name}.mcap"
    schemas: dict[str, Any] = {}
    with path.open("wb") as stream:
        writer = Writer(stream, chunk_size=chunk_size)
        for r in records:
            if r.msgtype not in schemas:
                text, _ = store.generate_msgdef(r.msgtype, ros_version=2)
                schemas[r.msgtype] = writer.register_msgdef(r.msgtype, text)
            writer.write_message(
                r.topic, schemas[r.msgtype], r.message, log_time=r.log_ns, publish_time=r.log_ns
            )
        writer.finish()
    if metadata:
        text = yaml.safe_dump(_metadata(path.name, records), sort_keys=False)
        (folder / "metadata.yaml").write_text(text)
    return folder
