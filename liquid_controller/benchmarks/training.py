"""Training benchmark: sequences per second of a training step, ours against ncps, in one run.

A training step is what the trainer does per window: forward over ``(B, W)``,
mean squared error, backward, ``AdamW.step``. Measured side by side, one thread
(``torch.set_num_threads(1)``), the peers' timed blocks interleaved so that load
changes on a shared machine hit both alike:

- ``core``: batch 64, window 32, ``CfC(32, AutoNCP(19, 2))``:

  - ``ncps``: ncps 1.0.1's ``CfC`` with ``timespans=None`` (it cannot take a
    per-sample ``(B, W)`` time step: its issues #81 / #83);
  - ``ours``: the same network converted with ``from_ncps`` (same wiring, same
    weights), run as the trainer runs the policy core
    (:func:`~liquid_controller.train.core_sequence.run_core`), with per-sample
    irregular ``dt`` and episode resets;
  - ``ours_step_loop``: ``LiquidRNN.forward`` (autograd through every step), the
    path before the fused window, for reference.

  Both sides' forward outputs are compared on the same input (``dt = 1``) first.
- ``policy``: the whole default camera policy (5-conv encoder on 66x200 RGB, IMU,
  CfC-NCP core, action head) through the trainer's ``WindowModel``, batch 8,
  window 32: sequences and frames per second (no peer: informational).

Goal: ours >= 2x ncps on ``core``.
Run: ``liquid-controller bench --suite training [--quick]``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from liquid_controller.benchmarks import write_suite_files

__all__ = ["GOAL", "run", "to_markdown", "write_results"]

GOAL = 2.0
"""Minimum median ratio of our training throughput over ncps's (core workload)."""

BATCH, WINDOW, FEATURES = 64, 32, 32
POLICY_BATCH = 8
ROUNDS = 8


def _interleaved(
    steps: dict[str, Any], per_round: int, rounds: int, sequences: int
) -> dict[str, Any]:
    """Time each peer's ``step()`` in ``rounds`` alternating blocks; sequences/s per block."""
    import numpy as np

    rates: dict[str, list[float]] = {name: [] for name in steps}
    for step in steps.values():  # warm-up
        for _ in range(2):
            step()
    for _ in range(rounds):
        for name, step in steps.items():
            start = time.perf_counter()
            for _ in range(per_round):
                step()
            rates[name].append(per_round * sequences / (time.perf_counter() - start))
    return {
        name: {
            "median_seq_per_s": float(np.median(values)),
            "min_seq_per_s": float(np.min(values)),
            "max_seq_per_s": float(np.max(values)),
            "blocks": len(values),
        }
        for name, values in rates.items()
    }


def _bench_core(quick: bool) -> dict[str, Any]:
    import torch
    from ncps.torch import CfC as NcpsCfC
    from ncps.wirings import AutoNCP

    from liquid_controller.models.convert import from_ncps
    from liquid_controller.train.core_sequence import run_core

    torch.manual_seed(0)
    ncps = NcpsCfC(FEATURES, AutoNCP(19, 2, seed=22222), batch_first=True)
    ours = from_ncps(ncps)
    fused = from_ncps(ncps)
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(BATCH, WINDOW, FEATURES, generator=generator)
    target = torch.randn(BATCH, WINDOW, 2, generator=generator)
    dt = 0.04 + 0.02 * torch.rand(BATCH, WINDOW, generator=generator)
    reset = torch.zeros(BATCH, WINDOW, dtype=torch.bool)
    reset[:, 0] = True
    with torch.no_grad():
        ones = torch.ones(BATCH, WINDOW)
        reference, _ = ncps(x)
        mine, _ = run_core(fused, x, fused.initial_state(BATCH), ones, reset)
        difference = float((reference - mine).abs().max())

    def stepper(model: Any, forward: Any) -> Any:
        optimiser = torch.optim.AdamW(model.parameters(), lr=1e-3)

        def step() -> None:
            out = forward(model)
            loss = ((out - target) ** 2).mean()
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()

        return step

    steps = {
        "ncps": stepper(ncps, lambda m: m(x)[0]),
        "ours": stepper(fused, lambda m: run_core(m, x, m.initial_state(BATCH), dt, reset)[0]),
        "ours_step_loop": stepper(ours, lambda m: m(x, timespans=dt)[0]),
    }
    result = _interleaved(steps, 2 if quick else 6, 3 if quick else ROUNDS, BATCH)
    result["max_abs_diff_forward_vs_ncps"] = difference
    result["model"] = (
        f"CfC(32, AutoNCP(19, 2)), batch {BATCH}, window {WINDOW}, MSE + backward + AdamW"
    )
    return result


