"""Small fakes of the Policy and safety-filter protocols, for the control-core tests."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

from liquid_controller.runtime.spec import (
    ActionSpec,
    ImageInput,
    PolicySpec,
    PolicyStep,
    VectorInput,
)
from liquid_controller.safety.config import ActuatorLimits, FallbackMode

IMAGE_SHAPE = (4, 6, 3)

SPEC = PolicySpec(
    action=ActionSpec(("left_wheel", "right_wheel"), ("N*m", "N*m")),
    vectors=(
        VectorInput(
            "imu",
            ("ax", "ay", "az", "wx", "wy", "wz"),
            ("m/s^2",) * 3 + ("rad/s",) * 3,
            (0.0,) * 6,
            (1.0,) * 6,
        ),
    ),
    image=ImageInput(IMAGE_SHAPE[0], IMAGE_SHAPE[1], IMAGE_SHAPE[2]),
)


class FakePolicy:
    """Integrates dt into its state; action = gain * (state + mean image + imu[0]).

    ``fail`` makes the next steps raise; ``nan`` makes them return a NaN action.
    """

    def __init__(self, spec: PolicySpec = SPEC, gain: float = 1.0) -> None:
        self._spec = spec
        self.gain = gain
        self.state = 0.0
        self.dts: list[float] = []
        self.resets = 0
        self.fail = False
        self.nan = False

    @property
    def spec(self) -> PolicySpec:
        return self._spec

    def reset(self) -> None:
        self.state = 0.0
        self.resets += 1

    def step(self, obs: Mapping[str, Any], dt_s: float) -> PolicyStep:
        self._spec.check_observation(obs)
        if self.fail:
            raise RuntimeError("boom")
        self.dts.append(dt_s)
        self.state += dt_s
        with np.errstate(over="ignore"):  # a huge gain may overflow: the runner must cope
            value = self.gain * (self.state + float(np.mean(obs["image"])) / 255.0 + obs["imu"][0])
        action = np.full(self._spec.action.size, np.nan if self.nan else value)
        return PolicyStep(action, np.array([self.state]), None)


class FakeResult(NamedTuple):
    u: np.ndarray
    intervened: bool
    status: str
    reason: str = ""
    active_constraints: tuple[str, ...] = ()
    slack: np.ndarray = np.zeros(0)
    solve_time_s: float = 1e-5


LIMITS = ActuatorLimits(("left_wheel", "right_wheel"), (-2.0, -2.0), (2.0, 2.0), (40.0, 40.0))


class FakeFilter:
    """Box clip + rate limit (the real filter's hard constraints), zero fallback ramp.

    ``mode``: ``"ok"``; ``"raise"`` (raises); ``"garbage"`` (returns NaN / out of box).
    """

    def __init__(self, limits: ActuatorLimits = LIMITS) -> None:
        self.lo = np.array(limits.effort_min)
        self.hi = np.array(limits.effort_max)
        self.rate = None if limits.rate_max is None else np.array(limits.rate_max)
        self.prev: np.ndarray | None = None
        self.t_prev: float | None = None
        self.mode = "ok"
        self.states: list[Mapping[str, Any] | None] = []
        self.gains: list[Any] = []
        self.resets: list[tuple[Any, float | None]] = []

    def reset(self, u_prev: Any = None, t: float | None = None) -> None:
        self.resets.append((u_prev, t))
        self.prev = None if u_prev is None else np.array(u_prev, dtype=float)
        self.t_prev = t

    def _limit(self, target: np.ndarray, t: float | None) -> np.ndarray:
        u = target
        if self.rate is not None and self.prev is not None and t is not None:
            dt = 0.0 if self.t_prev is None else min(max(t - self.t_prev, 0.0), 0.1)
            u = self.prev + np.clip(u - self.prev, -self.rate * dt, self.rate * dt)
        u = np.clip(u, self.lo, self.hi)
        self.prev, self.t_prev = u, t
        return u

    def filter(self, u_nominal: Any, state=None, t: float | None = None, gains: Any = None):
        self.states.append(state)
        self.gains.append(gains)
        if self.mode == "raise":
            raise ValueError("solver exploded")
        if self.mode == "garbage":
            return FakeResult(np.array([np.nan, 99.0]), True, "optimal")
        u_nom = np.asarray(u_nominal, dtype=float)
        u = self._limit(u_nom, t)
        same = bool(np.array_equal(u, u_nom))
        return FakeResult(u, not same, "passthrough" if same else "optimal")

    def fallback(self, reason: str, t: float | None = None, state=None):
        if self.mode == "raise":
            raise ValueError("solver exploded")
        u = self._limit(np.zeros_like(self.lo), t)
        return FakeResult(u, True, "fallback_stale_input", reason)


def image(value: int = 0) -> np.ndarray:
    return np.full(IMAGE_SHAPE, value, dtype=np.uint8)


IMU = np.array([0.1, 0.0, 9.8, 0.0, 0.0, 0.0])
GUARD_FALLBACK = FallbackMode.ZERO
