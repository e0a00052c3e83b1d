"""The episodes an explanation runs on, built from a bag by the training data path.

A bag is decoded and aligned at the policy rate exactly as for training
(:func:`~liquid_controller.train.recording.read_recording`,
:func:`~liquid_controller.train.dataset.recording_episodes`): row ``k`` of an episode is what
``Policy.step`` received at tick ``k``. The dataset config comes from a YAML file or is
built from the policy's spec and default topic names.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from liquid_controller.errors import ConfigError
from liquid_controller.runtime.spec import PolicySpec

if TYPE_CHECKING:
    from liquid_controller.train.dataset_config import DatasetConfig

__all__ = [
    "DEFAULT_TOPICS",
    "MASK_LABELS",
    "ExplainEpisode",
    "bag_dataset_config",
    "episodes_from_bag",
]

DEFAULT_TOPICS = {
    "camera": "/camera/image_raw",
    "imu": "/imu/data",
    "joint_states": "/joint_states",
    "target": "/effort_controller/commands",
}
"""Topics read from a bag when no dataset config is given (the robot's and simulator's)."""
MASK_LABELS = ("other", "road", "lane marking")
"""Meaning of the values of :attr:`ExplainEpisode.masks`."""
JOINT_VECTORS = {"joint_position": "position", "joint_velocity": "velocity"}


@dataclass(frozen=True)
class ExplainEpisode:
    """One episode at the policy rate (rows are ticks).

    Attributes:
        name: where it comes from (``"<bag>#<index>"`` or ``"sim seed <n>"``).
        t_s: ``(T,)`` tick times, seconds.
        dt_s: ``(T,)`` seconds integrated at each tick.
        observations: per spec key, ``(T, ...)`` arrays (``"image"`` uint8 RGB).
        recorded_action: ``(T, A)`` command recorded with the episode, or ``None``.
        masks: ``(T, H, W)`` uint8 scene labels of each frame (indices into
            :data:`MASK_LABELS`), or ``None`` when no segmentation exists (real bags).
    """

    name: str
    t_s: npt.NDArray[np.float64]
    dt_s: npt.NDArray[np.float64]
    observations: Mapping[str, np.ndarray]
    recorded_action: np.ndarray | None = None
    masks: npt.NDArray[np.uint8] | None = None

    def __len__(self) -> int:
        return int(self.t_s.shape[0])

    def observation(self, tick: int) -> dict[str, np.ndarray]:
        """Return the observation of tick ``tick`` (what ``Policy.step`` receives)."""
        return {key: values[tick] for key, values in self.observations.items()}


def bag_dataset_config(
    bag: Path,
    spec: PolicySpec,
    *,
    config_path: str | os.PathLike[str] | None = None,
    rate_hz: float | None = None,
    topics: Mapping[str, str] | None = None,
) -> DatasetConfig:
    """Return the dataset config that reads ``bag`` for a policy with ``spec``.

    Args:
        bag: the bag folder.
        spec: the policy's spec (its image size, vectors and actions shape the config).
        config_path: a dataset YAML (``liquid-controller dataset``'s format); its ``bags``
            are replaced by ``bag``. ``None`` builds one from :data:`DEFAULT_TOPICS`.
        rate_hz: policy rate; overrides the file's (default without a file: 50 Hz).
        topics: per role (``camera``, ``imu``, ``joint_states``, ``target``), a topic that
            replaces the default or the file's.

    Raises:
        ConfigError: an invalid config, or one whose inputs do not give the spec's.
    """
    from liquid_controller.train.dataset_config import (
        load_dataset_config,
        parse_dataset_config,
    )

    overrides = dict(topics or {})
    for role in overrides:
        if role not in DEFAULT_TOPICS:
            raise ConfigError(f"topics.{role}", overrides[role], f"one of {list(DEFAULT_TOPICS)}")
    if config_path is not None:
        config = load_dataset_config(config_path)
        changes: dict[str, Any] = {"bags": (bag,)}
        if rate_hz is not None:
            changes["rate_hz"] = rate_hz
        if overrides:
            changes["topics"] = dataclasses.replace(config.topics, **overrides)
        config = dataclasses.replace(config, **changes)
    else:
        vector_names = {v.name for v in spec.vectors}
        wanted = {
            "camera": spec.image is not None,
            "imu": "imu" in vector_names,
            "joint_states": bool(vector_names & set(JOINT_VECTORS)),
            "target": True,
        }
        chosen = {role: overrides.get(role, DEFAULT_TOPICS[role]) for role in wanted}
        data: dict[str, Any] = {
            "bags": [str(bag)],
            "topics": {role: chosen[role] if wanted[role] else None for role in wanted},
            "actions": list(spec.action.names),
            "rate_hz": 50.0 if rate_hz is None else rate_hz,
        }
        if spec.image is not None:
            data["image"] = {"height": spec.image.height, "width": spec.image.width}
        if wanted["joint_states"]:
            joints = [v for v in spec.vectors if v.name in JOINT_VECTORS]
            data["joints"] = {
                "names": list(joints[0].fields),
                "quantities": [JOINT_VECTORS[v.name] for v in joints],
            }
        config = parse_dataset_config(data)
    _check_config_fits(config, spec)
    return config


def _check_config_fits(config: DatasetConfig, spec: PolicySpec) -> None:
    if spec.image is not None:
        if config.topics.camera is None:
            raise ConfigError("topics.camera", None, "a camera topic (the policy has a camera)")
        size = (config.image.height, config.image.width)
        if size != (spec.image.height, spec.image.width):
            raise ConfigError(
                "image",
                f"{size[0]}x{size[1]}",
                f"the policy's {spec.image.height}x{spec.image.width}",
            )
    provided = set()
    if config.topics.imu is not None:
        provided.add("imu")
    if config.topics.joint_states is not None and config.joints is not None:
        provided |= {f"joint_{q}" for q in config.joints.quantities}
    for vector in spec.vectors:
        if vector.name not in provided:
            raise ConfigError(
                "topics", vector.name, f"a topic giving the policy's input {vector.name!r}"
            )
    if tuple(config.actions) != spec.action.names:
        raise ConfigError(
            "actions", list(config.actions), f"the policy's {list(spec.action.names)}"
        )


def episodes_from_bag(bag: Path, spec: PolicySpec, config: DatasetConfig) -> list[ExplainEpisode]:
    """Decode and align ``bag`` with ``config`` (:func:`bag_dataset_config`); one per stretch.

    Raises:
        ConfigError: ``bag`` is not a folder.
        DatasetError: the bag cannot become episodes (the message says why).
    """
    from liquid_controller.train.dataset import recording_episodes
    from liquid_controller.train.recording import read_recording

    if not Path(bag).is_dir():
        raise ConfigError("bag", str(bag), "an existing rosbag2 folder")
    episodes, _ = recording_episodes(read_recording(Path(bag), config), config)
    keys = ["image"] if spec.image is not None else []
    keys += [v.name for v in spec.vectors]
    return [
        ExplainEpisode(
            name=episode.name,
            t_s=np.asarray(episode.t_s, dtype=np.float64),
            dt_s=np.asarray(episode.dt_s, dtype=np.float64),
            observations={key: np.asarray(episode.observations[key]) for key in keys},
            recorded_action=np.asarray(episode.action, dtype=np.float64),
        )
        for episode in episodes
    ]
