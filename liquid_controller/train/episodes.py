"""The aligned data that datasets hand to training and evaluation.

An :class:`Episode` is one uninterrupted stretch of a recording resampled at the
policy rate: row ``k`` holds the newest sample of every input stamped at or
before tick ``k`` (never a later one), the command executed at tick ``k`` and the
true time since the previous tick. Observation keys are the policy spec's keys
(``"image"``, ``"imu"``, ``"joint_position"``, ``"joint_velocity"``), so a row is
exactly what ``Policy.step`` receives on the robot.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["DatasetSplits", "Episode"]


@dataclass(frozen=True)
class Episode:
    """One episode at the policy rate; every array has the tick count ``T`` first.

    Attributes:
        name: ``"<bag name>#<index>"``, stable for a given bag and config.
        t_s: ``(T,)`` float64 tick times on the chosen clock (seconds).
        dt_s: ``(T,)`` float64 seconds since the previous tick (the first tick gets the
            nominal period ``1 / rate``).
        observations: per spec key, ``(T, ...)`` arrays: ``"image"`` ``(T, H, W, 3)``
            uint8 RGB; vectors ``(T, n)`` float32 in the spec's field order.
        action: ``(T, A)`` float32, the executed command in actuator order.
    """

    name: str
    t_s: npt.NDArray[np.float64]
    dt_s: npt.NDArray[np.float64]
    observations: Mapping[str, np.ndarray]
    action: npt.NDArray[np.float32]

    def __len__(self) -> int:
        return int(self.t_s.shape[0])


@dataclass(frozen=True)
class DatasetSplits:
    """Episodes split by episode (never by frame), plus what describes them.

    Attributes:
        train, validation, test: the episodes of each split.
        action_names: actuator names, in the order of ``Episode.action``'s columns.
        vector_fields: per vector observation key, its field names in column order
            (e.g. ``{"imu": ("linear_acceleration.x", ...)}``).
        image_shape: ``(H, W, 3)`` of ``"image"``, or ``None`` without a camera.
        image_crop: ``(top, bottom, left, right)`` pixels cut from each camera frame before
            the resize, or ``None``; the trained policy's spec carries it to the robot.
        statistics: curation statistics (JSON-able) as stored with the dataset.
    """

    train: tuple[Episode, ...]
    validation: tuple[Episode, ...]
    test: tuple[Episode, ...]
    action_names: tuple[str, ...]
    vector_fields: Mapping[str, tuple[str, ...]]
    image_shape: tuple[int, int, int] | None
    statistics: Mapping[str, Any] = field(default_factory=dict)
    image_crop: tuple[int, int, int, int] | None = None

    def split(self, name: str) -> tuple[Episode, ...]:
        """Return the episodes of ``"train"``, ``"validation"`` or ``"test"``."""
        if name not in ("train", "validation", "test"):
            raise ValueError(f"split {name!r}: expected 'train', 'validation' or 'test'")
        return getattr(self, name)
