"""Plug-in functions referenced as ``safety_plugin_examples:...`` by the safety tests.

pytest puts this directory on ``sys.path`` (rootdir import mode), so the config's
``module:function`` strings resolve to these.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from liquid_controller.safety.barriers import BarrierTerms


def lane(state: Mapping[str, Any], params: Mapping[str, Any]) -> BarrierTerms:
    """A lane boundary y <= y_max for a point with ydot = u[0] (relative degree 1)."""
    y = float(state["lateral_position"])
    n = int(params["n"])
    G = np.zeros((1, n))
    G[0, 0] = -1.0
    return BarrierTerms(G, np.zeros(1), np.array([[float(params["y_max"]) - y]]))


def wrong_shape(state: Mapping[str, Any], params: Mapping[str, Any]) -> BarrierTerms:
    """Returns two rows where the config declares one."""
    return BarrierTerms(np.zeros((2, 2)), np.zeros(2), np.zeros((2, 1)))


def sum_band(state: Mapping[str, Any], params: Mapping[str, Any]) -> tuple[Any, Any, Any]:
    """A state-dependent force row: |u0 + u1| <= state['grip']."""
    grip = float(state["grip"])
    return np.array([[1.0, 1.0]]), np.array([-grip]), np.array([grip])


not_callable = 3
