"""Small rosbag2 recordings for the dataset and training tests, written with rosbags' own Writer.

The package's ``write_bag`` is deliberately not used: the readers under test must
accept bags that another writer produced. Everything here is deterministic.

Synthetic robot (:func:`write_synthetic_bag`): at every sensor tick ``t`` (seconds
since the bag's start, plus the bag's ``phase_s`` so that bags differ)

- IMU: ``linear_acceleration = (ax, 0, 9.81)``, ``angular_velocity = (0, 0, wz)`` with
  ``ax = sin(2 pi 0.5 t)`` and ``wz = 0.5 cos(2 pi 0.3 t)``;
- camera: a uniform image with ``R = 128 + 100 ax``, ``G = 128 + 200 wz``, ``B = 64``
  (rounded), so the image carries the same signals;
- joint states of ``left_wheel`` / ``right_wheel``: velocity = the command, position its
  running sum times the period;
- target (the executed command) at the same stamps: :func:`target_of` ``(ax, wz)`` =
  ``[ax + wz, ax - wz]`` as ``Float64MultiArray`` on ``/effort_controller/commands``, or as a
  ``Twist`` with ``linear.x = ax`` and ``angular.z = wz`` on ``/cmd_vel``.

Inside a ``holds`` interval the robot stands still: ``ax = wz = 0`` (command 0, the same
image every frame). Inside a ``gaps`` interval nothing is recorded.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import yaml
from PIL import Image as PILImage
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys import Stores, get_typestore

NS = 1_000_000_000
CAMERA_TOPIC = "/camera/image_raw"
COMPRESSED_TOPIC = "/camera/image_raw/compressed"
IMU_TOPIC = "/imu/data"
JOINT_TOPIC = "/joint_states"
EFFORT_TOPIC = "/effort_controller/commands"
TWIST_TOPIC = "/cmd_vel"
JOINTS = ("left_wheel", "right_wheel")
ACTIONS = ("left_wheel", "right_wheel")


class Record(NamedTuple):
    """One message to write: topic, type, log (receive) time in ns and the message."""

    topic: str
    msgtype: str
    receive_ns: int
    message: object


class SyntheticBag(NamedTuple):
    """A written synthetic bag and its ground truth at each sensor tick.

    Attributes:
        path: the bag folder.
        t_s: ``(n,)`` header stamps, seconds.
        ax, wz: ``(n,)`` the IMU signals.
        action: ``(n, 2)`` the commands (:func:`target_of`).
    """

    path: Path
    t_s: np.ndarray
    ax: np.ndarray
    wz: np.ndarray
    action: np.ndarray


def typestore(store: str = "ros2_jazzy"):
    """Return the rosbags type store of a ROS 2 distribution (``ros2_humble``/``ros2_jazzy``)."""
    return get_typestore(Stores(store))


def target_of(ax: np.ndarray, wz: np.ndarray) -> np.ndarray:
    """Return the synthetic robot's command ``[ax + wz, ax - wz]``, shape ``(..., 2)``."""
    return np.stack([np.asarray(ax) + wz, np.asarray(ax) - wz], axis=-1)


