import os

# MuJoCo picks its OpenGL backend at its first import, which a test module may trigger before
# liquid_controller.sim sets this default.
os.environ.setdefault("MUJOCO_GL", "egl")
