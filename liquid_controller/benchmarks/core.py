"""Core benchmark: the torch-free runtime against ncps eager, ONNX Runtime and the torch policy.

Everything is measured side by side in one run, at batch 1, one thread
(``torch.set_num_threads(1)``; OMP/MKL/OpenBLAS threads 1 for numpy and
onnxruntime's intra-op pool 1), with the recurrent state carried from step to
step and irregular time steps:

- ``cfc``: ncps 1.0.1 eager ``CfC(32, AutoNCP(19, 2))`` (one step through the
  module's forward, as a user calls it) vs ONNX Runtime on that module's
  exported single step vs the runtime's CfC step;
- ``ltc``: ncps eager ``LTC(32, AutoNCP(19, 2))`` (6 ODE unfolds) vs the runtime;
- ``camera``: the full camera policy (5-conv head on a 66x200 RGB image, IMU
  features, CfC-NCP core, action head): eager torch ``TorchPolicy.step`` vs
  ``RuntimePolicy.step``, with ONNX Runtime on the exported whole step as a
  reference;
- ``processes``: import time and peak resident memory of a process that loads
  and steps the camera policy with the runtime only vs with torch.

Each peer's outputs are compared with the runtime's over the timed rollout, so
a fast but wrong result cannot pass. The peers' timed steps are interleaved in
blocks (see ``_measure``) so that load changes on a shared machine hit all
alike. The timing runs in a child process so the thread-count environment
variables are in place before numpy is imported.

Run: ``liquid-controller bench --suite core [--quick]`` or
``python bench/bench_core.py``; writes ``bench/results/core.md`` and ``core.json``.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from liquid_controller.benchmarks import write_suite_files

__all__ = ["GOALS", "judge", "run", "to_markdown", "write_results"]

GOALS: dict[str, tuple[str, str, float]] = {
    "cfc_vs_ncps": ("cfc", "ncps_eager", 8.0),
    "cfc_vs_onnxruntime": ("cfc", "onnxruntime", 1.0),
    "ltc_vs_ncps": ("ltc", "ncps_eager", 4.0),
    "camera_vs_torch": ("camera", "torch_eager", 2.5),
}
"""Goal name -> (workload, peer, minimum p50 speed-up of the runtime over the peer)."""

SINGLE_THREAD_ENV = {
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
}
SEED = 0
INPUT_FEATURES = 32
CAMERA_SHAPE = (66, 200)


# --------------------------------------------------------------------------- timing


ROUNDS = 10
"""Timed steps are split into this many blocks, the peers' blocks interleaved."""


def _summary(times_s: Any) -> dict[str, float]:
    import numpy as np

    times = np.asarray(times_s) * 1e6
    return {
        "p50_us": float(np.percentile(times, 50)),
        "p99_us": float(np.percentile(times, 99)),
        "mean_us": float(times.mean()),
        "steps": int(times.size),
    }


def _rollout_inputs(steps: int, features: int) -> tuple[Any, Any]:
    import numpy as np

    rng = np.random.default_rng(SEED)
    xs = rng.normal(size=(steps, features))
    dts = rng.uniform(0.02, 0.08, size=steps)  # irregular control ticks, seconds
    return xs, dts


# --------------------------------------------------------------------------- workloads

Stepper = Callable[[int], Any]
"""Runs step ``i`` of a rollout and returns that step's output (array-like)."""


def _measure(peers: dict[str, Stepper], steps: int, warmup: int) -> dict[str, Any]:
    """Time every peer over the same rollout; add each one's max output diff vs ``runtime``.

    Each peer first runs ``warmup`` untimed steps; the timed steps then run in
    :data:`ROUNDS` blocks, the peers taking turns block by block, so a change of
    machine load during the run hits every peer alike. Each peer still steps
    its own state through the rollout in order.
    """
    import numpy as np

    total = warmup + steps
    outputs = {name: [None] * total for name in peers}
    times = {name: np.empty(steps) for name in peers}
    clock = time.perf_counter
    for name, step in peers.items():
        for i in range(warmup):
            outputs[name][i] = step(i)
    bounds = np.linspace(warmup, total, ROUNDS + 1).astype(int)
    for first, stop in zip(bounds[:-1], bounds[1:], strict=True):
        for name, step in peers.items():
            record, timed = outputs[name], times[name]
            for i in range(first, stop):
                start = clock()
                record[i] = step(i)
                timed[i - warmup] = clock() - start
    result: dict[str, Any] = {name: _summary(times[name]) for name in peers}
    want = np.array([np.asarray(y, dtype=np.float64).reshape(-1) for y in outputs["runtime"]])
    for name in peers:
        if name != "runtime":
            got = np.array([np.asarray(y, dtype=np.float64).reshape(-1) for y in outputs[name]])
            result[name]["max_abs_diff_vs_runtime"] = float(np.abs(got - want).max())
    return result


