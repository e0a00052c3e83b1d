"""Register the package's custom messages (``msg/*.msg``) into a ``rosbags`` type store.

The ``.msg`` files in the repository's ``msg/`` folder are the one source of
truth: rosidl generates the ROS classes from them at ``colcon build``, and this
module parses the same files for ``rosbags``, so offline tools (replay,
training) read and write ``SafetyStatus`` and ``PolicyState`` without ROS.

Where the files are found: the ``msg_dir`` argument when given, otherwise
``msg/`` under the first of :func:`liquid_controller.package_files.candidate_roots`
that holds ``*.msg`` files (a source checkout, then the ``share/liquid_controller``
folders that ``pip install`` and ``colcon build`` fill).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from rosbags.typesys.store import Typestore

from liquid_controller.errors import ConfigError
from liquid_controller.package_files import PACKAGE_NAME, candidate_roots

__all__ = [
    "PACKAGE_NAME",
    "POLICY_STATE",
    "SAFETY_STATUS",
    "custom_message_types",
    "find_msg_dir",
    "typestore_with_custom_messages",
]

SAFETY_STATUS = f"{PACKAGE_NAME}/msg/SafetyStatus"
"""Type name of ``msg/SafetyStatus.msg`` in a type store."""
POLICY_STATE = f"{PACKAGE_NAME}/msg/PolicyState"
"""Type name of ``msg/PolicyState.msg`` in a type store."""


def _candidate_dirs() -> list[Path]:
    """Return the automatic lookup order (items 2 and 3 of the module docstring)."""
    return [root / "msg" for root in candidate_roots()]


def _has_msg_files(folder: Path) -> bool:
    return folder.is_dir() and any(folder.glob("*.msg"))


def find_msg_dir(msg_dir: str | os.PathLike[str] | None = None) -> Path:
    """Return the folder holding the package's ``.msg`` files.

    Args:
        msg_dir: use this folder instead of searching; it must hold ``*.msg`` files.

    Raises:
        ConfigError: ``msg_dir`` holds no ``.msg`` file, or the search found none
            (the error lists every place looked at).
    """
    if msg_dir is not None:
        folder = Path(msg_dir)
        if not _has_msg_files(folder):
            raise ConfigError("msg_dir", str(folder), "a folder containing .msg files")
        return folder
    candidates = _candidate_dirs()
    for folder in candidates:
        if _has_msg_files(folder):
            return folder
    raise ConfigError(
        "msg_dir",
        None,
        "an explicit folder: no .msg files in any of " + ", ".join(map(str, candidates)),
    )


def custom_message_types(msg_dir: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Parse every ``.msg`` file of the package into ``rosbags`` type definitions.

    Args:
        msg_dir: folder of ``.msg`` files; found by :func:`find_msg_dir` when ``None``.

    Returns:
        ``{"liquid_controller/msg/<Name>": definition}``, ready for ``Typestore.register``.
    """
    types: dict[str, Any] = {}
    for path in sorted(find_msg_dir(msg_dir).glob("*.msg")):
        name = f"{PACKAGE_NAME}/msg/{path.stem}"
        types.update(get_types_from_msg(path.read_text(encoding="utf-8"), name))
    return types


def typestore_with_custom_messages(
    store: Stores | str = Stores.ROS2_JAZZY,
    *,
    msg_dir: str | os.PathLike[str] | None = None,
) -> Typestore:
    """Return a fresh ROS 2 type store with the package's custom messages registered.

    Args:
        store: a ROS 2 distribution's store, e.g. ``Stores.ROS2_JAZZY`` or
            ``Stores.ROS2_HUMBLE`` (or its value, ``"ros2_humble"``).
        msg_dir: folder of ``.msg`` files; see :func:`find_msg_dir`.

    Raises:
        ConfigError: ``store`` is not a ROS 2 store, or no ``.msg`` files were found.
    """
    ros2_stores = [s for s in Stores if s.value.startswith("ros2_")]
    try:
        chosen = Stores(store)
    except (ValueError, TypeError):
        chosen = None
    if chosen not in ros2_stores:
        raise ConfigError(
            "store", store, "a ROS 2 store: " + ", ".join(s.value for s in ros2_stores)
        )
    typestore = get_typestore(chosen)
    typestore.register(custom_message_types(msg_dir))
    return typestore
