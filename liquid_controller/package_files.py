"""Find the package's data files (``msg/``, ``config/``, ``resource/``) without ROS.

The files live once, in the repository root (the ROS package layout). They are found:

1. next to the ``liquid_controller`` package directory when a ``pyproject.toml`` sits
   there too (a source checkout or an editable install);
2. in ``share/liquid_controller/`` under each folder above the installed package, then
   under ``sys.prefix``, then under each ``AMENT_PREFIX_PATH`` entry. ``pip install``
   puts them there (``[tool.setuptools.data-files]`` in ``pyproject.toml``, relative to
   the install prefix: the venv, ``--user`` base or ``--prefix``), and so does
   ``colcon build`` in an install space.

The ROS nodes use ``ament_index_python`` instead (``liquid_controller.ros.paths``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import liquid_controller
from liquid_controller.errors import ConfigError

__all__ = ["PACKAGE_NAME", "candidate_roots", "find_data_file"]

PACKAGE_NAME = "liquid_controller"
_SHARE = Path("share", PACKAGE_NAME)


def candidate_roots() -> list[Path]:
    """Return the folders that may hold the package's data files, in lookup order."""
    package_dir = Path(liquid_controller.__file__).resolve().parent
    checkout = package_dir.parent
    # Only a source checkout (marked by its pyproject.toml) counts, not e.g. site-packages/.
    roots = [checkout] if (checkout / "pyproject.toml").is_file() else []
    roots += [ancestor / _SHARE for ancestor in package_dir.parents]
    roots.append(Path(sys.prefix) / _SHARE)
    ament_prefixes = os.environ.get("AMENT_PREFIX_PATH", "")
    roots += [Path(prefix) / _SHARE for prefix in ament_prefixes.split(os.pathsep) if prefix]
    return roots


def find_data_file(relative: str, *, key: str) -> Path:
    """Return the first existing ``<root>/<relative>`` of :func:`candidate_roots`.

    Args:
        relative: path inside the package's data, e.g. ``"config/safety.yaml"``.
        key: the setting that asked for it, named in the error (e.g. ``"--safety-config"``).

    Raises:
        ConfigError: no root holds the file (the error lists every place looked at).
    """
    roots = candidate_roots()
    for root in roots:
        path = root / relative
        if path.exists():
            return path
    raise ConfigError(
        key, None, f"an explicit path: {relative} is in none of " + ", ".join(map(str, roots))
    )
