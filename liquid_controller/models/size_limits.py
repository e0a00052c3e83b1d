"""Check a policy architecture config against the size caps, before anything is built.

Most of a torch model's memory is its parameters, and a checkpoint's parameters are
checked against the stored tensors on torch's ``meta`` device (no memory) before the
model is built for real. What this module caps is what is allocated or looped over
*outside* torch parameters: a wiring's ``units x units`` matrices and its Python-loop
generators, the camera encoder's activation buffers (the numpy runtime allocates them
from the image size), and per-step loop counts.

Core types plug in through :data:`CORE_LIMITS` (``cell`` -> check); a core type without
an entry gets :func:`generic_core_limits`, which caps every integer in its config.
Caps are the documented constants of :mod:`liquid_controller.runtime.limits`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from liquid_controller.errors import ConfigError
from liquid_controller.runtime.limits import (
    MAX_CORE_UNITS,
    MAX_HIDDEN_LAYERS,
    MAX_LAYER_WIDTH,
    MAX_ODE_UNFOLDS,
    check_size,
)

__all__ = ["CORE_LIMITS", "check_core_limits", "generic_core_limits"]

CoreLimits = Callable[[Mapping[str, Any]], None]

_NCP_LAYERS = ("inter_neurons", "command_neurons", "motor_neurons")
_COUNT_CAPS = {"units": MAX_CORE_UNITS, "layers": MAX_HIDDEN_LAYERS}


def generic_core_limits(core: Mapping[str, Any]) -> None:
    """Cap every integer of a core config: ``units`` (neurons), ``layers``, other widths."""
    for key, value in core.items():
        if isinstance(value, int) and not isinstance(value, bool):
            check_size(f"core.{key}", value, _COUNT_CAPS.get(key, MAX_LAYER_WIDTH), minimum=0)


def _wiring_limits(wiring: Any) -> None:
    """Cap a wiring config's neuron count (and NCP's loop counts) before it is constructed."""
    if not isinstance(wiring, Mapping) or not isinstance(wiring.get("args"), Mapping):
        return  # malformed: wiring_from_config names the key
    args = wiring["args"]
    if all(key in args for key in _NCP_LAYERS):  # NCP: the three layer sizes
        counts = [check_size(f"core.wiring.args.{k}", args[k], MAX_CORE_UNITS) for k in _NCP_LAYERS]
        check_size("core.wiring.args (total neurons)", sum(counts), MAX_CORE_UNITS)
        synapses = args.get("recurrent_command_synapses", 0)  # one Python draw each
        check_size(
            "core.wiring.args.recurrent_command_synapses", synapses, MAX_LAYER_WIDTH, minimum=0
        )
    elif "units" in args:
        check_size("core.wiring.args.units", args["units"], MAX_CORE_UNITS)
    if wiring.get("input_dim") is not None:
        check_size("core.wiring.input_dim", wiring["input_dim"], MAX_LAYER_WIDTH)


def _liquid_limits(core: Mapping[str, Any]) -> None:
    """CfC and LTC: the wiring (or dense ``units``) and the generic caps."""
    if "wiring" in core:
        _wiring_limits(core["wiring"])
    generic_core_limits(core)


def _ltc_limits(core: Mapping[str, Any]) -> None:
    _liquid_limits(core)
    if "ode_unfolds" in core:
        check_size("core.ode_unfolds", core["ode_unfolds"], MAX_ODE_UNFOLDS)


def _cfc_limits(core: Mapping[str, Any]) -> None:
    _liquid_limits(core)
    if core.get("backbone_layers") is not None:
        check_size("core.backbone_layers", core["backbone_layers"], MAX_HIDDEN_LAYERS, minimum=0)


CORE_LIMITS: dict[str, CoreLimits] = {"cfc": _cfc_limits, "ltc": _ltc_limits}
"""Size checks per core ``cell`` type; a type without an entry gets
:func:`generic_core_limits`. Register a new core type's check here when its
constructor allocates or loops outside torch parameters."""


def check_core_limits(core: Mapping[str, Any]) -> None:
    """Check a policy's ``core`` config against the caps of its ``cell`` type.

    Raises:
        ConfigError: naming the key whose value is over its cap.
    """
    if not isinstance(core, Mapping):
        raise ConfigError("core", core, "a mapping")
    cell = core.get("cell")
    if not isinstance(cell, str):
        raise ConfigError("core.cell", cell, "the name of a core type, e.g. 'cfc'")
    CORE_LIMITS.get(cell, generic_core_limits)(core)
