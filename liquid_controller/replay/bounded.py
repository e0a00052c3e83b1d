"""Fixed-size summaries of streams of any length, so a replay's memory does not grow with the bag.

:class:`Decimated` keeps at most ``capacity`` rows of a time series: when full it drops
every other row and from then on keeps one row in two (then four ...), so the rows stay
evenly spread over the whole run. :class:`TimeBins` counts events in time bins whose
width doubles when there are too many.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["Decimated", "TimeBins"]


class Decimated:
    """At most ``capacity`` evenly spread rows of a stream.

    Args:
        capacity: rows kept at most (even, >= 2).
    """

    def __init__(self, capacity: int = 4096) -> None:
        self.capacity = max(2, capacity - capacity % 2)
        self.rows: list[Any] = []
        self.stride = 1
        self.seen = 0

    def add(self, row: Any) -> None:
        """Offer the next row of the stream."""
        if self.seen % self.stride == 0:
            if len(self.rows) == self.capacity:
                # Rows 0, s, 2s ... kept; keep 0, 2s, 4s ... (``seen`` = capacity * s, even).
                del self.rows[1::2]
                self.stride *= 2
            self.rows.append(row)
        self.seen += 1

    def array(self, width: int | None = None) -> npt.NDArray[np.float64]:
        """The kept rows as a float array (``(n,)`` or ``(n, width)``)."""
        if not self.rows:
            return np.zeros((0,) if width is None else (0, width))
        return np.asarray(self.rows, dtype=np.float64)


class TimeBins:
    """Event counts per time bin, ``width_s`` doubling whenever more than ``max_bins`` exist.

    Args:
        width_s: initial bin width, seconds.
        max_bins: bins kept at most.
    """

    def __init__(self, width_s: float = 1.0, max_bins: int = 2048) -> None:
        self.width_s = width_s
        self.max_bins = max_bins
        self.counts: dict[int, int] = {}

    def add(self, t_s: float) -> None:
        """Count an event at ``t_s`` (seconds since the start, >= 0)."""
        key = int(t_s // self.width_s)
        self.counts[key] = self.counts.get(key, 0) + 1
        while len(self.counts) > self.max_bins:
            merged: dict[int, int] = {}
            for k, n in self.counts.items():
                merged[k // 2] = merged.get(k // 2, 0) + n
            self.counts = merged
            self.width_s *= 2

    def rates(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """(bin start times, events per second) over every bin from the first to the last."""
        if not self.counts:
            return np.zeros(0), np.zeros(0)
        first, last = min(self.counts), max(self.counts)
        keys = np.arange(first, last + 1)
        counts = np.array([self.counts.get(int(k), 0) for k in keys], dtype=np.float64)
        return keys.astype(np.float64) * self.width_s, counts / self.width_s
