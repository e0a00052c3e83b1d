"""MuJoCo and its offscreen renderer, or a clear error saying what to install.

The simulator's modules import ``mujoco`` from here: an OpenGL backend that fails while
``mujoco`` is imported (PyOpenGL raises ``AttributeError`` when ``MUJOCO_GL=osmesa`` and
libOSMesa is missing) then gives the same :class:`SimulationError` as one that fails when the
renderer is made (EGL without a driver). MuJoCo renders through the backend named by
``MUJOCO_GL`` when ``mujoco`` is first imported (``liquid_controller.sim`` defaults it to
``egl``: headless, Mesa's software rasteriser on a machine without a GPU). Shadows and
reflections are switched off: they cost about 4x per frame on the CPU and a lane camera does
not need them.
"""

from __future__ import annotations

import os

from liquid_controller.errors import SimulationError

__all__ = ["INSTALL_HINT", "create_renderer", "mujoco"]

INSTALL_HINT = (
    "install an OpenGL backend: for MUJOCO_GL=egl (the default) the EGL and Mesa drivers "
    "(Debian/Ubuntu: apt-get install libegl1 libegl-mesa0 libgl1-mesa-dri), or for "
    "MUJOCO_GL=osmesa Mesa's off-screen library (apt-get install libosmesa6) and set "
    "MUJOCO_GL=osmesa before starting; or run without the camera (render=False, --no-camera)"
)

try:
    import mujoco
except ImportError as err:
    raise ImportError(
        f"the simulator needs MuJoCo ({err}); install it with: pip install 'liquid_controller[sim]'"
    ) from err
except (AttributeError, OSError) as err:
    raise SimulationError(
        f"mujoco cannot load its OpenGL backend MUJOCO_GL={os.environ.get('MUJOCO_GL', '')!r} "
        f"({type(err).__name__}: {err}); {INSTALL_HINT}"
    ) from None


def create_renderer(model: mujoco.MjModel, height: int, width: int) -> mujoco.Renderer:
    """Return an offscreen renderer for ``model`` with shadows and reflections off.

    Raises:
        SimulationError: no usable OpenGL backend (the message names what to install).
    """
    backend = os.environ.get("MUJOCO_GL", "")
    try:
        renderer = mujoco.Renderer(model, height, width)
    except (ImportError, OSError, RuntimeError, AttributeError, mujoco.FatalError) as err:
        raise SimulationError(
            f"cannot render the camera with MUJOCO_GL={backend!r} "
            f"({type(err).__name__}: {err}); {INSTALL_HINT}. MUJOCO_GL takes effect only if "
            "set before mujoco is first imported"
        ) from None
    renderer.scene.flags[mujoco.mjtRndFlag.mjRND_SHADOW] = False
    renderer.scene.flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = False
    renderer.scene.flags[mujoco.mjtRndFlag.mjRND_SKYBOX] = False
    return renderer
