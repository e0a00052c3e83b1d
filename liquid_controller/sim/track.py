"""Lane-keeping tracks: a closed centre line from straights and arcs, and where a pose is on it.

A track is data (``description/tracks/<name>.yaml``, format in ``oval.yaml``), shared by the
MuJoCo world and the Gazebo world. Ground truth for metrics and for the expert comes from
:meth:`Track.locate`: progress along the centre line, signed lateral offset (left of the
direction of travel positive) and the heading error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import yaml

from liquid_controller.errors import ConfigError
from liquid_controller.package_files import find_data_file

__all__ = ["TRACK_DIR", "LaneState", "Track", "load_track", "track_names"]

TRACK_DIR = "description/tracks"
SAMPLE_SPACING_M = 0.01
CLOSURE_TOLERANCE_M = 0.01
FloatArray = npt.NDArray[np.float64]


class LaneState(NamedTuple):
    """Where a pose is relative to the lane centre (ground truth)."""

    s_m: float
    """Arc length of the nearest centre-line point from the start, in [0, length)."""
    lateral_m: float
    """Signed offset from the centre line, left of the direction of travel positive."""
    heading_error_rad: float
    """Robot yaw minus the centre line's direction, wrapped to (-pi, pi]."""
    curvature_1_m: float
    """Signed curvature of the centre line there (left turn positive)."""


@dataclass(frozen=True)
class Track:
    """A closed centre line sampled every :data:`SAMPLE_SPACING_M` metres."""

    name: str
    held_out: bool
    lane_width_m: float
    marking_width_m: float
    points: FloatArray
    """(n, 2) centre-line points, x and y in the world frame (m)."""
    headings: FloatArray
    """(n,) direction of travel at each point (rad)."""
    curvatures: FloatArray
    """(n,) signed curvature at each point (1/m)."""
    arc_lengths: FloatArray
    """(n,) arc length of each point from the start (m), increasing from 0."""
    length_m: float

    @property
    def half_width_m(self) -> float:
        """Distance from the centre to either boundary marking's inner edge."""
        return self.lane_width_m / 2

    def start_pose(self, s_m: float = 0.0, lateral_m: float = 0.0) -> tuple[float, float, float]:
        """Return ``(x, y, yaw)`` on the centre line at ``s_m``, shifted ``lateral_m`` left."""
        i = self.index(s_m)
        yaw = float(self.headings[i])
        x, y = self.points[i]
        return float(x - lateral_m * math.sin(yaw)), float(y + lateral_m * math.cos(yaw)), yaw

    def index(self, s_m: float) -> int:
        """Return the sample index at arc length ``s_m`` (wrapped around the lap)."""
        i = int(np.searchsorted(self.arc_lengths, s_m % self.length_m, side="right")) - 1
        return max(i, 0)

    def locate(self, x: float, y: float, yaw: float) -> LaneState:
        """Return the lane state of a robot at ``(x, y)`` with heading ``yaw``."""
        d = self.points - (x, y)
        i = int(np.argmin(np.einsum("ij,ij->i", d, d)))
        heading = float(self.headings[i])
        dx, dy = x - self.points[i, 0], y - self.points[i, 1]
        along = dx * math.cos(heading) + dy * math.sin(heading)
        lateral = -dx * math.sin(heading) + dy * math.cos(heading)
        s = float((self.arc_lengths[i] + along) % self.length_m)
        error = math.atan2(math.sin(yaw - heading), math.cos(yaw - heading))
        return LaneState(s, float(lateral), error, float(self.curvatures[i]))


def track_names() -> tuple[str, ...]:
    """Return the names of the package's tracks (``description/tracks/*.yaml``), sorted."""
    folder = find_data_file(TRACK_DIR, key="track")
    return tuple(sorted(path.stem for path in folder.glob("*.yaml")))


