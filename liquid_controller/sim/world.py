"""The lane-keeping world: the robot from its URDF on a floor painted with a track.

The track's markings are a texture on the floor plane (two solid boundary lines and a dashed
centre line), so rendering costs one textured plane however long the track is. Everything
randomisable for robustness and held-out tests is in :class:`WorldVariation`, drawn from a
seed by :func:`draw_variation`: floor and marking colours, floor texture noise, lighting,
floor friction, camera and IMU noise, and the initial pose.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw

from liquid_controller.sim.description import RobotDescription
from liquid_controller.sim.gl import mujoco
from liquid_controller.sim.robot_model import FOOTPRINT_LINK, robot_spec
from liquid_controller.sim.track import Track

__all__ = [
    "PHYSICS_TIMESTEP_S",
    "WorldVariation",
    "build_world",
    "draw_variation",
    "floor_pixels",
    "sun_direction",
]

PHYSICS_TIMESTEP_S = 0.002
TEXTURE_M_PER_PIXEL = 0.01
FLOOR_MARGIN_M = 3.0
DASH_M = 0.15


@dataclass(frozen=True)
class WorldVariation:
    """One draw of the randomised world (colours RGB in 0..1, SI units elsewhere)."""

    floor_rgb: tuple[float, float, float] = (0.35, 0.35, 0.37)
    boundary_rgb: tuple[float, float, float] = (0.95, 0.95, 0.95)
    centre_rgb: tuple[float, float, float] = (0.95, 0.8, 0.1)
    floor_noise: float = 0.03
    """Standard deviation of the floor's per-texel brightness noise (0..1)."""
    light_intensity: float = 0.7
    light_azimuth_rad: float = 0.5
    light_elevation_rad: float = 1.2
    ambient: float = 0.3
    floor_friction: float = 1.0
    camera_noise_scale: float = 1.0
    """Multiplies the URDF's camera noise."""
    imu_noise_scale: float = 1.0
    """Multiplies the URDF's IMU noise."""
    start_s_m: float = 0.0
    start_lateral_m: float = 0.0
    start_heading_rad: float = 0.0
    texture_seed: int = 0


def draw_variation(rng: np.random.Generator, track: Track) -> WorldVariation:
    """Draw a randomised world for ``track`` (deterministic for the generator's state)."""
    grey = rng.uniform(0.15, 0.5)
    return WorldVariation(
        floor_rgb=tuple(np.clip(grey + rng.normal(0, 0.04, 3), 0, 1).tolist()),
        boundary_rgb=tuple(rng.uniform(0.8, 1.0, 3).tolist()),
        centre_rgb=(rng.uniform(0.8, 1.0), rng.uniform(0.65, 0.9), rng.uniform(0.0, 0.25)),
        floor_noise=rng.uniform(0.0, 0.08),
        light_intensity=rng.uniform(0.4, 0.9),
        light_azimuth_rad=rng.uniform(-math.pi, math.pi),
        light_elevation_rad=rng.uniform(0.7, 1.5),
        ambient=rng.uniform(0.15, 0.45),
        floor_friction=rng.uniform(0.6, 1.2),
        camera_noise_scale=rng.uniform(0.5, 2.0),
        imu_noise_scale=rng.uniform(0.5, 2.0),
        start_s_m=rng.uniform(0.0, track.length_m),
        start_lateral_m=rng.uniform(-0.08, 0.08),
        start_heading_rad=rng.uniform(-0.15, 0.15),
        texture_seed=int(rng.integers(2**31)),
    )


