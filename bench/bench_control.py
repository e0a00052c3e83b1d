"""The control cores' overhead per tick: runner vs the bare call it wraps, in one run.

What a node's timer callback computes, without ROS: input validation, watchdog,
dt guards, the command guard and the result records around the two calls that
do the real work. Measured side by side, interleaved round-robin so machine
noise hits every variant alike (the order rotates each round; batch 1, one thread):

- ``policy``: ``RuntimePolicy.step`` on the default camera policy (66x200 RGB +
  IMU, CfC-NCP; an untrained, seeded network exported to the torch-free
  artifact) vs ``PolicyRunner.submit(image) + submit(imu) + tick``;
- ``safety``: ``SafetyFilter.filter`` with the shipped ``config/safety.yaml``
  (box, rate, traction row, wheel-speed barrier) vs
  ``SafetyRunner.submit_nominal + submit_joint_state + tick``, with nominals that
  alternate between passing through and being projected;
- ``pipeline``: ``ControlPipeline.tick`` with the inputs submitted (the composed
  node's whole core), against the sum of the two bare calls.

Goals (ratios, same run): the policy runner at most 1.10x the bare policy step
(p50), the safety runner at most 2.0x the bare filter call (p50; the filter
itself takes tens of microseconds, so the runner's fixed cost shows), and the
pipeline at most 1.15x the two bare calls together. Issue 4's callback budget
(p99 < 2 ms) is the context for the absolute numbers.

Needs torch once, to build and export the default policy (unless
``resource/default_policy.npz`` exists). Run:
``.venv/bin/python bench/bench_control.py [--quick]`` (about 30 s); writes
``bench/results/control.md`` and ``control.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
GOALS = {"policy": 1.10, "safety": 2.0, "pipeline": 1.15}


def _single_thread() -> None:
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")


def _default_artifact(tmp: Path) -> tuple[Path, str]:
    shipped = ROOT / "resource" / "default_policy.npz"
    if shipped.is_file():
        return shipped, "resource/default_policy.npz"
    import torch

    from liquid_controller.models.checkpoint import save_checkpoint
    from liquid_controller.models.export import export_checkpoint
    from liquid_controller.models.policy import (
        LiquidPolicy,
        default_policy_config,
        default_policy_spec,
    )

    torch.manual_seed(0)
    checkpoint, artifact = tmp / "policy.safetensors", tmp / "policy.npz"
    save_checkpoint(checkpoint, LiquidPolicy(default_policy_config(), default_policy_spec()))
    export_checkpoint(checkpoint, artifact)
    return artifact, "default_policy_config() seed 0, exported (untrained)"


def _interleaved(variants: dict[str, Callable[[int], None]], rounds: int) -> dict[str, list[float]]:
    """Time each variant once per round; return per-call seconds.

    The order rotates every round, so no variant always runs right after another one
    (a policy step evicts the caches the next call would find warm).
    """
    times: dict[str, list[float]] = {name: [] for name in variants}
    names = list(variants)
    clock = time.perf_counter
    for k in range(rounds):
        shift = k % len(names)
        for name in names[shift:] + names[:shift]:
            call = variants[name]
            start = clock()
            call(k)
            times[name].append(clock() - start)
    return times


def _stats(samples: list[float]) -> dict[str, float]:
    import numpy as np

    arr = np.array(samples) * 1e6
    return {"p50_us": float(np.percentile(arr, 50)), "p99_us": float(np.percentile(arr, 99))}


def run(quick: bool = False) -> dict[str, Any]:
    """Measure the three comparisons; return a JSON-able result."""
    _single_thread()
    import numpy as np

    from liquid_controller.control import (
        CommandGuard,
        ControlPipeline,
        PolicyRunner,
        PolicyRunnerConfig,
        SafetyRunner,
        SafetyRunnerConfig,
    )
    from liquid_controller.runtime.policy import RuntimePolicy
    from liquid_controller.safety.filter import SafetyFilter

    rounds = 300 if quick else 3000
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        artifact, model = _default_artifact(Path(tmp))
        policies = [RuntimePolicy.load(artifact) for _ in range(3)]
    config = ROOT / "config" / "safety.yaml"
    filters = [SafetyFilter.from_yaml(config) for _ in range(3)]
    spec = policies[0].spec
    assert spec.image is not None
    images = rng.integers(0, 256, (8, spec.image.height, spec.image.width, 3), dtype=np.uint8)
    imus = rng.normal(size=(8, 6))
    nominals = np.array([[0.1, 0.2], [2.0, 2.0], [-0.3, 0.1], [1.5, -2.5]])
    joints = np.array([[0.0, 0.0], [1.0, -1.0]])
    period = 0.02

    bare_policy, runner_policy, pipe_policy = policies
    bare_filter, runner_filter, pipe_filter = filters

    def guard(f: SafetyFilter) -> CommandGuard:
        return CommandGuard.from_config(f.config)

    pcfg = PolicyRunnerConfig(input_timeout_s=0.25, nominal_period_s=period)
    scfg = SafetyRunnerConfig(input_timeout_s=0.1, max_dt_s=0.1)
    policy_runner = PolicyRunner(runner_policy, pcfg)
    safety_runner = SafetyRunner(runner_filter, guard(runner_filter), scfg)
    pipeline = ControlPipeline(
        PolicyRunner(pipe_policy, pcfg),
        SafetyRunner(pipe_filter, guard(pipe_filter), scfg),
    )
    image_key = "image"
    vector_key = spec.vectors[0].name

    def obs(k: int) -> dict[str, Any]:
        return {image_key: images[k % 8], vector_key: imus[k % 8]}

    def bare_policy_step(k: int) -> None:
        bare_policy.step(obs(k), period)

    def runner_policy_tick(k: int) -> None:
        now = k * period
        policy_runner.submit(image_key, images[k % 8], stamp_s=now, now_s=now)
        policy_runner.submit(vector_key, imus[k % 8], stamp_s=now, now_s=now)
        policy_runner.tick(now)

    def bare_filter_call(k: int) -> None:
        state = {"joint_position": joints[k % 2], "joint_velocity": joints[(k + 1) % 2]}
        bare_filter.filter(nominals[k % 4], state, k * period)

    def runner_filter_tick(k: int) -> None:
        now = k * period
        safety_runner.submit_nominal(nominals[k % 4], stamp_s=now, now_s=now)
        safety_runner.submit_joint_state(joints[k % 2], joints[(k + 1) % 2], stamp_s=now, now_s=now)
        safety_runner.tick(now)

    def pipeline_tick(k: int) -> None:
        now = k * period
        pipeline.policy.submit(image_key, images[k % 8], stamp_s=now, now_s=now)
        pipeline.policy.submit(vector_key, imus[k % 8], stamp_s=now, now_s=now)
        pipeline.safety.submit_joint_state(
            joints[k % 2], joints[(k + 1) % 2], stamp_s=now, now_s=now
        )
        pipeline.tick(now)

    variants = {
        "bare policy step": bare_policy_step,
        "PolicyRunner": runner_policy_tick,
        "bare filter": bare_filter_call,
        "SafetyRunner": runner_filter_tick,
        "ControlPipeline": pipeline_tick,
    }
    for k in range(50):  # warm up buffers and caches
        for call in variants.values():
            call(k)
    times = _interleaved({n: (lambda k, c=c: c(k + 50)) for n, c in variants.items()}, rounds)
    stats = {name: _stats(samples) for name, samples in times.items()}
    both = [a + b for a, b in zip(times["bare policy step"], times["bare filter"], strict=True)]
    stats["bare policy + bare filter"] = _stats(both)

    def ratio(ours: str, peer: str) -> float:
        return stats[ours]["p50_us"] / stats[peer]["p50_us"]

    ratios = {
        "policy": ratio("PolicyRunner", "bare policy step"),
        "safety": ratio("SafetyRunner", "bare filter"),
        "pipeline": ratio("ControlPipeline", "bare policy + bare filter"),
    }
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "machine": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
        },
        "quick": quick,
        "rounds": rounds,
        "model": model,
        "stats_us": stats,
        "ratios_p50": ratios,
        "goals_max_ratio": GOALS,
        "pass": {k: ratios[k] <= GOALS[k] for k in GOALS},
    }


def to_markdown(result: dict[str, Any]) -> str:
    """The results page."""
    m = result["machine"]
    lines = [
        "# Control cores: overhead per tick",
        "",
        f"{result['date']}; Python {m['python']}, numpy {m['numpy']}, {m['processor']}, "
        f"{m['cpus']} CPUs; {result['rounds']} interleaved rounds"
        + (" (quick)" if result["quick"] else "")
        + f"; policy: {result['model']}.",
        "",
        "| variant | p50 (us) | p99 (us) |",
        "|---|---:|---:|",
    ]
    for name, s in result["stats_us"].items():
        lines.append(f"| {name} | {s['p50_us']:.1f} | {s['p99_us']:.1f} |")
    lines += [
        "",
        "| goal (p50 ratio, same run) | measured | limit | verdict |",
        "|---|---:|---:|---|",
    ]
    labels = {
        "policy": "PolicyRunner / bare policy step",
        "safety": "SafetyRunner / bare filter",
        "pipeline": "ControlPipeline / (bare policy + bare filter)",
    }
    for key, label in labels.items():
        verdict = "PASS" if result["pass"][key] else "FAIL"
        lines.append(
            f"| {label} | {result['ratios_p50'][key]:.2f}x | "
            f"{result['goals_max_ratio'][key]:.2f}x | {verdict} |"
        )
    lines += [
        "",
        "Runner calls include submitting the inputs (validation, copies, watchdog) and, for",
        "the safety runner, the command guard's check of every filtered command.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    """Run, print and write ``bench/results/control.md`` and ``control.json``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (smoke run)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results directory")
    args = parser.parse_args()
    result = run(quick=args.quick)
    text = to_markdown(result)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "control.md").write_text(text, encoding="utf-8")
    (args.out / "control.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
