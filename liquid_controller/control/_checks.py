"""Validation helpers shared by the control cores' settings."""

from __future__ import annotations

import math
from typing import Any

from liquid_controller.errors import ConfigError


def require_positive_seconds(key: str, value: Any) -> float:
    """Return ``value`` as a float if it is a finite number > 0, else raise naming ``key``.

    Raises:
        ConfigError: for a bool, a non-number, NaN, infinity, zero or a negative value.
    """
    if isinstance(value, bool) or not (
        isinstance(value, (int, float)) and math.isfinite(value) and value > 0
    ):
        raise ConfigError(key, value, "a finite number > 0 (seconds)")
    return float(value)


def stamp_problem(stamp_s: Any) -> str:
    """Return why ``stamp_s`` is not a usable header stamp in seconds, or ``""``."""
    if isinstance(stamp_s, bool) or not isinstance(stamp_s, (int, float)):
        return f"stamp {stamp_s!r} is not a number of seconds"
    if not math.isfinite(stamp_s):
        return f"stamp {stamp_s!r} is not finite"
    return ""