def _ncps_stepper(model: Any, xs: Any, dts: Any) -> Stepper:
    """One step of an ncps sequence module per call, as a user drives it (sequence of 1)."""
    import numpy as np
    import torch

    total = len(xs)
    x_t = torch.from_numpy(xs.astype(np.float32)).reshape(total, 1, 1, xs.shape[1])
    ts_t = torch.from_numpy(dts.astype(np.float32)).reshape(total, 1, 1)
    state = {"h": torch.zeros(1, model.state_size)}

    def step(i: int) -> Any:
        with torch.no_grad():
            y, state["h"] = model(x_t[i], state["h"], timespans=ts_t[i])
        return y.numpy()

    return step


def _runtime_stepper(model: Any, path: Path, xs: Any, dts: Any) -> Stepper:
    """Export ``model`` to a core artifact and step it with the runtime."""
    from liquid_controller.models.export import export_core
    from liquid_controller.runtime.core import load_core

    export_core(model, path)
    core_step = load_core(path).step

    def step(i: int) -> Any:
        return core_step(xs[i], dts[i]).copy()

    return step


def _onnxruntime_stepper(model: Any, path: Path, xs: Any, dts: Any) -> Stepper:
    """Export the ncps CfC's single step to ONNX and run it in ONNX Runtime (1 thread)."""
    import numpy as np
    import torch

    class _CellStep(torch.nn.Module):
        def __init__(self, cfc: torch.nn.Module) -> None:
            super().__init__()
            self.cell: Any = cfc.rnn_cell

        def forward(self, x: Any, h: Any, ts: Any) -> Any:
            return self.cell(x, h, ts)

    units, features = model.state_size, xs.shape[1]
    example = (torch.zeros(1, features), torch.zeros(1, units), torch.ones(1, 1))
    torch.onnx.export(
        _CellStep(model).eval(),
        example,
        str(path),
        input_names=["x", "h", "ts"],
        output_names=["y", "h_next"],
        dynamo=False,
    )
    run = _single_thread_session(path).run
    x32 = xs.astype(np.float32).reshape(len(xs), 1, features)
    ts32 = dts.astype(np.float32).reshape(len(dts), 1, 1)
    state = {"h": np.zeros((1, units), np.float32)}

    def step(i: int) -> Any:
        y, state["h"] = run(None, {"x": x32[i], "h": state["h"], "ts": ts32[i]})
        return y

    return step


def _bench_cfc(tmp: Path, steps: int, warmup: int) -> dict[str, Any]:
    import torch
    from ncps.torch import CfC
    from ncps.wirings import AutoNCP

    torch.manual_seed(SEED)
    model = CfC(INPUT_FEATURES, AutoNCP(19, 2, seed=SEED)).eval()
    xs, dts = _rollout_inputs(warmup + steps, INPUT_FEATURES)
    peers = {
        "runtime": _runtime_stepper(model, tmp / "cfc.npz", xs, dts),
        "ncps_eager": _ncps_stepper(model, xs, dts),
        "onnxruntime": _onnxruntime_stepper(model, tmp / "ncps_cfc_step.onnx", xs, dts),
    }
    return {"model": "ncps CfC(32, AutoNCP(19, 2)), default mode", **_measure(peers, steps, warmup)}


def _bench_ltc(tmp: Path, steps: int, warmup: int) -> dict[str, Any]:
    import torch
    from ncps.torch import LTC
    from ncps.wirings import AutoNCP

    torch.manual_seed(SEED)
    model = LTC(INPUT_FEATURES, AutoNCP(19, 2, seed=SEED), ode_unfolds=6).eval()
    xs, dts = _rollout_inputs(warmup + steps, INPUT_FEATURES)
    peers = {
        "runtime": _runtime_stepper(model, tmp / "ltc.npz", xs, dts),
        "ncps_eager": _ncps_stepper(model, xs, dts),
    }
    return {
        "model": "ncps LTC(32, AutoNCP(19, 2)), 6 ODE unfolds",
        **_measure(peers, steps, warmup),
    }


