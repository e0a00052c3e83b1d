"""What a policy consumes and produces: the contract between sensing, models, runtime and ROS.

Both the torch policy (``liquid_controller.models``) and the torch-free runtime
(``liquid_controller.runtime``) implement :class:`Policy`; ``control`` and
``ros`` only ever talk to this protocol. The spec travels inside every
checkpoint and exported artifact as plain JSON (:meth:`PolicySpec.to_dict`).

Observation keys (all float arrays unless said otherwise):

- ``"image"``: ``(height, width, 3)`` uint8, RGB, as produced by
  ``liquid_controller.sensing``.
- one key per :class:`VectorInput`, e.g. ``"imu"`` with shape ``(6,)``
  (linear acceleration xyz in m/s^2, angular velocity xyz in rad/s), or
  ``"joint_position"`` / ``"joint_velocity"`` in the order of the spec's names.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

import numpy as np
import numpy.typing as npt

from liquid_controller.errors import CheckpointError, ObservationError
from liquid_controller.runtime.limits import MAX_IMAGE_CHANNELS, MAX_IMAGE_SIDE, MAX_LAYER_WIDTH

__all__ = [
    "MIN_BARRIER_GAIN",
    "ActionSpec",
    "ImageInput",
    "Policy",
    "PolicySpec",
    "PolicyStep",
    "VectorInput",
]

FloatArray = npt.NDArray[np.float64]

MIN_BARRIER_GAIN = 1e-2
"""Floor of a policy's barrier head: ``gain = MIN_BARRIER_GAIN + softplus(Linear(core))``.

