"""Safety benchmark: the whole ``SafetyFilter.filter()`` call against QP peers, side by side.

Workload per size n = 2, 6, 12 actuators: box and rate limits, 2 force rows, and 4
barrier rows (a soft velocity barrier on joint 0 and a hard position HOCBF on joint 1,
upper and lower each), the QP of :mod:`liquid_controller.safety.constraints`. Every
tick draws a new nominal (uniform over 1.5x the box, so most ticks need the QP), a new
joint state and a new previous command; all methods see the same ticks.

- ``ours``: ``SafetyFilter.filter(u_nominal, state, t)``, the whole call (rows built,
  passthrough check, DAQP solve, answer verified, result assembled);
- ``cvxpy_dpp``: :class:`~liquid_controller.safety.reference.ReferenceQP` at cvxpy's
  default QP solver (CLARABEL), parameters re-filled and re-solved each tick (the
  compiled DPP problem is reused);
Violations are of the hard constraints only (box, rate, force rows, hard barriers).

- solver-only context, on the same QP prebuilt as arrays (row building not timed):
  ``daqp`` (``daqp.solve``), ``quadprog`` (``solve_qp``) and ``osqp`` (default
  settings, set up once, ``update`` + ``solve``), with OSQP's largest constraint
  violation.

Goals: ours p50 <= 25 us and p99 <= 100 us for every n, and ours >= 30x faster than
the cvxpy re-solve (p50 ratio) in the same run. Each peer's largest deviation from our
command and its largest constraint violation are listed, so a fast wrong peer shows.

Run: ``liquid-controller bench --suite safety [--quick]`` or
``python bench/bench_safety.py``; writes ``bench/results/safety.md`` and ``safety.json``.
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable
from datetime import datetime, timezone
from functools import partial
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np

from liquid_controller.benchmarks import write_suite_files

__all__ = ["GOALS", "run", "to_markdown", "write_results"]

GOALS = {"p50_us": 25.0, "p99_us": 100.0, "speedup_vs_cvxpy": 30.0}
SIZES = (2, 6, 12)
SEED = 0
DT_S = 0.01


def _config(n: int) -> dict[str, Any]:
    rng = np.random.default_rng(SEED + n)
    names = [f"joint_{i}" for i in range(n)]
    return {
        "actuators": {
            "names": names,
            "effort_min": [-2.0] * n,
            "effort_max": [2.0] * n,
            "rate_max": [150.0] * n,
        },
        "force_limits": [
            {
                "name": "force",
                "A": rng.uniform(-1.0, 1.0, (2, n)).round(3).tolist(),
                "lower": [-1.5, -1.5],
                "upper": [1.5, 1.5],
            }
        ],
        "barriers": [
            {
                "name": "speed",
                "type": "joint_velocity",
                "joints": [names[0]],
                "lower": [-10.0],
                "upper": [10.0],
                "inertia": [0.05],
                "damping": [0.2],
                "class_k": [5.0],
            },
            {
                "name": "reach",
                "type": "joint_position",
                "joints": [names[1]],
                "lower": [-1.5],
                "upper": [1.5],
                "inertia": [0.05],
                "damping": [0.2],
                "class_k": [4.0, 4.0],
                "hard": True,
            },
        ],
        "weights": rng.uniform(0.5, 2.0, n).round(3).tolist(),
    }


def _ticks(n: int, count: int) -> list[tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]]:
    """(nominal, state, u_prev) per tick; states inside the hard barrier's safe set."""
    rng = np.random.default_rng(SEED + 100 + n)
    ticks = []
    for _ in range(count):
        q = rng.uniform(-1.0, 1.0, n)
        v = rng.uniform(-9.0, 9.0, n)
        v[1] = rng.uniform(-2.0, 2.0)  # keeps the hard position barrier satisfiable
        ticks.append((rng.uniform(-3.0, 3.0, n), {"joint_position": q, "joint_velocity": v},
                      rng.uniform(-1.0, 1.0, n) * 0.2))  # fmt: skip
    return ticks


def _percentiles(samples_ns: list[int]) -> dict[str, float]:
    us = np.array(samples_ns, dtype=np.float64) / 1e3
    return {
        "p50_us": float(np.percentile(us, 50)),
        "p99_us": float(np.percentile(us, 99)),
        "mean_us": float(us.mean()),
        "calls": len(samples_ns),
    }


def _time_each(calls: list[Callable[[], Any]]) -> tuple[list[int], list[Any]]:
    """Time each call once, after a warm-up pass over the first few (caches, clocks)."""
    for call in calls[: min(len(calls), 100)]:
        call()
    samples, outputs = [], []
    for call in calls:
        start = time.perf_counter_ns()
        out = call()
        samples.append(time.perf_counter_ns() - start)
        outputs.append(out)
    return samples, outputs