def build_world(
    description: RobotDescription, track: Track, variation: WorldVariation
) -> mujoco.MjModel:
    """Compile the world: the robot at its start pose on the floor painted with ``track``."""
    spec = robot_spec(description)
    spec.modelname = f"lane_{track.name}"
    spec.option.timestep = PHYSICS_TIMESTEP_S
    spec.visual.headlight.ambient = [variation.ambient] * 3
    spec.visual.headlight.diffuse = [0.2, 0.2, 0.2]
    spec.visual.headlight.specular = [0.0, 0.0, 0.0]
    centre, half_size, texture = _floor_texture(track, variation)
    height, width = texture.shape[:2]
    spec.add_texture(
        name="floor",
        type=mujoco.mjtTexture.mjTEXTURE_2D,
        width=width,
        height=height,
        nchannel=3,
    ).data = texture.tobytes()
    material = spec.add_material(name="floor", texrepeat=[1, 1], reflectance=0.0)
    material.textures[mujoco.mjtTextureRole.mjTEXROLE_RGB] = "floor"
    spec.worldbody.add_geom(
        name="floor",
        type=mujoco.mjtGeom.mjGEOM_PLANE,
        pos=[centre[0], centre[1], 0.0],
        size=[half_size[0], half_size[1], 0.1],
        material="floor",
        friction=[variation.floor_friction, 0.005, 0.0001],
    )
    spec.worldbody.add_light(
        name="sun",
        type=mujoco.mjtLightType.mjLIGHT_DIRECTIONAL,
        dir=list(sun_direction(variation)),
        pos=[centre[0], centre[1], 5.0],
        diffuse=[variation.light_intensity] * 3,
        specular=[0.1, 0.1, 0.1],
        castshadow=False,
    )
    x, y, yaw = track.start_pose(variation.start_s_m, variation.start_lateral_m)
    yaw += variation.start_heading_rad
    base = spec.body(FOOTPRINT_LINK)
    base.pos = [x, y, 0.0]
    base.quat = [math.cos(yaw / 2), 0.0, 0.0, math.sin(yaw / 2)]
    return spec.compile()


def sun_direction(variation: WorldVariation) -> tuple[float, float, float]:
    """Unit vector the directional light shines along (world frame), shared with Gazebo."""
    cos_e = math.cos(variation.light_elevation_rad)
    return (
        -cos_e * math.cos(variation.light_azimuth_rad),
        -cos_e * math.sin(variation.light_azimuth_rad),
        -math.sin(variation.light_elevation_rad),
    )


def floor_pixels(track: Track) -> tuple[npt.NDArray[np.float64], tuple[int, int]]:
    """Return the floor's lower corner (m) and its size in texels (width, height).

    The floor reaches :data:`FLOOR_MARGIN_M` past the track, rounded up to whole texels; the
    Gazebo world uses the same extent.
    """
    low = track.points.min(axis=0) - FLOOR_MARGIN_M
    high = track.points.max(axis=0) + FLOOR_MARGIN_M
    width, height = (int(math.ceil(v)) for v in (high - low) / TEXTURE_M_PER_PIXEL)
    return low, (width, height)


def _floor_texture(
    track: Track, variation: WorldVariation
) -> tuple[tuple[float, float], tuple[float, float], npt.NDArray[np.uint8]]:
    """Return the floor's centre, half size (m) and RGB texture with the track painted on."""
    low, (width, height) = floor_pixels(track)
    size_m = np.array([width, height]) * TEXTURE_M_PER_PIXEL
    rng = np.random.default_rng(variation.texture_seed)
    floor = np.asarray(variation.floor_rgb) * 255.0
    noise = rng.normal(0.0, variation.floor_noise * 255.0, (height, width, 1))
    image = Image.fromarray(np.clip(floor + noise, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)

    def pixels(points: npt.NDArray[np.float64]) -> list[tuple[float, float]]:
        # Texture row 0 is the plane's +y edge (MuJoCo maps image rows top-down along -y).
        px = (points - low) / TEXTURE_M_PER_PIXEL
        return [(float(u), float(height - v)) for u, v in px]

    normals = np.stack([-np.sin(track.headings), np.cos(track.headings)], axis=1)
    offset = track.half_width_m + track.marking_width_m / 2
    line_px = max(1, round(track.marking_width_m / TEXTURE_M_PER_PIXEL))
    boundary = tuple(round(255 * c) for c in variation.boundary_rgb)
    for side in (1.0, -1.0):
        edge = track.points + side * offset * normals
        draw.line(pixels(np.vstack([edge, edge[:1]])), fill=boundary, width=line_px, joint="curve")
    centre_colour = tuple(round(255 * c) for c in variation.centre_rgb)
    dash = np.floor(track.arc_lengths / DASH_M).astype(int) % 2 == 0
    starts = np.flatnonzero(np.diff(np.r_[0, dash.astype(int)]) == 1)
    ends = np.flatnonzero(np.diff(np.r_[dash.astype(int), 0]) == -1)
    for a, b in zip(starts, ends, strict=True):
        draw.line(pixels(track.points[a : b + 1]), fill=centre_colour, width=line_px)
    centre = (float(low[0] + size_m[0] / 2), float(low[1] + size_m[1] / 2))
    return centre, (float(size_m[0] / 2), float(size_m[1] / 2)), np.asarray(image)
