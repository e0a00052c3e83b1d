"""``sim compare``: the liquid cells against the baselines, trained alike, driven in closed loop.

As in the Neural Circuit Policies driving work: CfC and LTC on the 19-neuron AutoNCP
wiring, an LSTM and a feed-forward network (no memory) of the same width, each behind the
same camera encoder and heads, trained on the same dataset with the same budget (the
train config's, with ``epochs`` replaced), several weight seeds each. Each model is
exported to the torch-free runtime and driven by :func:`~liquid_controller.sim.evaluate.
evaluate_episode` on the evaluation tracks under increasing camera noise and under
lighting never drawn in training, with and without the safety filter. Needs the ``torch``
and ``sim`` extras.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

# No numpy at import: the CLI imports this module to build its parser, and control entry
# points (demo) must set the BLAS thread count before numpy loads.
from liquid_controller.errors import ConfigError

__all__ = ["CELLS", "LIGHTING", "CompareBudget", "Condition", "TrainedModel", "compare"]

CELLS = ("cfc", "ltc", "lstm", "feedforward")
LIGHTING: dict[str, tuple[tuple[str, float], ...]] = {
    "dim": (("light_intensity", 0.15), ("ambient", 0.05)),
    "bright": (("light_intensity", 1.3), ("ambient", 0.7)),
}
"""Lighting outside the training draws (``world.draw_variation``: intensity 0.4-0.9,
ambient 0.15-0.45)."""
INFERENCE_STEPS = 300
SINGLE_THREAD = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


@dataclass(frozen=True)
class CompareBudget:
    """How much to train and to drive (the reduced run of the README shrinks these)."""

    cells: tuple[str, ...] = CELLS
    seeds: int = 3
    """Weight seeds per cell (``optimisation.seed`` 0, 1, ...)."""
    epochs: int = 10
    episodes: int = 3
    """Evaluation episodes (world seeds 0, 1, ...) per track and condition."""
    tracks: tuple[str, ...] = ("kidney",)
    laps: float = 1.0
    max_seconds: float = 90.0
    camera_noise: tuple[float, ...] = (0.0, 0.05, 0.1, 0.2)
    lighting: tuple[str, ...] = ("dim", "bright")

    def __post_init__(self) -> None:
        for cell in self.cells:
            if cell not in CELLS:
                raise ConfigError("--cell", cell, f"one of {list(CELLS)}")
        for name in self.lighting:
            if name not in LIGHTING:
                raise ConfigError("--lighting", name, f"one of {list(LIGHTING)}")
        for noise in self.camera_noise:
            if not 0 <= noise <= 1:
                raise ConfigError("--camera-noise", noise, "a standard deviation in [0, 1]")
        if not (self.cells and self.tracks and (self.camera_noise or self.lighting)):
            raise ConfigError("budget", self, "cells, tracks and at least one condition")


class TrainedModel(NamedTuple):
    """One trained network and what it cost."""

    cell: str
    seed: int
    artifact: str
    """The exported torch-free ``.npz``."""
    parameters: int
    recurrent_parameters: int
    """Those of the core (the liquid network, the LSTM or the feed-forward layers)."""
    train_s: float
    epochs_run: int
    validation_loss: float


class Condition(NamedTuple):
    """A test condition: a camera noise level or a lighting never seen in training."""

    name: str
    camera_noise: float | None
    world: tuple[tuple[str, float], ...]


def conditions(budget: CompareBudget) -> list[Condition]:
    """Return the noise levels, then the unseen lightings (each with the world's own noise)."""
    noise = [Condition(f"noise {n:g}", n, ()) for n in budget.camera_noise]
    return noise + [Condition(f"{name} light", None, LIGHTING[name]) for name in budget.lighting]


def train_models(
    config_path: str | Path, work: Path, budget: CompareBudget, *, progress: bool = True
) -> list[TrainedModel]:
    """Train every cell with every seed on the config's dataset (loaded once); export each.

    Runs go to ``work/runs/<cell>_seed<k>`` (replaced if present).
    """
    from liquid_controller.models.export import export_checkpoint
    from liquid_controller.train.train_config import load_train_config
    from liquid_controller.train.trainer import load_training_data, train

    base = load_train_config(config_path)
    splits = load_training_data(base, progress=progress)
    models = []
    for cell in budget.cells:
        for seed in range(budget.seeds):
            run_dir = work / "runs" / f"{cell}_seed{seed}"
            shutil.rmtree(run_dir, ignore_errors=True)
            config = dataclasses.replace(
                base,
                model=dataclasses.replace(base.model, cell=cell),
                optimisation=dataclasses.replace(
                    base.optimisation, epochs=budget.epochs, seed=seed
                ),
                run_dir=run_dir,
            )
            start = time.perf_counter()
            result = train(config, splits, progress=progress)
            seconds = time.perf_counter() - start
            artifact = run_dir / "policy.npz"
            export_checkpoint(run_dir / "best.ckpt", artifact)
            policy = result.policy
            models.append(
                TrainedModel(
                    cell,
                    seed,
                    str(artifact),
                    sum(p.numel() for p in policy.parameters()),
                    sum(p.numel() for p in policy.core.parameters()),
                    seconds,
                    result.epochs_run,
                    result.best_validation_loss,
                )  # fmt: skip
            )
    return models


def evaluate_models(
    models: Sequence[TrainedModel],
    budget: CompareBudget,
    *,
    workers: int | None = None,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Drive every model in every condition, with and without the filter; one row each.

    Rows: the model's cell and seed, the condition, ``safety``, and the aggregate of
    :func:`~liquid_controller.sim.evaluate.summarise` over the tracks and episodes.
    """
    from liquid_controller.sim.evaluate import EvaluateJob, evaluate_episode, summarise
    from liquid_controller.sim.workers import default_workers, run_parallel

    groups = []
    jobs = []
    for model in models:
        for condition in conditions(budget):
            for safety in (True, False):
                group = [
                    EvaluateJob(
                        model.artifact,
                        track,
                        episode,
                        budget.laps,
                        budget.max_seconds,
                        safety=safety,
                        camera_noise=condition.camera_noise,
                        world=condition.world,
                    )  # fmt: skip
                    for track in budget.tracks
                    for episode in range(budget.episodes)
                ]
                groups.append((model, condition, safety, len(group)))
                jobs += group
    _single_thread_workers()
    metrics = run_parallel(evaluate_episode, jobs, workers=workers or default_workers(),
                           label="sim compare", progress=progress)  # fmt: skip
    rows, start = [], 0
    for model, condition, safety, count in groups:
        summary = summarise(metrics[start : start + count])
        start += count
        rows.append({"cell": model.cell, "seed": model.seed, "condition": condition.name,
                     "safety": safety, **summary})  # fmt: skip
    return rows


def inference_us(artifacts: Sequence[str], *, workers: int | None = None) -> list[float]:
    """Median time of one step of each artifact through the torch-free runtime (us)."""
    from liquid_controller.sim.workers import run_parallel

    _single_thread_workers()
    # Spawned workers: one BLAS thread takes effect only before numpy loads.
    return run_parallel(_median_step_us, list(artifacts), workers=max(2, workers or 1),
                        label="inference", progress=False)  # fmt: skip


def _median_step_us(artifact: str) -> float:
    import numpy as np

    from liquid_controller.runtime.policy import RuntimePolicy

    policy = RuntimePolicy.load(artifact)
    spec = policy.spec
    rng = np.random.default_rng(0)
    obs: dict[str, Any] = {v.name: np.zeros(v.size) for v in spec.vectors}
    if spec.image is not None:
        shape = (spec.image.height, spec.image.width, spec.image.channels)
        obs["image"] = rng.integers(0, 256, shape, dtype=np.uint8)
    times = []
    for i in range(INFERENCE_STEPS + 30):
        start = time.perf_counter()
        policy.step(obs, 0.02)
        if i >= 30:  # warm-up
            times.append(time.perf_counter() - start)
    return float(np.median(times) * 1e6)


def _single_thread_workers() -> None:
    """Give spawned workers one BLAS thread each (this process keeps its own)."""
    for variable in SINGLE_THREAD:
        os.environ.setdefault(variable, "1")


def compare(
    config_path: str | Path,
    work: Path,
    budget: CompareBudget,
    *,
    workers: int | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Train, time and evaluate every model; return the results document (JSON-ready)."""
    from liquid_controller.sim.track import load_track

    for track in budget.tracks:  # a bad name fails now, not after the training
        load_track(track)
    start = time.perf_counter()
    models = train_models(config_path, work, budget, progress=progress)
    step_us = inference_us([m.artifact for m in models], workers=workers)
    rows = evaluate_models(models, budget, workers=workers, progress=progress)
    return {
        "budget": dataclasses.asdict(budget),
        "config": str(config_path),
        "models": [
            {**m._asdict(), "inference_us": us} for m, us in zip(models, step_us, strict=True)
        ],
        "closed_loop": rows,
        "wall_s": time.perf_counter() - start,
    }
