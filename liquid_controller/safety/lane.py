r"""The package's example plug-in barrier: keep a lateral position inside a lane.

Registered as ``lane`` in the ``liquid_controller.barriers`` entry-point group
(pyproject.toml); config/safety.yaml shows it in use. Model: the lateral position
:math:`y` (state key ``lateral_position``, m) moves with the command,
:math:`\dot y = b^\top u` (``params.gain``, one entry per actuator, m/s per effort unit).
Two rows, relative degree 1: :math:`h = y_{max} - y` and :math:`h = y - y_{min}`.

Config entry::

    - {name: lane, type: plugin, function: lane, rows: 2, class_k: [2.0],
       params: {y_min: -0.5, y_max: 0.5, gain: [1.0, 0.0]}}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from liquid_controller.safety.barriers import BarrierTerms

__all__ = ["lane"]


def lane(state: Mapping[str, Any], params: Mapping[str, Any]) -> BarrierTerms:
    """Return the upper and lower lane rows at ``state`` (see the module docstring)."""
    y = float(state["lateral_position"])
    gain = np.asarray(params["gain"], dtype=np.float64)
    G = np.stack((-gain, gain))
    derivatives = np.array([[float(params["y_max"]) - y], [y - float(params["y_min"])]])
    return BarrierTerms(G, np.zeros(2), derivatives)
