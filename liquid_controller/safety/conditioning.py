"""Load-time bounds on the numbers the safety QP can honour, each constant with its why.

Finite but degenerate configs (a force row of 1e308, an inertia of 1e-320, weights
[1e-300, 1e300]) used to load and then turn every tick into a solver-error fallback. The
checks here reject them at load with a :class:`~liquid_controller.errors.ConfigError`
naming the key, the value and the bound. The bounds come from the solver's numerics and
were confirmed by probing the filter (random nominals and states, 300-400 ticks each).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from liquid_controller.errors import ConfigError

__all__ = [
    "HARD_TOLERANCE",
    "MAX_CLASS_K",
    "MAX_COST_RATIO",
    "MAX_ROW_RANGE",
    "check_class_k",
    "check_cost",
    "check_row_range",
    "row_ranges",
]

FloatArray = npt.NDArray[np.float64]

#: Hard rows (force, hard barriers) hold to this absolute tolerance in config units; the
#: box holds exactly.
HARD_TOLERANCE = 1e-9
#: Largest value a force or barrier row ``a @ u`` may reach over the actuator box,
#: ``sum_i |a_i| max(|u_min_i|, |u_max_i|)`` (for a joint barrier ``|u|max / inertia``), in
#: config units. Every row is checked to :data:`HARD_TOLERANCE` after each solve, and a
#: product of size R carries rounding errors of a few ``R * 2.2e-16``: about 1e-9 at
#: R = 4.5e6. Probed: first wrongly failed checks at R = 3e7 (0.5% of ticks; 10% at 1e8),
#: none up to 1e7, for 2 and 12 actuators. 1e6 keeps a margin of 30 to the first failure.
MAX_ROW_RANGE = 1e6
#: Largest ratio between the entries of the cost's diagonal ``diag(w**2, slack_weight)``
#: (the slack only when a soft barrier exists): DAQP works on rows scaled by ``H**-1/2``
#: and its absolute tolerances then meet columns this far apart. Probed: with a ratio of
#: 1e7 some ticks (1%) were wrongly called infeasible, 30% at 1e8; 1e8 the other way round
#: gave solver errors; none at 1e4 to 1e6.
MAX_COST_RATIO = 1e6
#: Largest configured class-K gain, 1/s: a barrier recovering within a microsecond, far
#: beyond any control rate. Probed (joint velocity and position barriers, the example
#: robot): no fallback up to 1e6, the first solver error at 1e8; 1e300 overflows the
#: condition's coefficients (up to k**r) and every tick falls back.
MAX_CLASS_K = 1e6


def row_ranges(rows: FloatArray, effort_min: FloatArray, effort_max: FloatArray) -> FloatArray:
    """Return ``sum_i |a_i| max(|u_min_i|, |u_max_i|)`` per row (NaN-free for finite rows).

    An actuator locked at zero adds nothing, whatever its coefficient.
    """
    reach = np.maximum(np.abs(effort_min), np.abs(effort_max))
    with np.errstate(over="ignore", invalid="ignore"):  # inf * 0 is a locked actuator: 0
        products = np.where(reach > 0.0, np.abs(rows) * reach, 0.0)
        ranges: FloatArray = products.sum(axis=1)
    return ranges


def check_row_range(key: str, value: object, ranges: FloatArray, what: str) -> None:
    """Raise ConfigError naming ``key`` if a row's range exceeds :data:`MAX_ROW_RANGE`.

    Args:
        key: the config key to name.
        value: the configured value to report.
        ranges: per-row ranges from :func:`row_ranges`.
        what: how the row's range is formed, for the message.
    """
    worst = float(np.max(ranges, initial=0.0))
    if not worst <= MAX_ROW_RANGE:  # NaN-proof
        raise ConfigError(
            key, value, f"{what} within +-{MAX_ROW_RANGE:g} over the actuator box (here "
            f"{worst:.3g}): hard rows are checked to {HARD_TOLERANCE:g} in config units, which "
            "double precision cannot resolve on larger values; choose other units",
        )  # fmt: skip


def check_cost(weights: Sequence[float], slack_weight: float, soft_rows: bool) -> None:
    """Raise ConfigError if ``diag(w**2, slack_weight)`` spans more than :data:`MAX_COST_RATIO`.

    Args:
        weights: the actuator weights ``w``.
        slack_weight: ``rho``, in the cost only when ``soft_rows``.
        soft_rows: whether some barrier row has a slack.
    """
    with np.errstate(over="ignore", under="ignore"):
        squares = np.square(np.asarray(weights, dtype=np.float64))
    low, high = float(squares.min()), float(squares.max())
    if not (low > 0.0 and high <= MAX_COST_RATIO * low):
        raise ConfigError(
            "weights", list(weights), f"weights whose squares lie within a factor "
            f"{MAX_COST_RATIO:g} of each other (the QP's cost would be too ill-conditioned)",
        )  # fmt: skip
    within = slack_weight <= MAX_COST_RATIO * low and high <= MAX_COST_RATIO * slack_weight
    if soft_rows and not within:
        raise ConfigError(
            "slack_weight", slack_weight, f"a value within a factor {MAX_COST_RATIO:g} of every "
            f"squared weight (here {low:.3g}..{high:.3g}); the solver cannot honour a cost "
            "this ill-conditioned (it would call relaxable ticks infeasible)",
        )  # fmt: skip


def check_class_k(key: str, gains: Sequence[float]) -> None:
    """Raise ConfigError naming ``key[i]`` for a gain above :data:`MAX_CLASS_K`."""
    for i, gain in enumerate(gains):
        if gain > MAX_CLASS_K:
            raise ConfigError(
                f"{key}[{i}]", gain, f"a gain <= {MAX_CLASS_K:g} 1/s (larger ones overflow the "
                "barrier condition or leave the solver unable to verify it)",
            )  # fmt: skip