def _measure_size(n: int, quick: bool) -> dict[str, Any]:
    import daqp
    import osqp
    import quadprog
    import scipy.sparse as sp

    from liquid_controller.safety import FilterStatus, SafetyFilter
    from liquid_controller.safety.reference import ReferenceQP

    count = 300 if quick else 3000
    cvxpy_count = 40 if quick else 300
    f = SafetyFilter(_config(n))
    b = f.builder
    ticks = _ticks(n, count)
    problems = [b.problem(nom, state, u_prev, DT_S) for nom, state, u_prev in ticks]

    # ours: the whole filter() call; reset() (untimed) puts each tick's u_prev in place
    for _ in range(200):  # warm-up
        f.reset(ticks[0][2], t=0.0)
        f.filter(ticks[0][0], ticks[0][1], DT_S)
    ours_ns, ours_u, statuses = [], [], []
    for nom, state, u_prev in ticks:
        f.reset(u_prev, t=0.0)
        start = time.perf_counter_ns()
        r = f.filter(nom, state, DT_S)
        ours_ns.append(time.perf_counter_ns() - start)
        ours_u.append(r.u)
        statuses.append(r.status)
    ours = _percentiles(ours_ns)
    ours["max_violation"] = max(
        _hard_violation(b, p, u) for p, u in zip(problems, ours_u, strict=True)
    )
    ours["passthrough_share"] = statuses.count(FilterStatus.PASSTHROUGH) / count
    ours["fallback_share"] = sum(s.fallback for s in statuses) / count

    peers: dict[str, dict[str, Any]] = {}

    def record(name: str, samples: list[int], xs: list[np.ndarray], k: int) -> None:
        entry = _percentiles(samples)
        entry["max_abs_diff_u_vs_ours"] = max(
            float(np.max(np.abs(x[:n] - u))) for x, u in zip(xs, ours_u[:k], strict=True)
        )
        entry["max_violation"] = max(
            _hard_violation(b, p, x[:n]) for p, x in zip(problems[:k], xs, strict=True)
        )
        entry["speedup_of_ours_p50"] = entry["p50_us"] / ours["p50_us"]
        peers[name] = entry

    # cvxpy DPP re-solve at its default QP solver, whole re-solve per tick
    ref = ReferenceQP(b, solver="CLARABEL", tolerance=1e-8)
    ref.options = {}  # CLARABEL at its defaults, as a user would call it
    ref.solve(*_reference_args(ticks[0]))  # compile once
    samples, outputs = _time_each(
        [partial(ref.solve, *_reference_args(t)) for t in ticks[:cvxpy_count]]
    )
    xs = [np.full(n, np.nan) if u is None else u for u, _ in outputs]
    xs = [np.append(x, np.zeros(p.size - n)) for x, p in zip(xs, problems, strict=False)]
    record("cvxpy_dpp (CLARABEL)", samples, xs, cvxpy_count)

    # daqp, solver only
    sense = [np.zeros(p.lower.shape[0], dtype=np.int32) for p in problems]
    samples, outputs = _time_each(
        [
            partial(daqp.solve, p.H, p.f, p.A, p.upper, p.lower, s)
            for p, s in zip(problems, sense, strict=True)
        ]  # fmt: skip
    )
    record("daqp.solve (solver only)", samples, [o[0] for o in outputs], count)

    # quadprog, solver only: rows as C' x >= b with infinite bounds dropped
    qp_args = []
    for p in problems:
        eye = np.eye(p.size)
        C = np.vstack((eye, -eye, p.A, -p.A))
        rhs = np.concatenate((p.lower[: p.size], -p.upper[: p.size], p.lower[p.size :],
                              -p.upper[p.size :]))  # fmt: skip
        keep = np.isfinite(rhs)
        qp_args.append((p.H, -p.f, np.ascontiguousarray(C[keep].T), rhs[keep]))
    samples, outputs = _time_each([partial(quadprog.solve_qp, *a, 0) for a in qp_args])
    record("quadprog (solver only)", samples, [o[0] for o in outputs], count)

    # OSQP at default settings: set up once, then update the vectors per tick
    first = problems[0]
    nx = first.size
    A_full = sp.csc_matrix(np.vstack((np.eye(nx), first.A)))
    solver = osqp.OSQP()
    solver.setup(sp.csc_matrix(first.H), first.f, A_full, first.lower, first.upper, verbose=False)

    def osqp_solve(p: Any) -> np.ndarray:
        solver.update(q=p.f, l=p.lower, u=p.upper)
        return np.asarray(solver.solve().x, dtype=np.float64)

    samples, outputs = _time_each([partial(osqp_solve, p) for p in problems])
    record("osqp (solver only, default tolerances)", samples, outputs, count)
    return {
        "n": n,
        "force_rows": b.num_force_rows,
        "barrier_rows": b.num_barrier_rows,
        "ours": ours,
        "peers": peers,
    }


