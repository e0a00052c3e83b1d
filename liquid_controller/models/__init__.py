"""Torch liquid networks: NCP wirings, LTC/CfC cells and sequence models, policies, checkpoints.

``wiring`` is numpy-only; everything else needs torch and is imported lazily on
first use, so ``import liquid_controller.models.wiring`` (done by the torch-free
runtime) never imports torch.
"""

from __future__ import annotations

import importlib
from typing import Any

from liquid_controller.models.wiring import (
    NCP,
    AutoNCP,
    FullyConnected,
    Random,
    Wiring,
    wiring_from_config,
)

# Public torch names -> module under liquid_controller.models that defines them.
_LAZY = {
    "CfC": "sequence",
    "LTC": "sequence",
    "LiquidRNN": "sequence",
    "CfCCell": "cells",
    "WiredCfCCell": "cells",
    "LTCCell": "cells",
    "from_ncps": "convert",
    "LiquidPolicy": "policy",
    "TorchPolicy": "policy",
    "default_policy_config": "policy",
    "default_policy_spec": "policy",
    "save_checkpoint": "checkpoint",
    "load_checkpoint": "checkpoint",
    "BarrierNetLayer": "barriernet",
    "BarrierGainsHead": "barriernet",
    "initialise_gains_head": "barriernet",
    "solve_qp": "qp_layer",
}

__all__ = [
    "NCP",
    "AutoNCP",
    "BarrierGainsHead",
    "BarrierNetLayer",
    "CfC",
    "CfCCell",
    "FullyConnected",
    "LTC",
    "LTCCell",
    "LiquidPolicy",
    "LiquidRNN",
    "Random",
    "TorchPolicy",
    "WiredCfCCell",
    "Wiring",
    "default_policy_config",
    "default_policy_spec",
    "from_ncps",
    "initialise_gains_head",
    "load_checkpoint",
    "save_checkpoint",
    "solve_qp",
    "wiring_from_config",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'liquid_controller.models' has no attribute {name!r}")
    return getattr(importlib.import_module(f"liquid_controller.models.{module}"), name)
