"""Without a usable OpenGL backend the simulator says what to install (real failures, in a
subprocess: MuJoCo chooses its backend once per process)."""

import subprocess
import sys

import pytest

pytest.importorskip("mujoco")

SCRIPT = """
from liquid_controller.errors import SimulationError
try:
    from liquid_controller.sim.simulation import LaneSimulation
    from liquid_controller.sim.track import load_track
    from liquid_controller.sim.world import WorldVariation
    LaneSimulation(load_track("oval"), WorldVariation()).close()
except SimulationError as err:
    print("ERROR", err)
else:
    print("RENDERED")
"""


# Hides libOSMesa from the subprocess the way a machine without it looks to PyOpenGL
# (ctypes.util.find_library finds nothing, so loading "OSMesa" by bare name fails), so the
# test runs whether or not the library is installed here.
HIDE_OSMESA = """
import ctypes.util
_find_library = ctypes.util.find_library
ctypes.util.find_library = lambda name: None if name == "OSMesa" else _find_library(name)
"""


def run_with(env, prelude=""):
    result = subprocess.run(
        [sys.executable, "-c", prelude + SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_egl_without_a_driver_names_the_packages(monkeypatch):
    import os

    env = {**os.environ, "MUJOCO_GL": "egl", "__EGL_VENDOR_LIBRARY_FILENAMES": "/nonexistent.json"}
    out = run_with(env)
    assert out.startswith("ERROR cannot render the camera with MUJOCO_GL='egl'")
    assert "libegl1" in out and "libgl1-mesa-dri" in out and "libosmesa6" in out


def test_osmesa_without_libosmesa_names_the_package():
    import os

    out = run_with({**os.environ, "MUJOCO_GL": "osmesa"}, prelude=HIDE_OSMESA)
    # PyOpenGL fails at mujoco's import or at the renderer's creation, depending on the
    # import order; either way the same error class and advice.
    assert out.startswith("ERROR") and "MUJOCO_GL='osmesa'" in out and "libosmesa6" in out
