"""The Gazebo worlds: written from the tracks, well-formed SDF, and the MuJoCo world's twin.

The ``sdformat`` bindings are not installable here (PyPI has none; Gazebo ships them), so
the SDF is checked strictly against the element names and nesting the SDF spec
(http://sdformat.org/spec, 1.9) defines for what the generator writes.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mujoco")

from liquid_controller.sim.description import load_description  # noqa: E402
from liquid_controller.sim.gazebo_world import (  # noqa: E402
    SDF_VERSION,
    STRIP_M,
    marking_strips,
    world_sdf,
)
from liquid_controller.sim.track import load_track, track_names  # noqa: E402
from liquid_controller.sim.world import (  # noqa: E402
    DASH_M,
    PHYSICS_TIMESTEP_S,
    WorldVariation,
    build_world,
)

ROOT = Path(__file__).resolve().parents[2]
WORLD_DIR = ROOT / "description" / "worlds"
# SDF 1.9: the children each element the generator writes may have (sdformat.org/spec).
SDF_CHILDREN = {
    "sdf": {"world"},
    "world": {"physics", "plugin", "scene", "light", "model"},
    "physics": {"max_step_size", "real_time_factor"},
    "plugin": {"render_engine"},
    "scene": {"ambient", "background", "shadows"},
    "light": {"cast_shadows", "pose", "diffuse", "specular", "direction"},
    "model": {"static", "pose", "link"},
    "link": {"collision", "visual"},
    "collision": {"geometry", "surface"},
    "visual": {"pose", "geometry", "material"},
    "geometry": {"plane", "box"},
    "plane": {"normal", "size"},
    "box": {"size"},
    "surface": {"friction"},
    "friction": {"ode"},
    "ode": {"mu", "mu2"},
    "material": {"ambient", "diffuse", "specular"},
}
REQUIRED_ATTRIBUTES = {
    "sdf": {"version"},
    "world": {"name"},
    "model": {"name"},
    "link": {"name"},
    "visual": {"name"},
    "collision": {"name"},
    "plugin": {"filename", "name"},
    "light": {"name", "type"},
}
# Each value's count of numbers (vectors, colours, poses); the rest hold one number or a bool.
VECTOR_SIZES = {
    "pose": 6, "ambient": 4, "diffuse": 4, "specular": 4, "background": 4,
    "direction": 3, "normal": 3, "size": None,
}  # fmt: skip


@pytest.fixture(scope="module", params=track_names())
def track(request):
    return load_track(request.param)


def test_every_track_has_its_committed_world_up_to_date(track):
    path = WORLD_DIR / f"{track.name}.sdf"
    assert path.is_file(), "run scripts/write_gazebo_worlds.py"
    assert path.read_text(encoding="utf-8") == world_sdf(track), (
        f"{path} is out of date: run scripts/write_gazebo_worlds.py"
    )


def _check_element(element: ET.Element, path: str) -> None:
    tag = element.tag
    assert REQUIRED_ATTRIBUTES.get(tag, set()) <= set(element.attrib), f"{path}: attributes"
    allowed = SDF_CHILDREN.get(tag, set())
    children = list(element)
    if not children and tag != "plugin":  # a system plugin may take no parameters
        text = (element.text or "").strip()
        assert text, f"{path}: empty leaf"
        if tag in VECTOR_SIZES:
            values = [float(v) for v in text.split()]
            assert all(math.isfinite(v) for v in values), path
            expected = VECTOR_SIZES[tag]
            assert expected is None or len(values) == expected, f"{path}: {text!r}"
        elif text not in ("true", "false") and tag != "render_engine":
            assert math.isfinite(float(text)), f"{path}: {text!r}"
    for child in children:
        assert child.tag in allowed, f"{path}: <{child.tag}> is not an SDF child of <{tag}>"
        _check_element(child, f"{path}/{child.tag}")


def test_world_is_well_formed_sdf(track):
    root = ET.fromstring(world_sdf(track))
    assert root.tag == "sdf" and root.get("version") == SDF_VERSION
    _check_element(root, "sdf")
    (world,) = root.findall("world")
    plugins = {p.get("name"): p.get("filename") for p in world.findall("plugin")}
    # The systems the robot's sensors need (the Sensors system renders the camera with ogre2).
    assert plugins["gz::sim::systems::Sensors"] == "gz-sim-sensors-system"
    assert plugins["gz::sim::systems::Imu"] == "gz-sim-imu-system"
    assert plugins["gz::sim::systems::Physics"] == "gz-sim-physics-system"
    assert world.find("plugin[@name='gz::sim::systems::Sensors']/render_engine").text == "ogre2"
    names = [v.get("name") for v in world.iter("visual")]
    assert len(names) == len(set(names)), "visual names are unique within a link"
    for box in world.iter("box"):
        assert all(v > 0 for v in map(float, box.find("size").text.split()))


def test_world_matches_the_mujoco_world_of_the_same_track(track):
    """Physics step, floor extent and friction, light: what both simulators are given."""
    description = load_description()
    model = build_world(description, track, WorldVariation())
    import mujoco

    world = ET.fromstring(world_sdf(track)).find("world")
    assert float(world.find("physics/max_step_size").text) == model.opt.timestep
    assert model.opt.timestep == PHYSICS_TIMESTEP_S
    floor = model.geom(mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_GEOM, "floor"))
    floor_model = world.find("model[@name='floor']")
    centre = [float(v) for v in floor_model.find("pose").text.split()[:2]]
    size = [float(v) for v in floor_model.find("link/collision/geometry/plane/size").text.split()]
    np.testing.assert_allclose(centre, floor.pos[:2], atol=1e-5)
    np.testing.assert_allclose(size, 2 * floor.size[:2], atol=1e-5)
    mu = float(floor_model.find("link/collision/surface/friction/ode/mu").text)
    assert mu == pytest.approx(floor.friction[0])
    direction = [float(v) for v in world.find("light/direction").text.split()]
    np.testing.assert_allclose(direction, model.light_dir[0], atol=1e-5)


def test_markings_lie_on_the_track_lines(track):
    offset = track.half_width_m + track.marking_width_m / 2
    inner_radius = 1.0 / np.abs(track.curvatures).max() - offset
    sag = STRIP_M**2 / (8 * inner_radius)  # a chord's distance from its arc, at most
    boundary, centre = [], []
    for kind, x, y, yaw, length in marking_strips(track):
        state = track.locate(x, y, yaw)
        if kind == "boundary":
            assert abs(abs(state.lateral_m) - offset) < sag + 1e-3, (x, y)
            assert abs(state.heading_error_rad) < 0.1
            boundary.append(length)
        else:
            assert abs(state.lateral_m) < DASH_M**2 / (8 * (inner_radius + offset)) + 1e-3
            centre.append(length)
    # Both edges go all the way round (inner and outer lengths average the centre line's).
    chords = sum(boundary) - len(boundary) * track.marking_width_m
    assert chords == pytest.approx(2 * track.length_m, rel=0.02)
    # Dashes: every other DASH_M of the centre line, as the MuJoCo texture paints them.
    assert len(centre) == pytest.approx(track.length_m / (2 * DASH_M), abs=1)
    assert max(centre) <= DASH_M + 1e-9


def test_floor_extends_past_every_marking(track):
    world = ET.fromstring(world_sdf(track)).find("world")
    floor_model = world.find("model[@name='floor']")
    cx, cy = (float(v) for v in floor_model.find("pose").text.split()[:2])
    sx, sy = (float(v) for v in floor_model.find("link/visual/geometry/plane/size").text.split())
    for _, x, y, _, _ in marking_strips(track):
        assert abs(x - cx) < sx / 2 - 1.0 and abs(y - cy) < sy / 2 - 1.0
