"""The lane-keeping world as a Gazebo (gz sim) SDF world, from the same track as the MuJoCo one.

The MuJoCo world paints the markings into a floor texture (:mod:`.world`); here they are thin
visual strips laid along the same geometry (:class:`~.track.Track`, the same offsets, dash
length and colours of :class:`~.world.WorldVariation`), so the two worlds cannot drift and no
texture orientation convention has to match. The floor is a plane with collision and the
variation's friction; the sun is the variation's directional light. The world also loads the
gz-sim systems the robot's sensors need (Sensors with ogre2 for the camera, Imu).

The robot is not in the world: ``launch/gazebo.launch.py`` spawns it from
``robot_state_publisher``'s description at the track's start pose.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import numpy as np

from liquid_controller.sim.track import Track
from liquid_controller.sim.world import (
    DASH_M,
    PHYSICS_TIMESTEP_S,
    TEXTURE_M_PER_PIXEL,
    WorldVariation,
    floor_pixels,
    sun_direction,
)

__all__ = ["SDF_VERSION", "SYSTEM_PLUGINS", "STRIP_M", "marking_strips", "world_sdf"]

SDF_VERSION = "1.9"
"""Read by Gazebo Fortress (sdformat 12) and Harmonic (sdformat 14)."""
STRIP_M = 0.1
"""Length of one straight strip of a boundary line (chord error 0.8 mm at 1.5 m radius)."""
STRIP_HEIGHT_M = 0.001
"""Markings stand this much above the floor (visual only: no collision)."""
SYSTEM_PLUGINS = (
    ("gz-sim-physics-system", "gz::sim::systems::Physics"),
    ("gz-sim-user-commands-system", "gz::sim::systems::UserCommands"),
    ("gz-sim-scene-broadcaster-system", "gz::sim::systems::SceneBroadcaster"),
    ("gz-sim-sensors-system", "gz::sim::systems::Sensors"),
    ("gz-sim-imu-system", "gz::sim::systems::Imu"),
)
"""Harmonic names (Fortress: ignition-gazebo-*-system, ignition::gazebo::systems::*)."""


def marking_strips(
    track: Track,
) -> Iterator[tuple[str, float, float, float, float]]:
    """Yield ``(kind, x, y, yaw, length)`` of each marking strip; kind "boundary" or "centre".

    Boundary strips are chords of the two edge lines every :data:`STRIP_M`; centre strips are
    the dashes of :data:`~.world.DASH_M` the MuJoCo texture paints (same phase along s).
    """
    normals = np.stack([-np.sin(track.headings), np.cos(track.headings)], axis=1)
    offset = track.half_width_m + track.marking_width_m / 2
    n = len(track.points)
    step = max(1, round(STRIP_M / float(track.arc_lengths[1] - track.arc_lengths[0])))
    starts = list(range(0, n, step))
    for side in (1.0, -1.0):
        edge = track.points + side * offset * normals
        for i, j in zip(starts, starts[1:] + [n], strict=True):
            yield ("boundary", *_chord(edge[i], edge[j % n], overlap=track.marking_width_m))
    dash = np.floor(track.arc_lengths / DASH_M).astype(int) % 2 == 0
    first = np.flatnonzero(np.diff(np.r_[0, dash.astype(int)]) == 1)
    last = np.flatnonzero(np.diff(np.r_[dash.astype(int), 0]) == -1)
    for a, b in zip(first, last, strict=True):
        yield ("centre", *_chord(track.points[a], track.points[b], overlap=0.0))


def _chord(p: np.ndarray, q: np.ndarray, *, overlap: float) -> tuple[float, float, float, float]:
    dx, dy = float(q[0] - p[0]), float(q[1] - p[1])
    middle = (p + q) / 2
    return float(middle[0]), float(middle[1]), math.atan2(dy, dx), math.hypot(dx, dy) + overlap


def world_sdf(track: Track, variation: WorldVariation | None = None) -> str:
    """Return the SDF world of ``track`` (default look: :class:`WorldVariation`'s defaults)."""
    look = WorldVariation() if variation is None else variation
    sdf = ET.Element("sdf", version=SDF_VERSION)
    world = ET.SubElement(sdf, "world", name=f"lane_{track.name}")
    physics = ET.SubElement(world, "physics", name="default", type="ode")
    _text(physics, "max_step_size", PHYSICS_TIMESTEP_S)
    _text(physics, "real_time_factor", 1.0)
    for filename, name in SYSTEM_PLUGINS:
        plugin = ET.SubElement(world, "plugin", filename=filename, name=name)
        if name.endswith("Sensors"):
            _text(plugin, "render_engine", "ogre2")
    scene = ET.SubElement(world, "scene")
    _text(scene, "ambient", _colour((look.ambient,) * 3))
    _text(scene, "background", "0.7 0.8 0.9 1")
    _text(scene, "shadows", "false")
    sun = ET.SubElement(world, "light", name="sun", type="directional")
    _text(sun, "cast_shadows", "false")
    _text(sun, "pose", "0 0 5 0 0 0")
    _text(sun, "diffuse", _colour((look.light_intensity,) * 3))
    _text(sun, "specular", "0.1 0.1 0.1 1")
    _text(sun, "direction", " ".join(f"{v:.6g}" for v in sun_direction(look)))
    world.append(_floor(track, look))
    world.append(_markings(track, look))
    ET.indent(sdf, space="  ")
    return '<?xml version="1.0"?>\n' + ET.tostring(sdf, encoding="unicode") + "\n"


def _floor(track: Track, look: WorldVariation) -> ET.Element:
    low, texels = floor_pixels(track)
    size = np.array(texels) * TEXTURE_M_PER_PIXEL
    centre = low + size / 2
    model = ET.Element("model", name="floor")
    _text(model, "static", "true")
    _text(model, "pose", f"{centre[0]:.6g} {centre[1]:.6g} 0 0 0 0")
    link = ET.SubElement(model, "link", name="floor_link")
    collision = ET.SubElement(link, "collision", name="floor_collision")
    _plane(collision, size)
    ode = ET.SubElement(ET.SubElement(ET.SubElement(collision, "surface"), "friction"), "ode")
    _text(ode, "mu", f"{look.floor_friction:.6g}")
    _text(ode, "mu2", f"{look.floor_friction:.6g}")
    visual = ET.SubElement(link, "visual", name="floor_visual")
    _plane(visual, size)
    _material(visual, look.floor_rgb)
    return model


def _markings(track: Track, look: WorldVariation) -> ET.Element:
    model = ET.Element("model", name="lane_markings")
    _text(model, "static", "true")
    link = ET.SubElement(model, "link", name="markings_link")
    colours = {"boundary": look.boundary_rgb, "centre": look.centre_rgb}
    for k, (kind, x, y, yaw, length) in enumerate(marking_strips(track)):
        visual = ET.SubElement(link, "visual", name=f"{kind}_{k}")
        _text(visual, "pose", f"{x:.5f} {y:.5f} {STRIP_HEIGHT_M / 2:g} 0 0 {yaw:.5f}")
        box = ET.SubElement(ET.SubElement(visual, "geometry"), "box")
        _text(box, "size", f"{length:.5f} {track.marking_width_m:g} {STRIP_HEIGHT_M:g}")
        _material(visual, colours[kind])
    return model


def _plane(parent: ET.Element, size: np.ndarray) -> None:
    plane = ET.SubElement(ET.SubElement(parent, "geometry"), "plane")
    _text(plane, "normal", "0 0 1")
    _text(plane, "size", f"{size[0]:.6g} {size[1]:.6g}")


def _material(visual: ET.Element, rgb: tuple[float, float, float]) -> None:
    material = ET.SubElement(visual, "material")
    for tag in ("ambient", "diffuse"):
        _text(material, tag, _colour(rgb))
    _text(material, "specular", "0 0 0 1")


def _colour(rgb: tuple[float, ...]) -> str:
    return " ".join(f"{c:.4g}" for c in rgb) + " 1"


def _text(parent: ET.Element, tag: str, value: object) -> ET.Element:
    element = ET.SubElement(parent, tag)
    element.text = str(value)
    return element
