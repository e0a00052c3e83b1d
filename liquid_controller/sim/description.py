"""The robot description (URDF) as the simulator needs it: wheels, limits, camera, IMU.

The URDF in ``description/diff_drive.urdf`` is the single source of truth; MuJoCo imports
its links, joints and inertias itself (:mod:`.robot_model`), and this module reads the
rest, which URDF keeps in ROS conventions: joint ``<limit effort velocity>`` and the
``<gazebo reference=...><sensor>`` elements Gazebo reads for the camera and the IMU.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from liquid_controller.errors import ConfigError
from liquid_controller.package_files import find_data_file

__all__ = [
    "DEFAULT_URDF",
    "CameraSpec",
    "ImuSpec",
    "RobotDescription",
    "WheelSpec",
    "load_description",
]

DEFAULT_URDF = "description/diff_drive.urdf"
"""The package's example robot, relative to the package's data (``find_data_file``)."""


@dataclass(frozen=True)
class WheelSpec:
    """One driven wheel: its continuous joint and the limits of its effort interface."""

    joint: str
    link: str
    radius_m: float
    effort_limit_nm: float
    velocity_limit_rad_s: float
    damping_nms_rad: float
    y_m: float
    """Lateral position of the wheel centre in base_link (left positive)."""


@dataclass(frozen=True)
class CameraSpec:
    """The forward camera (Gazebo ``<sensor type="camera">``)."""

    link: str
    optical_frame: str
    width: int
    height: int
    horizontal_fov_rad: float
    rate_hz: float
    noise_std: float
    """Gaussian pixel noise, as a fraction of full scale (0..1)."""

    @property
    def vertical_fov_rad(self) -> float:
        """Vertical field of view of square pixels (what MuJoCo's ``fovy`` takes)."""
        return 2.0 * math.atan(math.tan(self.horizontal_fov_rad / 2) * self.height / self.width)


@dataclass(frozen=True)
class ImuSpec:
    """The IMU (Gazebo ``<sensor type="imu">``), REP 145 conventions."""

    link: str
    rate_hz: float
    gyro_noise_rad_s: float
    accel_noise_m_s2: float


@dataclass(frozen=True)
class RobotDescription:
    """What the simulator reads from the URDF besides what MuJoCo imports."""

    path: Path
    name: str
    base_link: str
    wheels: tuple[WheelSpec, WheelSpec]
    """Left, then right: the actuator order of the safety config and the policy."""
    camera: CameraSpec
    imu: ImuSpec

    @property
    def track_width_m(self) -> float:
        """Distance between the wheel centres."""
        return abs(self.wheels[0].y_m - self.wheels[1].y_m)

    @property
    def wheel_radius_m(self) -> float:
        """Radius of the driven wheels (both the same)."""
        return self.wheels[0].radius_m


def load_description(path: str | Path | None = None) -> RobotDescription:
    """Read a differential-drive URDF (default: the package's ``description/diff_drive.urdf``).

    Raises:
        ConfigError: the file is missing or malformed, or lacks an element the simulator
            needs (named in the message).
    """
    source = find_data_file(DEFAULT_URDF, key="urdf") if path is None else Path(path)
    try:
        root = ET.parse(source).getroot()
    except (OSError, ET.ParseError) as err:
        raise ConfigError("urdf", str(source), f"a readable URDF file ({err})") from None
    if root.tag != "robot":
        raise ConfigError("urdf", str(source), f"a <robot> root element (found <{root.tag}>)")
    links = {link.get("name", ""): link for link in root.findall("link")}
    joints = {joint.get("name", ""): joint for joint in root.findall("joint")}
    wheels = tuple(_wheel(joints, links, side) for side in ("left", "right"))
    camera_link, camera = _sensor(root, "camera")
    imu_link, imu = _sensor(root, "imu")
    optical = [
        child.get("link")
        for parent, child in ((j.find("parent"), j.find("child")) for j in joints.values())
        if parent is not None and child is not None and parent.get("link") == camera_link
    ]
    if not optical:
        raise ConfigError("urdf.camera", camera_link, "a child optical frame link of the camera")
    if "base_link" not in links:
        raise ConfigError("urdf.link", None, "a link named base_link (REP 105)")
    return RobotDescription(
        path=source,
        name=root.get("name", ""),
        base_link="base_link",
        wheels=(wheels[0], wheels[1]),
        camera=CameraSpec(
            link=camera_link,
            optical_frame=str(optical[0]),
            width=int(_number(camera, "camera/image/width", "camera")),
            height=int(_number(camera, "camera/image/height", "camera")),
            horizontal_fov_rad=_number(camera, "camera/horizontal_fov", "camera"),
            rate_hz=_number(camera, "update_rate", "camera"),
            noise_std=_number(camera, "camera/noise/stddev", "camera"),
        ),
        imu=ImuSpec(
            link=imu_link,
            rate_hz=_number(imu, "update_rate", "imu"),
            gyro_noise_rad_s=_number(imu, "imu/angular_velocity/x/noise/stddev", "imu"),
            accel_noise_m_s2=_number(imu, "imu/linear_acceleration/x/noise/stddev", "imu"),
        ),
    )


def _number(element: ET.Element, path: str, what: str) -> float:
    found = element.find(path)
    try:
        value = float(found.text or "") if found is not None else math.nan
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        text = None if found is None else found.text
        raise ConfigError(f"urdf.{what}.{path.replace('/', '.')}", text, "a number >= 0")
    return value


def _sensor(root: ET.Element, kind: str) -> tuple[str, ET.Element]:
    """Return the link and the ``<sensor>`` element of the sensor of type ``kind``."""
    for gazebo in root.findall("gazebo"):
        sensor = gazebo.find("sensor")
        if sensor is not None and sensor.get("type") == kind:
            return gazebo.get("reference", ""), sensor
    raise ConfigError(
        f"urdf.gazebo.sensor[type={kind}]",
        None,
        f'a <gazebo reference="LINK"><sensor type="{kind}">',
    )


def _wheel(joints: dict[str, ET.Element], links: dict[str, ET.Element], side: str) -> WheelSpec:
    name = f"{side}_wheel"
    joint = joints.get(name)
    if joint is None or joint.get("type") != "continuous":
        raise ConfigError(f"urdf.joint.{name}", None, f"a continuous joint named {name}")
    limit, dynamics = joint.find("limit"), joint.find("dynamics")
    child = joint.find("child")
    link_name = "" if child is None else child.get("link", "")
    cylinder = links.get(link_name)
    cylinder = None if cylinder is None else cylinder.find("collision/geometry/cylinder")
    if limit is None or cylinder is None:
        raise ConfigError(
            f"urdf.joint.{name}", None, "a <limit effort velocity> and a cylinder collision"
        )
    origin = joint.find("origin")
    xyz = (
        [0.0, 0.0, 0.0]
        if origin is None
        else [float(v) for v in origin.get("xyz", "0 0 0").split()]
    )
    return WheelSpec(
        joint=name,
        link=link_name,
        radius_m=float(cylinder.get("radius", "nan")),
        effort_limit_nm=float(limit.get("effort", "nan")),
        velocity_limit_rad_s=float(limit.get("velocity", "nan")),
        damping_nms_rad=0.0 if dynamics is None else float(dynamics.get("damping", "0")),
        y_m=xyz[1],
    )
