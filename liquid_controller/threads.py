"""One BLAS/OpenMP thread for control-loop processes.

A control step is batch-1 work of about a millisecond; a multi-threaded BLAS only adds
contention. Measured on a busy 2-core machine, the default camera policy's step took
~110 ms (p50) with OpenBLAS's default threads and ~1.1 ms with one. Control entry points
(the ROS node executables, ``liquid-controller demo``) call :func:`prefer_single_thread`
before numpy is imported; a value already in the environment wins. Library imports never
do this: a training script keeps its threads.
"""

from __future__ import annotations

import os

__all__ = ["THREAD_VARIABLES", "prefer_single_thread"]

THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def prefer_single_thread() -> None:
    """Default the BLAS/OpenMP thread counts to 1 (effective only before numpy loads)."""
    for variable in THREAD_VARIABLES:
        os.environ.setdefault(variable, "1")
