"""rosbag2 read/write and the custom-message type store, built on ``rosbags`` (no ROS needed).

Needs the ``bags`` extra: ``pip install 'liquid_controller[bags]'``. The rest
of the package does not import this subpackage, so it works without rosbags.
"""

from __future__ import annotations

try:
    import rosbags  # noqa: F401  (checked here so every data module fails the same clear way)
except ImportError as err:
    raise ImportError(
        "liquid_controller.data reads and writes bags with the 'rosbags' package, which is not "
        "installed; install it with: pip install 'liquid_controller[bags]'"
    ) from err

from liquid_controller.data.bags import (
    BagMessage,
    StoragePlugin,
    TopicStream,
    iter_messages,
    read_streams,
    write_bag,
)
from liquid_controller.data.typestore import (
    POLICY_STATE,
    SAFETY_STATUS,
    custom_message_types,
    find_msg_dir,
    typestore_with_custom_messages,
)

__all__ = [
    "POLICY_STATE",
    "SAFETY_STATUS",
    "BagMessage",
    "StoragePlugin",
    "TopicStream",
    "custom_message_types",
    "find_msg_dir",
    "iter_messages",
    "read_streams",
    "typestore_with_custom_messages",
    "write_bag",
]
