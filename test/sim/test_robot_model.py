"""The MuJoCo robot against its URDF, read here independently with ElementTree."""

import math
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mujoco")
import mujoco  # noqa: E402

from liquid_controller.errors import ConfigError  # noqa: E402
from liquid_controller.sim.description import load_description  # noqa: E402
from liquid_controller.sim.robot_model import CAMERA_NAME, robot_spec  # noqa: E402

URDF = Path(__file__).resolve().parents[2] / "description" / "diff_drive.urdf"


@pytest.fixture(scope="module")
def urdf():
    return ET.parse(URDF).getroot()


@pytest.fixture(scope="module")
def model():
    return robot_spec(load_description(URDF)).compile()


def test_link_masses_and_inertias_match(urdf, model):
    for link in urdf.findall("link"):
        inertial = link.find("inertial")
        body = model.body(link.get("name"))
        if inertial is None:
            assert model.body_mass[body.id] == 0.0
            continue
        assert model.body_mass[body.id] == pytest.approx(float(inertial.find("mass").get("value")))
        inertia = inertial.find("inertia")
        diagonal = sorted(float(inertia.get(k)) for k in ("ixx", "iyy", "izz"))
        assert sorted(model.body_inertia[body.id]) == pytest.approx(diagonal, rel=1e-6)
    assert float(np.sum(model.body_mass)) == pytest.approx(4.0)


def test_wheels_radius_limits_and_damping_match(urdf, model):
    links = {link.get("name"): link for link in urdf.findall("link")}
    for joint in urdf.findall("joint"):
        if joint.get("type") != "continuous":
            continue
        name = joint.get("name")
        child = links[joint.find("child").get("link")]
        radius = float(child.find("collision/geometry/cylinder").get("radius"))
        body = model.body(child.get("name"))
        colliding = [g for g in range(model.ngeom)
                     if model.geom_bodyid[g] == body.id and model.geom_contype[g]]  # fmt: skip
        assert len(colliding) == 1
        # A sphere of the wheel's radius (same contact point and rolling radius on the floor).
        assert model.geom_type[colliding[0]] == mujoco.mjtGeom.mjGEOM_SPHERE
        assert model.geom_size[colliding[0], 0] == pytest.approx(radius)
        visual = [g for g in range(model.ngeom)
                  if model.geom_bodyid[g] == body.id and not model.geom_contype[g]]  # fmt: skip
        assert model.geom_type[visual[0]] == mujoco.mjtGeom.mjGEOM_CYLINDER
        assert model.geom_size[visual[0], :2] == pytest.approx([radius, 0.02])
        effort = float(joint.find("limit").get("effort"))
        actuator = model.actuator(name)
        assert model.actuator_trnid[actuator.id, 0] == model.joint(name).id
        assert tuple(model.actuator_ctrlrange[actuator.id]) == pytest.approx((-effort, effort))
        assert model.actuator_ctrllimited[actuator.id]
        damping = float(joint.find("dynamics").get("damping"))
        assert model.dof_damping[model.jnt_dofadr[model.joint(name).id]] == pytest.approx(damping)
    assert {model.actuator(i).name for i in range(model.nu)} == {"left_wheel", "right_wheel"}


def test_camera_matches_the_gazebo_sensor_and_looks_along_camera_link_x(urdf, model):
    sensor = next(s for s in urdf.iter("sensor") if s.get("type") == "camera")
    width = int(sensor.find("camera/image/width").text)
    height = int(sensor.find("camera/image/height").text)
    hfov = float(sensor.find("camera/horizontal_fov").text)
    camera = model.camera(CAMERA_NAME)
    assert tuple(model.cam_resolution[camera.id]) == (width, height)
    fovy = 2 * math.atan(math.tan(hfov / 2) * height / width)
    assert model.cam_fovy[camera.id] == pytest.approx(math.degrees(fovy))
    assert model.body(model.cam_bodyid[camera.id]).name == "camera_optical_frame"
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    view = -data.cam_xmat[camera.id].reshape(3, 3)[:, 2]  # MuJoCo cameras look along -z
    link_x = data.xmat[model.body("camera_link").id].reshape(3, 3)[:, 0]
    assert view == pytest.approx(link_x, abs=1e-9)
    pitch = float(next(j for j in urdf.findall("joint") if j.get("name") == "camera_joint")
                  .find("origin").get("rpy").split()[1])  # fmt: skip
    assert view[2] == pytest.approx(-math.sin(pitch))  # pitched down
    image_up = data.cam_xmat[camera.id].reshape(3, 3)[:, 1]
    assert image_up[2] > 0  # not upside down


def test_imu_reads_gravity_at_rest_in_imu_link():
    model = robot_spec(load_description(URDF))
    model.worldbody.add_geom(type=mujoco.mjtGeom.mjGEOM_PLANE, size=[2, 2, 0.1])
    compiled = model.compile()
    data = mujoco.MjData(compiled)
    for _ in range(500):
        mujoco.mj_step(compiled, data)
    accel = data.sensor("imu_accel").data
    assert accel == pytest.approx([0.0, 0.0, 9.81], abs=0.05)
    assert data.sensor("imu_gyro").data == pytest.approx([0, 0, 0], abs=1e-3)


def test_description_names_a_missing_sensor(tmp_path):
    text = URDF.read_text().replace('type="imu"', 'type="magnetometer"')
    bad = tmp_path / "robot.urdf"
    bad.write_text(text)
    with pytest.raises(ConfigError, match=r"urdf\.gazebo\.sensor\[type=imu\]"):
        load_description(bad)
