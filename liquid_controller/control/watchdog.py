"""Per-input freshness: which inputs are stale at a given time, and when that changed.

The watchdog never reads a clock: every call takes ``now_s`` (the node clock, which is the
simulation clock under ``use_sim_time``), so it is deterministic under test.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from liquid_controller.control._checks import require_positive_seconds
from liquid_controller.errors import ConfigError

__all__ = ["FreshnessTransition", "InputWatchdog", "InputRecord"]


@dataclass
class InputRecord:
    """What the watchdog knows about one input.

    Attributes:
        last_arrival_s: node time at which the last accepted sample arrived (``None``: never).
        last_stamp_s: header stamp of that sample, seconds (``None``: never).
        stale: freshness as of the last :meth:`InputWatchdog.poll`.
    """

    last_arrival_s: float | None = None
    last_stamp_s: float | None = None
    stale: bool = True


class FreshnessTransition(NamedTuple):
    """An input that changed freshness at the last poll (reported once, for logging)."""

    name: str
    stale: bool
    """``True``: the input just went stale; ``False``: it just became fresh again."""
    age_s: float | None
    """Time since the last arrival at the poll, seconds; ``None`` if it never arrived."""


class InputWatchdog:
    """Track arrival times of named inputs and report staleness after ``input_timeout_s``.

    An input is *stale* when it never arrived or when ``now_s - last_arrival_s`` exceeds
    the timeout. Arrival time is used for staleness (a sensor with a skewed clock still
    counts as alive); the header stamp is kept for dt computation by the caller.
    Inputs start stale; the first arrival is reported as a stale -> fresh transition.

    If the clock jumps backwards (simulation reset, ``/clock`` restart), an arrival
    time in the future is treated as age 0, never as a negative age.
    """

    def __init__(self, names: Iterable[str], *, input_timeout_s: float) -> None:
        """Create a watchdog for ``names``.

        Raises:
            ConfigError: if ``input_timeout_s`` is not a positive finite number or a name repeats.
        """
        self._records: dict[str, InputRecord] = {}
        for name in names:
            if name in self._records:
                raise ConfigError("inputs", name, "unique input names")
            self._records[name] = InputRecord()
        self.input_timeout_s = input_timeout_s

    @property
    def input_timeout_s(self) -> float:
        """Age after which an input counts as stale, seconds."""
        return self._timeout_s

    @input_timeout_s.setter
    def input_timeout_s(self, value: float) -> None:
        self._timeout_s = require_positive_seconds("input_timeout_s", value)

    @property
    def names(self) -> tuple[str, ...]:
        """The watched inputs, in construction order."""
        return tuple(self._records)

    def record(self, name: str) -> InputRecord:
        """Return the record of ``name`` (read it, do not modify it)."""
        return self._records[name]

    def arrived(self, name: str, *, now_s: float, stamp_s: float | None = None) -> None:
        """Note an accepted sample of ``name`` arriving at ``now_s`` with header ``stamp_s``."""
        rec = self._records[name]
        rec.last_arrival_s = now_s
        rec.last_stamp_s = stamp_s

    def age_s(self, name: str, now_s: float) -> float | None:
        """Seconds since ``name`` last arrived (never negative), or ``None`` if it never did."""
        arrival = self._records[name].last_arrival_s
        if arrival is None:
            return None
        return max(0.0, now_s - arrival)

    def is_stale(self, name: str, now_s: float) -> bool:
        """Whether ``name`` is stale at ``now_s`` (does not update transition state)."""
        age = self.age_s(name, now_s)
        return age is None or age > self._timeout_s

    def stale_inputs(self, now_s: float) -> tuple[str, ...]:
        """Names of the inputs stale at ``now_s``, in construction order."""
        return tuple(name for name in self._records if self.is_stale(name, now_s))

    def poll(self, now_s: float) -> tuple[FreshnessTransition, ...]:
        """Update freshness at ``now_s`` and return the inputs whose freshness changed."""
        changes = []
        for name, rec in self._records.items():
            stale = self.is_stale(name, now_s)
            if stale != rec.stale:
                rec.stale = stale
                changes.append(FreshnessTransition(name, stale, self.age_s(name, now_s)))
        return tuple(changes)
