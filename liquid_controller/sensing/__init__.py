"""ROS messages to numpy arrays, duck-typed: rclpy messages, rosbags classes or plain objects.

Imports neither rclpy nor torch. Every converter raises
:class:`~liquid_controller.errors.MessageConversionError` naming the field at
fault, so a node can drop, count and report a bad message.
"""

from __future__ import annotations

from liquid_controller.sensing.image import (
    DEFAULT_MAX_PIXELS,
    RAW_ENCODINGS,
    compressed_image_to_rgb,
    crop_rgb,
    image_to_rgb,
    raw_image_to_rgb,
    resize_rgb,
)
from liquid_controller.sensing.imu import IMU_FIELDS, ImuReading, imu_to_vector, read_imu
from liquid_controller.sensing.joints import JointSample, JointStateMapper
from liquid_controller.sensing.stamps import (
    DtStatus,
    DtStep,
    DtTracker,
    header_stamp_ns,
    stamp_to_ns,
    stamp_to_seconds,
)

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "IMU_FIELDS",
    "RAW_ENCODINGS",
    "DtStatus",
    "DtStep",
    "DtTracker",
    "ImuReading",
    "JointSample",
    "JointStateMapper",
    "compressed_image_to_rgb",
    "crop_rgb",
    "header_stamp_ns",
    "image_to_rgb",
    "imu_to_vector",
    "raw_image_to_rgb",
    "read_imu",
    "resize_rgb",
    "stamp_to_ns",
    "stamp_to_seconds",
]