def _bench_policy(quick: bool) -> dict[str, Any]:
    import torch

    from liquid_controller.models.policy import (
        LiquidPolicy,
        default_policy_config,
        default_policy_spec,
    )
    from liquid_controller.train.window_model import WindowModel

    torch.manual_seed(0)
    spec = default_policy_spec()
    model = WindowModel(LiquidPolicy(default_policy_config(), spec))
    generator = torch.Generator().manual_seed(2)
    shape = (POLICY_BATCH, WINDOW, spec.image.height, spec.image.width, 3)  # type: ignore[union-attr]
    image = torch.randint(0, 256, shape, dtype=torch.uint8, generator=generator)
    vector = torch.randn(POLICY_BATCH, WINDOW, 6, generator=generator)
    dt = 0.04 + 0.02 * torch.rand(POLICY_BATCH, WINDOW, generator=generator)
    reset = torch.zeros(POLICY_BATCH, WINDOW, dtype=torch.bool)
    target = torch.randn(POLICY_BATCH, WINDOW, 2, generator=generator)
    optimiser = torch.optim.AdamW(model.parameters(), lr=1e-3)
    h = model.policy.initial_state(POLICY_BATCH)

    def step() -> None:
        out = model(image, vector, h, dt, reset)
        loss = ((out.action - target) ** 2).mean()
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()

    result: dict[str, Any] = _interleaved({"ours": step}, 1, 2 if quick else 4, POLICY_BATCH)[
        "ours"
    ]
    result["median_frames_per_s"] = result["median_seq_per_s"] * WINDOW
    result["model"] = (
        f"default camera policy (5-conv on 66x200 RGB, IMU, CfC-NCP 19), batch {POLICY_BATCH}, "
        f"window {WINDOW}, MSE + backward + AdamW"
    )
    return result


def _worker(quick: bool) -> dict[str, Any]:
    import torch

    from liquid_controller.benchmarks.core import _version

    torch.set_num_threads(1)
    return {
        "core": _bench_core(quick),
        "policy": _bench_policy(quick),
        "environment": {
            "torch": torch.__version__,
            "ncps": _version("ncps"),
            "torch_threads": torch.get_num_threads(),
        },
    }


def run(quick: bool = False) -> dict[str, Any]:
    """Measure both workloads in a single-threaded child process; return the result."""
    from liquid_controller.benchmarks.core import SINGLE_THREAD_ENV, _machine

    out = subprocess.run(
        [sys.executable, "-m", __name__, "--worker"] + (["--quick"] if quick else []),
        env={**os.environ, **SINGLE_THREAD_ENV},
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"training benchmark worker failed:\n{out.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    core = result["core"]
    ratio = core["ours"]["median_seq_per_s"] / core["ncps"]["median_seq_per_s"]
    result.update(
        benchmark="training",
        quick=quick,
        date=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        machine=_machine(),
        goals={"core_vs_ncps": {"ratio": ratio, "goal": GOAL, "met": ratio >= GOAL}},
    )
    return result


def to_markdown(result: dict[str, Any]) -> str:
    """Render a result of :func:`run` as the markdown results page."""
    machine, core, policy = result["machine"], result["core"], result["policy"]
    goal = result["goals"]["core_vs_ncps"]
    ncps = core["ncps"]["median_seq_per_s"]
    lines = [
        "# Training benchmark: training-step throughput, ours vs ncps",
        "",
        f"{result['date']}; {machine['cpu']} ({machine['cores']} cores), "
        f"{machine['system']}, Python {machine['python']}"
        + (" - quick run (few blocks, noisy)" if result["quick"] else "")
        + ".",
        "One thread; a step is forward over the window, MSE, backward and AdamW.step; "
        "sequences/s per timed block, the peers' blocks interleaved; median (min-max).",
        "",
        "## Goal",
        "",
        "| goal | ratio (median) | required | verdict |",
        "|---|---|---|---|",
        f"| core_vs_ncps | {goal['ratio']:.2f}x | >= {goal['goal']:g}x | "
        f"{'PASS' if goal['met'] else 'FAIL'} |",
        "",
        "## Core",
        "",
        core["model"] + ". ncps gets `timespans=None` (dt 1 for every sample: it cannot take "
        "per-sample dt, issues #81/#83); ours takes irregular per-sample dt and episode "
        f"resets. Forward outputs on the same input (dt 1): max diff "
        f"{core['max_abs_diff_forward_vs_ncps']:.1e}.",
        "",
        "| implementation | sequences/s | vs ncps |",
        "|---|---|---|",
    ]
    labels = (
        ("ours", "liquid_controller trainer core (fused window, hand-written BPTT)"),
        ("ours_step_loop", "liquid_controller LiquidRNN.forward (autograd per step)"),
        ("ncps", "ncps 1.0.1 CfC"),
    )
    for key, label in labels:
        row = core[key]
        lines.append(
            f"| {label} | {row['median_seq_per_s']:.0f} ({row['min_seq_per_s']:.0f}-"
            f"{row['max_seq_per_s']:.0f}) | {row['median_seq_per_s'] / ncps:.2f}x |"
        )
    lines += [
        "",
        "## Whole policy (encoder included)",
        "",
        policy["model"] + ".",
        "",
        "| sequences/s | frames/s |",
        "|---|---|",
        f"| {policy['median_seq_per_s']:.1f} ({policy['min_seq_per_s']:.1f}-"
        f"{policy['max_seq_per_s']:.1f}) | {policy['median_frames_per_s']:.0f} |",
        "",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in result["environment"].items()) + ".",
        "",
        "Re-run: `liquid-controller bench --suite training`.",
        "",
    ]
    return "\n".join(lines)


def write_results(result: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    """Write ``training.md`` and ``training.json`` into ``out_dir``; return both paths."""
    return write_suite_files("training", result, to_markdown(result), out_dir)


if __name__ == "__main__":
    # Internal: ``python -m liquid_controller.benchmarks.training --worker [--quick]``.
    if len(sys.argv) >= 2 and sys.argv[1] == "--worker":
        print(json.dumps(_worker("--quick" in sys.argv[2:])))
    else:
        sys.exit("usage: liquid-controller bench --suite training [--quick] [--out DIR]")