def _hard_violation(builder: Any, problem: Any, u: np.ndarray) -> float:
    """Return the largest violation of the hard constraints at ``u``.

    Box and rate, force rows and hard barrier rows; soft barrier rows may hold with slack,
    so they are left out.
    """
    n, nx, k = builder.n, problem.size, builder.num_force_rows
    if not np.all(np.isfinite(u)):
        return float("inf")
    hard = np.concatenate((np.ones(k, dtype=bool), ~builder.soft))
    values = problem.A[:, :n] @ u
    lower = np.concatenate((problem.lower[:n], problem.lower[nx:][hard]))
    upper = np.concatenate((problem.upper[:n], problem.upper[nx:][hard]))
    values = np.concatenate((u, values[hard]))
    return float(max(0.0, np.max(np.maximum(lower - values, values - upper))))


def _reference_args(
    tick: tuple[np.ndarray, dict[str, np.ndarray], np.ndarray],
) -> tuple[Any, ...]:
    nominal, state, u_prev = tick
    return nominal, state, u_prev, DT_S


def run(quick: bool = False) -> dict[str, Any]:
    """Measure every size; return the JSON-serialisable result."""
    sizes = [_measure_size(n, quick) for n in SIZES]
    for size in sizes:
        cvxpy = next(v for k, v in size["peers"].items() if k.startswith("cvxpy"))
        size["goals"] = {
            "p50_us": size["ours"]["p50_us"] <= GOALS["p50_us"],
            "p99_us": size["ours"]["p99_us"] <= GOALS["p99_us"],
            "speedup_vs_cvxpy": cvxpy["speedup_of_ours_p50"] >= GOALS["speedup_vs_cvxpy"],
        }
    return {
        "suite": "safety",
        "date_utc": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "quick": quick,
        "goals": GOALS,
        "sizes": sizes,
        "environment": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "daqp": version("daqp"),
            "cvxpy": version("cvxpy"),
            "osqp": version("osqp"),
            "quadprog": version("quadprog"),
            "machine": f"{platform.machine()}, {os.cpu_count()} logical CPUs",
        },
    }


def to_markdown(result: dict[str, Any]) -> str:
    """Render a result of :func:`run` as the markdown results page."""
    g = result["goals"]
    lines = [
        "# Safety filter: whole filter() call vs QP peers",
        "",
        f"Measured {result['date_utc']}{' (quick run)' if result['quick'] else ''}. "
        "Box + rate limits, 2 force rows, 4 barrier rows (soft velocity CBF, hard position "
        "HOCBF); a new nominal, state and previous command every tick. Times in "
        "microseconds per call; speed-up = peer p50 / ours p50. Peers marked *solver only* "
        "get the QP prebuilt (row building not timed); cvxpy re-fills its parameters.",
        "",
        f"Goals: ours p50 <= {g['p50_us']:.0f} us, p99 <= {g['p99_us']:.0f} us, "
        f">= {g['speedup_vs_cvxpy']:.0f}x faster than the cvxpy DPP re-solve.",
        "",
    ]
    for size in result["sizes"]:
        ours, goals = size["ours"], size["goals"]
        verdict = ", ".join(f"{k} {'met' if v else 'NOT met'}" for k, v in goals.items())
        lines += [
            f"## n = {size['n']} actuators ({verdict})",
            "",
            "| method | p50 us | p99 us | mean us | calls | speed-up of ours | "
            "max abs diff u vs ours | max violation |",
            "|---|---|---|---|---|---|---|---|",
            f"| **ours: SafetyFilter.filter()** | {ours['p50_us']:.1f} | {ours['p99_us']:.1f} | "
            f"{ours['mean_us']:.1f} | {ours['calls']} | | | {ours['max_violation']:.1e} |",
        ]
        for name, peer in size["peers"].items():
            lines.append(
                f"| {name} | {peer['p50_us']:.1f} | {peer['p99_us']:.1f} | "
                f"{peer['mean_us']:.1f} | {peer['calls']} | {peer['speedup_of_ours_p50']:.1f}x | "
                f"{peer['max_abs_diff_u_vs_ours']:.1e} | {peer['max_violation']:.1e} |"
            )
        lines += [
            "",
            f"Ours: {100 * ours['passthrough_share']:.0f}% of ticks passed through unchanged, "
            f"{100 * ours['fallback_share']:.0f}% fell back to the safe command.",
            "",
        ]
    env = result["environment"]
    lines += [
        "Environment: " + ", ".join(f"{k} {v}" for k, v in env.items()) + ".",
        "",
        "Re-run: `liquid-controller bench --suite safety` or `python bench/bench_safety.py`.",
        "",
    ]
    return "\n".join(lines)


def write_results(result: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    """Write ``safety.md`` and ``safety.json`` into ``out_dir``; return both paths."""
    return write_suite_files("safety", result, to_markdown(result), out_dir)
