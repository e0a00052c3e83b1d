"""Run simulated episodes in parallel worker processes, with a progress bar.

Workers are spawned, not forked: each creates its own OpenGL context, which must not be
inherited from a parent that may hold one. Results come back in job order.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

__all__ = ["default_workers", "run_parallel"]

Job = TypeVar("Job")
Result = TypeVar("Result")


def default_workers() -> int:
    """Return the number of CPU cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def run_parallel(
    function: Callable[[Job], Result],
    jobs: Sequence[Job],
    *,
    workers: int,
    label: str,
    progress: bool = True,
) -> list[Result]:
    """Return ``[function(job) for job in jobs]``, computed by ``workers`` processes.

    ``function`` must be importable by name (a module-level function). With one worker or
    one job everything runs in this process.
    """
    bar = _progress_bar(len(jobs), label, progress)
    try:
        if workers <= 1 or len(jobs) <= 1:
            results: list[Result] = []
            for job in jobs:
                results.append(function(job))
                bar.update(1)
            return results
        context = multiprocessing.get_context("spawn")
        with context.Pool(min(workers, len(jobs))) as pool:
            indexed: dict[int, Result] = {}
            for index, result in pool.imap_unordered(
                _Indexed(function), enumerate(jobs), chunksize=1
            ):
                indexed[index] = result
                bar.update(1)
        return [indexed[i] for i in range(len(jobs))]
    finally:
        bar.close()


class _Indexed(Generic[Job, Result]):
    """Picklable wrapper that keeps each job's position."""

    def __init__(self, function: Callable[[Job], Result]) -> None:
        self.function = function

    def __call__(self, item: tuple[int, Job]) -> tuple[int, Result]:
        return item[0], self.function(item[1])


def _progress_bar(total: int, label: str, enabled: bool):  # type: ignore[no-untyped-def]
    from tqdm import tqdm

    return tqdm(total=total, desc=label, unit="episode", disable=not enabled)
