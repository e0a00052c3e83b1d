"""Time qpth on a saved batch of QPs; run by path in the ``.venv-bench-qpth`` interpreter.

qpth pins ``numpy<2``, so it lives in its own virtual environment and this
script imports nothing from ``liquid_controller`` (which that environment does
not have). Usage::

    .venv-bench-qpth/bin/python barriernet_qpth_worker.py PROBLEM.npz REPEATS THREADS

``PROBLEM.npz`` holds ``Q (B,n,n)``, ``q (B,n)``, ``G (B,m,n)``, ``h (B,m)`` and the
loss weights ``w (B,n)``. One JSON object goes to stdout: per-call times of
forward + backward of ``sum(w * u)`` in seconds, the solution, the gradient with
respect to ``q``, and the versions used.
"""

from __future__ import annotations

import json
import sys
import time
from importlib.metadata import version

import numpy as np
import torch
from qpth.qp import QPFunction


def main(problem_path: str, repeats: int, threads: int) -> None:
    """Load the problem, time ``repeats`` forward+backward passes, print the JSON report."""
    torch.set_num_threads(threads)
    data = np.load(problem_path)
    Q, q, G, h, w = (torch.from_numpy(data[k]) for k in ("Q", "q", "G", "h", "w"))
    empty = torch.empty(0, dtype=Q.dtype)
    times = []
    for _ in range(repeats + 1):  # the first call warms up and is dropped
        leaves = [t.clone().requires_grad_() for t in (Q, q, G, h)]
        start = time.perf_counter()
        u = QPFunction(verbose=False)(*leaves, empty, empty)
        (w * u).sum().backward()
        times.append(time.perf_counter() - start)
    grad_q = leaves[1].grad
    assert grad_q is not None
    report = {
        "times_s": times[1:],
        "u": u.detach().numpy().tolist(),
        "grad_q": grad_q.numpy().tolist(),
        "versions": {"qpth": version("qpth"), "torch": torch.__version__, "numpy": np.__version__},
        "threads": torch.get_num_threads(),
    }
    json.dump(report, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
