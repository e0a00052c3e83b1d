"""Header stamps to integer nanoseconds, and a guarded dt between successive stamps.

Stamps are kept as integer nanoseconds: a float64 of seconds since the epoch
keeps only ~0.2 us, and differences of large floats lose more.

The liquid network integrates over the time between observations, so dt comes
from message stamps (sim-time aware), not from the wall clock. Stamps from
real systems repeat, jump backwards (bag loops, simulator resets) and have
gaps (dropped frames, paused sims); :class:`DtTracker` turns each case into a
defined dt plus a :class:`DtStatus`, without raising in the control loop.
"""

from __future__ import annotations

import enum
import math
from typing import NamedTuple

import numpy as np

from liquid_controller.errors import ConfigError, MessageConversionError
from liquid_controller.sensing._fields import get_field

__all__ = [
    "DtStatus",
    "DtStep",
    "DtTracker",
    "header_stamp_ns",
    "stamp_to_ns",
    "stamp_to_seconds",
]

NS_PER_S = 1_000_000_000


def stamp_to_ns(stamp: object, path: str = "stamp") -> int:
    """Convert a ``builtin_interfaces/Time`` (``sec``, ``nanosec``) to integer nanoseconds.

    Args:
        stamp: any object with integer ``sec`` and ``nanosec``.
        path: field path used in errors (``"header.stamp"`` from :func:`header_stamp_ns`).

    Raises:
        MessageConversionError: a field is missing or not an integer, or
            ``nanosec`` is outside ``[0, 1e9)``.
    """
    values = []
    for name in ("sec", "nanosec"):
        value = get_field(stamp, name, f"{path}.{name}")
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
            raise MessageConversionError(f"{path}.{name}", f"got {value!r}; expected an integer")
        values.append(int(value))
    sec, nanosec = values
    if not 0 <= nanosec < NS_PER_S:
        raise MessageConversionError(
            f"{path}.nanosec", f"got {nanosec}; expected 0 <= nanosec < {NS_PER_S}"
        )
    return sec * NS_PER_S + nanosec


def stamp_to_seconds(stamp: object) -> float:
    """Convert a ``builtin_interfaces/Time`` to float seconds (for display and logs)."""
    return stamp_to_ns(stamp) / NS_PER_S


def header_stamp_ns(msg: object) -> int:
    """Return ``msg.header.stamp`` in integer nanoseconds (see :func:`stamp_to_ns`)."""
    header = get_field(msg, "header")
    return stamp_to_ns(get_field(header, "stamp", "header.stamp"), "header.stamp")


class DtStatus(enum.Enum):
    """What :meth:`DtTracker.update` made of a stamp."""

    FIRST = "first"
    """No earlier stamp: dt is the nominal dt."""
    OK = "ok"
    """Normal step: dt is the stamp difference."""
    REPEATED = "repeated"
    """Same stamp as the previous one: dt is 0; the reference stamp is unchanged."""
    BACKWARDS = "backwards"
    """Earlier than the previous stamp (clock reset, bag loop): dt is the nominal dt and
    the stamp becomes the new reference. Callers usually reset the hidden state."""
    GAP = "gap"
    """Later than ``max_dt_s`` after the previous stamp: dt is clamped to ``max_dt_s``
    and the stamp becomes the new reference. The inputs were stale in between."""


class DtStep(NamedTuple):
    """Result of one :meth:`DtTracker.update`.

    Attributes:
        dt_s: the time step to integrate over, seconds; always finite and in ``[0, max_dt_s]``.
        status: how ``dt_s`` was obtained.
        raw_dt_ns: the stamp difference actually seen (0 for the first stamp).
    """

    dt_s: float
    status: DtStatus
    raw_dt_ns: int


class DtTracker:
    """Turn successive stamps into guarded time steps.

    Never raises in :meth:`update`: every stamp sequence yields a finite dt in
    ``[0, max_dt_s]`` and a :class:`DtStatus` saying what happened (see there).

    Args:
        nominal_dt_s: dt used when there is no usable difference (first stamp,
            backwards jump), e.g. ``1 / rate_hz``.
        max_dt_s: the largest dt passed on; longer gaps are clamped and flagged.

    Raises:
        ConfigError: a value is not finite, ``nominal_dt_s <= 0`` or
            ``max_dt_s < nominal_dt_s``.
    """

    def __init__(self, nominal_dt_s: float, max_dt_s: float) -> None:
        if not (math.isfinite(nominal_dt_s) and nominal_dt_s > 0):
            raise ConfigError("nominal_dt_s", nominal_dt_s, "a finite number > 0")
        if not (math.isfinite(max_dt_s) and max_dt_s >= nominal_dt_s):
            raise ConfigError(
                "max_dt_s", max_dt_s, f"a finite number >= nominal_dt_s ({nominal_dt_s})"
            )
        self._nominal_dt_s = float(nominal_dt_s)
        self._max_dt_s = float(max_dt_s)
        self._max_dt_ns = round(max_dt_s * NS_PER_S)
        self._previous_ns: int | None = None

    @property
    def previous_ns(self) -> int | None:
        """The reference stamp (ns) the next dt is measured from, or ``None`` after a reset."""
        return self._previous_ns

    def reset(self) -> None:
        """Forget the reference stamp; the next update reports :attr:`DtStatus.FIRST`."""
        self._previous_ns = None

    def update(self, stamp_ns: int) -> DtStep:
        """Return the dt from the reference stamp to ``stamp_ns`` and advance the reference."""
        previous, self._previous_ns = self._previous_ns, stamp_ns
        if previous is None:
            return DtStep(self._nominal_dt_s, DtStatus.FIRST, 0)
        raw = stamp_ns - previous
        if raw == 0:
            return DtStep(0.0, DtStatus.REPEATED, 0)
        if raw < 0:
            return DtStep(self._nominal_dt_s, DtStatus.BACKWARDS, raw)
        if raw > self._max_dt_ns:
            return DtStep(self._max_dt_s, DtStatus.GAP, raw)
        return DtStep(raw / NS_PER_S, DtStatus.OK, raw)