def _camera_policy(tmp: Path) -> tuple[Path, Path]:
    """Write the default camera policy (CfC on AutoNCP(19, 2)) as checkpoint and artifact."""
    import torch

    from liquid_controller.models.checkpoint import save_checkpoint
    from liquid_controller.models.export import export_checkpoint
    from liquid_controller.models.policy import (
        LiquidPolicy,
        default_policy_config,
        default_policy_spec,
    )

    torch.manual_seed(SEED)
    policy = LiquidPolicy(default_policy_config(cell="cfc"), default_policy_spec(camera=True))
    checkpoint, artifact = tmp / "camera.ckpt", tmp / "camera.npz"
    save_checkpoint(checkpoint, policy, metadata={"trained": False, "created_with": "bench"})
    export_checkpoint(checkpoint, artifact)
    return checkpoint, artifact


def _camera_observations(total: int, spec: Any) -> list[dict[str, Any]]:
    import numpy as np

    rng = np.random.default_rng(SEED)
    assert spec.image is not None
    shape = (spec.image.height, spec.image.width, spec.image.channels)
    frames = rng.integers(0, 256, size=(8, *shape), dtype=np.uint8)  # a short looping clip
    return [
        {
            "image": frames[i % len(frames)],
            **{
                v.name: np.asarray(v.mean) + np.asarray(v.std) * rng.normal(size=v.size)
                for v in spec.vectors
            },
        }
        for i in range(total)
    ]


def _onnxruntime_policy_stepper(
    policy: Any, path: Path, observations: list[dict[str, Any]], dts: Any
) -> Stepper:
    """Export the whole policy step (uint8 image in) to ONNX; run it in ONNX Runtime (1 thread).

    A reference peer without a goal: the issue's anchor for the camera policy
    ran its conv head in ONNX Runtime.
    """
    import numpy as np
    import torch

    class _PolicyStep(torch.nn.Module):
        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(self, image: Any, vector: Any, h: Any, dt: Any) -> Any:
            out = self.model(image, vector, h, dt)
            return out.action, out.state

    spec = policy.spec
    shape = (1, spec.image.height, spec.image.width, spec.image.channels)
    vector_size = sum(v.size for v in spec.vectors)
    units = policy.core.state_size
    example = (
        torch.zeros(shape, dtype=torch.uint8),
        torch.zeros(1, vector_size),
        torch.zeros(1, units),
        torch.ones(1, 1),
    )
    torch.onnx.export(
        _PolicyStep(policy).eval(),
        example,
        str(path),
        input_names=["image", "vector", "h", "dt"],
        output_names=["action", "h_next"],
        dynamo=False,
    )
    run = _single_thread_session(path).run
    state = {"h": np.zeros((1, units), np.float32)}
    names = [v.name for v in spec.vectors]

    def step(i: int) -> Any:
        obs = observations[i]
        feeds = {
            "image": obs["image"][None],
            "vector": np.concatenate([obs[n] for n in names]).astype(np.float32)[None],
            "h": state["h"],
            "dt": np.array([[dts[i]]], np.float32),
        }
        action, state["h"] = run(None, feeds)
        return action

    return step


def _bench_camera(tmp: Path, steps: int, warmup: int) -> dict[str, Any]:
    from liquid_controller.models.checkpoint import load_checkpoint
    from liquid_controller.models.policy import TorchPolicy
    from liquid_controller.runtime.policy import RuntimePolicy

    checkpoint, artifact = _camera_policy(tmp)
    torch_policy = TorchPolicy(load_checkpoint(checkpoint).policy)
    runtime_policy = RuntimePolicy.load(artifact)
    total = warmup + steps
    observations = _camera_observations(total, runtime_policy.spec)
    _, dts = _rollout_inputs(total, 1)
    peers = {
        "runtime": lambda i: runtime_policy.step(observations[i], float(dts[i])).action,
        "torch_eager": lambda i: torch_policy.step(observations[i], float(dts[i])).action,
        "onnxruntime": _onnxruntime_policy_stepper(
            torch_policy.model, tmp / "camera_policy_step.onnx", observations, dts
        ),
    }
    return {
        "model": "default camera policy: 5 conv (24-36-48-64-64) on 66x200 RGB, IMU, "
        "CfC on AutoNCP(19, 2), action head (untrained weights)",
        **_measure(peers, steps, warmup),
    }


