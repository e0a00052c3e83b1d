"""Torch liquid networks: NCP wirings, LTC/CfC cells and sequence models, policies, checkpoints.

``wiring`` is numpy-only; the torch parts are imported lazily on first use, so
``import liquid_controller.models.wiring`` (done by the torch-free runtime)
never imports torch.
"""

from __future__ import annotations

from liquid_controller.models.wiring import (
    NCP,
    AutoNCP,
    FullyConnected,
    Random,
    Wiring,
    wiring_from_config,
)

__all__ = ["NCP", "AutoNCP", "FullyConnected", "Random", "Wiring", "wiring_from_config"]