def load_track(name_or_path: str | Path) -> Track:
    """Load a track by package track name (``oval``) or from a YAML file path.

    Raises:
        ConfigError: unknown name, unreadable file, a malformed key (named), or a centre
            line that does not close on itself.
    """
    source = Path(name_or_path)
    if source.suffix not in (".yaml", ".yml"):
        names = track_names()
        if str(name_or_path) not in names:
            raise ConfigError("track", str(name_or_path), f"one of {list(names)} or a .yaml path")
        source = find_data_file(f"{TRACK_DIR}/{name_or_path}.yaml", key="track")
    try:
        data = yaml.safe_load(source.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise ConfigError("track", str(source), f"a readable YAML track file ({err})") from None
    return parse_track(data, where=str(source))


def parse_track(data: Any, *, where: str = "track") -> Track:
    """Build a :class:`Track` from the parsed YAML mapping (see :func:`load_track`)."""
    if not isinstance(data, dict):
        raise ConfigError(where, data, "a mapping with name, lane_width_m, start, segments")
    lane_width = _positive(data, "lane_width_m")
    marking = _positive(data, "marking_width_m")
    start = data.get("start")
    if not isinstance(start, dict):
        raise ConfigError("start", start, "a mapping {x, y, yaw_rad}")
    x, y, yaw = (_number(start, key, "start.") for key in ("x", "y", "yaw_rad"))
    segments = data.get("segments")
    if not isinstance(segments, list) or not segments:
        raise ConfigError("segments", segments, "a non-empty list of straight_m / arc entries")
    points, headings, curvatures, arc_lengths = [], [], [], []
    travelled = 0.0
    for k, segment in enumerate(segments):
        length, curvature = _segment(segment, f"segments[{k}]")
        n = max(1, round(length / SAMPLE_SPACING_M))
        step = length / n
        for _ in range(n):
            points.append((x, y))
            headings.append(yaw)
            curvatures.append(curvature)
            arc_lengths.append(travelled)
            travelled += step
            if curvature == 0.0:
                x, y = x + step * math.cos(yaw), y + step * math.sin(yaw)
            else:
                new_yaw = yaw + step * curvature
                x += (math.sin(new_yaw) - math.sin(yaw)) / curvature
                y -= (math.cos(new_yaw) - math.cos(yaw)) / curvature
                yaw = new_yaw
    x0, y0 = points[0]
    gap = math.hypot(x - x0, y - y0)
    turn = math.atan2(math.sin(yaw - headings[0]), math.cos(yaw - headings[0]))
    if gap > CLOSURE_TOLERANCE_M or abs(turn) > 1e-3:
        raise ConfigError(
            "segments",
            f"a centre line ending {gap:.3f} m and {turn:.4f} rad from its start",
            f"a closed track (within {CLOSURE_TOLERANCE_M} m and 1e-3 rad)",
        )
    return Track(
        name=str(data.get("name", where)),
        held_out=bool(data.get("held_out", False)),
        lane_width_m=lane_width,
        marking_width_m=marking,
        points=np.array(points),
        headings=np.array(headings),
        curvatures=np.array(curvatures),
        arc_lengths=np.array(arc_lengths),
        length_m=travelled,
    )


def _segment(segment: Any, key: str) -> tuple[float, float]:
    """Return ``(length, signed curvature)`` of one segment entry."""
    if isinstance(segment, dict) and set(segment) == {"straight_m"}:
        return _positive(segment, "straight_m", f"{key}."), 0.0
    if isinstance(segment, dict) and set(segment) == {"arc"} and isinstance(segment["arc"], dict):
        radius = _positive(segment["arc"], "radius_m", f"{key}.arc.")
        angle = math.radians(_number(segment["arc"], "angle_deg", f"{key}.arc."))
        if angle == 0.0:
            raise ConfigError(f"{key}.arc.angle_deg", 0, "a non-zero turn")
        return radius * abs(angle), math.copysign(1.0 / radius, angle)
    raise ConfigError(key, segment, "{straight_m: L} or {arc: {radius_m: R, angle_deg: A}}")


def _number(mapping: dict[str, Any], key: str, prefix: str = "") -> float:
    value = mapping.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{prefix}{key}", value, "a finite number")
    return float(value)


def _positive(mapping: dict[str, Any], key: str, prefix: str = "") -> float:
    value = _number(mapping, key, prefix)
    if value <= 0:
        raise ConfigError(f"{prefix}{key}", value, "a positive number (m)")
    return value