def _single_thread_session(path: Path) -> Any:
    """An ONNX Runtime CPU session on one thread, sequential, like every peer here."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


# --------------------------------------------------------------------------- processes

_PROBE = """
import json, resource, sys, time
start = time.perf_counter()
{imports}
imported = time.perf_counter()
{load}
import numpy as np
rng = np.random.default_rng(0)
spec = policy.spec
shape = (spec.image.height, spec.image.width, spec.image.channels)
obs = {{"image": rng.integers(0, 256, size=shape, dtype=np.uint8)}}
obs.update({{v.name: np.asarray(v.mean) for v in spec.vectors}})
for _ in range(20):
    policy.step(obs, 0.05)
print(json.dumps({{
    "import_s": imported - start,
    "import_and_first_steps_s": time.perf_counter() - start,
    "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    "torch_imported": "torch" in sys.modules,
}}))
"""

_PROBES = {
    "runtime": (
        "from liquid_controller.runtime import RuntimePolicy",
        "policy = RuntimePolicy.load({artifact!r})",
    ),
    "torch": (
        "import torch\nfrom liquid_controller.models.checkpoint import load_checkpoint\n"
        "from liquid_controller.models.policy import TorchPolicy",
        "torch.set_num_threads(1)\npolicy = TorchPolicy(load_checkpoint({checkpoint!r}).policy)",
    ),
}


def _probe_processes(tmp: Path, repeats: int) -> dict[str, Any]:
    """Import time and peak RSS of fresh processes that load and step the camera policy."""
    import statistics

    checkpoint, artifact = tmp / "camera.ckpt", tmp / "camera.npz"
    env = {**os.environ, **SINGLE_THREAD_ENV}
    result: dict[str, Any] = {}
    for name, (imports, load) in _PROBES.items():
        code = _PROBE.format(
            imports=imports, load=load.format(artifact=str(artifact), checkpoint=str(checkpoint))
        )
        runs = []
        for _ in range(repeats):
            out = subprocess.run(
                [sys.executable, "-c", code], env=env, capture_output=True, text=True
            )
            if out.returncode != 0:
                raise RuntimeError(f"{name} process probe failed:\n{out.stderr[-4000:]}")
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
        result[name] = {
            "import_s": statistics.median(r["import_s"] for r in runs),
            "import_and_first_steps_s": statistics.median(
                r["import_and_first_steps_s"] for r in runs
            ),
            "peak_rss_mib": statistics.median(r["peak_rss_mib"] for r in runs),
            "torch_imported": any(r["torch_imported"] for r in runs),
            "runs": repeats,
        }
    return result


# --------------------------------------------------------------------------- driver


def _worker(quick: bool, tmp: Path) -> dict[str, Any]:
    """Measure every workload in this (single-threaded) process."""
    import numpy as np
    import torch

    torch.set_num_threads(1)
    steps, warmup = (300, 50) if quick else (3000, 300)
    camera_steps, camera_warmup = (60, 10) if quick else (600, 60)
    return {
        "cfc": _bench_cfc(tmp, steps, warmup),
        "ltc": _bench_ltc(tmp, steps, warmup),
        "camera": _bench_camera(tmp, camera_steps, camera_warmup),
        "environment": {
            "torch": torch.__version__,
            "numpy": np.__version__,
            "onnxruntime": _version("onnxruntime"),
            "ncps": _version("ncps"),
            "torch_threads": torch.get_num_threads(),
        },
    }


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


def _machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
    }


def run(quick: bool = False) -> dict[str, Any]:
    """Measure all workloads side by side; return a JSON-serialisable result.

    Args:
        quick: fewer steps (a smoke run); ratios are noisier.
    """
    with tempfile.TemporaryDirectory(prefix="lc-bench-core-") as tmp:
        env = {**os.environ, **SINGLE_THREAD_ENV}
        out = subprocess.run(
            [sys.executable, "-m", __name__, "--worker", tmp] + (["--quick"] if quick else []),
            env=env,
            capture_output=True,
            text=True,
        )
        if out.returncode != 0:
            raise RuntimeError(f"core benchmark worker failed:\n{out.stderr[-4000:]}")
        result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
        result["processes"] = _probe_processes(Path(tmp), repeats=1 if quick else 3)
    result.update(
        benchmark="core",
        quick=quick,
        date=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        machine=_machine(),
        goals=judge(result),
    )
    return result


def judge(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Return each goal's p50 speed-up of the runtime over its peer and whether it is met."""
    goals = {}
    for goal, (workload, peer, minimum) in GOALS.items():
        speedup = result[workload][peer]["p50_us"] / result[workload]["runtime"]["p50_us"]
        goals[goal] = {"speedup_p50": speedup, "goal": minimum, "met": speedup >= minimum}
    return goals


