"""Where datasets meet models: the spec a dataset implies, and whether data fits a spec.

Normalisation statistics come from the training split only
(:func:`spec_from_splits`); every other split, and every later run, is checked
against the spec stored in the checkpoint (:func:`check_episodes_fit`), with
errors that name the episode, the key, what was found and what was expected.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from liquid_controller.errors import ConfigError
from liquid_controller.runtime.spec import ActionSpec, ImageInput, PolicySpec, VectorInput
from liquid_controller.train.episodes import DatasetSplits, Episode

__all__ = ["MIN_STD", "action_scale", "check_episodes_fit", "spec_from_splits"]

MIN_STD = 1e-6
"""A field whose training-split standard deviation is below this is constant; its std becomes 1."""

_UNITS: dict[str, str | tuple[str, ...]] = {
    "imu": ("m/s^2",) * 3 + ("rad/s",) * 3,
    "joint_position": "rad",
    "joint_velocity": "rad/s",
}


def _units(name: str, size: int) -> tuple[str, ...]:
    units = _UNITS.get(name, "")
    if isinstance(units, tuple):
        return units if len(units) == size else ("",) * size
    return (units,) * size


def _rows(episodes: Iterable[Episode], key: str) -> np.ndarray:
    return np.concatenate([np.asarray(e.observations[key], dtype=np.float64) for e in episodes])


def spec_from_splits(
    splits: DatasetSplits,
    *,
    barrier_params: int = 0,
    action_units: Sequence[str] | None = None,
) -> PolicySpec:
    """Return the policy spec for ``splits``, normalised with training-split statistics.

    Raises:
        ConfigError: the training split is empty, or ``action_units`` has the wrong length.
    """
    if not splits.train or sum(len(e) for e in splits.train) == 0:
        raise ConfigError(
            "data", "an empty training split", "episodes to take normalisation statistics from"
        )
    check_episodes_fit(
        splits.train, splits.action_names, splits.vector_fields, splits.image_shape, "train"
    )
    names = tuple(splits.action_names)
    units = tuple(action_units) if action_units is not None else ("",) * len(names)
    if len(units) != len(names):
        raise ConfigError(
            "model.action_units", list(units), f"{len(names)} units, one per action {list(names)}"
        )
    vectors = []
    for name, fields in splits.vector_fields.items():
        rows = _rows(splits.train, name)
        mean, std = rows.mean(axis=0), rows.std(axis=0)
        std = np.where(std < MIN_STD, 1.0, std)
        vectors.append(
            VectorInput(
                name=name,
                fields=tuple(fields),
                units=_units(name, len(fields)),
                mean=tuple(float(m) for m in mean),
                std=tuple(float(s) for s in std),
            )
        )
    image = None
    if splits.image_shape is not None:
        height, width, channels = splits.image_shape
        image = ImageInput(int(height), int(width), int(channels), splits.image_crop)
    return PolicySpec(
        action=ActionSpec(names, units),
        vectors=tuple(vectors),
        image=image,
        barrier_params=barrier_params,
    )


def action_scale(episodes: Sequence[Episode]) -> np.ndarray:
    """Per-action standard deviation over ``episodes`` (1 for constant actions): the loss scale."""
    rows = np.concatenate([np.asarray(e.action, dtype=np.float64) for e in episodes])
    std = rows.std(axis=0)
    return np.where(std < MIN_STD, 1.0, std)


def check_episodes_fit(
    episodes: Iterable[Episode],
    action_names: Sequence[str],
    vector_fields: Mapping[str, Sequence[str]],
    image_shape: Sequence[int] | None,
    where: str,
) -> None:
    """Check every episode's arrays against the declared names and shapes.

    Raises:
        ConfigError: naming the episode and key with a wrong shape, a missing key,
            a non-finite value or a non-positive ``dt``.
    """
    for episode in episodes:
        at = f"{where} episode {episode.name!r}"
        steps = len(episode)
        expected: dict[str, tuple[int, ...]] = {"action": (steps, len(action_names))}
        for name, fields in vector_fields.items():
            expected[name] = (steps, len(fields))
        if image_shape is not None:
            expected["image"] = (steps, *image_shape)
        arrays = {"action": episode.action, **episode.observations}
        for key, shape in expected.items():
            if key not in arrays:
                raise ConfigError(f"{at}: {key}", None, f"an array of shape {shape}")
            found = np.shape(arrays[key])
            if tuple(found) != tuple(shape):
                raise ConfigError(f"{at}: {key}", f"shape {tuple(found)}", f"shape {shape}")
            if key != "image" and not np.isfinite(arrays[key]).all():
                bad = int(np.size(arrays[key]) - np.isfinite(arrays[key]).sum())
                raise ConfigError(f"{at}: {key}", f"{bad} non-finite value(s)", "finite values")
        dt = np.asarray(episode.dt_s)
        if dt.shape != (steps,) or not (np.isfinite(dt).all() and (dt > 0).all()):
            raise ConfigError(f"{at}: dt_s", f"shape {dt.shape}", f"({steps},) finite seconds > 0")


def check_spec_fits(spec: PolicySpec, splits: DatasetSplits, model: str) -> None:
    """Check that a model's spec reads this dataset: actions, vectors and image agree.

    Raises:
        ConfigError: naming what differs between ``model``'s spec and the dataset.
    """
    if tuple(spec.action.names) != tuple(splits.action_names):
        raise ConfigError(
            f"{model}: action names",
            list(spec.action.names),
            f"the dataset's actions {list(splits.action_names)} (same order)",
        )
    for vector in spec.vectors:
        fields = splits.vector_fields.get(vector.name)
        if fields is None:
            raise ConfigError(
                f"{model}: input {vector.name!r}",
                "absent from the dataset",
                f"one of the dataset's inputs {sorted(splits.vector_fields)}",
            )
        if tuple(fields) != tuple(vector.fields):
            raise ConfigError(
                f"{model}: fields of {vector.name!r}",
                list(fields),
                f"the model's fields {list(vector.fields)}",
            )
    extra = sorted(set(splits.vector_fields) - {v.name for v in spec.vectors})
    if extra:
        raise ConfigError(f"{model}: inputs", extra, "only inputs the model reads")
    want = (
        None if spec.image is None else (spec.image.height, spec.image.width, spec.image.channels)
    )
    have = None if splits.image_shape is None else tuple(splits.image_shape)
    if want != have:
        raise ConfigError(f"{model}: image shape", have, f"the model's camera input {want}")
