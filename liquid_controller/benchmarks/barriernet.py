"""BarrierNet QP layer benchmark: ours vs cvxpylayers vs qpth, forward + backward, side by side.

The workload is the issue's: a batch of 64 QPs with 2 variables and 4
inequality rows, float64, and one forward + backward pass of ``sum(w * u)``
with gradients to all of ``Q, q, G, h``. Every solver gets the same problems in
the same run; the goals are ratios (ours at least 50x faster than cvxpylayers
and 5x faster than qpth), never absolute times.

qpth pins ``numpy<2``, so it is measured in its own interpreter,
``.venv-bench-qpth/bin/python`` at the repository root (set-up in
``bench/README.md``), through :mod:`barriernet_qpth_worker`. Without that
environment the result says that qpth was not measured, and why.

Run: ``liquid-controller bench --suite barriernet [--quick]``; writes
``bench/results/barriernet.md`` and ``barriernet.json``.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from liquid_controller.benchmarks import write_suite_files

if TYPE_CHECKING:
    import torch

__all__ = [
    "QPTH_PYTHON",
    "cvxpylayers_solver",
    "make_problem",
    "run",
    "to_markdown",
    "write_results",
]

_REPO_ROOT = Path(__file__).resolve().parents[2]
QPTH_PYTHON = _REPO_ROOT / ".venv-bench-qpth" / "bin" / "python"
"""The interpreter of the separate qpth environment (see ``bench/README.md``)."""
_WORKER = Path(__file__).with_name("barriernet_qpth_worker.py")

BATCH, VARIABLES, ROWS = 64, 2, 4
GOAL_VS_CVXPYLAYERS, GOAL_VS_QPTH = 50.0, 5.0
THREADS = 1
"""torch intra-op threads for every layer: these problems are too small to gain from more,
and on a shared machine extra threads only add scheduling noise (seen: 10x slower medians)."""

LAYER_CONFIG = _REPO_ROOT / "config" / "safety.yaml"
"""The whole-layer workload: the example robot's safety config (box, rate, traction row,
4 soft wheel-speed barrier rows)."""

Problem = dict[str, np.ndarray]
Solver = Callable[..., "torch.Tensor"]
"""``(Q, q, G, h) -> u`` for a batch; torch is imported inside the functions (see the package)."""


def make_problem(seed: int = 0, batch: int = BATCH, n: int = VARIABLES, m: int = ROWS) -> Problem:
    """Return a seeded batch of feasible QPs (``h > 0``, so ``u = 0`` is feasible) and loss weights.

    The linear term is scaled so that about half of the samples have active rows.
    """
    rng = np.random.default_rng(seed)
    L = rng.normal(size=(batch, n, n))
    return {
        "Q": L @ L.transpose(0, 2, 1) + 0.5 * np.eye(n),
        "q": 3.0 * rng.normal(size=(batch, n)),
        "G": rng.normal(size=(batch, m, n)),
        "h": rng.uniform(0.05, 1.05, size=(batch, m)),
        "w": rng.normal(size=(batch, n)),
    }


def _time_in_process(solve: Solver, problem: Problem, repeats: int) -> dict[str, Any]:
    """Time ``repeats`` forward + backward passes (after one warm-up); keep the last outputs."""
    import torch

    tensors = [torch.from_numpy(problem[k]) for k in ("Q", "q", "G", "h")]
    w = torch.from_numpy(problem["w"])
    times = []
    for _ in range(repeats + 1):
        leaves = [t.clone().requires_grad_() for t in tensors]
        start = time.perf_counter()
        u = solve(*leaves)
        (w * u).sum().backward()  # type: ignore[no-untyped-call]
        times.append(time.perf_counter() - start)
    grad_q = leaves[1].grad
    assert grad_q is not None
    return {"times_s": times[1:], "u": u.detach().numpy(), "grad_q": grad_q.numpy()}


def _ours(Q: torch.Tensor, q: torch.Tensor, G: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    from liquid_controller.models.qp_layer import solve_qp

    return solve_qp(Q, q, G, h).u


def _ours_active_rows(problem: Problem) -> int:
    import torch

    from liquid_controller.models.qp_layer import solve_qp

    tensors = (torch.from_numpy(problem[k]) for k in ("Q", "q", "G", "h"))
    return int(solve_qp(*tensors).active.sum())


def cvxpylayers_solver(n: int, m: int, solver_args: dict[str, Any] | None = None) -> Solver:
    """Return cvxpylayers' layer for the same QPs, as a ``(Q, q, G, h) -> u`` function.

    cvxpylayers needs a DPP problem, so the cost is written ``½‖L u‖²`` with the
    parameter ``L`` and the returned function factors ``Q = LᵀL`` (differentiably)
    inside the call.

    Args:
        n: variables.
        m: inequality rows.
        solver_args: passed to every call (default: cvxpylayers' own defaults).
    """
    import cvxpy as cp
    import torch
    from cvxpylayers.torch import CvxpyLayer  # type: ignore[attr-defined]

    L_p, q_p, G_p, h_p = (
        cp.Parameter((n, n)),
        cp.Parameter(n),
        cp.Parameter((m, n)),
        cp.Parameter(m),
    )
    u = cp.Variable(n)
    objective = cp.Minimize(0.5 * cp.sum_squares(L_p @ u) + q_p @ u)  # type: ignore[attr-defined]
    layer = CvxpyLayer(cp.Problem(objective, [G_p @ u <= h_p]), [L_p, q_p, G_p, h_p], [u])
    args = dict(solver_args or {})

    def solve(Q: torch.Tensor, q: torch.Tensor, G: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        L = torch.linalg.cholesky(Q).transpose(-1, -2)
        u_star: torch.Tensor = layer(L, q, G, h, solver_args=args)[0]
        return u_star

    return solve


def _time_whole_layer(repeats: int) -> dict[str, Any]:
    """Time :class:`BarrierNetLayer` on :data:`LAYER_CONFIG`, batch 64 (or say why not)."""
    import torch

    from liquid_controller.models.barriernet import BarrierNetLayer
    from liquid_controller.safety.config import load_config

    what = (
        "BarrierNetLayer forward + backward, batch 64, on config/safety.yaml "
        "(box, rate, traction, 4 soft wheel-speed rows: 6 variables, 14 rows): row "
        "building + QP, gradients to nominal and gains (no peer: informational)"
    )
    if not LAYER_CONFIG.exists():
        return {"what": what, "skipped": f"{LAYER_CONFIG} not found (not a source checkout)"}
    layer = BarrierNetLayer(load_config(LAYER_CONFIG))
    rng = np.random.default_rng(1)

    def tensor(low: float, high: float) -> torch.Tensor:
        return torch.from_numpy(rng.uniform(low, high, size=(BATCH, 2)))

    u_nominal, u_prev = tensor(-3.0, 3.0), tensor(-0.5, 0.5)
    state = {"joint_position": tensor(-1.0, 1.0), "joint_velocity": tensor(-15.0, 15.0)}
    gains = torch.from_numpy(rng.uniform(0.2, 6.2, size=(BATCH, layer.num_gains)))
    times = []
    for _ in range(repeats + 1):
        leaves = [u_nominal.clone().requires_grad_(), gains.clone().requires_grad_()]
        start = time.perf_counter()
        out = layer(leaves[0], state, leaves[1], u_prev=u_prev, dt_s=0.01)
        out.u.sum().backward()
        times.append(1e3 * (time.perf_counter() - start))
    return {"what": what, "median_ms": statistics.median(times[1:]), "min_ms": min(times[1:])}


def _time_qpth(problem: Problem, repeats: int, python: Path) -> dict[str, Any]:
    """Time qpth in its own interpreter; return its report, or ``{"skipped": reason}``."""
    if not python.exists():
        return {"skipped": f"{python} not found (qpth environment not set up, see bench/README.md)"}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "problem.npz"
        np.savez(path, **problem)  # type: ignore[arg-type]
        proc = subprocess.run(
            [str(python), str(_WORKER), str(path), str(repeats), str(THREADS)],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    if proc.returncode != 0:
        return {"skipped": f"qpth worker failed (exit {proc.returncode}): {proc.stderr[-500:]}"}
    report: dict[str, Any] = json.loads(proc.stdout)
    report["u"] = np.asarray(report["u"])
    report["grad_q"] = np.asarray(report["grad_q"])
    return report


def _summary(measured: dict[str, Any], reference: dict[str, Any] | None) -> dict[str, Any]:
    times_ms = [1e3 * t for t in measured["times_s"]]
    summary: dict[str, Any] = {
        "repeats": len(times_ms),
        "median_ms": statistics.median(times_ms),
        "min_ms": min(times_ms),
    }
    if reference is not None:
        summary["max_abs_diff_u_vs_ours"] = float(np.abs(measured["u"] - reference["u"]).max())
        summary["max_abs_diff_grad_q_vs_ours"] = float(
            np.abs(measured["grad_q"] - reference["grad_q"]).max()
        )
    return summary


def run(quick: bool = False, *, qpth_python: Path = QPTH_PYTHON) -> dict[str, Any]:
    """Measure the three layers on the same problems; return a JSON-serialisable result.

    Args:
        quick: fewer repetitions (a smoke run, e.g. in CI); the ratios are noisier.
        qpth_python: interpreter with qpth installed; qpth is skipped if it does not exist.
    """
    import torch

    if quick:
        repeats = {"ours": 30, "cvxpylayers": 3, "qpth": 5, "layer": 10}
    else:
        repeats = {"ours": 1000, "cvxpylayers": 30, "qpth": 200, "layer": 300}
    problem = make_problem()
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(THREADS)
    try:
        ours = _time_in_process(_ours, problem, repeats["ours"])
        cvxpylayers = _time_in_process(
            cvxpylayers_solver(VARIABLES, ROWS), problem, repeats["cvxpylayers"]
        )
        whole_layer = _time_whole_layer(repeats["layer"])
    finally:
        torch.set_num_threads(previous_threads)
    qpth = _time_qpth(problem, repeats["qpth"], qpth_python)
    peers: dict[str, Any] = {"cvxpylayers": _summary(cvxpylayers, ours)}
    if "skipped" in qpth:
        peers["qpth"] = {"skipped": qpth["skipped"]}
    else:
        peers["qpth"] = _summary(qpth, ours)
        peers["qpth"]["versions"] = qpth["versions"]
    ours_summary = _summary(ours, None)
    goals = {"cvxpylayers": GOAL_VS_CVXPYLAYERS, "qpth": GOAL_VS_QPTH}
    for name, peer in peers.items():
        if "median_ms" in peer:
            peer["speedup"] = peer["median_ms"] / ours_summary["median_ms"]
            peer["goal_speedup"] = goals[name]
            peer["goal_met"] = peer["speedup"] >= goals[name]
    import torch

    return {
        "benchmark": "barriernet",
        "date_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "quick": quick,
        "workload": {
            "batch": BATCH,
            "variables": VARIABLES,
            "inequality_rows": ROWS,
            "dtype": "float64",
            "pass": "forward + backward of sum(w * u), gradients to Q, q, G, h",
            "active_rows": _ours_active_rows(problem),
        },
        "ours": ours_summary,
        "peers": peers,
        "whole_layer": whole_layer,
        "environment": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "numpy": np.__version__,
            "cvxpylayers": version("cvxpylayers"),
            "daqp": version("daqp"),
            "torch_threads": THREADS,
            "machine": f"{platform.machine()}, {os.cpu_count()} logical CPUs",
        },
    }


def to_markdown(result: dict[str, Any]) -> str:
    """Render a result of :func:`run` as the markdown results page."""
    w = result["workload"]
    lines = [
        "# BarrierNet QP layer: forward + backward",
        "",
        f"Measured {result['date_utc']}.",
        "",
        f"Batch {w['batch']}, {w['variables']} variables, {w['inequality_rows']} inequality rows, "
        f"{w['dtype']}; {w['pass']}; {w['active_rows']} active rows over the batch. "
        f"Median over repeats{' (quick run)' if result['quick'] else ''}; "
        "lower is better; speed-up = peer median / ours.",
        "",
        "| layer | median ms | min ms | speed-up of ours | goal | max abs diff u | "
        "max abs diff dL/dq |",
        "|---|---|---|---|---|---|---|",
        f"| ours (daqp active set + KKT backward) | {result['ours']['median_ms']:.3f} | "
        f"{result['ours']['min_ms']:.3f} | | | | |",
    ]
    for name, peer in result["peers"].items():
        if "skipped" in peer:
            lines.append(f"| {name} | not measured: {peer['skipped']} | | | | | |")
            continue
        verdict = "met" if peer["goal_met"] else "NOT met"
        lines.append(
            f"| {name} | {peer['median_ms']:.3f} | {peer['min_ms']:.3f} | "
            f"{peer['speedup']:.1f}x | >= {peer['goal_speedup']:.0f}x ({verdict}) | "
            f"{peer['max_abs_diff_u_vs_ours']:.1e} | {peer['max_abs_diff_grad_q_vs_ours']:.1e} |"
        )
    whole = result["whole_layer"]
    timing = (
        f"not measured: {whole['skipped']}"
        if "skipped" in whole
        else f"median {whole['median_ms']:.3f} ms, min {whole['min_ms']:.3f} ms"
    )
    lines += ["", f"Whole layer: {whole['what']}: {timing}."]
    env = result["environment"]
    lines += [
        "",
        "Environment: " + ", ".join(f"{k} {v}" for k, v in env.items()) + ".",
        "",
        "Re-run: `make bench` (all suites; sets up `.venv-bench-qpth` for qpth) or "
        "`.venv/bin/liquid-controller bench --suite barriernet` (see `bench/README.md`).",
        "",
    ]
    return "\n".join(lines)


def write_results(result: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    """Write ``barriernet.md`` and ``barriernet.json`` into ``out_dir``; return both paths."""
    return write_suite_files("barriernet", result, to_markdown(result), out_dir)
