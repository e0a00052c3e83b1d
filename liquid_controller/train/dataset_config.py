"""The dataset config: which bags, which topics feed which input, and how to resample and curate.

A YAML mapping in, a validated frozen :class:`DatasetConfig` out; every error is a
:class:`~liquid_controller.errors.ConfigError` naming the dotted key. ``config/dataset.yaml``
is the commented example of every key. Relative paths (``bags``, ``cache_dir``) are taken
relative to the YAML file's folder.
"""

from __future__ import annotations

import enum
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml

from liquid_controller.errors import ConfigError

__all__ = [
    "CLOCKS",
    "JOINT_QUANTITIES",
    "TWIST_FIELDS",
    "Clock",
    "DamagePolicy",
    "CurationConfig",
    "DatasetConfig",
    "ImageConfig",
    "JointsConfig",
    "SplitConfig",
    "TopicsConfig",
    "load_dataset_config",
    "parse_dataset_config",
]

DEFAULT_TARGET_TOPIC = "/effort_controller/commands"
DEFAULT_CACHE_DIR = "~/.cache/liquid_controller/datasets"
JOINT_QUANTITIES = ("position", "velocity")
TWIST_FIELDS = tuple(f"{part}.{axis}" for part in ("linear", "angular") for axis in "xyz")


class Clock(enum.Enum):
    """Which time stamps place a message on the bag's time line."""

    HEADER = "header"
    """``header.stamp`` when the message has a header and the stamp is set (non-zero),
    otherwise the receive (log) time."""
    RECEIVE = "receive"
    """The receive (log) time rosbag2 recorded, for every message."""


CLOCKS = tuple(clock.value for clock in Clock)


class DamagePolicy(enum.Enum):
    """What to do with a bag whose storage file is damaged (e.g. a recording that was killed)."""

    ERROR = "error"
    """Refuse the bag; the error says where the damage starts."""
    KEEP_READABLE = "keep_readable"
    """Use the messages before the damage (MCAP files are walked record by record when
    they cannot be opened); the damage is reported in the statistics."""


@dataclass(frozen=True)
class TopicsConfig:
    """Topic of each role; ``None`` for an absent optional input."""

    camera: str | None = None
    imu: str | None = None
    joint_states: str | None = None
    target: str = DEFAULT_TARGET_TOPIC


@dataclass(frozen=True)
class JointsConfig:
    """Joints read from ``topics.joint_states`` by name, and which quantities become inputs."""

    names: tuple[str, ...]
    quantities: tuple[str, ...] = JOINT_QUANTITIES


@dataclass(frozen=True)
class Crop:
    """Pixels cut from each side of the source image before resizing."""

    top: int = 0
    bottom: int = 0
    left: int = 0
    right: int = 0


@dataclass(frozen=True)
class ImageConfig:
    """The policy's image size (after the optional crop and the resize)."""

    height: int = 66
    width: int = 200
    crop: Crop | None = None
    jpeg_draft: bool = False

    @property
    def crop_sides(self) -> tuple[int, int, int, int] | None:
        """The crop as ``(top, bottom, left, right)`` (a policy spec's ``image.crop``)."""
        if self.crop is None:
            return None
        return (self.crop.top, self.crop.bottom, self.crop.left, self.crop.right)


@dataclass(frozen=True)
class SplitConfig:
    """Fractions of episodes held out; train gets the rest."""

    validation: float = 0.15
    test: float = 0.15
    seed: int = 0


@dataclass(frozen=True)
class CurationConfig:
    """Thresholds of the curation statistics and the optional subsampling (train split only)."""

    duplicate_threshold: float = 1.0
    """Mean absolute pixel difference (grey levels, 0..255) at or below which a frame
    counts as a near-duplicate of the previous one."""
    stretch_ticks: int = 20
    """Length of the windows compared for repeated stretches."""
    stationary_action: float = 1e-3
    """A tick is stationary when every |action| is at or below this."""
    action_bins: int = 8
    """Bins per action of the histograms (equal width over the recorded range)."""
    subsample: bool = False
    drop_duplicates: bool = True
    drop_repeated_stretches: bool = True
    max_stationary_s: float = 1.0
    """Longest stationary stretch kept (its first part); the rest is dropped."""
    max_bin_fraction: float | None = None
    """Rebalancing: drop runs of the most common joint action bin until its share is at
    most this; ``None`` keeps the balance as recorded."""
    min_episode_ticks: int = 2
    """Curated episodes shorter than this are dropped."""