def signals(t_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(ax, wz)`` at times ``t_s`` (seconds since the bag's start), outside holds."""
    return np.sin(2 * math.pi * 0.5 * t_s), 0.5 * np.cos(2 * math.pi * 0.3 * t_s)


def image_pixels(ax: float, wz: float, size: tuple[int, int]) -> np.ndarray:
    """Return the synthetic camera's ``(H, W, 3)`` uint8 RGB frame for one tick."""
    colour = [128 + 100 * ax, 128 + 200 * wz, 64]
    return np.broadcast_to(np.clip(np.round(colour), 0, 255).astype(np.uint8), (*size, 3)).copy()


def _header(store, stamp_ns: int, frame_id: str = "base_link"):
    types = store.types
    stamp = types["builtin_interfaces/msg/Time"](sec=stamp_ns // NS, nanosec=stamp_ns % NS)
    return types["std_msgs/msg/Header"](stamp=stamp, frame_id=frame_id)


def imu_msg(store, stamp_ns: int, ax: float, wz: float, *, az: float = 9.81):
    """Return a ``sensor_msgs/Imu`` without orientation (REP 145: covariance[0] = -1)."""
    types = store.types
    vector3 = types["geometry_msgs/msg/Vector3"]
    return types["sensor_msgs/msg/Imu"](
        header=_header(store, stamp_ns),
        orientation=types["geometry_msgs/msg/Quaternion"](x=0.0, y=0.0, z=0.0, w=1.0),
        orientation_covariance=np.array([-1.0] + [0.0] * 8),
        angular_velocity=vector3(x=0.0, y=0.0, z=float(wz)),
        angular_velocity_covariance=np.zeros(9),
        linear_acceleration=vector3(x=float(ax), y=0.0, z=float(az)),
        linear_acceleration_covariance=np.zeros(9),
    )


def image_msg(store, stamp_ns: int, rgb: np.ndarray):
    """Return a raw ``sensor_msgs/Image`` (``rgb8``) holding ``rgb``."""
    height, width = rgb.shape[:2]
    return store.types["sensor_msgs/msg/Image"](
        header=_header(store, stamp_ns, "camera"),
        height=height,
        width=width,
        encoding="rgb8",
        is_bigendian=0,
        step=3 * width,
        data=np.ascontiguousarray(rgb, dtype=np.uint8).reshape(-1),
    )


def compressed_image_msg(store, stamp_ns: int, rgb: np.ndarray):
    """Return a PNG ``sensor_msgs/CompressedImage`` holding ``rgb`` (lossless)."""
    buffer = io.BytesIO()
    PILImage.fromarray(np.ascontiguousarray(rgb)).save(buffer, format="PNG")
    return store.types["sensor_msgs/msg/CompressedImage"](
        header=_header(store, stamp_ns, "camera"),
        format="png",
        data=np.frombuffer(buffer.getvalue(), dtype=np.uint8),
    )


def joint_state_msg(store, stamp_ns: int, names, position, velocity):
    """Return a ``sensor_msgs/JointState`` (effort left empty)."""
    return store.types["sensor_msgs/msg/JointState"](
        header=_header(store, stamp_ns),
        name=list(names),
        position=np.asarray(position, dtype=np.float64),
        velocity=np.asarray(velocity, dtype=np.float64),
        effort=np.zeros(0, dtype=np.float64),
    )


def float64_array_msg(store, values):
    """Return a ``std_msgs/Float64MultiArray`` (empty layout, as ros2_control publishes)."""
    types = store.types
    layout = types["std_msgs/msg/MultiArrayLayout"](dim=[], data_offset=0)
    return types["std_msgs/msg/Float64MultiArray"](
        layout=layout, data=np.asarray(values, dtype=np.float64)
    )


def twist_msg(store, linear_x: float, angular_z: float):
    """Return a ``geometry_msgs/Twist``."""
    types = store.types
    vector3 = types["geometry_msgs/msg/Vector3"]
    return types["geometry_msgs/msg/Twist"](
        linear=vector3(x=float(linear_x), y=0.0, z=0.0),
        angular=vector3(x=0.0, y=0.0, z=float(angular_z)),
    )


def write_messages(
    path: str | Path,
    records: Iterable[Record],
    *,
    storage: str = "mcap",
    store: str = "ros2_jazzy",
    topics: Sequence[tuple[str, str]] = (),
) -> Path:
    """Write ``records`` to a new bag folder with ``rosbags.rosbag2.Writer``.

    Args:
        path: the bag folder to create.
        records: the messages, in any order.
        storage: ``"mcap"`` or ``"sqlite3"``.
        store: the type store serialising the messages (``ros2_humble`` or ``ros2_jazzy``).
        topics: extra ``(topic, msgtype)`` connections to declare even without messages.
    """
    types = typestore(store)
    plugin = StoragePlugin.MCAP if storage == "mcap" else StoragePlugin.SQLITE3
    bag_path = Path(path)
    with Writer(bag_path, version=Writer.VERSION_LATEST, storage_plugin=plugin) as writer:
        connections = {}
        for topic, msgtype in topics:
            connections[(topic, msgtype)] = writer.add_connection(topic, msgtype, typestore=types)
        for record in sorted(records, key=lambda r: r.receive_ns):
            key = (record.topic, record.msgtype)
            if key not in connections:
                connections[key] = writer.add_connection(
                    record.topic, record.msgtype, typestore=types
                )
            data = types.serialize_cdr(record.message, record.msgtype)
            writer.write(connections[key], record.receive_ns, data)
    return bag_path


def _inside(t_s: np.ndarray, intervals: Sequence[tuple[float, float]]) -> np.ndarray:
    mask = np.zeros(t_s.shape, dtype=bool)
    for start, end in intervals:
        mask |= (t_s >= start) & (t_s < end)
    return mask


def write_synthetic_bag(
    path: str | Path,
    *,
    storage: str = "mcap",
    store: str = "ros2_jazzy",
    seconds: float = 3.0,
    rate_hz: float = 20.0,
    camera: str | None = "raw",
    image_size: tuple[int, int] = (8, 16),
    joints: bool = True,
    target: str = "float64_multi_array",
    start_s: float = 1000.0,
    latency_s: float = 0.002,
    gaps: Sequence[tuple[float, float]] = (),
    holds: Sequence[tuple[float, float]] = (),
    nan_imu_at: Sequence[int] = (),
    phase_s: float = 0.0,
) -> SyntheticBag:
    """Write the synthetic robot of the module docstring to a new bag.

    Args:
        path: the bag folder to create.
        storage: ``"mcap"`` or ``"sqlite3"``.
        store: ``"ros2_jazzy"`` or ``"ros2_humble"``.
        seconds: recording length; sensor ticks at ``k / rate_hz`` for ``t < seconds``.
        rate_hz: rate of every topic.
        camera: ``"raw"`` (``Image`` on :data:`CAMERA_TOPIC`), ``"compressed"`` (PNG
            ``CompressedImage`` on :data:`COMPRESSED_TOPIC`) or ``None``.
        image_size: camera ``(height, width)``.
        joints: record :data:`JOINT_TOPIC`.
        target: ``"float64_multi_array"`` (:data:`EFFORT_TOPIC`) or ``"twist"``
            (:data:`TWIST_TOPIC`).
        start_s: header stamp of the first tick (seconds on the bag's clock).
        latency_s: log (receive) time minus header stamp.
        gaps: ``(start, end)`` seconds (relative) with no messages at all.
        holds: ``(start, end)`` seconds (relative) where the robot stands still.
        nan_imu_at: tick indices whose IMU sample carries NaN (``angular_velocity.z``).
        phase_s: evaluate the signals at ``t + phase_s``, so that bags differ.

    Returns:
        The bag and its ground truth at every recorded tick (gaps excluded).
    """
    types = typestore(store)
    t_rel = np.arange(int(round(seconds * rate_hz))) / rate_hz
    ax, wz = signals(t_rel + phase_s)
    held = _inside(t_rel, holds)
    ax, wz = np.where(held, 0.0, ax), np.where(held, 0.0, wz)
    action = target_of(ax, wz)
    wheel_position = np.cumsum(action, axis=0) / rate_hz
    records: list[Record] = []
    kept = ~_inside(t_rel, gaps)
    for k in np.flatnonzero(kept):
        stamp = int(round(start_s * NS)) + int(round(t_rel[k] * NS))
        receive = stamp + int(round(latency_s * NS))
        imu_wz = math.nan if k in nan_imu_at else wz[k]
        records.append(
            Record(IMU_TOPIC, "sensor_msgs/msg/Imu", receive, imu_msg(types, stamp, ax[k], imu_wz))
        )
        if camera is not None:
            rgb = image_pixels(ax[k], wz[k], image_size)
            if camera == "raw":
                records.append(
                    Record(
                        CAMERA_TOPIC, "sensor_msgs/msg/Image", receive, image_msg(types, stamp, rgb)
                    )
                )
            else:
                records.append(
                    Record(
                        COMPRESSED_TOPIC,
                        "sensor_msgs/msg/CompressedImage",
                        receive,
                        compressed_image_msg(types, stamp, rgb),
                    )
                )
        if joints:
            records.append(
                Record(
                    JOINT_TOPIC,
                    "sensor_msgs/msg/JointState",
                    receive,
                    joint_state_msg(types, stamp, JOINTS, wheel_position[k], action[k]),
                )
            )
        if target == "twist":
            records.append(
                Record(
                    TWIST_TOPIC, "geometry_msgs/msg/Twist", receive, twist_msg(types, ax[k], wz[k])
                )
            )
        else:
            records.append(
                Record(
                    EFFORT_TOPIC,
                    "std_msgs/msg/Float64MultiArray",
                    receive,
                    float64_array_msg(types, action[k]),
                )
            )
    bag_path = write_messages(path, records, storage=storage, store=store)
    return SyntheticBag(bag_path, start_s + t_rel[kept], ax[kept], wz[kept], action[kept])


def dataset_config(
    config_path: str | Path,
    bags: Sequence[str | Path],
    *,
    camera: str | None = CAMERA_TOPIC,
    joints: bool = True,
    target: str = EFFORT_TOPIC,
    image_size: tuple[int, int] = (8, 16),
    rate_hz: float = 20.0,
    **overrides,
) -> Path:
    """Write a dataset config (YAML) for synthetic bags; ``overrides`` replace top-level keys."""
    config = {
        "bags": [str(bag) for bag in bags],
        "topics": {
            "camera": camera,
            "imu": IMU_TOPIC,
            "joint_states": JOINT_TOPIC if joints else None,
            "target": target,
        },
        "actions": list(ACTIONS),
        "rate_hz": rate_hz,
        "image": {"height": image_size[0], "width": image_size[1]},
        "cache_dir": str(Path(config_path).parent / "cache"),
    }
    if joints:
        config["joints"] = {"names": list(JOINTS), "quantities": ["position", "velocity"]}
    if target == TWIST_TOPIC:
        config["twist_fields"] = ["linear.x", "angular.z"]
        config["actions"] = ["linear.x", "angular.z"]
    config.update(overrides)
    path = Path(config_path)
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path
