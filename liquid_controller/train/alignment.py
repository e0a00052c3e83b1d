"""Resample time-stamped streams onto the policy's ticks without ever looking ahead.

Every stream is a sorted array of stamps (integer nanoseconds on one clock). At tick
``t`` a stream contributes its newest sample stamped at or before ``t``; a sample stamped
after ``t`` is never used at ``t``, whatever the receive order was.

The time a tick integrates over mirrors the policy node
(:mod:`liquid_controller.control.policy_runner`): the observation stamp of a tick is the
newest stamp among the samples it uses, dt is the difference of successive observation
stamps, and a tick that brings no newer sample than the previous one is not a step (the
node does not step the network on it), so it is left out.

Episodes are the runs of consecutive ticks at which every stream has a sample no older
than the gap threshold; a tick where some stream is older (or has none yet) breaks the
run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

__all__ = ["AlignedTicks", "align_streams", "newest_at_or_before", "tick_grid"]

IntArray = npt.NDArray[np.int64]
IndexArray = npt.NDArray[np.intp]


def newest_at_or_before(stamps_ns: IntArray, ticks_ns: IntArray) -> IndexArray:
    """Return, per tick, the index of the newest stamp ``<= tick``, or -1 when there is none.

    Args:
        stamps_ns: ``(n,)`` stamps sorted ascending (ties allowed: the last one wins).
        ticks_ns: ``(m,)`` tick times.
    """
    return np.searchsorted(stamps_ns, ticks_ns, side="right").astype(np.intp) - 1


def tick_grid(start_ns: int, end_ns: int, period_ns: int) -> IntArray:
    """Return ``start + k * period`` for every ``k >= 0`` with a result ``<= end``."""
    if end_ns < start_ns:
        return np.zeros(0, dtype=np.int64)
    count = (end_ns - start_ns) // period_ns + 1
    return start_ns + period_ns * np.arange(count, dtype=np.int64)


class AlignedTicks(NamedTuple):
    """Where each episode's ticks take their samples from.

    Attributes:
        ticks_ns: ``(T,)`` tick times of all episodes, concatenated.
        dt_ns: ``(T,)`` observation-stamp differences; 0 at each episode's first tick.
        indices: per stream, ``(T,)`` index of the sample used at each tick.
        episodes: ``(start, stop)`` row ranges of the episodes, in time order.
        idle_ticks: ticks left out because no stream had a newer sample.
    """

    ticks_ns: IntArray
    dt_ns: IntArray
    indices: tuple[IndexArray, ...]
    episodes: tuple[tuple[int, int], ...]
    idle_ticks: int


def _runs(mask: npt.NDArray[np.bool_]) -> list[tuple[int, int]]:
    """Return ``(start, stop)`` of each maximal run of True in ``mask``."""
    padded = np.concatenate([[False], mask, [False]])
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def align_streams(streams_ns: Sequence[IntArray], *, period_ns: int, gap_ns: int) -> AlignedTicks:
    """Place the policy's ticks on the streams' common time line.

    Ticks run every ``period_ns`` from the time every stream has its first sample to
    the last sample of any stream.

    Args:
        streams_ns: per stream, its sorted stamps (each non-empty).
        period_ns: the policy period.
        gap_ns: the oldest a stream's newest sample may be at a tick (else the tick
            breaks the episode).
    """
    start = max(int(stamps[0]) for stamps in streams_ns)
    end = max(int(stamps[-1]) for stamps in streams_ns)
    ticks = tick_grid(start, end, period_ns)
    indices = [newest_at_or_before(stamps, ticks) for stamps in streams_ns]
    fresh = np.ones(ticks.shape, dtype=bool)
    observed = np.full(ticks.shape, np.iinfo(np.int64).min, dtype=np.int64)
    for stamps, index in zip(streams_ns, indices, strict=True):
        used = stamps[np.maximum(index, 0)]
        fresh &= (index >= 0) & (ticks - used <= gap_ns)
        observed = np.maximum(observed, used)

    keep_rows: list[IndexArray] = []
    dts: list[IntArray] = []
    episodes: list[tuple[int, int]] = []
    idle = 0
    for start_row, stop_row in _runs(fresh):
        stamps = observed[start_row:stop_row]
        new = np.concatenate([[True], stamps[1:] > stamps[:-1]])
        idle += int(np.count_nonzero(~new))
        rows = np.arange(start_row, stop_row)[new]
        dt = np.diff(stamps[new], prepend=stamps[new][0])
        first = sum(len(r) for r in keep_rows)
        episodes.append((first, first + len(rows)))
        keep_rows.append(rows)
        dts.append(dt)
    rows = np.concatenate(keep_rows) if keep_rows else np.zeros(0, dtype=np.intp)
    return AlignedTicks(
        ticks_ns=ticks[rows],
        dt_ns=np.concatenate(dts) if dts else np.zeros(0, dtype=np.int64),
        indices=tuple(index[rows] for index in indices),
        episodes=tuple(episodes),
        idle_ticks=idle,
    )