softplus alone underflows to exactly 0 for very negative inputs, and the safety filter
rejects class-K gains <= 0; the floor keeps every gain a policy emits strictly positive.
"""


@dataclass(frozen=True)
class ImageInput:
    """A camera input: cropped, then resized to ``(height, width)`` RGB for the policy.

    ``crop`` is ``(top, bottom, left, right)``: pixels cut from each side of the camera
    frame before the resize, as the training data was cut; ``None`` for none. It travels
    with the model so that the robot prepares frames exactly as training did.
    """

    height: int
    width: int
    channels: int = 3
    crop: tuple[int, int, int, int] | None = None


@dataclass(frozen=True)
class VectorInput:
    """A vector observation with per-field units and normalisation statistics.

    The policy sees ``(value - mean) / std``.
    """

    name: str
    fields: tuple[str, ...]
    units: tuple[str, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]

    @property
    def size(self) -> int:
        """Number of fields."""
        return len(self.fields)


@dataclass(frozen=True)
class ActionSpec:
    """The command vector: one entry per actuator, in actuator order."""

    names: tuple[str, ...]
    units: tuple[str, ...]

    @property
    def size(self) -> int:
        """Number of actuators."""
        return len(self.names)


@dataclass(frozen=True)
class PolicySpec:
    """Everything outside the network that a caller needs to feed it and read it."""

    action: ActionSpec
    vectors: tuple[VectorInput, ...] = ()
    image: ImageInput | None = None
    barrier_params: int = 0
    """Number of extra outputs for the safety layer (BarrierNet class-K gains); 0 if none."""
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable description (inverse of :meth:`from_dict`)."""
        return {
            "action": {"names": list(self.action.names), "units": list(self.action.units)},
            "vectors": [
                {
                    "name": v.name,
                    "fields": list(v.fields),
                    "units": list(v.units),
                    "mean": list(v.mean),
                    "std": list(v.std),
                }
                for v in self.vectors
            ],
            "image": None
            if self.image is None
            else {
                "height": self.image.height,
                "width": self.image.width,
                "channels": self.image.channels,
                "crop": None if self.image.crop is None else list(self.image.crop),
            },
            "barrier_params": self.barrier_params,
            "extra": dict(self.extra),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PolicySpec:
        """Parse and validate a spec; raise :class:`CheckpointError` naming the bad key."""
        try:
            action = ActionSpec(tuple(data["action"]["names"]), tuple(data["action"]["units"]))
            vectors = tuple(
                VectorInput(
                    name=str(v["name"]),
                    fields=tuple(v["fields"]),
                    units=tuple(v["units"]),
                    mean=tuple(_number(x) for x in v["mean"]),
                    std=tuple(_number(x) for x in v["std"]),
                )
                for v in data.get("vectors", ())
            )
            image_data = data.get("image")
            image = (
                None
                if image_data is None
                else ImageInput(
                    int(image_data["height"]),
                    int(image_data["width"]),
                    int(image_data.get("channels", 3)),
                    _crop(image_data.get("crop")),
                )
            )
            spec = cls(
                action=action,
                vectors=vectors,
                image=image,
                barrier_params=int(data.get("barrier_params", 0)),
                extra=dict(data.get("extra", {})),
            )
        except KeyError as err:
            raise CheckpointError(f"policy spec: missing key {err.args[0]!r}") from None
        except (TypeError, ValueError, OverflowError) as err:
            raise CheckpointError(f"policy spec: malformed value ({err})") from None
        spec.validate()
        return spec

    def validate(self) -> None:
        """Check internal consistency; raise :class:`CheckpointError` naming the bad entry."""
        if self.action.size == 0:
            raise CheckpointError(
                "policy spec: 'action.names' is empty; expected at least one actuator"
            )
        if len(self.action.units) != self.action.size:
            raise CheckpointError(
                f"policy spec: 'action.units' has {len(self.action.units)} entries; "
                f"expected {self.action.size} (one per action name)"
            )
        for v in self.vectors:
            for key in ("units", "mean", "std"):
                if len(getattr(v, key)) != v.size:
                    raise CheckpointError(
                        f"policy spec: 'vectors[{v.name}].{key}' has "
                        f"{len(getattr(v, key))} entries; expected {v.size} (one per field)"
                    )
            for key in ("mean", "std"):
                for index, number in enumerate(getattr(v, key)):
                    if not math.isfinite(number):
                        raise CheckpointError(
                            f"policy spec: 'vectors[{v.name}].{key}[{index}]' is {number}; "
                            "expected a finite number"
                        )
            if any(not s > 0 for s in v.std):
                raise CheckpointError(
                    f"policy spec: 'vectors[{v.name}].std' must be > 0, got {v.std}"
                )
            for index, (mean, std) in enumerate(zip(v.mean, v.std, strict=True)):
                if not (math.isfinite(1.0 / std) and math.isfinite(mean / std)):
                    raise CheckpointError(
                        f"policy spec: 'vectors[{v.name}].std[{index}]' is {std}; expected a "
                        f"std for which 1/std and mean/std (mean {mean}) are finite"
                    )
        if self.image is not None:
            crop = dict(zip(CROP_SIDES, self.image.crop, strict=True)) if self.image.crop else {}
            for side, value in crop.items():
                if not 0 <= value <= MAX_CROP_PIXELS:
                    raise CheckpointError(
                        f"policy spec: 'image.crop.{side}' is {value}; expected an integer "
                        f"in [0, {MAX_CROP_PIXELS}]"
                    )
            for key, cap in (
                ("height", MAX_IMAGE_SIDE),
                ("width", MAX_IMAGE_SIDE),
                ("channels", MAX_IMAGE_CHANNELS),
            ):
                value = getattr(self.image, key)
                if not 1 <= value <= cap:
                    raise CheckpointError(
                        f"policy spec: 'image.{key}' is {value}; expected an integer in [1, {cap}]"
                    )
        sizes = (
            ("action.names", self.action.size, 1),
            ("barrier_params", self.barrier_params, 0),
            ("vectors", sum(v.size for v in self.vectors), 0),
        )
        for key, size, minimum in sizes:
            if not minimum <= size <= MAX_LAYER_WIDTH:
                raise CheckpointError(
                    f"policy spec: '{key}' has size {size}; expected {minimum} to {MAX_LAYER_WIDTH}"
                )

    def check_observation(self, obs: Mapping[str, Any]) -> None:
        """Raise :class:`ObservationError` for a missing key, wrong shape or non-finite value."""
        if self.image is not None:
            image = obs.get("image")
            expected = (self.image.height, self.image.width, self.image.channels)
            if image is None:
                raise ObservationError(
                    "image", "missing; expected an array of shape " + str(expected)
                )
            if tuple(np.shape(image)) != expected:
                raise ObservationError(
                    "image", f"shape {tuple(np.shape(image))}; expected {expected}"
                )
        for v in self.vectors:
            value = obs.get(v.name)
            if value is None:
                raise ObservationError(v.name, f"missing; expected {v.size} values {v.fields}")
            arr = np.asarray(value, dtype=np.float64)
            if arr.shape != (v.size,):
                raise ObservationError(v.name, f"shape {arr.shape}; expected ({v.size},)")
            if not np.all(np.isfinite(arr)):
                raise ObservationError(v.name, f"non-finite value {arr.tolist()}")


CROP_SIDES = ("top", "bottom", "left", "right")
"""The order of :attr:`ImageInput.crop`."""

MAX_CROP_PIXELS = 65536
"""Largest crop from one side, in pixels of the camera frame (larger than any sensor)."""


def _crop(value: Any) -> tuple[int, int, int, int] | None:
    """Parse ``image.crop``: ``None`` or four integers (``CROP_SIDES``)."""
    if value is None:
        return None
    if not isinstance(value, (list, tuple)) or len(value) != len(CROP_SIDES):
        raise ValueError(f"'image.crop' is {value!r}; expected null or [top, bottom, left, right]")
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise ValueError(f"'image.crop' is {value!r}; expected four integers")
    top, bottom, left, right = value
    return (top, bottom, left, right)


def _number(value: Any) -> float:
    """``float(value)``, with an integer beyond float range as infinity (rejected by name)."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


class PolicyStep(NamedTuple):
    """One control tick's output."""

    action: FloatArray
    """Nominal command, shape ``(action.size,)``, float64, before the safety filter."""
    activity: FloatArray
    """Activity of every neuron of the liquid core after this step, shape ``(units,)``."""
    barrier_params: FloatArray | None
    """Class-K gains for the safety layer (each >= ``MIN_BARRIER_GAIN``), or ``None`` if the
    policy has no such head."""


class Policy(Protocol):
    """A stateful, dt-aware policy: the torch model and the numpy runtime both implement this."""

    @property
    def spec(self) -> PolicySpec:
        """The observation/action contract."""
        ...

    def reset(self) -> None:
        """Reset the hidden state to its initial value."""
        ...

    def step(self, obs: Mapping[str, Any], dt_s: float) -> PolicyStep:
        """Advance the hidden state by ``dt_s`` seconds given ``obs``; return the outputs."""
        ...
