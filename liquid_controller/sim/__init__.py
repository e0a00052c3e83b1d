"""The MuJoCo lane-keeping world that feeds the controller off-robot (no ROS, no torch).

``description``, ``track``, ``world``, ``simulation``, ``lane_env``, ``expert``, ``collect``,
``evaluate`` and the ``demo`` job need the ``sim`` extra: ``pip install 'liquid_controller[sim]'``.
"""

import os

# MuJoCo picks its OpenGL backend when it is first imported: default to EGL (headless, Mesa's
# software rasteriser on a machine without a GPU) unless the user chose one (see gl.py).
os.environ.setdefault("MUJOCO_GL", "egl")
