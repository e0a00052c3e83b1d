"""Test-only plug-ins, registered by the ``test_plugins`` fixture (test/safety/conftest.py).

The package's own example barrier, ``lane`` (liquid_controller/safety/lane.py), is
registered through the real package metadata; these are registered for the tests only,
by patching :func:`liquid_controller.safety.plugins.available_plugins`.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import EntryPoint
from typing import Any

import numpy as np

from liquid_controller.safety.barriers import BarrierTerms
from liquid_controller.safety.plugins import BARRIER_GROUP, FORCE_LIMIT_GROUP


def wrong_shape(state: Mapping[str, Any], params: Mapping[str, Any]) -> BarrierTerms:
    """Returns two rows where the config declares one."""
    return BarrierTerms(np.zeros((2, 2)), np.zeros(2), np.zeros((2, 1)))


def needs_obstacle(state: Mapping[str, Any], params: Mapping[str, Any]) -> BarrierTerms:
    """Reads a state key the default nominal state lacks: distance to an obstacle, u0 closes it."""
    distance = float(state["obstacle_distance"])
    return BarrierTerms(np.array([[-1.0, 0.0]]), np.zeros(1), np.array([[distance]]))


def nan_terms(state: Mapping[str, Any], params: Mapping[str, Any]) -> BarrierTerms:
    """Returns NaN terms on every state."""
    return BarrierTerms(np.full((1, 2), np.nan), np.zeros(1), np.zeros((1, 1)))


def one_argument(state: Mapping[str, Any]) -> BarrierTerms:
    """Takes no params: the wrong signature."""
    return BarrierTerms(np.zeros((1, 2)), np.zeros(1), np.zeros((1, 1)))


def sum_band(state: Mapping[str, Any], params: Mapping[str, Any]) -> tuple[Any, Any, Any]:
    """A state-dependent force row: |u0 + u1| <= state['grip']."""
    grip = float(state["grip"])
    return np.array([[1.0, 1.0]]), np.array([-grip]), np.array([grip])


def crossed_band(state: Mapping[str, Any], params: Mapping[str, Any]) -> tuple[Any, Any, Any]:
    """A force row whose lower bound exceeds its upper bound."""
    return np.array([[1.0, 1.0]]), np.array([1.0]), np.array([-1.0])


def huge_row(state: Mapping[str, Any], params: Mapping[str, Any]) -> tuple[Any, Any, Any]:
    """A force row of 1e308: finite, but beyond what the filter can check."""
    return np.array([[1e308, 1e308]]), np.array([-1.0]), np.array([1.0])


not_callable = 3

_HERE = "safety_plugin_examples"
BARRIERS = ("wrong_shape", "needs_obstacle", "nan_terms", "one_argument", "not_callable")
FORCE_LIMITS = ("sum_band", "crossed_band", "huge_row")
ENTRY_POINTS = tuple(
    EntryPoint(name, f"{_HERE}:{name}", BARRIER_GROUP) for name in BARRIERS
) + tuple(EntryPoint(name, f"{_HERE}:{name}", FORCE_LIMIT_GROUP) for name in FORCE_LIMITS)
"""The test plug-ins, as the entry points an installed package would declare."""
