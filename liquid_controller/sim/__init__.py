"""Simulations that feed the controller off-robot (no ROS, no torch).

``toy_diff_drive`` is the numpy plant of ``liquid-controller demo``; the MuJoCo lane-keeping
world (``description``, ``track``, ``world``, ``simulation``, ``lane_env``, ``expert``,
``collect``, ``evaluate``) needs the ``sim`` extra: ``pip install 'liquid_controller[sim]'``.
"""

import os

# MuJoCo picks its OpenGL backend when it is first imported: default to EGL (headless, Mesa's
# software rasteriser on a machine without a GPU) unless the user chose one (see gl.py).
os.environ.setdefault("MUJOCO_GL", "egl")

from liquid_controller.sim.toy_diff_drive import DiffDriveParams, SensorFrame, ToyDiffDrive  # noqa: E402

__all__ = ["DiffDriveParams", "SensorFrame", "ToyDiffDrive"]
