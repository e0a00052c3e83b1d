"""Register the package's custom messages (``msg/*.msg``) into a ``rosbags`` type store.

The ``.msg`` files in the repository's ``msg/`` folder are the one source of
truth: rosidl generates the ROS classes from them at ``colcon build``, and this
module parses the same files for ``rosbags``, so offline tools (replay,
training) read and write ``SafetyStatus`` and ``PolicyState`` without ROS.

Where the files are found (first folder that holds ``*.msg`` wins):

1. the ``msg_dir`` argument, when given;
2. ``msg/`` next to the ``liquid_controller`` package directory when a
   ``pyproject.toml`` sits there too (a source checkout or an editable install);
3. ``share/liquid_controller/msg`` under each folder above the installed
   package, then under ``sys.prefix``, then under each ``AMENT_PREFIX_PATH``
   entry. ``pip install`` puts the files there (``[tool.setuptools.data-files]``
   in ``pyproject.toml``, relative to the install prefix: the venv, ``--user``
   base or ``--prefix``), and so does rosidl in a colcon install space.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from rosbags.typesys.store import Typestore

import liquid_controller
from liquid_controller.errors import ConfigError

__all__ = [
    "PACKAGE_NAME",
    "POLICY_STATE",
    "SAFETY_STATUS",
    "custom_message_types",
    "find_msg_dir",
    "typestore_with_custom_messages",
]

PACKAGE_NAME = "liquid_controller"
SAFETY_STATUS = f"{PACKAGE_NAME}/msg/SafetyStatus"
"""Type name of ``msg/SafetyStatus.msg`` in a type store."""
POLICY_STATE = f"{PACKAGE_NAME}/msg/PolicyState"
"""Type name of ``msg/PolicyState.msg`` in a type store."""

_SHARE_MSG = Path("share", PACKAGE_NAME, "msg")


def _candidate_dirs() -> list[Path]:
    """Return the automatic lookup order (items 2 and 3 of the module docstring)."""
    package_dir = Path(liquid_controller.__file__).resolve().parent
    checkout = package_dir.parent
    # Only a source checkout (marked by its pyproject.toml) counts, not e.g. site-packages/msg.
    candidates = [checkout / "msg"] if (checkout / "pyproject.toml").is_file() else []
    candidates += [ancestor / _SHARE_MSG for ancestor in package_dir.parents]
    candidates.append(Path(sys.prefix) / _SHARE_MSG)
    ament_prefixes = os.environ.get("AMENT_PREFIX_PATH", "")
    candidates += [
        Path(prefix) / _SHARE_MSG for prefix in ament_prefixes.split(os.pathsep) if prefix
    ]
    return candidates


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
