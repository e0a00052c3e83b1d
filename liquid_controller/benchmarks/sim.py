"""Simulation benchmark: what the MuJoCo lane world costs, and whether it beats real time.

Measured on the package's robot and the ``corners`` track at the defaults (camera 200x66 at
30 Hz, control at 50 Hz, physics at 500 Hz):

- ``physics_step``: one ``mj_step`` of the world while driving (microseconds);
- ``render``: one camera frame (``update_scene`` + ``render``), ours with shadows and
  reflections off beside MuJoCo's defaults (the peer: scene flags on, the light casting
  shadows), milliseconds;
- ``episode``: the real-time factor (simulated / wall seconds) of one closed-loop episode
  through ``sim evaluate``'s path (the expert behind the control pipeline and the safety
  filter, camera rendered) and of one ``sim collect`` episode (recording included);
- ``collect``: camera frames recorded per wall second by ``sim collect`` with all workers
  (one per available core), process start-up included.

Goals: the episode real-time factor >= 1 (``sim_node`` keeps up with a live graph) and the
issue's aim of >= 2. The machine's load is reported: on a shared machine every number is
an upper bound on the cost.

Run: ``liquid-controller bench --suite sim [--quick]`` or ``python bench/bench_sim.py``;
writes ``bench/results/sim.md`` and ``sim.json``.
"""

from __future__ import annotations

import os
import platform
import tempfile
import time
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np

from liquid_controller.benchmarks import write_suite_files

__all__ = ["GOALS", "run", "to_markdown", "write_results"]

GOALS = {"episode_rtf_min": 1.0, "episode_rtf_aim": 2.0}
TRACK = "corners"


def run(quick: bool = False) -> dict[str, Any]:
    """Measure every workload; return the JSON-serialisable result."""
    from liquid_controller.sim.workers import default_workers

    workers = default_workers()
    physics = _physics_step(steps=2000 if quick else 20000)
    render = _render(frames=30 if quick else 200)
    episode_s = 3.0 if quick else 20.0
    evaluate_rtf, collect_rtf = _episode(episode_s)
    collect = _collect(workers, seconds=2.0 if quick else 10.0)
    rtf = min(evaluate_rtf, collect_rtf)
    return {
        "suite": "sim",
        "date_utc": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "quick": quick,
        "goals": GOALS,
        "physics_step_us": physics,
        "render_ms": render,
        "episode": {
            "simulated_s": episode_s,
            "evaluate_rtf": evaluate_rtf,
            "collect_rtf": collect_rtf,
        },
        "collect": collect,
        "verdicts": {
            "episode_rtf_min": rtf >= GOALS["episode_rtf_min"],
            "episode_rtf_aim": rtf >= GOALS["episode_rtf_aim"],
        },
        "environment": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "mujoco": version("mujoco"),
            "mujoco_gl": os.environ.get("MUJOCO_GL", ""),
            "machine": f"{platform.machine()}, {os.cpu_count()} logical CPUs, "
            f"{workers} available to this process",
            "load_average_1min": os.getloadavg()[0],
        },
    }


def _world() -> Any:
    from liquid_controller.sim.simulation import LaneSimulation
    from liquid_controller.sim.track import load_track
    from liquid_controller.sim.world import WorldVariation

    return LaneSimulation(load_track(TRACK), WorldVariation(start_s_m=1.0), render=False)


