"""The robot policy network: camera + vector inputs -> liquid core -> action (+ barrier) heads.

:class:`LiquidPolicy` is built from a :class:`~liquid_controller.runtime.spec.PolicySpec`
(input/output names, sizes and normalisation) and a JSON-able architecture
config (:func:`default_policy_config` documents every key). :class:`TorchPolicy`
wraps it in the stateful :class:`~liquid_controller.runtime.spec.Policy`
protocol used by ``control`` and ``ros``.

Computation of one step (the numpy runtime implements exactly this), for a
batch of ``B`` samples:

1. Camera (if ``spec.image``): ``image`` is ``(B, H, W, C)`` uint8 RGB.
   ``x = image / 255``; ``x = (x - image_mean) / image_std`` per channel
   (config ``image_encoder.image_mean`` / ``image_std``, length ``C``);
   permute to ``(B, C, H, W)``; for each ``[out_channels, kernel, stride]``
   of ``image_encoder.conv_layers``: ``x = relu(conv2d(x))`` (no padding,
   square kernel, with bias); flatten in ``(C, H, W)`` order;
   ``image_features = encoder.fc(x)`` (``Linear``, no activation), width
   ``image_encoder.features``.
2. Vectors: the spec's vector inputs concatenated in spec order, raw values,
   ``(B, V)``; ``v = (vector - mean) / std`` with the spec's statistics.
3. ``features = concat([image_features, v], dim=1)`` (image first; either
   part absent when the spec has none).
4. ``core_out, h_next = core.step(features, h, dt)`` — a
   :class:`~liquid_controller.models.sequence.CfC` or ``LTC`` (see
   :mod:`liquid_controller.models.sequence` for its maths and state layout);
   ``dt`` is ``(B, 1)`` seconds; ``core_out`` is the motor neurons'
   output (``core.output_size`` wide).
5. ``action = action_head(core_out)`` (``Linear``).
6. If ``spec.barrier_params > 0``:
   ``barrier = MIN_BARRIER_GAIN + softplus(barrier_head(core_out))`` (``Linear``;
   class-K gains for the BarrierNet safety layer, kept strictly positive by the floor
   from :mod:`liquid_controller.runtime.spec`).

Parameter names: ``encoder.convs.<2i>.weight/bias`` (``Conv2d``, ReLU at odd
indices), ``encoder.fc.weight/bias``, ``core.<sequence model names>``,
``action_head.weight/bias``, ``barrier_head.weight/bias``. The
normalisation statistics are non-persistent buffers derived from config and
spec, never stored twice.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from liquid_controller.errors import ConfigError, ObservationError
from liquid_controller.models.baselines import FeedForwardCore, LSTMCore
from liquid_controller.models.sequence import LiquidRNN, rnn_from_config
from liquid_controller.models.size_limits import check_core_limits
from liquid_controller.models.wiring import wiring_from_config
from liquid_controller.runtime.config import is_finite_number
from liquid_controller.runtime.limits import MAX_LAYER_WIDTH, check_conv_stack, check_size
from liquid_controller.runtime.spec import (
    MIN_BARRIER_GAIN,
    ActionSpec,
    ImageInput,
    PolicySpec,
    PolicyStep,
    VectorInput,
)
from liquid_controller.sensing.imu import IMU_FIELDS

__all__ = [
    "ConvEncoder",
    "LiquidPolicy",
    "PolicyOutput",
    "TorchPolicy",
    "default_policy_config",
    "default_policy_spec",
]

# The NCP driving model's 5-layer conv head, sized for 66x200 RGB.
DEFAULT_CONV_LAYERS = ((24, 5, 2), (36, 5, 2), (48, 3, 2), (64, 3, 1), (64, 3, 1))
# ImageNet per-channel statistics: a sensible start until a dataset provides its own.
DEFAULT_IMAGE_MEAN = (0.485, 0.456, 0.406)
DEFAULT_IMAGE_STD = (0.229, 0.224, 0.225)


def default_policy_spec(*, camera: bool = True, barrier_params: int = 0) -> PolicySpec:
    """Return the spec of the package's example differential-drive robot.

    Actuators ``left_wheel`` / ``right_wheel`` in N*m; IMU vector ``imu``
    (linear acceleration in m/s^2, angular velocity in rad/s) normalised by
    an untrained robot's prior (gravity removed from z, accelerations scaled by
    2 m/s^2, rates by 1 rad/s; training replaces these with dataset
    statistics); optionally a 66x200 RGB camera.
    """
    return PolicySpec(
        action=ActionSpec(("left_wheel", "right_wheel"), ("N*m", "N*m")),
        vectors=(
            VectorInput(
                name="imu",
                fields=IMU_FIELDS,
                units=("m/s^2",) * 3 + ("rad/s",) * 3,
                mean=(0.0, 0.0, 9.81, 0.0, 0.0, 0.0),
                std=(2.0, 2.0, 2.0, 1.0, 1.0, 1.0),
            ),
        ),
        image=ImageInput(66, 200, 3) if camera else None,
        barrier_params=barrier_params,
    )


def default_policy_config(*, cell: str = "cfc", seed: int = 22222) -> dict[str, Any]:
    """Return the default architecture config (JSON-able).

    Keys:

    - ``image_encoder``: ``conv_layers`` (list of ``[out_channels, kernel,
      stride]``), ``features`` (width of the encoder's output),
      ``image_mean`` / ``image_std`` (per channel, applied after ``/ 255``).
      Ignored for a spec without a camera.
    - ``core``: a :func:`~liquid_controller.models.sequence.rnn_from_config`
      dict without ``input_size`` (the policy sets it): ``cell`` (``"cfc"``
      or ``"ltc"``), ``wiring`` (a wiring config: ``type`` and ``args``,
      matrices optional) or ``units``, and the cell's options; or a baseline
      of :mod:`liquid_controller.models.baselines`: ``cell`` ``"lstm"``
      (``units``) or ``"feedforward"`` (``units``, ``layers``).

    Args:
        cell: ``"cfc"``, ``"ltc"``, ``"lstm"`` or ``"feedforward"`` (baselines: 19 units,
            the size of the default wiring).
        seed: seed of the AutoNCP(19, 2) wiring.
    """
    baselines: dict[str, dict[str, Any]] = {
        "lstm": {"cell": "lstm", "units": 19},
        "feedforward": {"cell": "feedforward", "units": 19, "layers": 2},
    }
    core: dict[str, Any] = baselines.get(cell) or {
        "cell": cell,
        "wiring": {
            "type": "AutoNCP",
            "args": {"units": 19, "output_size": 2, "sparsity_level": 0.5, "seed": seed},
        },
    }
    if cell == "cfc":
        core.update(mode="default", mixed_memory=False)
    elif cell == "ltc":
        core.update(ode_unfolds=6, implicit_param_constraints=True, mixed_memory=False)
    elif cell not in baselines:
        raise ConfigError("core.cell", cell, "'cfc', 'ltc', 'lstm' or 'feedforward'")
    return {
        "image_encoder": {
            "conv_layers": [list(layer) for layer in DEFAULT_CONV_LAYERS],
            "features": 32,
            "image_mean": list(DEFAULT_IMAGE_MEAN),
            "image_std": list(DEFAULT_IMAGE_STD),
        },
        "core": core,
    }


class ConvEncoder(nn.Module):
    """Camera encoder: normalise, conv + ReLU stack, flatten, linear features.

    Args:
        image: input image size.
        conv_layers: ``[out_channels, kernel, stride]`` per layer.
        features: output width.
        image_mean: per-channel mean of the ``[0, 1]``-scaled image.
        image_std: per-channel standard deviation (> 0).
    """

    image_mean: torch.Tensor
    image_std: torch.Tensor

    def __init__(
        self,
        image: ImageInput,
        conv_layers: Sequence[Sequence[int]],
        features: int,
        image_mean: Sequence[float],
        image_std: Sequence[float],
    ) -> None:
        super().__init__()
        key = "image_encoder"
        for name, stats in (("image_mean", image_mean), ("image_std", image_std)):
            if (
                not isinstance(stats, Sequence)
                or len(stats) != image.channels
                or not all(map(is_finite_number, stats))
            ):
                raise ConfigError(
                    f"{key}.{name}", stats, f"{image.channels} finite numbers (one/channel)"
                )
        if any(not (s > 0 and math.isfinite(1 / (255 * s))) for s in image_std) or any(
            not math.isfinite(m / s) for m, s in zip(image_mean, image_std, strict=True)
        ):
            raise ConfigError(
                f"{key}.image_std", list(image_std), "values > 0 with 1/(255 std), mean/std finite"
            )
        check_size(f"{key}.features", features, MAX_LAYER_WIDTH)
        height, width, _ = check_conv_stack(
            f"{key}.conv_layers", (image.height, image.width, image.channels), conv_layers
        )
        layers: list[nn.Module] = []
        channels = image.channels
        for out_channels, kernel, stride in conv_layers:
            layers += [nn.Conv2d(channels, int(out_channels), int(kernel), int(stride)), nn.ReLU()]
            channels = int(out_channels)
        self.convs = nn.Sequential(*layers)
        self.fc = nn.Linear(channels * height * width, features)
        self.features = int(features)
        shape = (1, 1, 1, image.channels)
        self.register_buffer(
            "image_mean", torch.tensor(image_mean).reshape(shape), persistent=False
        )
        self.register_buffer("image_std", torch.tensor(image_std).reshape(shape), persistent=False)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """Encode ``(B, H, W, C)`` images with values in ``[0, 255]`` to ``(B, features)``."""
        x = image.to(self.image_mean.dtype) / 255.0
        x = (x - self.image_mean) / self.image_std
        x = self.convs(x.permute(0, 3, 1, 2))
        features: torch.Tensor = self.fc(torch.flatten(x, 1))
        return features


class PolicyOutput(NamedTuple):
    """One batched policy step."""

    action: torch.Tensor
    """``(B, action size)`` nominal command."""
    barrier: torch.Tensor
    """``(B, spec.barrier_params)`` positive gains (width 0 without a barrier head)."""
    state: torch.Tensor
    """``(B, core.state_size)`` next hidden state."""


class LiquidPolicy(nn.Module):
    """Camera/IMU/joint features -> liquid core -> action head (+ barrier head).

    Args:
        config: architecture (see :func:`default_policy_config`); a deep copy is kept,
            with the core's wiring completed by its generated matrices.
        spec: inputs, outputs and normalisation.

    Raises:
        ConfigError: a config key is missing or invalid (the key is named).
    """

    vector_mean: torch.Tensor
    vector_std: torch.Tensor

    def __init__(self, config: Mapping[str, Any], spec: PolicySpec) -> None:
        super().__init__()
        spec.validate()
        if not isinstance(config, Mapping) or "core" not in config:
            raise ConfigError("core", None, "a 'core' entry (see default_policy_config())")
        self.config: dict[str, Any] = copy.deepcopy(dict(config))
        self.spec = spec
        self.encoder: ConvEncoder | None = None
        feature_size = 0
        if spec.image is not None:
            encoder = self.config.get("image_encoder")
            if not isinstance(encoder, Mapping):
                raise ConfigError("image_encoder", encoder, "a mapping (the spec has a camera)")
            try:
                self.encoder = ConvEncoder(spec.image, **encoder)
            except TypeError as err:
                raise ConfigError("image_encoder", sorted(encoder), f"known keys ({err})") from None
            feature_size += self.encoder.features
        self.vector_size = sum(v.size for v in spec.vectors)
        feature_size += self.vector_size
        if feature_size == 0:
            raise ConfigError("spec", "no image and no vectors", "at least one input")
        mean = [m for v in spec.vectors for m in v.mean]
        std = [s for v in spec.vectors for s in v.std]
        self.register_buffer("vector_mean", torch.tensor(mean).reshape(1, -1), persistent=False)
        self.register_buffer("vector_std", torch.tensor(std).reshape(1, -1), persistent=False)

        core_config = self.config["core"]
        if not isinstance(core_config, Mapping):
            raise ConfigError("core", core_config, "a mapping")
        for derived in ("input_size", "return_sequences", "batch_first", "proj_size"):
            if derived in core_config:
                raise ConfigError(f"core.{derived}", core_config[derived], "absent (set by policy)")
        core_config = dict(core_config)
        check_core_limits(core_config)  # before a wiring allocates units x units matrices
        if "wiring" in core_config:
            wiring = wiring_from_config(core_config["wiring"])
            wiring.build(feature_size)
            core_config["wiring"] = wiring.get_config()
        self.core: LiquidRNN | LSTMCore | FeedForwardCore = rnn_from_config(
            {**core_config, "input_size": feature_size}
        )
        self.config["core"] = core_config
        self.feature_size = feature_size
        self.action_head = nn.Linear(self.core.output_size, spec.action.size)
        self.barrier_head = (
            nn.Linear(self.core.output_size, spec.barrier_params) if spec.barrier_params else None
        )

    def get_config(self) -> dict[str, Any]:
        """Return the complete architecture config (wiring matrices included), JSON-able."""
        return copy.deepcopy(self.config)

    def neuron_types(self) -> list[str]:
        """Role of every core neuron in neuron-id order (``"unit"`` for a dense core)."""
        wiring = getattr(self.core.rnn_cell, "wiring", None)
        return ["unit"] * self.core.units if wiring is None else wiring.neuron_types()

    def initial_state(self, batch: int) -> torch.Tensor:
        """Return the reset hidden state, ``(batch, core.state_size)`` zeros."""
        return self.core.initial_state(batch)

    def features(self, image: torch.Tensor | None, vector: torch.Tensor) -> torch.Tensor:
        """Steps 1-3 of the module docstring: the core's input ``(B, feature_size)``."""
        parts = []
        if self.encoder is not None:
            if image is None:
                raise ValueError("LiquidPolicy: 'image' is required (the spec has a camera)")
            parts.append(self.encoder(image))
        if self.vector_size:
            parts.append((vector.to(self.vector_mean.dtype) - self.vector_mean) / self.vector_std)
        return torch.cat(parts, dim=1)

    def forward(
        self,
        image: torch.Tensor | None,
        vector: torch.Tensor,
        h: torch.Tensor,
        dt: torch.Tensor,
    ) -> PolicyOutput:
        """Run one step for a batch (see the module docstring).

        Args:
            image: ``(B, H, W, C)`` uint8 (or float in ``[0, 255]``); ``None`` without a camera.
            vector: ``(B, V)`` raw vector inputs in spec order (``V`` may be 0).
            h: ``(B, core.state_size)`` hidden state.
            dt: elapsed seconds, ``(B,)``, ``(B, 1)`` or a scalar tensor.
        """
        core_out, h_next = self.core.step(self.features(image, vector), h, dt)
        action = self.action_head(core_out)
        if self.barrier_head is None:
            barrier = action.new_zeros(action.shape[0], 0)
        else:
            barrier = MIN_BARRIER_GAIN + F.softplus(self.barrier_head(core_out))
        return PolicyOutput(action, barrier, h_next)


class TorchPolicy:
    """The :class:`~liquid_controller.runtime.spec.Policy` protocol around a :class:`LiquidPolicy`.

    Keeps the hidden state between calls (batch 1), runs without gradients,
    and returns float64 numpy arrays.
    """

    def __init__(self, model: LiquidPolicy) -> None:
        self.model = model.eval()
        self._state = model.initial_state(1)

    @property
    def spec(self) -> PolicySpec:
        """The observation/action contract."""
        return self.model.spec

    def neuron_types(self) -> list[str]:
        """Role of each entry of :attr:`PolicyStep.activity`."""
        return self.model.neuron_types()

    def reset(self) -> None:
        """Reset the hidden state to zeros."""
        self._state = self.model.initial_state(1)

    def step(self, obs: Mapping[str, Any], dt_s: float) -> PolicyStep:
        """Advance by ``dt_s`` seconds (> 0) given ``obs``; see the module docstring.

        Raises:
            ObservationError: an observation is missing, mis-shaped, of the wrong
                type or non-finite, or ``dt_s`` is not a positive finite number.
        """
        spec = self.spec
        spec.check_observation(obs)
        if not isinstance(dt_s, (int, float, np.floating)) or not (
            math.isfinite(dt_s) and dt_s > 0
        ):
            raise ObservationError("dt_s", f"{dt_s!r}; expected a finite number of seconds > 0")
        image = None
        if spec.image is not None:
            array = np.asarray(obs["image"])
            if array.dtype != np.uint8:
                raise ObservationError("image", f"dtype {array.dtype}; expected uint8 RGB")
            # A copy: message buffers are often read-only, which torch warns about.
            image = torch.from_numpy(np.array(array, order="C", copy=True))[None]
        values = [np.asarray(obs[v.name], dtype=np.float64) for v in spec.vectors]
        vector = torch.from_numpy(np.concatenate(values) if values else np.zeros(0))[None]
        with torch.no_grad():
            out = self.model(image, vector, self._state, torch.tensor([float(dt_s)]))
        self._state = out.state
        activity = self.model.core.activity(out.state)[0]
        return PolicyStep(
            action=out.action[0].double().numpy(),
            activity=activity.double().numpy(),
            barrier_params=None
            if self.model.barrier_head is None
            else out.barrier[0].double().numpy(),
        )
