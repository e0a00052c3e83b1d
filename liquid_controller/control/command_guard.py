"""Last line of defence before an actuator: a command that is finite and inside the limits.

The safety filter already guarantees this; the guard does not trust it blindly. It checks
every command the safety runner is about to publish against the actuator box and rate
limits, and when the filter raised, returned something invalid, or cannot be asked,
it produces the safe command itself: a ramp from the last published command toward the
configured safe target (``zero`` or ``hold``), limited by the rate limits, then clipped
into the box. The box takes precedence over the rate limit (a command outside the box is
never published, even if reaching the box needs a larger step than the rate allows).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from liquid_controller.safety.config import ActuatorLimits, FallbackMode, SafetyConfig

__all__ = ["CommandGuard"]

FloatArray = npt.NDArray[np.float64]
RATE_TOLERANCE = 1e-9
"""Relative tolerance on rate-limit checks (the filter meets rate rows to 1e-9)."""


class CommandGuard:
    """Actuator limits and the safe command, checked on every published command.

    Args:
        limits: the validated box and rate limits of the safety config.
        fallback: where the safe command goes (``zero``: zero effort clipped into the box;
            ``hold``: the last published command clipped into the box).
    """

    def __init__(self, limits: ActuatorLimits, fallback: FallbackMode = FallbackMode.ZERO) -> None:
        self.effort_min = np.array(limits.effort_min, dtype=np.float64)
        self.effort_max = np.array(limits.effort_max, dtype=np.float64)
        self.rate_max = (
            None if limits.rate_max is None else np.array(limits.rate_max, dtype=np.float64)
        )
        self.fallback = fallback
        self.size = int(self.effort_min.size)
        """Number of actuators."""

    @classmethod
    def from_config(cls, config: SafetyConfig) -> CommandGuard:
        """Build the guard for a safety config (its actuator limits and fallback mode)."""
        return cls(config.actuators, config.fallback)

    def violation(self, u: FloatArray, u_prev: FloatArray | None, dt_s: float) -> str:
        """Describe how ``u`` breaks the limits (empty string if it does not).

        Args:
            u: the command about to be published.
            u_prev: the last published command, or ``None`` before the first one (no rate check).
            dt_s: time since ``u_prev`` was published, seconds.
        """
        arr = np.asarray(u)
        if arr.shape != (self.size,):
            return f"command has shape {arr.shape}; expected ({self.size},)"
        if not np.isfinite(arr).all():
            return f"command is not finite: {arr.tolist()}"
        outside = (arr < self.effort_min) | (arr > self.effort_max)
        if outside.any():
            i = int(np.argmax(outside))
            return (
                f"command[{i}] = {arr[i]} is outside [{self.effort_min[i]}, {self.effort_max[i]}]"
            )
        if self.rate_max is not None and u_prev is not None:
            allowed = self.rate_max * max(dt_s, 0.0)
            excess = np.abs(arr - u_prev) - allowed
            tol = RATE_TOLERANCE * np.maximum(1.0, allowed)
            if (excess > tol).any():
                i = int(np.argmax(excess - tol))
                return (
                    f"command[{i}] changes by {abs(arr[i] - u_prev[i])} in {dt_s} s; "
                    f"rate limit allows {allowed[i]}"
                )
        return ""

    def _usable(self, u_prev: FloatArray | None) -> FloatArray | None:
        if u_prev is None or np.shape(u_prev) != (self.size,) or not np.isfinite(u_prev).all():
            return None
        return np.asarray(u_prev, dtype=np.float64)

    def safe_target(self, u_prev: FloatArray | None) -> FloatArray:
        """Return where the safe command settles: zero, or ``u_prev`` for ``hold``; in the box."""
        prev = self._usable(u_prev)
        target = prev.copy() if self.fallback is FallbackMode.HOLD and prev is not None else None
        out: FloatArray = np.clip(
            np.zeros(self.size) if target is None else target, self.effort_min, self.effort_max
        )
        return out

    def safe_command(self, u_prev: FloatArray | None, dt_s: float) -> FloatArray:
        """Return one step of the ramp from ``u_prev`` toward :meth:`safe_target`.

        Args:
            u_prev: last published command (``None`` or invalid before the first one: the
                target itself is returned).
            dt_s: time since ``u_prev``; negative or non-finite counts as 0 (no change
                allowed by the rate limit).
        """
        prev = self._usable(u_prev)
        target = self.safe_target(u_prev)
        if prev is None or self.rate_max is None:
            return target
        step_max = self.rate_max * (dt_s if math.isfinite(dt_s) and dt_s > 0 else 0.0)
        out: FloatArray = np.clip(
            prev + np.clip(target - prev, -step_max, step_max), self.effort_min, self.effort_max
        )
        return out