def _physics_step(steps: int) -> dict[str, float]:
    import mujoco

    sim = _world()
    sim.data.ctrl[:] = [0.3, 0.32]
    for _ in range(200):
        mujoco.mj_step(sim.model, sim.data)
    batches = []
    for _ in range(10):
        start = time.perf_counter()
        for _ in range(steps // 10):
            mujoco.mj_step(sim.model, sim.data)
        batches.append((time.perf_counter() - start) / (steps // 10) * 1e6)
    return {"p50": float(np.median(batches)), "min": float(np.min(batches))}


def _render(frames: int) -> dict[str, dict[str, float]]:
    import mujoco

    from liquid_controller.sim.gl import create_renderer
    from liquid_controller.sim.robot_model import CAMERA_NAME

    sim = _world()
    camera = sim.description.camera
    results = {}
    for name, plain in (("ours_no_shadows", True), ("mujoco_default_flags", False)):
        renderer = create_renderer(sim.model, camera.height, camera.width)
        sim.model.light_castshadow[:] = not plain  # the world's light casts none
        if not plain:
            renderer.scene.flags[mujoco.mjtRndFlag.mjRND_SHADOW] = True
            renderer.scene.flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = True
            renderer.scene.flags[mujoco.mjtRndFlag.mjRND_SKYBOX] = True
        times = []
        for _ in range(frames + 3):
            start = time.perf_counter()
            renderer.update_scene(sim.data, camera=CAMERA_NAME)
            renderer.render()
            times.append((time.perf_counter() - start) * 1e3)
        renderer.close()
        samples = np.array(times[3:])
        results[name] = {"p50": float(np.median(samples)), "p99": float(np.percentile(samples, 99))}
    return results


def _episode(seconds: float) -> tuple[float, float]:
    from liquid_controller.sim.collect import CollectJob, collect_episode
    from liquid_controller.sim.evaluate import EvaluateJob, evaluate_episode

    job = EvaluateJob("expert", TRACK, 0, laps=1000.0, max_seconds=seconds)
    metrics = evaluate_episode(job)
    evaluate_rtf = metrics.survival_s / metrics.wall_s
    with tempfile.TemporaryDirectory() as folder:
        summary = collect_episode(CollectJob(TRACK, 0, seconds, str(Path(folder) / "bag")))
    return evaluate_rtf, summary.sim_seconds / summary.wall_s


def _collect(workers: int, seconds: float) -> dict[str, Any]:
    from liquid_controller.sim.collect import collect

    episodes = 2 * workers
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        summaries = collect(folder, episodes, seconds=seconds, workers=workers, progress=False)
        wall = time.perf_counter() - start
    frames = sum(s.frames for s in summaries)
    simulated = sum(s.sim_seconds for s in summaries)
    return {
        "workers": workers,
        "episodes": episodes,
        "episode_s": seconds,
        "frames": frames,
        "wall_s": wall,
        "frames_per_s": frames / wall,
        "simulated_s_per_wall_s": simulated / wall,
    }


def to_markdown(result: dict[str, Any]) -> str:
    """Render a result of :func:`run` as the markdown results page."""
    env, ep, co = result["environment"], result["episode"], result["collect"]
    render = result["render_ms"]
    verdict = {True: "met", False: "NOT met"}
    rtf = min(ep["evaluate_rtf"], ep["collect_rtf"])
    lines = [
        "# Simulation: MuJoCo lane world cost and real-time factor",
        "",
        f"Measured {result['date_utc']}{' (quick run)' if result['quick'] else ''} on "
        f"{env['machine']} (1-minute load average {env['load_average_1min']:.1f}), "
        f"MuJoCo {env['mujoco']}, MUJOCO_GL={env['mujoco_gl']}. Track `{TRACK}`, camera "
        "200x66 at 30 Hz, control 50 Hz, physics 500 Hz.",
        "",
        "| workload | value |",
        "|---|---|",
        f"| physics step (mj_step), us | {result['physics_step_us']['p50']:.1f} p50 of batches, "
        f"{result['physics_step_us']['min']:.1f} best |",
        f"| camera frame, ours (shadows and reflections off), ms | "
        f"{render['ours_no_shadows']['p50']:.1f} p50, {render['ours_no_shadows']['p99']:.1f} p99 |",
        f"| camera frame, MuJoCo's default flags (peer), ms | "
        f"{render['mujoco_default_flags']['p50']:.1f} p50, "
        f"{render['mujoco_default_flags']['p99']:.1f} p99 |",
        f"| one episode, evaluate path (expert + filter, rendered), real-time factor | "
        f"{ep['evaluate_rtf']:.2f}x ({ep['simulated_s']:.0f} simulated s) |",
        f"| one episode, collect path (recording included), real-time factor | "
        f"{ep['collect_rtf']:.2f}x |",
        f"| sim collect, {co['workers']} workers, {co['episodes']} x {co['episode_s']:.0f} s | "
        f"{co['frames_per_s']:.0f} frames/s, {co['simulated_s_per_wall_s']:.2f} simulated s "
        "per wall s (start-up included) |",
        "",
        f"- real-time factor >= {GOALS['episode_rtf_min']:.0f} (keeps up with a live graph): "
        f"{verdict[result['verdicts']['episode_rtf_min']]} ({rtf:.2f}x)",
        f"- real-time factor >= {GOALS['episode_rtf_aim']:.0f} (the issue's aim): "
        f"{verdict[result['verdicts']['episode_rtf_aim']]} ({rtf:.2f}x)",
        "",
    ]
    return "\n".join(lines)


def write_results(result: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    """Write ``sim.md`` and ``sim.json`` into ``out_dir``; return both paths."""
    return write_suite_files("sim", result, to_markdown(result), out_dir)