@dataclass(frozen=True)
class DatasetConfig:
    """A validated dataset config (see ``config/dataset.yaml`` for every key)."""

    bags: tuple[Path, ...]
    topics: TopicsConfig
    actions: tuple[str, ...]
    rate_hz: float
    joints: JointsConfig | None = None
    twist_fields: tuple[str, ...] = ("linear.x", "angular.z")
    typestore: str = "ros2_jazzy"
    image: ImageConfig = field(default_factory=ImageConfig)
    clock: Clock = Clock.HEADER
    damaged_bags: DamagePolicy = DamagePolicy.ERROR
    gap_s: float = 0.5
    split: SplitConfig = field(default_factory=SplitConfig)
    curation: CurationConfig = field(default_factory=CurationConfig)
    cache_dir: Path = field(default_factory=lambda: Path(DEFAULT_CACHE_DIR).expanduser())

    @property
    def period_s(self) -> float:
        """The policy period ``1 / rate_hz``."""
        return 1.0 / self.rate_hz

    def fingerprint(self) -> dict[str, Any]:
        """Return the JSON-able settings that shape the data (bags and cache_dir excluded)."""

        def plain(value: Any) -> Any:
            if isinstance(value, enum.Enum):
                return value.value
            if hasattr(value, "__dataclass_fields__"):
                return {f.name: plain(getattr(value, f.name)) for f in fields(value)}
            if isinstance(value, tuple):
                return [plain(item) for item in value]
            return value

        settings = plain(replace(self, bags=(), cache_dir=Path()))
        del settings["bags"], settings["cache_dir"]
        return dict(settings)


# --------------------------------------------------------------------------- validators


