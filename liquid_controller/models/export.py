"""Export torch liquid networks to the numpy-only runtime artifact.

:func:`core_arrays` turns a CfC or LTC sequence model (ncps 1.0.1's, or this
package's, which keeps ncps's parameter names) into the runtime's config and
named arrays (names listed in :mod:`liquid_controller.runtime.cfc` and
:mod:`liquid_controller.runtime.ltc`); :func:`export_core` writes them as a
``"core"`` artifact. Policies are exported by :func:`export_policy`.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch
from torch import nn

from liquid_controller.errors import CheckpointError
from liquid_controller.runtime.artifact import save_artifact

__all__ = ["core_arrays", "export_core"]

_ACTIVATION_NAMES = {
    "LeCun": "lecun_tanh",
    "Tanh": "tanh",
    "ReLU": "relu",
    "SiLU": "silu",
    "GELU": "gelu",
}


def _np(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().to("cpu", torch.float64).numpy().copy()


def _linear(prefix: str, layer: nn.Linear, arrays: dict[str, np.ndarray]) -> None:
    arrays[f"{prefix}.weight"] = _np(layer.weight)
    if layer.bias is not None:
        arrays[f"{prefix}.bias"] = _np(layer.bias)


def _cfc_cell_arrays(cell: nn.Module, name: str, arrays: dict[str, np.ndarray]) -> None:
    """Copy one ncps-style ``CfCCell`` (ff1/ff2/time_a/time_b or w_tau/A, mask)."""
    _linear(f"{name}.ff1", cell.ff1, arrays)
    if cell.mode == "pure":
        arrays[f"{name}.w_tau"] = _np(cell.w_tau)
        arrays[f"{name}.A"] = _np(cell.A)
    else:
        for gate in ("ff2", "time_a", "time_b"):
            _linear(f"{name}.{gate}", getattr(cell, gate), arrays)
    mask = getattr(cell, "sparsity_mask", None)
    if mask is not None:
        arrays[f"{name}.sparsity_mask"] = _np(mask)


def _backbone_linears(cell: nn.Module) -> tuple[list[nn.Linear], str]:
    if cell.backbone is None or cell.backbone_layers == 0:
        return [], "lecun_tanh"
    linears = [m for m in cell.backbone if isinstance(m, nn.Linear)]
    acts = {type(m).__name__ for m in cell.backbone if not isinstance(m, (nn.Linear, nn.Dropout))}
    if len(acts) != 1 or next(iter(acts)) not in _ACTIVATION_NAMES:
        raise CheckpointError(f"cannot export CfC backbone activation(s) {sorted(acts)}")
    return linears, _ACTIVATION_NAMES[next(iter(acts))]


def _memory_arrays(module: nn.Module, arrays: dict[str, np.ndarray]) -> bool:
    # ncps calls the flag ``use_mixed``; liquid_controller.models ``mixed_memory``.
    if not (getattr(module, "use_mixed", False) or getattr(module, "mixed_memory", False)):
        return False
    _linear("lstm.input_map", module.lstm.input_map, arrays)
    arrays["lstm.recurrent_map.weight"] = _np(module.lstm.recurrent_map.weight)
    return True


def _wired_layers(cell: nn.Module) -> list[nn.Module] | None:
    """The per-layer cells of a wired CfC (``layers`` here, ``_layers`` in ncps), else None."""
    if isinstance(getattr(cell, "layers", None), nn.ModuleList):
        return list(cell.layers)
    layers = getattr(cell, "_layers", None)
    return None if layers is None else list(layers)


def _state_neuron_ids(cell: nn.Module) -> list[int]:
    """Neuron id of each state entry (wired CfC states are ordered by layer, not by id)."""
    ids = getattr(cell, "state_neuron_ids", None)
    if ids is None:  # ncps: rebuild from its wiring
        wiring = cell._wiring
        ids = [n for layer in range(wiring.num_layers) for n in wiring.get_neurons_of_layer(layer)]
    return [int(n) for n in ids]


def _cfc_arrays(module: nn.Module) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    arrays: dict[str, np.ndarray] = {}
    cell = module.rnn_cell
    config: dict[str, Any] = {"type": "cfc", "input_size": int(module.input_size)}
    layers = _wired_layers(cell)
    if layers is not None:  # wired: one CfC cell per NCP layer
        config.update(wired=True, layer_sizes=[int(c.hidden_size) for c in layers])
        config["mode"] = layers[0].mode
        config["units"] = int(sum(config["layer_sizes"]))
        config["state_neuron_ids"] = _state_neuron_ids(cell)
        for index, layer in enumerate(layers):
            _cfc_cell_arrays(layer, f"cell.layer{index}", arrays)
    else:
        linears, act = _backbone_linears(cell)
        config.update(
            wired=False,
            mode=cell.mode,
            units=int(cell.hidden_size),
            backbone_layers=len(linears),
            backbone_units=int(linears[0].out_features) if linears else 128,
            activation=act,
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


def _ltc_arrays(module: nn.Module) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    cell = module.rnn_cell
    params = dict(cell.named_parameters())
    params.update(dict(cell.named_buffers()))
    missing = [name for name in _LTC_PARAMS if name not in params]
    if missing:
        raise CheckpointError(f"cannot export LTC cell: missing parameters {missing}")
    arrays = {f"cell.{name}": _np(params[name]) for name in _LTC_PARAMS}
    for name in ("input_w", "input_b", "output_w", "output_b"):
        if name in params:
            arrays[f"cell.{name}"] = _np(params[name])
    config: dict[str, Any] = {
        "type": "ltc",
        "input_size": int(arrays["cell.sensory_w"].shape[0]),
        "units": int(arrays["cell.w"].shape[0]),
        "motor_size": int(cell.motor_size),
    }
    # ncps keeps these private (``_ode_unfolds``); liquid_controller.models public.
    for key in (
        "ode_unfolds",
        "epsilon",
        "implicit_param_constraints",
        "input_mapping",
        "output_mapping",
    ):
        value = getattr(cell, key, None)
        config[key] = getattr(cell, f"_{key}") if value is None else value
    config["ode_unfolds"] = int(config["ode_unfolds"])
    config["epsilon"] = float(config["epsilon"])
    config["implicit_param_constraints"] = bool(config["implicit_param_constraints"])
    config["mixed_memory"] = _memory_arrays(module, arrays)
    return config, arrays


def core_arrays(module: nn.Module) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Return ``(config, arrays)`` describing a CfC or LTC sequence model for the runtime.

    Raises:
        CheckpointError: ``module`` is not a CfC/LTC model this exporter knows.
    """
    cell = getattr(module, "rnn_cell", None)
    if cell is None:
        raise CheckpointError(
            f"cannot export {type(module).__name__}: expected a CfC or LTC sequence model "
            "with an 'rnn_cell'"
        )
    if hasattr(cell, "_ode_unfolds") or hasattr(cell, "ode_unfolds"):
        return _ltc_arrays(module)
    if hasattr(cell, "ff1") or _wired_layers(cell) is not None:
        return _cfc_arrays(module)
    raise CheckpointError(f"cannot export cell type {type(cell).__name__}")


def export_core(module: nn.Module, path: str | os.PathLike[str]) -> None:
    """Write ``module`` (a CfC or LTC sequence model) as a ``"core"`` artifact at ``path``."""
    config, arrays = core_arrays(module)
    save_artifact(
        path,
        kind="core",
        config={"core": config},
        arrays={f"core.{name}": value for name, value in arrays.items()},
    )
