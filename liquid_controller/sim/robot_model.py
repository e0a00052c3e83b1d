"""The robot in MuJoCo, from its URDF: MuJoCo's URDF import plus what URDF cannot say to it.

MuJoCo imports the links, inertias, collision and visual geometry and the wheel joints
(damping included) itself; the URDF's ``<mujoco><compiler fusestatic="false"/></mujoco>``
keeps the camera and IMU frames as bodies. This module adds, from the same URDF
(:mod:`.description`): a free joint under ``base_footprint``, one torque motor per wheel
with the joint's effort limit, the camera in ``camera_optical_frame`` (MuJoCo cameras look
along their -z with y up; a ROS optical frame looks along +z with y down, a half turn about
x apart) and the IMU's accelerometer and gyro at ``imu_link`` (MuJoCo's accelerometer
includes gravity, as a real IMU reports).

Wheel contact: each wheel's collision cylinder becomes a sphere of the same radius. On the
flat floor it touches at the same point with the same rolling radius, and it avoids the
chatter of MuJoCo's cylinder-plane contacts, which showed as IMU spikes of +-9 m/s^2 in
about 1 % of samples in curves. The visual geometry stays the URDF's cylinder.
"""

from __future__ import annotations

import math

from liquid_controller.sim.description import RobotDescription
from liquid_controller.sim.gl import mujoco

__all__ = ["ACCEL_SENSOR", "CAMERA_NAME", "GYRO_SENSOR", "robot_spec"]

CAMERA_NAME = "camera"
ACCEL_SENSOR = "imu_accel"
GYRO_SENSOR = "imu_gyro"
CASTER_LINK = "caster_link"
FOOTPRINT_LINK = "base_footprint"
OPTICAL_TO_MUJOCO_CAMERA = (0.0, 1.0, 0.0, 0.0)
"""Half turn about x (w, x, y, z)."""


def robot_spec(description: RobotDescription) -> mujoco.MjSpec:
    """Return a MuJoCo spec of the robot described by ``description``'s URDF, ready to drive."""
    spec = mujoco.MjSpec.from_file(str(description.path))
    spec.body(FOOTPRINT_LINK).add_freejoint(name="base_free")
    for wheel in description.wheels:
        spec.add_actuator(
            name=wheel.joint,
            trntype=mujoco.mjtTrn.mjTRN_JOINT,
            target=wheel.joint,
            ctrllimited=True,
            ctrlrange=[-wheel.effort_limit_nm, wheel.effort_limit_nm],
        )
        for geom in spec.body(wheel.link).geoms:
            if geom.contype:  # the collision cylinder (see WHEEL_CONTACT_NOTE)
                geom.type = mujoco.mjtGeom.mjGEOM_SPHERE
                geom.size = [wheel.radius_m, 0.0, 0.0]
                geom.friction = [0.1, 0.005, 0.0001]  # below the floor's: the floor's wins
    for geom in spec.body(CASTER_LINK).geoms:
        if geom.contype:  # a frictionless ball caster: its contacts use its own condim 1
            geom.priority = 1
            geom.condim = 1
    camera = description.camera
    spec.body(camera.optical_frame).add_camera(
        name=CAMERA_NAME,
        quat=list(OPTICAL_TO_MUJOCO_CAMERA),
        fovy=math.degrees(camera.vertical_fov_rad),
        resolution=[camera.width, camera.height],
    )
    site = spec.body(description.imu.link).add_site(name="imu")
    for name, kind in (
        (ACCEL_SENSOR, mujoco.mjtSensor.mjSENS_ACCELEROMETER),
        (GYRO_SENSOR, mujoco.mjtSensor.mjSENS_GYRO),
    ):
        spec.add_sensor(name=name, type=kind, objtype=mujoco.mjtObj.mjOBJ_SITE, objname=site.name)
    return spec
