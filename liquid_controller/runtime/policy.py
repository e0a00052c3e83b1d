"""``RuntimePolicy``: an exported liquid policy stepped with numpy only.

It computes what ``liquid_controller.models.policy.LiquidPolicy`` computes
(see that module's docstring for the exact order), for batch 1:

1. camera: ``(image / 255 - mean) / std`` -> unpadded Conv2d + ReLU stack ->
   flatten -> ``Linear`` (:mod:`liquid_controller.runtime.encoder`);
2. vectors in spec order, ``(value - mean) / std`` with the spec's statistics;
3. ``features = [image features | vectors]`` -> CfC/LTC core step with ``dt_s``;
4. ``action = Linear(core output)``;
   ``barrier = MIN_BARRIER_GAIN + softplus(Linear(core output))``
   when the spec asks for barrier parameters.

Artifact (kind ``"policy"``): config keys ``spec`` (:meth:`PolicySpec.to_dict`),
``policy.image_encoder`` (``conv_layers`` ``[[out, kernel, stride], ...]``,
``features``, ``image_mean``, ``image_std``; ``null`` without a camera),
``policy.core`` (a core config, see :mod:`liquid_controller.runtime.core`),
``policy.neuron_types``; arrays ``encoder.conv{i}.weight/.bias``,
``encoder.fc.weight/.bias``, ``core.*``, ``action_head.weight/.bias``,
``barrier_head.weight/.bias``.

All buffers are allocated at load; a step allocates only its small float64
results (which the caller keeps).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from liquid_controller.errors import CheckpointError, ObservationError
from liquid_controller.runtime.artifact import Artifact, load_artifact
from liquid_controller.runtime.config import is_finite_number, read_int, read_section
from liquid_controller.runtime.core import RuntimeCore, build_core
from liquid_controller.runtime.encoder import ConvLayerSpec, ConvStack
from liquid_controller.runtime.limits import check_conv_stack
from liquid_controller.runtime.spec import MIN_BARRIER_GAIN, PolicySpec, PolicyStep

__all__ = ["RuntimePolicy"]

Array = npt.NDArray[Any]


def _float_list(section: Mapping[str, Any], key: str, where: str, size: int) -> Array:
    value = section.get(key)
    if not isinstance(value, list) or len(value) != size or not all(map(is_finite_number, value)):
        raise CheckpointError(
            f"artifact config: '{where}.{key}' is {str(value)[:80]}; expected {size} finite numbers"
        )
    return np.asarray(value, dtype=np.float64)


class _ImageEncoder:
    """Conv stack + ``fc`` writing its features into a slice of the feature buffer."""

    def __init__(
        self,
        artifact: Artifact,
        config: Mapping[str, Any],
        spec: PolicySpec,
        dtype: npt.DTypeLike,
    ) -> None:
        assert spec.image is not None
        where = "policy.image_encoder"
        layers = config.get("conv_layers")
        if not isinstance(layers, list) or not layers:
            raise CheckpointError(
                f"artifact config: '{where}.conv_layers' is {layers!r}; "
                "expected a non-empty list of [out_channels, kernel, stride]"
            )
        image = (spec.image.height, spec.image.width, spec.image.channels)
        check_conv_stack(f"{where}.conv_layers", image, layers)  # sizes capped before reading
        channels = spec.image.channels
        specs = []
        for index, layer in enumerate(layers):
            out_c, kernel, stride = layer
            name = f"encoder.conv{index}"
            weight = artifact.array(f"{name}.weight", (out_c, channels, kernel, kernel))
            specs.append(ConvLayerSpec(weight, artifact.array(f"{name}.bias", (out_c,)), stride))
            channels = out_c
        mean = _float_list(config, "image_mean", where, spec.image.channels)
        std = _float_list(config, "image_std", where, spec.image.channels)
        if np.any(std <= 0):
            raise CheckpointError(f"artifact config: '{where}.image_std' must be > 0, got {std}")
        with np.errstate(over="ignore"):
            scale, offset = 1.0 / (255.0 * std), -mean / std
        if not (np.isfinite(scale).all() and np.isfinite(offset).all()):
            raise CheckpointError(
                f"artifact config: '{where}.image_std' is {std.tolist()}; expected values for "
                f"which 1/(255 std) and mean/std (mean {mean.tolist()}) are finite"
            )
        self.convs = ConvStack(
            specs,
            image,
            input_scale=scale,
            input_offset=offset,
            dtype=dtype,
        )
        self.size = read_int(config, "features", where, minimum=1)
        fc_w = artifact.array("encoder.fc.weight", (self.size, self.convs.feature_size))
        self.fc_weight = np.ascontiguousarray(self.convs.chw_columns(fc_w), dtype=dtype)
        self.fc_bias = np.ascontiguousarray(artifact.array("encoder.fc.bias", (self.size,)), dtype)
        self._out = np.zeros(self.size, dtype=dtype)

    def __call__(self, image: Array, out: Array) -> None:
        np.dot(self.fc_weight, self.convs(image), out=self._out)
        self._out += self.fc_bias
        out[...] = self._out


class RuntimePolicy:
    """A stateful, dt-aware policy loaded from an exported artifact (numpy only).

    Implements :class:`~liquid_controller.runtime.spec.Policy`. Use
    :meth:`load` to read a file.

    Args:
        artifact: a loaded ``"policy"`` artifact.
        encoder_dtype: compute dtype of the camera encoder (float32: its GEMMs
            dominate the step; the core always runs in float64).

    Raises:
        CheckpointError: the artifact is not a policy or is inconsistent.
    """

    def __init__(self, artifact: Artifact, *, encoder_dtype: npt.DTypeLike = np.float32) -> None:
        if artifact.kind != "policy":
            raise CheckpointError(
                f"{artifact.source}: artifact kind is {artifact.kind!r}; expected 'policy' "
                "(load bare cores with liquid_controller.runtime.load_core)"
            )
        with artifact.loading():
            self._build(artifact, encoder_dtype)
            artifact.check_all_read()

    def _build(self, artifact: Artifact, encoder_dtype: npt.DTypeLike) -> None:
        self._spec = PolicySpec.from_dict(read_section(artifact.config, "spec", "artifact"))
        spec = self._spec
        policy = read_section(artifact.config, "policy", "artifact")
        self._encoder: _ImageEncoder | None = None
        image_size = 0
        if spec.image is not None:
            self._encoder = _ImageEncoder(
                artifact, read_section(policy, "image_encoder", "policy"), spec, encoder_dtype
            )
            image_size = self._encoder.size
        self._core: RuntimeCore = build_core(artifact, read_section(policy, "core", "policy"))
        feature_size = image_size + sum(v.size for v in spec.vectors)
        if self._core.input_size != feature_size:
            raise CheckpointError(
                f"artifact config: 'policy.core.input_size' is {self._core.input_size}; "
                f"expected {feature_size} (image features + vector inputs)"
            )
        self._features = np.zeros(feature_size, dtype=np.float64)
        self._image_features = self._features[:image_size]
        # Vector normalisation x * (1/std) - mean/std, one slice per spec vector.
        self._vectors: list[tuple[str, Array, Array, Array]] = []
        start = image_size
        for v in spec.vectors:
            inv_std = 1.0 / np.asarray(v.std, dtype=np.float64)
            shift = np.asarray(v.mean, dtype=np.float64) * inv_std
            self._vectors.append((v.name, self._features[start : start + v.size], inv_std, shift))
            start += v.size

        width = self._core.output_size
        self._action_w = artifact.array("action_head.weight", (spec.action.size, width))
        self._action_b = artifact.array("action_head.bias", (spec.action.size,))
        self._barrier: tuple[Array, Array] | None = None
        if spec.barrier_params:
            self._barrier = (
                artifact.array("barrier_head.weight", (spec.barrier_params, width)),
                artifact.array("barrier_head.bias", (spec.barrier_params,)),
            )
        types = policy.get("neuron_types")
        units = self._core.state_size
        if types is None:
            types = ["unit"] * units
        if not isinstance(types, list) or len(types) != units:
            raise CheckpointError(
                f"artifact config: 'policy.neuron_types' is {types!r}; "
                f"expected {units} role names (one per neuron)"
            )
        self._neuron_types = [str(t) for t in types]

    @classmethod
    def load(
        cls, path: str | os.PathLike[str], *, encoder_dtype: npt.DTypeLike = np.float32
    ) -> RuntimePolicy:
        """Load a policy artifact written by ``liquid-controller export``.

        Raises:
            CheckpointError: the file is missing, not an artifact, from a newer
                format, or inconsistent (the message names what is wrong).
        """
        return cls(load_artifact(path), encoder_dtype=encoder_dtype)

    @property
    def spec(self) -> PolicySpec:
        """The observation/action contract."""
        return self._spec

    @property
    def core(self) -> RuntimeCore:
        """The liquid core (state, activity, memory)."""
        return self._core

    @property
    def features(self) -> Array:
        """The core's input at the last step: image features, then normalised vectors (a copy).

        These are the wiring's sensory neurons; vectors in spec order.
        """
        features: Array = self._features.copy()
        return features

    def neuron_types(self) -> list[str]:
        """Role of each entry of :attr:`PolicyStep.activity` (``"unit"`` for a dense core)."""
        return list(self._neuron_types)

    def reset(self) -> None:
        """Reset the hidden state to zeros."""
        self._core.reset()

    def step(self, obs: Mapping[str, Any], dt_s: float) -> PolicyStep:
        """Advance by ``dt_s`` seconds (> 0) given ``obs``; return action, activity, barrier.

        Raises:
            ObservationError: an observation is missing, mis-shaped, of the wrong
                type or non-finite, or ``dt_s`` is not a positive finite number.
                The hidden state is left unchanged.
        """
        self._spec.check_observation(obs)
        if (
            isinstance(dt_s, bool)
            or not isinstance(dt_s, (int, float, np.floating))
            or not (math.isfinite(dt_s) and dt_s > 0)
        ):
            raise ObservationError("dt_s", f"{dt_s!r}; expected a finite number of seconds > 0")
        if self._encoder is not None:
            image = np.asarray(obs["image"])
            if image.dtype != np.uint8:
                raise ObservationError("image", f"dtype {image.dtype}; expected uint8 RGB")
            self._encoder(image, self._image_features)
        for name, target, inv_std, shift in self._vectors:
            np.multiply(obs[name], inv_std, out=target)
            target -= shift
        out = self._core.step(self._features, float(dt_s))
        action = self._action_w @ out + self._action_b
        barrier = None
        if self._barrier is not None:
            logits = self._barrier[0] @ out + self._barrier[1]
            barrier = MIN_BARRIER_GAIN + np.logaddexp(0.0, logits)
        return PolicyStep(action=action, activity=self._core.activity, barrier_params=barrier)
