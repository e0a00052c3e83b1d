"""In-memory episodes whose true observation -> command mapping is known (no bags)."""

from __future__ import annotations

import numpy as np

from liquid_controller.sensing.imu import IMU_FIELDS
from liquid_controller.train.episodes import DatasetSplits, Episode

ACTIONS = ("left_wheel", "right_wheel")
IMAGE_SHAPE = (12, 16, 3)


def true_command(imu: np.ndarray, image: np.ndarray | None = None) -> np.ndarray:
    """The mapping the data follows: wheel torques from the IMU (and the image's brightness)."""
    left = 0.8 * imu[:, 0] - 0.5 * imu[:, 5]
    right = 0.6 * np.tanh(imu[:, 1]) + 0.3 * imu[:, 5]
    if image is not None:
        left = left + (image[:, :, :, 0].mean(axis=(1, 2)) / 255.0 - 0.5)
    return np.stack([left, right], axis=1).astype(np.float32)


def episode(name: str, steps: int, rng: np.random.Generator, *, camera: bool = False) -> Episode:
    """One episode: smooth random IMU signals (9.81 on z), irregular dt around 20 Hz."""
    t = np.linspace(0.0, steps / 20.0, steps)
    phases = rng.uniform(0, 2 * np.pi, size=6)
    freqs = rng.uniform(0.2, 1.5, size=6)
    imu = np.sin(t[:, None] * freqs * 2 * np.pi + phases) * rng.uniform(0.5, 2.0, size=6)
    imu[:, 2] += 9.81
    imu = imu.astype(np.float32)
    dt = rng.uniform(0.04, 0.06, size=steps)
    dt[0] = 0.05
    observations: dict[str, np.ndarray] = {"imu": imu}
    image = None
    if camera:
        level = (127 + 100 * np.sin(t * 2 + phases[0])).astype(np.uint8)
        image = np.broadcast_to(level[:, None, None, None], (steps, *IMAGE_SHAPE)).copy()
        observations["image"] = image
    return Episode(
        name=name,
        t_s=np.cumsum(dt),
        dt_s=dt,
        observations=observations,
        action=true_command(imu, image),
    )


def splits(
    *,
    train: int = 6,
    validation: int = 2,
    test: int = 2,
    steps: int = 40,
    seed: int = 0,
    camera: bool = False,
) -> DatasetSplits:
    """Train/validation/test episodes of the known mapping."""
    rng = np.random.default_rng(seed)

    def make(prefix: str, count: int) -> tuple[Episode, ...]:
        return tuple(
            episode(f"{prefix}#{i}", steps + 7 * i, rng, camera=camera) for i in range(count)
        )

    return DatasetSplits(
        train=make("train", train),
        validation=make("validation", validation),
        test=make("test", test),
        action_names=ACTIONS,
        vector_fields={"imu": IMU_FIELDS},
        image_shape=IMAGE_SHAPE if camera else None,
        statistics={"frames": 0},
    )


SMALL_ENCODER = {"conv_layers": [[4, 3, 2], [8, 3, 2]], "features": 8}
