"""Export torch liquid networks to the numpy-only runtime artifact.

:func:`core_arrays` turns a CfC or LTC sequence model (this package's, or an
ncps 1.0.1 one, converted first) into the runtime's config and
named arrays (names listed in :mod:`liquid_controller.runtime.cfc` and
:mod:`liquid_controller.runtime.ltc`); :func:`export_core` writes them as a
``"core"`` artifact. :func:`policy_arrays` / :func:`export_policy` do the same
for a whole :class:`~liquid_controller.models.policy.LiquidPolicy` (camera
encoder, core, heads and the spec), and :func:`export_checkpoint` for a
checkpoint file: that is what ``liquid-controller export`` runs.
"""

from __future__ import annotations

import os
from typing import Any, cast

import numpy as np
import torch
from torch import nn

from liquid_controller.errors import CheckpointError
from liquid_controller.models.baselines import FeedForwardCore, LSTMCore
from liquid_controller.models.cells import CfCCell, LTCCell, WiredCfCCell
from liquid_controller.models.checkpoint import load_checkpoint
from liquid_controller.models.convert import from_ncps
from liquid_controller.models.policy import LiquidPolicy
from liquid_controller.models.sequence import LTC, CfC, LiquidRNN
from liquid_controller.runtime.artifact import save_artifact

__all__ = [
    "core_arrays",
    "export_checkpoint",
    "export_core",
    "export_policy",
    "policy_arrays",
    "verify_export",
]


def _np(tensor: torch.Tensor) -> np.ndarray:
    """Copy a tensor exactly: float32/float64 kept (the runtime widens at load), else float64."""
    dtype = tensor.dtype if tensor.dtype in (torch.float32, torch.float64) else torch.float64
    return np.array(tensor.detach().to("cpu", dtype).numpy(), copy=True)


def _linear(prefix: str, layer: nn.Linear, arrays: dict[str, np.ndarray]) -> None:
    arrays[f"{prefix}.weight"] = _np(layer.weight)
    if layer.bias is not None:
        arrays[f"{prefix}.bias"] = _np(layer.bias)


def _cfc_cell_arrays(cell: CfCCell, name: str, arrays: dict[str, np.ndarray]) -> None:
    """Copy one ncps-style ``CfCCell`` (ff1/ff2/time_a/time_b or w_tau/A, mask)."""
    _linear(f"{name}.ff1", cell.ff1, arrays)
    if cell.mode == "pure":
        assert cell.w_tau is not None and cell.A is not None
        arrays[f"{name}.w_tau"] = _np(cell.w_tau)
        arrays[f"{name}.A"] = _np(cell.A)
    else:
        for gate in ("ff2", "time_a", "time_b"):
            _linear(f"{name}.{gate}", getattr(cell, gate), arrays)
    mask = getattr(cell, "sparsity_mask", None)
    if mask is not None:
        arrays[f"{name}.sparsity_mask"] = _np(mask)


def _memory_arrays(module: LiquidRNN, arrays: dict[str, np.ndarray]) -> bool:
    if module.lstm is None:
        return False
    _linear("lstm.input_map", module.lstm.input_map, arrays)
    arrays["lstm.recurrent_map.weight"] = _np(module.lstm.recurrent_map.weight)
    return True


def _cfc_arrays(module: CfC) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    arrays: dict[str, np.ndarray] = {}
    cell = module.rnn_cell
    config: dict[str, Any] = {"type": "cfc", "input_size": int(module.input_size)}
    if isinstance(cell, WiredCfCCell):  # one CfC cell per wiring layer
        config.update(
            wired=True,
            mode=cell.mode,
            layer_sizes=[int(n) for n in cell.layer_sizes],
            units=int(cell.state_size),
            state_neuron_ids=[int(n) for n in cell.state_neuron_ids],
        )
        for index, layer in enumerate(cell.layers):
            _cfc_cell_arrays(cast(CfCCell, layer), f"cell.layer{index}", arrays)
    else:
        cell = cast(CfCCell, cell)
        backbone = cell.backbone
        linears = [] if backbone is None else [m for m in backbone if isinstance(m, nn.Linear)]
        config.update(
            wired=False,
            mode=cell.mode,
            units=int(cell.hidden_size),
            backbone_layers=len(linears),
            backbone_units=int(cell.backbone_units),
            activation=str(module.activation),
        )
        for index, linear in enumerate(linears):
            _linear(f"cell.backbone{index}", linear, arrays)
        _cfc_cell_arrays(cell, "cell.layer0", arrays)
    config["mixed_memory"] = _memory_arrays(module, arrays)
    fc = getattr(module, "fc", None)
    if isinstance(fc, nn.Linear):
        config["proj_size"] = int(fc.out_features)
        _linear("fc", fc, arrays)
    else:
        config["proj_size"] = None
    return config, arrays