_ROWS = {
    "cfc": (("ncps_eager", "ncps eager (torch)"), ("onnxruntime", "ONNX Runtime")),
    "ltc": (("ncps_eager", "ncps eager (torch)"),),
    "camera": (
        ("torch_eager", "LiquidPolicy eager (torch)"),
        ("onnxruntime", "ONNX Runtime, whole step exported (reference, no goal)"),
    ),
}
_TITLES = {
    "cfc": "Wired CfC step",
    "ltc": "LTC step (6 unfolds)",
    "camera": "Camera policy step",
}


def to_markdown(result: dict[str, Any]) -> str:
    """Render a result of :func:`run` as the markdown results page."""
    machine = result["machine"]
    lines = [
        "# Core benchmark: torch-free runtime vs ncps, ONNX Runtime and torch",
        "",
        f"{result['date']}; {machine['cpu']} ({machine['cores']} cores), "
        f"{machine['system']}, Python {machine['python']}"
        + (" - quick run (few steps, noisy)" if result["quick"] else "")
        + ".",
        "Batch 1, one thread everywhere, state carried, irregular dt; times per step in "
        "microseconds; speed-up = peer p50 / runtime p50; max diff = largest output "
        "difference from the runtime over the timed rollout.",
        "",
        "## Goals",
        "",
        "| goal | speed-up (p50) | required | verdict |",
        "|---|---|---|---|",
    ]
    for name, goal in result["goals"].items():
        verdict = "PASS" if goal["met"] else "FAIL"
        lines.append(f"| {name} | {goal['speedup_p50']:.1f}x | >= {goal['goal']:g}x | {verdict} |")
    for workload, peers in _ROWS.items():
        data = result[workload]
        runtime = data["runtime"]
        lines += [
            "",
            f"## {_TITLES[workload]}",
            "",
            data["model"] + ".",
            "",
            "| implementation | p50 us | p99 us | mean us | speed-up of runtime (p50) | max diff |",
            "|---|---|---|---|---|---|",
            f"| liquid_controller.runtime (numpy) | {runtime['p50_us']:.1f} | "
            f"{runtime['p99_us']:.1f} | {runtime['mean_us']:.1f} | | |",
        ]
        for key, label in peers:
            peer = data[key]
            lines.append(
                f"| {label} | {peer['p50_us']:.1f} | {peer['p99_us']:.1f} | "
                f"{peer['mean_us']:.1f} | {peer['p50_us'] / runtime['p50_us']:.1f}x | "
                f"{peer['max_abs_diff_vs_runtime']:.1e} |"
            )
    processes = result["processes"]
    lines += [
        "",
        "## Process cost (load and step the camera policy in a fresh process)",
        "",
        "| process | import s | import + load + 20 steps s | peak RSS MiB | torch imported |",
        "|---|---|---|---|---|",
    ]
    for name, label in (("runtime", "runtime only (numpy)"), ("torch", "torch (TorchPolicy)")):
        p = processes[name]
        lines.append(
            f"| {label} | {p['import_s']:.3f} | {p['import_and_first_steps_s']:.3f} | "
            f"{p['peak_rss_mib']:.0f} | {'yes' if p['torch_imported'] else 'no'} |"
        )
    env = result["environment"]
    lines += [
        "",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in env.items()) + ".",
        "",
        "Re-run: `liquid-controller bench --suite core` (or `python bench/bench_core.py`).",
        "",
    ]
    return "\n".join(lines)


def write_results(result: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    """Write ``core.md`` and ``core.json`` into ``out_dir``; return both paths."""
    return write_suite_files("core", result, to_markdown(result), out_dir)


if __name__ == "__main__":
    # Internal: ``python -m liquid_controller.benchmarks.core --worker DIR [--quick]``
    # is the single-threaded child that :func:`run` starts.
    if len(sys.argv) >= 3 and sys.argv[1] == "--worker":
        print(json.dumps(_worker("--quick" in sys.argv[3:], Path(sys.argv[2]))))
    else:
        sys.exit("usage: liquid-controller bench --suite core [--quick] [--out DIR]")