def _mapping(key: str, value: Any, known: Sequence[str]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(key or "<file>", value, "a mapping")
    for name in value:
        if name not in known:
            dotted = f"{key}.{name}" if key else str(name)
            raise ConfigError(dotted, value[name], f"one of the known keys: {', '.join(known)}")
    return value


def _number(key: str, value: Any, *, minimum: float, inclusive: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(key, value, "a finite number")
    if value < minimum or (value == minimum and not inclusive):
        raise ConfigError(key, value, f"a number {'>=' if inclusive else '>'} {minimum:g}")
    return float(value)


def _integer(key: str, value: Any, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(key, value, f"an integer >= {minimum}")
    return value


def _boolean(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(key, value, "true or false")
    return value


def _string(key: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(key, value, "a non-empty string")
    return value


def _topic(key: str, value: Any, *, optional: bool) -> str | None:
    if value is None and optional:
        return None
    text = _string(key, value)
    if not text.startswith("/"):
        raise ConfigError(key, value, "an absolute topic name starting with '/'")
    return text


def _names(key: str, value: Any, *, allowed: Sequence[str] | None = None) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Sequence) or not value:
        raise ConfigError(key, value, "a non-empty list of names")
    names = tuple(_string(f"{key}[{i}]", name) for i, name in enumerate(value))
    for i, name in enumerate(names):
        if allowed is not None and name not in allowed:
            raise ConfigError(f"{key}[{i}]", name, f"one of {', '.join(allowed)}")
        if names.index(name) != i:
            raise ConfigError(f"{key}[{i}]", name, "a name not already listed")
    return names


def _path(value: Any, key: str, base: Path) -> Path:
    path = Path(_string(key, value)).expanduser()
    return path if path.is_absolute() else base / path


# --------------------------------------------------------------------------- sections


def _parse_topics(data: Any) -> TopicsConfig:
    section = _mapping("topics", data, [f.name for f in fields(TopicsConfig)])
    topics = TopicsConfig(
        camera=_topic("topics.camera", section.get("camera"), optional=True),
        imu=_topic("topics.imu", section.get("imu"), optional=True),
        joint_states=_topic("topics.joint_states", section.get("joint_states"), optional=True),
        target=_topic("topics.target", section.get("target", DEFAULT_TARGET_TOPIC), optional=False)
        or DEFAULT_TARGET_TOPIC,
    )
    if topics.camera is None and topics.imu is None and topics.joint_states is None:
        raise ConfigError(
            "topics", dict(section), "at least one input: camera, imu or joint_states"
        )
    roles = {"camera": topics.camera, "imu": topics.imu, "joint_states": topics.joint_states}
    roles["target"] = topics.target
    seen: dict[str, str] = {}
    for role, topic in roles.items():
        if topic is not None and topic in seen:
            raise ConfigError(f"topics.{role}", topic, f"a topic other than topics.{seen[topic]}'s")
        if topic is not None:
            seen[topic] = role
    return topics


def _parse_joints(data: Any) -> JointsConfig:
    section = _mapping("joints", data, ["names", "quantities"])
    if "names" not in section:
        raise ConfigError("joints.names", None, "the joints to read (the key is required)")
    return JointsConfig(
        names=_names("joints.names", section["names"]),
        quantities=_names(
            "joints.quantities",
            section.get("quantities", list(JOINT_QUANTITIES)),
            allowed=JOINT_QUANTITIES,
        ),
    )


def _parse_image(data: Any) -> ImageConfig:
    section = _mapping("image", data, ["height", "width", "crop", "jpeg_draft"])
    crop = None
    if section.get("crop") is not None:
        crop_data = _mapping("image.crop", section["crop"], [f.name for f in fields(Crop)])
        crop = Crop(
            **{
                name: _integer(f"image.crop.{name}", value, minimum=0)
                for name, value in crop_data.items()
            }
        )
    return ImageConfig(
        height=_integer("image.height", section.get("height", 66), minimum=1),
        width=_integer("image.width", section.get("width", 200), minimum=1),
        crop=crop,
        jpeg_draft=_boolean("image.jpeg_draft", section.get("jpeg_draft", False)),
    )


def _parse_split(data: Any) -> SplitConfig:
    section = _mapping("split", data, ["validation", "test", "seed"])
    default = SplitConfig()
    validation = _number(
        "split.validation", section.get("validation", default.validation), minimum=0
    )
    test = _number("split.test", section.get("test", default.test), minimum=0)
    if validation + test >= 1.0:
        raise ConfigError(
            "split.test", test, f"validation + test < 1 (validation is {validation:g})"
        )
    return SplitConfig(
        validation=validation,
        test=test,
        seed=_integer("split.seed", section.get("seed", default.seed), minimum=0),
    )


def _parse_curation(data: Any) -> CurationConfig:
    section = _mapping("curation", data, [f.name for f in fields(CurationConfig)])
    default = CurationConfig()
    values: dict[str, Any] = {}
    for name, value in section.items():
        key = f"curation.{name}"
        current = getattr(default, name)
        if name == "max_bin_fraction":
            values[name] = (
                None if value is None else _number(key, value, minimum=0, inclusive=False)
            )
            if values[name] is not None and values[name] > 1:
                raise ConfigError(key, value, "a fraction in (0, 1], or null")
        elif isinstance(current, bool):
            values[name] = _boolean(key, value)
        elif isinstance(current, int):
            values[name] = _integer(key, value, minimum=1)
        else:
            values[name] = _number(key, value, minimum=0)
    return replace(default, **values)


def _parse_bags(data: Any, base: Path) -> tuple[Path, ...]:
    if isinstance(data, str):
        data = [data]
    if not isinstance(data, Sequence) or not data:
        raise ConfigError(
            "bags", data, "a bag folder, a folder of bags, or a non-empty list of them"
        )
    return tuple(_path(value, f"bags[{i}]", base) for i, value in enumerate(data))


def parse_dataset_config(data: Any, *, base_dir: str | Path = ".") -> DatasetConfig:
    """Validate a dataset config mapping.

    Args:
        data: the mapping (``yaml.safe_load`` of a dataset YAML file).
        base_dir: folder that relative ``bags`` and ``cache_dir`` paths start from.

    Raises:
        ConfigError: naming the first key that is missing, unknown or invalid.
    """
    base = Path(base_dir)
    known = [f.name for f in fields(DatasetConfig)]
    top = _mapping("", data, known)
    for required in ("bags", "topics"):
        if required not in top:
            raise ConfigError(required, None, "a value (the key is required)")
    topics = _parse_topics(top["topics"])
    joints = None if top.get("joints") is None else _parse_joints(top["joints"])
    if topics.joint_states is not None and joints is None:
        raise ConfigError("joints", None, "joints.names when topics.joint_states is set")
    twist_fields = _names(
        "twist_fields", top.get("twist_fields", ["linear.x", "angular.z"]), allowed=TWIST_FIELDS
    )
    store = _string("typestore", top.get("typestore", "ros2_jazzy"))
    if store not in ("ros2_humble", "ros2_jazzy"):
        raise ConfigError("typestore", store, "ros2_humble or ros2_jazzy")
    clock_value = top.get("clock", Clock.HEADER.value)
    if clock_value not in CLOCKS:
        raise ConfigError("clock", clock_value, " or ".join(CLOCKS))
    damage_value = top.get("damaged_bags", DamagePolicy.ERROR.value)
    if damage_value not in [policy.value for policy in DamagePolicy]:
        raise ConfigError("damaged_bags", damage_value, "error or keep_readable")
    rate_hz = _number("rate_hz", top.get("rate_hz"), minimum=0, inclusive=False)
    gap_s = _number("gap_s", top.get("gap_s", 0.5), minimum=0, inclusive=False)
    if gap_s < 1.0 / rate_hz:
        raise ConfigError(
            "gap_s", gap_s, f"at least one policy period (1 / rate_hz = {1 / rate_hz:g} s)"
        )
    return DatasetConfig(
        bags=_parse_bags(top["bags"], base),
        topics=topics,
        actions=_names("actions", top.get("actions", ["left_wheel", "right_wheel"])),
        rate_hz=rate_hz,
        joints=joints,
        twist_fields=twist_fields,
        typestore=store,
        image=_parse_image(top.get("image", {})),
        clock=Clock(clock_value),
        damaged_bags=DamagePolicy(damage_value),
        gap_s=gap_s,
        split=_parse_split(top.get("split", {})),
        curation=_parse_curation(top.get("curation", {})),
        cache_dir=_path(top.get("cache_dir", DEFAULT_CACHE_DIR), "cache_dir", base),
    )


def load_dataset_config(path: str | os.PathLike[str]) -> DatasetConfig:
    """Read and validate a dataset YAML file (relative paths start at its folder).

    Raises:
        ConfigError: an unreadable file, malformed YAML, or an invalid key.
    """
    config_path = Path(path)
    try:
        text = config_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(
            "<file>", str(config_path), f"a readable UTF-8 YAML file ({err})"
        ) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError("<file>", str(config_path), f"valid YAML ({err})") from None
    return parse_dataset_config(data, base_dir=config_path.resolve().parent)