_LTC_PARAMS = (
    "gleak",
    "vleak",
    "cm",
    "sigma",
    "mu",
    "w",
    "erev",
    "sensory_sigma",
    "sensory_mu",
    "sensory_w",
    "sensory_erev",
    "sparsity_mask",
    "sensory_sparsity_mask",
)


def _ltc_arrays(module: LTC) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    cell = cast(LTCCell, module.rnn_cell)
    arrays = {f"cell.{name}": _np(getattr(cell, name)) for name in _LTC_PARAMS}
    for name in ("input_w", "input_b", "output_w", "output_b"):
        if getattr(cell, name) is not None:
            arrays[f"cell.{name}"] = _np(getattr(cell, name))
    config: dict[str, Any] = {
        "type": "ltc",
        "input_size": int(cell.input_size),
        "units": int(cell.state_size),
        "motor_size": int(cell.motor_size),
        "ode_unfolds": int(cell.ode_unfolds),
        "epsilon": float(cell.epsilon),
        "implicit_param_constraints": bool(cell.implicit_param_constraints),
        "input_mapping": str(cell.input_mapping),
        "output_mapping": str(cell.output_mapping),
    }
    config["mixed_memory"] = _memory_arrays(module, arrays)
    return config, arrays


def _baseline_arrays(
    module: LSTMCore | FeedForwardCore,
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The baselines' runtime config is their own config; arrays keep their torch names."""
    config = module.get_config()
    config["type"] = config.pop("cell")
    return config, {name: _np(value) for name, value in module.state_dict().items()}


def core_arrays(module: nn.Module) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Return ``(config, arrays)`` describing a sequence model for the runtime.

    Args:
        module: a :class:`~liquid_controller.models.sequence.CfC` or ``LTC``, an
            ncps 1.0.1 ``CfC``/``LTC`` (converted first with ``from_ncps``), or a
            baseline core (:mod:`liquid_controller.models.baselines`).

    Raises:
        ConfigError: ``module`` is none of these.
    """
    if isinstance(module, (LSTMCore, FeedForwardCore)):
        return _baseline_arrays(module)
    if not isinstance(module, LiquidRNN):
        module = from_ncps(module)
    if isinstance(module, LTC):
        return _ltc_arrays(module)
    return _cfc_arrays(module)  # type: ignore[arg-type]


def export_core(module: nn.Module, path: str | os.PathLike[str]) -> None:
    """Write ``module`` (a CfC or LTC sequence model) as a ``"core"`` artifact at ``path``."""
    config, arrays = core_arrays(module)
    save_artifact(
        path,
        kind="core",
        config={"core": config},
        arrays={f"core.{name}": value for name, value in arrays.items()},
    )


def _encoder_arrays(policy: LiquidPolicy, arrays: dict[str, np.ndarray]) -> dict[str, Any] | None:
    encoder = policy.encoder
    if encoder is None:
        return None
    layers = []
    convs = [m for m in encoder.convs if isinstance(m, nn.Conv2d)]
    for index, conv in enumerate(convs):
        kernel, stride, padding = conv.kernel_size, conv.stride, conv.padding
        if (
            kernel[0] != kernel[1]
            or stride[0] != stride[1]
            or any(padding)
            or conv.dilation != (1, 1)
        ):
            raise CheckpointError(
                f"cannot export encoder conv {index}: the runtime takes square, unpadded, "
                f"undilated convolutions (kernel {kernel}, stride {stride}, padding {padding})"
            )
        layers.append([int(conv.out_channels), int(kernel[0]), int(stride[0])])
        _linear(f"encoder.conv{index}", conv, arrays)  # type: ignore[arg-type]
    _linear("encoder.fc", encoder.fc, arrays)
    return {
        "conv_layers": layers,
        "features": int(encoder.features),
        "image_mean": [float(v) for v in encoder.image_mean.reshape(-1)],
        "image_std": [float(v) for v in encoder.image_std.reshape(-1)],
    }


def policy_arrays(policy: LiquidPolicy) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Return ``(config, arrays)`` of a ``"policy"`` artifact for ``policy``.

    Raises:
        CheckpointError: the encoder uses a convolution the runtime does not implement.
    """
    arrays: dict[str, np.ndarray] = {}
    encoder = _encoder_arrays(policy, arrays)
    core_config, core = core_arrays(policy.core)
    arrays.update({f"core.{name}": value for name, value in core.items()})
    _linear("action_head", policy.action_head, arrays)
    if policy.barrier_head is not None:
        _linear("barrier_head", policy.barrier_head, arrays)
    config = {
        "spec": policy.spec.to_dict(),
        "policy": {
            "image_encoder": encoder,
            "core": core_config,
            "neuron_types": list(policy.neuron_types()),
        },
    }
    return config, arrays


def export_policy(
    policy: LiquidPolicy,
    path: str | os.PathLike[str],
    *,
    source: dict[str, Any] | None = None,
) -> None:
    """Write ``policy`` as a ``"policy"`` artifact at ``path``.

    Args:
        policy: the network (its spec travels with it).
        path: destination file.
        source: JSON-able provenance stored in the artifact's config (``source`` key).
    """
    config, arrays = policy_arrays(policy)
    config["source"] = dict(source or {})
    save_artifact(path, kind="policy", config=config, arrays=arrays)


def export_checkpoint(checkpoint: str | os.PathLike[str], path: str | os.PathLike[str]) -> None:
    """Load a checkpoint file (validated, no code executed) and export it to ``path``.

    Raises:
        CheckpointError: the checkpoint is invalid, or cannot be exported.
    """
    loaded = load_checkpoint(checkpoint)
    export_policy(
        loaded.policy,
        path,
        source={
            "checkpoint": os.path.basename(os.fspath(checkpoint)),
            "checkpoint_format_version": loaded.format_version,
            "metadata": loaded.metadata,
        },
    )


VERIFY_TOLERANCE = 1e-4
"""Largest action/activity difference ``verify_export`` accepts (torch runs in float32)."""


def verify_export(
    checkpoint: str | os.PathLike[str],
    artifact: str | os.PathLike[str],
    *,
    steps: int = 50,
    seed: int = 0,
) -> float:
    """Step the checkpoint (torch) and the artifact (runtime) side by side; return the max diff.

    Both get the same random observations (within the spec's normalisation range)
    and irregular time steps, state carried.

    Raises:
        CheckpointError: the outputs differ by more than :data:`VERIFY_TOLERANCE`.
    """
    from liquid_controller.models.policy import TorchPolicy
    from liquid_controller.runtime.policy import RuntimePolicy

    torch_policy = TorchPolicy(load_checkpoint(checkpoint).policy)
    runtime_policy = RuntimePolicy.load(artifact)
    spec = runtime_policy.spec
    rng = np.random.default_rng(seed)
    worst = 0.0
    for _ in range(steps):
        obs: dict[str, Any] = {
            v.name: np.asarray(v.mean) + np.asarray(v.std) * rng.normal(size=v.size)
            for v in spec.vectors
        }
        if spec.image is not None:
            shape = (spec.image.height, spec.image.width, spec.image.channels)
            obs["image"] = rng.integers(0, 256, size=shape, dtype=np.uint8)
        dt_s = float(rng.uniform(0.01, 0.1))
        want, got = torch_policy.step(obs, dt_s), runtime_policy.step(obs, dt_s)
        pairs = [(want.action, got.action), (want.activity, got.activity)]
        if want.barrier_params is not None and got.barrier_params is not None:
            pairs.append((want.barrier_params, got.barrier_params))
        worst = max(worst, *(float(np.abs(a - b).max()) for a, b in pairs))
    if not worst <= VERIFY_TOLERANCE:
        raise CheckpointError(
            f"exported artifact '{os.fspath(artifact)}' differs from checkpoint "
            f"'{os.fspath(checkpoint)}' by {worst:.3g} (> {VERIFY_TOLERANCE}); "
            "please report this as a bug"
        )
    return worst
