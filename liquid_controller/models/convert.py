"""Convert trained ncps 1.0.1 models (``ncps.torch.CfC`` / ``LTC``, dense or wired) to ours.

The parameters keep their names and shapes (see :mod:`liquid_controller.models.cells`),
so conversion is: rebuild the same architecture with the same wiring
matrices, then copy the state dict (renaming ncps's wired-CfC
``rnn_cell.layer_<i>.`` to ``rnn_cell.layers.<i>.``). ncps is only needed to
have an ncps module in the first place; this module never imports it.

Differences users will see after converting: the state is one tensor
(``mixed_memory``: ``[h, c]`` concatenated instead of ncps's ``(h, c)``
tuple), and ``timespans`` of shape ``(batch, time)`` are applied per sample
(ncps mixes them across the batch for batch > 1; at batch 1 both agree).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
from torch import nn

from liquid_controller.errors import ConfigError
from liquid_controller.models.sequence import LTC, CfC, LiquidRNN
from liquid_controller.models.wiring import NCP, AutoNCP, FullyConnected, Random, Wiring

__all__ = ["from_ncps", "wiring_from_ncps"]

# ncps backbone activation class name -> the name its constructor takes.
_ACTIVATION_NAMES = {
    "LeCun": "lecun_tanh",
    "SiLU": "silu",
    "ReLU": "relu",
    "Tanh": "tanh",
    "GELU": "gelu",
}


def wiring_from_ncps(wiring: Any) -> Wiring:
    """Return our wiring equivalent to an ncps one, with its matrices copied exactly.

    The wiring class, arguments and seed are carried over where ncps keeps
    them; ncps's ``NCP`` does not keep its seed, so a converted plain NCP
    records ``seed=None`` (its matrices are still exact).

    Raises:
        ConfigError: ``wiring`` is not an ncps wiring.
    """
    kind = type(wiring).__name__
    if kind == "AutoNCP":
        ours: Wiring = AutoNCP(
            wiring.units, wiring._output_size, wiring._sparsity_level, wiring._seed
        )
    elif kind == "NCP":
        ours = NCP(
            wiring._num_inter_neurons,
            wiring._num_command_neurons,
            wiring._num_motor_neurons,
            wiring._sensory_fanout,
            wiring._inter_fanout,
            wiring._recurrent_command_synapses,
            wiring._motor_fanin,
            seed=None,
        )
    elif kind == "FullyConnected":
        ours = FullyConnected(
            wiring.units, wiring.output_dim, wiring._erev_init_seed, wiring.self_connections
        )
    elif kind == "Random":
        ours = Random(wiring.units, wiring.output_dim, wiring.sparsity_level, wiring._random_seed)
    elif kind == "Wiring":
        ours = Wiring(wiring.units, wiring.output_dim)
    else:
        raise ConfigError("wiring", kind, "an ncps wiring (AutoNCP, NCP, FullyConnected, Random)")
    ours.adjacency_matrix = np.asarray(wiring.adjacency_matrix, dtype=np.int32).copy()
    if wiring.input_dim is not None:
        ours.input_dim = int(wiring.input_dim)
        ours.sensory_adjacency_matrix = np.asarray(
            wiring.sensory_adjacency_matrix, dtype=np.int32
        ).copy()
    return ours


def from_ncps(module: nn.Module) -> LiquidRNN:
    """Convert an ncps ``CfC`` or ``LTC`` into the equivalent :class:`CfC` / :class:`LTC`.

    The result has the same dtype, device and train/eval mode, and gives the
    same outputs as ``module`` (to float rounding) for unbatched or batch-1
    input; for batch > 1 with ``timespans`` it gives the per-sample answer ncps
    should have given.

    Raises:
        ConfigError: ``module`` is not an ncps ``CfC``/``LTC``.
    """
    kind = type(module).__name__
    source: Any = module  # ncps modules are untyped
    ours: LiquidRNN
    if kind == "CfC" and hasattr(module, "wiring_or_units"):
        ours = _cfc_from_ncps(source)
        state = {
            re.sub(r"^rnn_cell\.layer_(\d+)\.", r"rnn_cell.layers.\1.", key): value
            for key, value in module.state_dict().items()
        }
    elif kind == "LTC" and hasattr(module, "wiring_or_units"):
        cell = source.rnn_cell
        mapping = {"affine": "affine", "linear": "linear"}
        ours = LTC(
            source.input_size,
            wiring_from_ncps(source._wiring),
            return_sequences=source.return_sequences,
            batch_first=source.batch_first,
            mixed_memory=source.use_mixed,
            input_mapping=mapping.get(cell._input_mapping, "none"),
            output_mapping=mapping.get(cell._output_mapping, "none"),
            ode_unfolds=cell._ode_unfolds,
            epsilon=cell._epsilon,
            implicit_param_constraints=cell._implicit_param_constraints,
        )
        state = module.state_dict()
    else:
        raise ConfigError("module", kind, "an ncps.torch CfC or LTC")
    reference = next(module.parameters())
    ours.to(dtype=reference.dtype, device=reference.device)
    ours.load_state_dict(state, strict=True)
    ours.train(module.training)
    return ours


def _cfc_from_ncps(module: Any) -> CfC:
    cell = module.rnn_cell
    common: dict[str, Any] = {
        "proj_size": module.proj_size,
        "return_sequences": module.return_sequences,
        "batch_first": module.batch_first,
        "mixed_memory": module.use_mixed,
    }
    if type(cell).__name__ == "WiredCfCCell":
        return CfC(
            module.input_size,
            wiring_from_ncps(cell._wiring),
            mode=cell._layers[0].mode,
            **common,
        )
    backbone = list(cell.backbone) if cell.backbone is not None else []
    linears = [layer for layer in backbone if isinstance(layer, nn.Linear)]
    activations = {type(layer).__name__ for layer in backbone} - {"Linear", "Dropout"}
    dropouts = [layer.p for layer in backbone if isinstance(layer, nn.Dropout)]
    activation = "lecun_tanh"
    if activations:
        (name,) = activations
        activation = _ACTIVATION_NAMES[name]
    return CfC(
        module.input_size,
        cell.hidden_size,
        mode=cell.mode,
        activation=activation,
        backbone_units=linears[0].out_features if linears else 128,
        backbone_layers=cell.backbone_layers,
        backbone_dropout=dropouts[0] if dropouts else 0.0,
        **common,
    )
