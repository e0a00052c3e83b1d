"""Where the installed package keeps its default model and configuration files.

CMakeLists.txt installs ``config/``, ``resource/``, ``launch/`` and ``msg/`` into the package's
share directory, which ament's resource index finds through ``AMENT_PREFIX_PATH`` (set by
sourcing a workspace's setup file, or ``scripts/ros_env.sh`` here). The nodes use these paths as
their parameter defaults, so ``ros2 run liquid_controller policy_node`` works with no arguments.
"""

from __future__ import annotations

import os
from pathlib import Path

from ament_index_python.packages import PackageNotFoundError, get_package_share_directory

from liquid_controller.errors import ConfigError

__all__ = [
    "PACKAGE_NAME",
    "default_model_path",
    "default_node_params_path",
    "default_safety_config_path",
    "share_directory",
]

PACKAGE_NAME = "liquid_controller"


def share_directory() -> Path:
    """Return the installed share directory of the package.

    Raises:
        ConfigError: The package is not on ``AMENT_PREFIX_PATH`` (workspace not sourced).
    """
    try:
        return Path(get_package_share_directory(PACKAGE_NAME))
    except PackageNotFoundError:
        raise ConfigError(
            "AMENT_PREFIX_PATH",
            os.environ.get("AMENT_PREFIX_PATH"),
            f"a prefix where {PACKAGE_NAME} is installed (source the workspace's "
            "install/setup.bash, or scripts/ros_env.sh in a checkout)",
        ) from None


def default_model_path() -> Path:
    """Return the installed default policy (``resource/default_policy.npz``, torch-free)."""
    return share_directory() / "resource" / "default_policy.npz"


def default_safety_config_path() -> Path:
    """Return the installed default safety-filter configuration (``config/safety.yaml``)."""
    return share_directory() / "config" / "safety.yaml"


def default_node_params_path(node_name: str) -> Path:
    """Return the installed parameter file of one node (``config/<node_name>.yaml``).

    Args:
        node_name: ``policy_node``, ``safety_filter_node`` or ``controller_node``.
    """
    return share_directory() / "config" / f"{node_name}.yaml"
